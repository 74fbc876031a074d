import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sampleSteps } from '../src/store/sql-tracking-store.js';
import { DIALECTS, useTestTracking } from './helpers.js';

// get-history-bulk-interval samples steps in SQL; these tests hold it to MLflow's rule (evenly spread
// steps of the union of the runs' steps, the last step in range, each run's first and last step),
// written out in sampleSteps.

/** What MLflow returns for these runs' step lists: the expected steps of each run. */
function expected(stepsByRun: number[][], max: number, start?: number, end?: number): number[][] {
  const all = [...new Set(stepsByRun.flat())].sort((a, b) => a - b);
  const lo = start ?? 0;
  const hi = end ?? all[all.length - 1];
  const inRange = all.filter((s) => s >= lo && s <= hi);
  const chosen = new Set(sampleSteps(inRange, max));
  for (const steps of stepsByRun) {
    for (const edge of [Math.min(...steps), Math.max(...steps)])
      if (edge >= lo && edge <= hi) chosen.add(edge);
  }
  return stepsByRun.map((steps) => steps.filter((s) => chosen.has(s)).sort((a, b) => a - b));
}

for (const dialect of DIALECTS) {
  describe(`sampled metric history on ${dialect}`, () => {
    const svc = useTestTracking(dialect);

    test('matches MLflow sampling for uneven, overlapping step sets', async () => {
      const exp = await svc.createExperiment('sampling', undefined, []);
      // Run a: every step 0..1999; run b: every 7th step from 3; run c: a sparse set with a gap.
      const sets = [
        Array.from({ length: 2000 }, (_, i) => i),
        Array.from({ length: 400 }, (_, i) => 3 + i * 7),
        [5, 6, 7, 1500, 4000, 4001],
      ];
      const ids: string[] = [];
      for (const steps of sets) {
        const run = await svc.createRun({ experimentId: exp, startTime: 1, tags: [] });
        ids.push(run.info.run_id);
        for (let i = 0; i < steps.length; i += 1000) {
          const metrics = steps
            .slice(i, i + 1000)
            .map((step) => ({ key: 'm', value: step / 10, timestamp: 1000 + step, step }));
          await svc.logBatch(run.info.run_id, metrics, [], []);
        }
      }
      for (const [max, start, end] of [
        [50, undefined, undefined],
        [333, undefined, undefined],
        [2500, undefined, undefined],
        [7, 100, 1900],
        [1, undefined, undefined],
        [100, 10, 10],
      ] as [number, number | undefined, number | undefined][]) {
        const got = await svc.getMetricHistoryBulkInterval({
          runIds: ids,
          key: 'm',
          maxResults: max,
          startStep: start,
          endStep: end,
        });
        const want = expected(sets, max, start, end);
        ids.forEach((id, i) => {
          const steps = got.filter((m) => m.run_id === id).map((m) => m.step);
          assert.deepEqual(steps, want[i], `run ${i}, max ${max}, range ${start}..${end}`);
        });
        for (const m of got) assert.equal(m.value, m.step / 10);
      }
      assert.deepEqual(await svc.getMetricHistoryBulkInterval({ runIds: ids, key: 'missing' }), []);
    });
  });
}
