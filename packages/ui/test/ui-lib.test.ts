import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultAxes, defaultScatter } from '../src/lib/compare-defaults.js';
import { parseCsv } from '../src/lib/csv.js';
import { modelSearchFilter } from '../src/lib/model-filter.js';
import { smooth } from '../src/lib/smoothing.js';

test('CSV preview: quoted separators, doubled quotes, newlines in quotes, CRLF, row limit', () => {
  assert.deepEqual(parseCsv('a,b\r\n"x, y","say ""hi"""\n"multi\nline",2\n'), [
    ['a', 'b'],
    ['x, y', 'say "hi"'],
    ['multi\nline', '2'],
  ]);
  assert.deepEqual(parseCsv('a\tb\n1\t2', 10, '\t'), [
    ['a', 'b'],
    ['1', '2'],
  ]);
  assert.equal(parseCsv('x\n'.repeat(1000), 500).length, 500);
  assert.deepEqual(parseCsv(''), []);
});

test('smoothing: weight 0 is identity, no start-up bias, gaps pass through', () => {
  const values = [1, 2, null, 4, Number.NaN, 6];
  assert.equal(smooth(values, 0), values);
  const s = smooth(values, 0.5);
  assert.equal(s[0], 1, 'the first point is not pulled towards zero');
  assert.equal(s[1], (0.25 * 1 + 0.5 * 2) / 0.75);
  assert.equal(s[2], null);
  assert.ok(Number.isNaN(s[4] as number));
  const flat = smooth([3, 3, 3, 3], 0.9);
  for (const v of flat) assert.ok(Math.abs((v as number) - 3) < 1e-12);
});

test('models search: a bare word searches names, a filter is sent as typed', () => {
  assert.equal(modelSearchFilter('  churn '), "name ILIKE '%churn%'");
  assert.equal(modelSearchFilter("bob's model"), 'name ILIKE "%bob\'s model%"');
  assert.equal(modelSearchFilter("name LIKE 'a%'"), "name LIKE 'a%'");
  assert.equal(modelSearchFilter("tags.team = 'growth'"), "tags.team = 'growth'");
  assert.equal(modelSearchFilter('name = '), 'name =', 'an incomplete filter still reaches the server');
  assert.equal(modelSearchFilter(''), '');
  assert.equal(modelSearchFilter(`a'b"c`), `a'b"c`, 'both quote kinds: sent as typed');
});

test('compare defaults: plot numeric values that differ between runs', () => {
  const params = [
    { id: 'param:features', values: ['v3', undefined, undefined] },
    { id: 'param:lr', values: ['0.1', '0.01', '0.3'] },
    { id: 'param:model', values: ['gbm', 'gbm', 'gbm'] },
    { id: 'param:n', values: ['300', '300', '300'] },
  ];
  const metrics = [
    { id: 'metric:train_loss', values: ['0.3', undefined, undefined] },
    { id: 'metric:auc', values: ['0.8', '0.7', '0.9'] },
  ];
  assert.deepEqual(defaultScatter(params, metrics), { x: 'param:lr', y: 'metric:auc' });
  assert.deepEqual(defaultAxes(params, metrics), ['param:lr', 'metric:auc']);
  // Without params the x axis is another metric than y.
  assert.deepEqual(defaultScatter([], metrics), { x: 'metric:auc', y: 'metric:train_loss' });
  // When nothing varies, the first axes are shown rather than none.
  const same = [
    { id: 'param:a', values: ['1', '1'] },
    { id: 'param:b', values: ['x', 'x'] },
  ];
  assert.deepEqual(defaultAxes(same, []), ['param:a', 'param:b']);
  assert.deepEqual(defaultScatter([], []), { x: '', y: '' });
  const many = Array.from({ length: 8 }, (_, i) => ({ id: `param:p${i}`, values: ['1', String(i + 2)] }));
  const ms = Array.from({ length: 3 }, (_, i) => ({ id: `metric:m${i}`, values: ['1', String(i + 2)] }));
  assert.deepEqual(defaultAxes(many, ms), [
    'param:p0',
    'param:p1',
    'param:p2',
    'param:p3',
    'metric:m0',
    'metric:m1',
  ]);
});
