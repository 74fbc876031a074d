// Unit tests of the model version list's alias and source-run helpers and the overview's metric ranges.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metricRanges } from '../src/lib/metric-range.js';
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
