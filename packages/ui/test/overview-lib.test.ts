// Unit tests of the version-list helpers, the overview's metric ranges and parallel-coordinates scales.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metricRanges } from '../src/lib/metric-range.js';
import { fitLabel, pcScale } from '../src/lib/pc-scales.js';
import { aliasesByVersion, sourceRunId, versionAliases, versionRunId } from '../src/lib/version-links.js';

test("aliases come from the model's list when the version carries none", () => {
  const byVersion = aliasesByVersion({
    aliases: [
      { alias: 'prod', version: '2' },
      { alias: 'champion', version: '2' },
      { alias: 'old', version: '1' },
    ],
  });
  assert.deepEqual(versionAliases({ version: '2' }, byVersion), ['champion', 'prod']);
  assert.deepEqual(versionAliases({ version: '1', aliases: [] }, byVersion), ['old']);
  assert.deepEqual(versionAliases({ version: '3' }, byVersion), []);
  assert.deepEqual(versionAliases({ version: '3', aliases: ['x'] }, byVersion), ['x']);
  assert.equal(aliasesByVersion(undefined).size, 0);
});

test('the run of a runs:/ source, and only of that kind of source', () => {
  assert.equal(sourceRunId('runs:/abc123/model'), 'abc123');
  assert.equal(sourceRunId('runs:/abc123'), 'abc123');
  assert.equal(sourceRunId('models:/m/1'), undefined);
  assert.equal(sourceRunId('s3://bucket/runs:/abc/model'), undefined);
  assert.equal(sourceRunId('runs://model'), undefined);
  assert.equal(sourceRunId(undefined), undefined);
  assert.equal(versionRunId({ run_id: 'r1', source: 'runs:/r2/m' }), 'r1');
  assert.equal(versionRunId({ run_id: '', source: 'runs:/r2/m' }), 'r2');
});

test('metric ranges skip NaN and keep infinities', () => {
  const ranges = metricRanges([
    { metric_key: 'a', run_id: 'r', steps: [0, 1, 2], values: [3, Number.NaN, -1] },
    { metric_key: 'b', run_id: 'r', steps: [0], values: [Number.NaN] },
    { metric_key: 'c', run_id: 'r', steps: [0, 1], values: [Number.POSITIVE_INFINITY, 2] },
  ]);
  assert.deepEqual(ranges.get('a'), { min: -1, max: 3 });
  assert.equal(ranges.get('b'), undefined);
  assert.deepEqual(ranges.get('c'), { min: 2, max: Number.POSITIVE_INFINITY });
});

test('parallel coordinates: round ticks on numeric axes, thinned categories, labels cut to fit', () => {
  const num = pcScale(['0.778332', '0.833749', undefined, '0.81'], 300);
  const labels = num.ticks.map((t) => t.label);
  assert.ok(labels.length >= 2, labels.join());
  for (const l of labels) assert.match(l, /^0\.\d{1,2}$/, `round tick ${l}`);
  assert.equal(num.ticks[0].at, 0);
  assert.equal(num.ticks[num.ticks.length - 1].at, 1);
  const p = num.pos('0.81');
  assert.ok(p > 0 && p < 1);

  // 100 categories on a 300 px axis: labels at least 14 px apart, the first always shown.
  const cats = pcScale(
    Array.from({ length: 100 }, (_, i) => `c${String(i).padStart(3, '0')}`),
    300,
  );
  assert.equal(cats.ticks[0].label, 'c000');
  for (let i = 1; i < cats.ticks.length; i++)
    assert.ok((cats.ticks[i].at - cats.ticks[i - 1].at) * 300 >= 14, 'labels overlap');
  assert.ok(cats.ticks.length > 10);
  // A single value sits mid-axis.
  assert.deepEqual(pcScale(['a', 'a'], 300).ticks, [{ label: 'a', at: 0.5 }]);

  assert.equal(fitLabel('short', 100), 'short');
  const cut = fitLabel('metrics.validation_accuracy_top5', 70);
  assert.ok(cut.endsWith('…') && cut.length <= 10, cut);
});
