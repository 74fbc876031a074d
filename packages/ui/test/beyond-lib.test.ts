// Unit tests of the "beyond MLflow" helpers: grouping runs and aggregating their histories, step images
// by file name, and the live poll's merge and data versions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Run } from '../src/api.js';
import { groupedRows, isGroupRow, tableRowKey } from '../src/lib/grouped-rows.js';
import { seriesLabel, stepImages, stepOfImage } from '../src/lib/image-steps.js';
import { andFilter, latestStart, mergePolled, runVersion } from '../src/lib/live.js';
import {
  aggregateHistories,
  groupLabel,
  groupRuns,
  parseGroupBy,
  summarize,
  summarizeMetric,
} from '../src/lib/run-groups.js';

function run(
  id: string,
  o: {
    params?: Record<string, string>;
    tags?: Record<string, string>;
    metrics?: [string, number, number, number][];
    start?: number;
    status?: string;
  } = {},
): Run {
  return {
    info: {
      run_id: id,
      run_uuid: id,
      run_name: id,
      experiment_id: '1',
      status: o.status ?? 'FINISHED',
      start_time: o.start ?? 0,
      lifecycle_stage: 'active',
      artifact_uri: '',
      user_id: '',
    },
    data: {
      params: Object.entries(o.params ?? {}).map(([key, value]) => ({ key, value })),
      tags: Object.entries(o.tags ?? {}).map(([key, value]) => ({ key, value })),
      metrics: (o.metrics ?? []).map(([key, value, step, timestamp]) => ({ key, value, step, timestamp })),
    },
    inputs: {},
  } as unknown as Run;
}

test('group by: parse, groups in list order with the keyless last, labels, summaries', () => {
  assert.deepEqual(parseGroupBy('param:lr'), { kind: 'param', key: 'lr' });
  assert.deepEqual(parseGroupBy('tag:a:b'), { kind: 'tag', key: 'a:b' });
  assert.equal(parseGroupBy('metric:acc'), undefined);
  assert.equal(parseGroupBy('param:'), undefined);
  assert.equal(parseGroupBy(null), undefined);
  const runs = [
    run('a', { params: { lr: '0.1' }, metrics: [['acc', 0.5, 0, 0]] }),
    run('b'),
    run('c', { params: { lr: '0.01' }, metrics: [['acc', 0.7, 0, 0]] }),
    run('d', { params: { lr: '0.1' }, metrics: [['acc', 0.9, 0, 0]] }),
    run('e', { params: { lr: '0.1' }, metrics: [['acc', Number.NaN, 0, 0]] }),
  ];
  const by = { kind: 'param' as const, key: 'lr' };
  const groups = groupRuns(runs, by);
  assert.deepEqual(
    groups.map((g) => [g.id, g.runs.map((r) => r.info.run_id)]),
    [
      ['v:0.1', ['a', 'd', 'e']],
      ['v:0.01', ['c']],
      ['none', ['b']],
    ],
  );
  assert.equal(groupLabel(by, groups[0]), 'lr = 0.1');
  assert.equal(groupLabel(by, groups[2]), 'lr: no value');
  // NaN is left out of the summary; a group without the metric has none.
  assert.deepEqual(summarizeMetric(groups[0], 'acc'), { mean: 0.7, min: 0.5, max: 0.9, count: 2 });
  assert.equal(summarizeMetric(groups[2], 'acc'), undefined);
  assert.equal(summarize([]), undefined);
  // Table rows: a header per group, its runs one level in, closed groups without their runs.
  const rows = groupedRows(runs, by, new Set(['v:0.01']), new Set());
  assert.deepEqual(
    rows.map((r) => `${tableRowKey(r)}/${r.depth}`),
    ['group:v:0.1/0', 'a/1', 'd/1', 'e/1', 'group:v:0.01/0', 'group:none/0', 'b/1'],
  );
  assert.equal(rows.filter(isGroupRow).find((r) => r.group.id === 'v:0.01')?.open, false);
});

test('aggregated history: mean, min and max over the runs covering each step, values held between points', () => {
  const a = aggregateHistories([
    { x: [0, 1, 2, 3], y: [0, 1, 2, 3] },
    { x: [0, 2], y: [10, 20] },
    { x: [1, 2], y: [null, 5] },
  ]);
  assert.deepEqual(a.x, [0, 1, 2, 3]);
  // Step 1: run 2 holds 10, run 3 has no value yet. Step 3: only run 1 reaches it.
  assert.deepEqual(a.mean, [5, 5.5, 9, 3]);
  assert.deepEqual(a.min, [0, 1, 2, 3]);
  assert.deepEqual(a.max, [10, 10, 20, 3]);
  const none = aggregateHistories([{ x: [0], y: [null] }]);
  assert.deepEqual([none.mean, none.min, none.max], [[null], [null], [null]]);
});

test('step images: MLflow log_image names and numbered names, one per step, compressed copies last', () => {
  const name = 'samples#pred%step%12%timestamp%1700000000123%0f9a.png';
  assert.deepEqual(stepOfImage(name), {
    series: 'mlflow:samples#pred',
    step: 12,
    compressed: false,
    timestamp: 1700000000123,
  });
  assert.equal(stepOfImage('samples#pred%step%12%timestamp%1%x%compressed.webp')?.compressed, true);
  assert.equal(stepOfImage('epoch_007.png')?.step, 7);
  assert.equal(stepOfImage('notes.txt'), undefined);
  assert.equal(stepOfImage('logo.png'), undefined);
  assert.equal(seriesLabel(`images/${name}`), 'samples/pred');

  const folder = [
    'images/k%step%2%timestamp%5%b%compressed.webp',
    'images/k%step%0%timestamp%1%a.png',
    'images/k%step%0%timestamp%1%a%compressed.webp',
    'images/k%step%2%timestamp%5%b.png',
    'images/k%step%2%timestamp%3%old.png',
    'images/other%step%1%timestamp%1%c.png',
    'images/k%step%10%timestamp%9%d%compressed.webp',
  ];
  // Step order (10 after 2), the full-size image of each step, the later of two at one step, a step
  // with only a compressed copy kept.
  assert.deepEqual(stepImages('images/k%step%2%timestamp%5%b.png', folder), [
    { step: 0, path: 'images/k%step%0%timestamp%1%a.png' },
    { step: 2, path: 'images/k%step%2%timestamp%5%b.png' },
    { step: 10, path: 'images/k%step%10%timestamp%9%d%compressed.webp' },
  ]);
  assert.deepEqual(stepImages('images/other%step%1%timestamp%1%c.png', folder), []);
  assert.deepEqual(
    stepImages('s/epoch_2.png', [
      's/epoch_10.png',
      's/epoch_2.png',
      's/epoch_1.jpg',
      's/epoch_3.png',
      's/x.png',
    ]).map((s) => s.step),
    [2, 3, 10],
  );
});

test('live: filters joined with AND, latest start, versions, merge keeps identity when nothing moved', () => {
  assert.equal(andFilter('', "attributes.status = 'RUNNING'"), "attributes.status = 'RUNNING'");
  assert.equal(
    andFilter(' params.lr = "0.1" ', 'attributes.start_time > 5'),
    'params.lr = "0.1" AND attributes.start_time > 5',
  );
  const a = run('a', { start: 10, status: 'RUNNING', metrics: [['loss', 1, 4, 100]] });
  const b = run('b', { start: 20 });
  assert.equal(latestStart([a, b]), 20);
  assert.equal(latestStart([]), 0);
  const list = [b, a];
  // The same data again: the very same list.
  const same = run('a', { start: 10, status: 'RUNNING', metrics: [['loss', 1, 4, 100]] });
  assert.equal(mergePolled(list, [same]), list);
  assert.equal(mergePolled(list, []), list);
  // A new step: a new list with the fresh copy in place and a new version.
  const moved = run('a', { start: 10, status: 'RUNNING', metrics: [['loss', 0.5, 5, 200]] });
  assert.notEqual(runVersion(moved), runVersion(a));
  const merged = mergePolled(list, [moved]);
  assert.deepEqual(merged, [b, moved]);
  // New runs go on top, newest first.
  const c = run('c', { start: 30 });
  const d = run('d', { start: 40 });
  assert.deepEqual(
    mergePolled(list, [c, d]).map((r) => r.info.run_id),
    ['d', 'c', 'b', 'a'],
  );
  // A status change alone is a new version.
  assert.notEqual(runVersion(run('a', { status: 'FINISHED' })), runVersion(run('a', { status: 'RUNNING' })));
});
