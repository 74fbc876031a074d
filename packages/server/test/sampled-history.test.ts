import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MetricWithRunId } from '../src/entities/tracking.js';
import { sampleSteps } from '../src/store/sql-tracking-store.js';
import {
  call,
  DIALECTS,
  expectError,
  rejectsWith,
  startTestServer,
  type TestServer,
  useTestTracking,
} from './helpers.js';

// get-history-bulk-interval samples steps in SQL; these tests hold it to MLflow's rule (evenly spread
// steps of the union of the runs' steps, the last step in range, each run's first and last step),
// written out in sampleSteps, and its MIN_MAX extension to the M4 rule written out in extremesOf.

const MAX_DOUBLE = 1.7976931348623157e308;

interface Point {
  step: number;
  value: number;
  timestamp: number;
}

/**
 * What sampling=MIN_MAX must return for one run: the buckets are floor(max / 4) equal runs of steps
 * from start; each keeps its first and last step and the earliest step of its smallest and of its
 * largest non-NaN value; every point at a kept step is returned. A range of at most `max` steps is
 * returned whole.
 */
function extremesOf(points: Point[], max: number, start: number, end: number): number[] {
  const inRange = points.filter((p) => p.step >= start && p.step <= end);
  if (end - start + 1 <= max) return inRange.map((p) => p.step).sort((a, b) => a - b);
  const width = Math.max(1, Math.ceil((end - start + 1) / Math.floor(max / 4)));
  const buckets = new Map<number, Point[]>();
  for (const p of inRange) {
    const b = Math.floor((p.step - start) / width);
    buckets.set(b, [...(buckets.get(b) ?? []), p]);
  }
  const kept = new Set<number>();
  for (const list of buckets.values()) {
    const steps = list.map((p) => p.step);
    kept.add(Math.min(...steps));
    kept.add(Math.max(...steps));
    const numbers = list.filter((p) => !Number.isNaN(p.value));
    if (numbers.length === 0) continue;
    const lo = Math.min(...numbers.map((p) => p.value));
    const hi = Math.max(...numbers.map((p) => p.value));
    kept.add(Math.min(...numbers.filter((p) => p.value === lo).map((p) => p.step)));
    kept.add(Math.min(...numbers.filter((p) => p.value === hi).map((p) => p.step)));
  }
  return inRange
    .filter((p) => kept.has(p.step))
    .map((p) => p.step)
    .sort((a, b) => a - b);
}

/** How the store keeps a logged value: +/-Infinity become the largest finite doubles, as in MLflow. */
const stored = (v: number) => (v === Infinity ? MAX_DOUBLE : v === -Infinity ? -MAX_DOUBLE : v);

/** The smallest and largest non-NaN value of each bucket of `width` steps from `start`. */
function bucketExtremes(points: { step: number; value: number }[], start: number, width: number) {
  const out = new Map<number, [number, number]>();
  for (const p of points) {
    if (Number.isNaN(p.value)) continue;
    const b = Math.floor((p.step - start) / width);
    const [lo, hi] = out.get(b) ?? [Infinity, -Infinity];
    out.set(b, [Math.min(lo, p.value), Math.max(hi, p.value)]);
  }
  return out;
}

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

    // Run a: 10,000 steps of a smooth curve with isolated one-step spikes up and down, NaN and +/-Infinity
    // as MLflow clients log them. Run b: every third step, offset, with its own spike and a step logged
    // twice. Run c: a short run inside the range of the others.
    const SPIKES_UP = [1237, 5051];
    const SPIKES_DOWN = [4441, 9949];
    const runA: Point[] = Array.from({ length: 10_000 }, (_, step) => {
      let value = Math.sin(step / 500) + step / 10_000;
      if (SPIKES_UP.includes(step)) value = 40;
      if (SPIKES_DOWN.includes(step)) value = -40;
      if (step >= 7770 && step <= 7779) value = Number.NaN;
      if (step === 8003) value = Infinity;
      if (step === 9001) value = -Infinity;
      return { step, value, timestamp: 1_000_000 + step };
    });
    const runB: Point[] = Array.from({ length: 3000 }, (_, i) => ({
      step: 2 + i * 3,
      value: i === 1711 ? 99 : Math.cos(i / 100),
      timestamp: 2_000_000 + i,
    }));
    runB.push({ step: 2 + 500 * 3, value: -7, timestamp: 3_000_000 });
    const runC: Point[] = Array.from({ length: 300 }, (_, i) => ({
      step: 6000 + i,
      value: i % 2 ? 1 : -1,
      timestamp: 4_000_000 + i,
    }));

    async function logRuns(name: string): Promise<string[]> {
      const exp = await svc.createExperiment(name, undefined, []);
      const ids: string[] = [];
      for (const points of [runA, runB, runC]) {
        const run = await svc.createRun({ experimentId: exp, startTime: 1, tags: [] });
        ids.push(run.info.run_id);
        for (let i = 0; i < points.length; i += 1000) {
          const metrics = points.slice(i, i + 1000).map((p) => ({ key: 'm', ...p }));
          await svc.logBatch(run.info.run_id, metrics, [], []);
        }
      }
      return ids;
    }

    test("MIN_MAX keeps every bucket's smallest and largest value, spikes, NaN and infinities included", async () => {
      const ids = await logRuns('min-max');
      const sets = [runA, runB, runC];
      const first = Math.min(...sets.flat().map((p) => p.step));
      const last = Math.max(...sets.flat().map((p) => p.step));
      for (const [max, startStep, endStep] of [
        [2500, undefined, undefined],
        [100, undefined, undefined],
        [4, undefined, undefined],
        [401, 1000, 9000],
        [40, 5050, 5052],
        [100, 9000, 20_000],
      ] as [number, number | undefined, number | undefined][]) {
        const got = await svc.getMetricHistoryBulkInterval({
          runIds: ids,
          key: 'm',
          maxResults: max,
          startStep,
          endStep,
          sampling: 'MIN_MAX',
        });
        const start = startStep ?? first;
        const end = endStep ?? last;
        const width = Math.max(1, Math.ceil((end - start + 1) / Math.floor(max / 4)));
        const label = `max ${max}, range ${startStep}..${endStep}`;
        ids.forEach((id, i) => {
          const mine = got.filter((m) => m.run_id === id);
          assert.deepEqual(
            mine.map((m) => m.step),
            extremesOf(sets[i], max, start, end),
            `run ${i}, ${label}`,
          );
          // The property the mode exists for, stated on its own: no bucket loses its extremes.
          const full = sets[i]
            .filter((p) => p.step >= start && p.step <= end)
            .map((p) => ({ ...p, value: stored(p.value) }));
          assert.deepEqual(
            bucketExtremes(mine, start, width),
            bucketExtremes(full, start, width),
            `run ${i}, ${label}`,
          );
          // Each returned point is the logged one.
          for (const m of mine) {
            const logged = sets[i].find((p) => p.step === m.step && p.timestamp === m.timestamp);
            assert.ok(logged, `run ${i} step ${m.step}`);
            assert.ok(Object.is(m.value, stored(logged.value)), `run ${i} step ${m.step}: ${m.value}`);
          }
        });
      }

      // At full range with the default budget, every spike of run a is in the answer and so are the
      // infinities; MLflow's step sampling (evenly spaced steps) misses the spikes.
      const a = (rows: MetricWithRunId[]) => rows.filter((m) => m.run_id === ids[0]);
      const minMax = a(
        await svc.getMetricHistoryBulkInterval({
          runIds: ids,
          key: 'm',
          maxResults: 100,
          sampling: 'MIN_MAX',
        }),
      );
      const steps = a(await svc.getMetricHistoryBulkInterval({ runIds: ids, key: 'm', maxResults: 100 }));
      for (const spike of [...SPIKES_UP, ...SPIKES_DOWN, 8003, 9001]) {
        assert.ok(
          minMax.some((m) => m.step === spike),
          `MIN_MAX keeps step ${spike}`,
        );
        assert.ok(!steps.some((m) => m.step === spike), `STEPS samples past step ${spike}`);
      }
      assert.equal(Math.max(...minMax.map((m) => m.value)), MAX_DOUBLE);
      assert.equal(Math.min(...minMax.map((m) => m.value)), -MAX_DOUBLE);
      assert.ok(minMax.length <= 100, `${minMax.length} points for a budget of 100`);
      // A bucket of NaN points only keeps its first and last step (NaN is nobody's extreme); the next
      // bucket keeps its four.
      const nan = await svc.getMetricHistoryBulkInterval({
        runIds: [ids[0]],
        key: 'm',
        maxResults: 8,
        startStep: 7770,
        endStep: 7789,
        sampling: 'MIN_MAX',
      });
      const want = extremesOf(runA, 8, 7770, 7789);
      assert.deepEqual(want.slice(0, 3), [7770, 7779, 7780]);
      assert.deepEqual(
        nan.map((m) => m.step),
        want,
      );
      assert.ok(Number.isNaN(nan[0].value) && Number.isNaN(nan[1].value));

      assert.deepEqual(
        await svc.getMetricHistoryBulkInterval({ runIds: ids, key: 'missing', sampling: 'MIN_MAX' }),
        [],
      );
      assert.deepEqual(
        await svc.getMetricHistoryBulkInterval({
          runIds: [ids[2]],
          key: 'm',
          startStep: 0,
          endStep: 10,
          sampling: 'MIN_MAX',
        }),
        [],
      );
    });

    test('MIN_MAX rejects a budget too small for one bucket', async () => {
      for (const maxResults of [1, 3]) {
        await rejectsWith(
          svc.getMetricHistoryBulkInterval({ runIds: ['r'], key: 'm', maxResults, sampling: 'MIN_MAX' }),
          'INVALID_PARAMETER_VALUE',
          /^max_results must be between 4 and 2500 when sampling is MIN_MAX\./,
        );
      }
      await rejectsWith(
        svc.getMetricHistoryBulkInterval({ runIds: ['r'], key: 'm', maxResults: 2501, sampling: 'MIN_MAX' }),
        'INVALID_PARAMETER_VALUE',
        /^max_results must be between 1 and 2500\./,
      );
      await rejectsWith(
        svc.getMetricHistoryBulkInterval({ runIds: ['r'], key: 'm', startStep: 5, sampling: 'MIN_MAX' }),
        'INVALID_PARAMETER_VALUE',
        /both must be specified/,
      );
    });
  });

  describe(`get-history-bulk-interval's sampling parameter over REST on ${dialect}`, () => {
    let srv: TestServer;
    let runId: string;
    before(async () => {
      srv = await startTestServer(dialect);
      const exp = await call(srv.api, 'POST', 'experiments/create', { name: 'sampling-rest' });
      const run = await call(srv.api, 'POST', 'runs/create', {
        experiment_id: exp.body.experiment_id,
        start_time: 1,
      });
      runId = run.body.run.info.run_id;
      for (let i = 0; i < 3000; i += 1000) {
        const metrics = Array.from({ length: 1000 }, (_, j) => {
          const step = i + j;
          const value = step === 1234 ? 'Infinity' : step === 2345 ? 'NaN' : step === 1717 ? -5 : step / 3000;
          return { key: 'm', value, timestamp: 10 + step, step };
        });
        const logged = await call(srv.api, 'POST', 'runs/log-batch', { run_id: runId, metrics });
        assert.equal(logged.status, 200, JSON.stringify(logged.body));
      }
    });
    after(() => srv?.close());

    const get = (prefix: 'api' | 'ajax-api', q: Record<string, unknown>) =>
      fetch(
        `${srv.url}/${prefix}/2.0/mlflow/metrics/get-history-bulk-interval?${new URLSearchParams(q as Record<string, string>)}`,
      );

    test("without it the answer is MLflow's sampling, byte for byte the same as sampling=STEPS", async () => {
      for (const prefix of ['api', 'ajax-api'] as const) {
        const q = { run_ids: runId, metric_key: 'm', max_results: '100' };
        const plain = await get(prefix, q);
        const steps = await get(prefix, { ...q, sampling: 'STEPS' });
        assert.equal(plain.status, 200);
        const text = await plain.text();
        assert.equal(text, await steps.text());
        const body = JSON.parse(text);
        assert.equal(body.metrics.length, 101);
        assert.ok(!body.metrics.some((m: { step: number }) => m.step === 1717 || m.step === 1234));
      }
    });

    test("sampling=MIN_MAX keeps the spikes, with MLflow's JSON for non-finite values", async () => {
      for (const prefix of ['api', 'ajax-api'] as const) {
        const res = await get(prefix, {
          run_ids: runId,
          metric_key: 'm',
          max_results: '100',
          sampling: 'MIN_MAX',
        });
        assert.equal(res.status, 200);
        const body = await res.json();
        const byStep = new Map(body.metrics.map((m: { step: number; value: unknown }) => [m.step, m.value]));
        assert.equal(byStep.get(1717), -5);
        assert.equal(byStep.get(1234), MAX_DOUBLE);
        assert.equal(byStep.get(0), 0);
        assert.equal(byStep.get(2999), 2999 / 3000);
        assert.ok(body.metrics.length <= 100);
        assert.ok(
          body.metrics.every((m: { run_id: string; key: string }) => m.run_id === runId && m.key === 'm'),
        );
      }
      // The NaN point is returned as MLflow writes NaN, when its step is kept (a range small enough).
      const small = await call(srv.api, 'GET', 'metrics/get-history-bulk-interval', {
        run_ids: runId,
        metric_key: 'm',
        start_step: 2340,
        end_step: 2350,
        sampling: 'MIN_MAX',
      });
      assert.equal(small.body.metrics.find((m: { step: number }) => m.step === 2345).value, 'NaN');
    });

    test('bad sampling values and budgets are MLflow-style errors', async () => {
      const base = { run_ids: runId, metric_key: 'm' };
      await expectError(
        call(srv.api, 'GET', 'metrics/get-history-bulk-interval', { ...base, sampling: 'MINMAX' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /^Invalid value "MINMAX" for parameter 'sampling' supplied\. It must be one of STEPS, MIN_MAX\./,
      );
      await expectError(
        call(srv.api, 'GET', 'metrics/get-history-bulk-interval', {
          ...base,
          sampling: 'MIN_MAX',
          max_results: 3,
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /when sampling is MIN_MAX/,
      );
      await expectError(
        call(srv.api, 'GET', 'metrics/get-history-bulk-interval', {
          ...base,
          sampling: 'MIN_MAX',
          max_results: 'x',
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /max_results/,
      );
      await expectError(
        call(srv.api, 'GET', 'metrics/get-history-bulk-interval', {
          ...base,
          sampling: 'MIN_MAX',
          start_step: 10,
          end_step: 5,
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /end_step must be greater than start_step/,
      );
    });

    test('get-histories-bulk-interval (ours, /ajax-api only) answers several metrics as each bulk-interval would', async () => {
      const ajax = srv.api.replace('/api/', '/ajax-api/');
      const other = await call(srv.api, 'POST', 'runs/log-batch', {
        run_id: runId,
        metrics: [0, 5, 9].map((step) => ({
          key: 'n',
          value: step === 5 ? 'NaN' : step * 2,
          timestamp: 1,
          step,
        })),
      });
      assert.equal(other.status, 200);
      const q = {
        run_ids: runId,
        metric_keys: ['m', 'n', 'absent', 'm'],
        max_results: 100,
        sampling: 'MIN_MAX',
      };
      const res = await call(ajax, 'GET', 'metrics/get-histories-bulk-interval', q);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      // One series per run and present key, in key order; a repeated key is answered once.
      assert.deepEqual(
        res.body.series.map((s: { metric_key: string; run_id: string }) => `${s.metric_key}/${s.run_id}`),
        [`m/${runId}`, `n/${runId}`],
      );
      const single = await call(srv.api, 'GET', 'metrics/get-history-bulk-interval', {
        run_ids: runId,
        metric_key: 'm',
        max_results: 100,
        sampling: 'MIN_MAX',
      });
      const [m, n] = res.body.series;
      assert.deepEqual(
        m.steps,
        single.body.metrics.map((p: { step: number }) => p.step),
      );
      assert.deepEqual(
        m.values,
        single.body.metrics.map((p: { value: unknown }) => p.value),
      );
      assert.ok(m.values.includes(-5) && m.values.includes(MAX_DOUBLE), 'the spikes are kept');
      assert.deepEqual(n, { metric_key: 'n', run_id: runId, steps: [0, 5, 9], values: [0, 'NaN', 18] });

      // Not on MLflow's /api prefix: it is our extension.
      assert.equal((await call(srv.api, 'GET', 'metrics/get-histories-bulk-interval', q)).status, 404);
      await expectError(
        call(ajax, 'GET', 'metrics/get-histories-bulk-interval', { run_ids: runId }),
        400,
        'INVALID_PARAMETER_VALUE',
        /metric_keys/,
      );
      await expectError(
        call(ajax, 'GET', 'metrics/get-histories-bulk-interval', { metric_keys: 'm' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /run_ids/,
      );
      await expectError(
        call(ajax, 'GET', 'metrics/get-histories-bulk-interval', {
          run_ids: runId,
          metric_keys: Array.from({ length: 26 }, (_, i) => `k${i}`),
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /At most 25 metric_keys/,
      );
      await expectError(
        call(ajax, 'GET', 'metrics/get-histories-bulk-interval', { ...q, max_results: 3 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /when sampling is MIN_MAX/,
      );
    });
  });
}
