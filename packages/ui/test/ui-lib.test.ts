import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCsv } from '../src/lib/csv.js';
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
