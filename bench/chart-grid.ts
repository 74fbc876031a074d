/**
 * bench/chart-grid.ts: the server's side of the chart grid (20 metrics x 100 runs x 50 steps, as
 * packages/ui/test/charts-grid.e2e.test.ts seeds), on an in-process SQLite (or `postgres`) server:
 * the 20 sampled-history requests one metric at a time (MLflow's get-history-bulk-interval with
 * sampling=MIN_MAX) against 5 requests of 4 metrics (our get-histories-bulk-interval), with the
 * process CPU time (a fairer figure than wall time on a shared machine) and the answer sizes.
 *
 *   npx tsx bench/chart-grid.ts [sqlite|postgres]   (postgres: MLFLOW_TS_TEST_POSTGRES_URI set)
 */
import { performance } from 'node:perf_hooks';
import { type DialectName, startTestServer } from '../packages/server/test/helpers.js';
import { Seeder } from '../packages/ui/test/seed.js';

const METRICS = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`);
const dialect = process.argv[2] ?? 'sqlite';
if (dialect !== 'sqlite' && dialect !== 'postgres')
  throw new Error('usage: tsx bench/chart-grid.ts [sqlite|postgres]');
// postgres needs MLFLOW_TS_TEST_POSTGRES_URI, as the tests do.
const server = await startTestServer(dialect as DialectName);
const s = new Seeder(server.url);
const exp = await s.experiment('g');
const ids: string[] = [];
for (let i = 0; i < 100; i++) {
  const { runId } = await s.run(exp, { name: `r${i}` });
  ids.push(runId);
  const metrics = METRICS.flatMap((key, k) =>
    Array.from({ length: 50 }, (_, step) => ({
      key,
      value: k + Math.exp(-step / (10 + i)),
      step,
      timestamp: step,
    })),
  );
  await s.call('POST', 'runs/log-batch', { run_id: runId, metrics });
}
const one = async (key: string) => {
  const q = new URLSearchParams({ metric_key: key, max_results: '320', sampling: 'MIN_MAX' });
  for (const id of ids) q.append('run_ids', id);
  const t = performance.now();
  const r = await fetch(`${server.api}/metrics/get-history-bulk-interval?${q}`);
  const text = await r.text();
  return { ms: performance.now() - t, bytes: text.length };
};
const multi = async (keys: string[]) => {
  const q = new URLSearchParams({ max_results: '320', sampling: 'MIN_MAX' });
  for (const id of ids) q.append('run_ids', id);
  for (const k of keys) q.append('metric_keys', k);
  const t = performance.now();
  const r = await fetch(`${server.url}/ajax-api/2.0/mlflow/metrics/get-histories-bulk-interval?${q}`);
  const text = await r.text();
  return { ms: performance.now() - t, bytes: text.length };
};
for (let round = 0; round < 3; round++) {
  const t = performance.now();
  const c0 = process.cpuUsage();
  const seq = [];
  for (let i = 0; i < 20; i += 4) seq.push(await multi(METRICS.slice(i, i + 4)));
  console.log(
    `multi x4: cpu ${((process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1000).toFixed(0)} ms, total ${(performance.now() - t).toFixed(0)} ms, each ${seq.map((x) => x.ms.toFixed(0)).join(' ')}, ${seq[0].bytes} bytes`,
  );
}
for (let round = 0; round < 3; round++) {
  const t = performance.now();
  const c0 = process.cpuUsage();
  const seq = [];
  for (const k of METRICS) seq.push(await one(k));
  console.log(
    `sequential: cpu ${((process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1000).toFixed(0)} ms, total ${(performance.now() - t).toFixed(0)} ms, each ${seq.map((x) => x.ms.toFixed(0)).join(' ')}, ${seq[0].bytes} bytes`,
  );
}
const cpu0 = process.cpuUsage();
const t = performance.now();
await Promise.all(METRICS.map(one));
console.log(
  `all parallel: ${(performance.now() - t).toFixed(0)} ms, cpu ${(process.cpuUsage(cpu0).user / 1000).toFixed(0)} ms`,
);
await server.close();
