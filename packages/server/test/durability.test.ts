// Crash durability: a write the server acknowledged (HTTP 200) must survive the server process being
// killed with SIGKILL mid-stream. Runs the real CLI as a child process, puts it under concurrent write
// load, kills it while requests are in flight, restarts it on the same store and checks every
// acknowledged run, metric point and param.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DialectName, freshStoreUri, REPO_ROOT } from './helpers.js';

const CLI = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');
const WORKERS = 8;
const LOAD_MS = 1500;
// On a slow or busy machine keep the load going (up to MAX_LOAD_MS) until this many writes are in.
const MIN_ACKED_BEFORE_KILL = 250;
const MAX_LOAD_MS = 8000;
const ITERATIONS_PER_RUN = 15;
const REQUEST_TIMEOUT_MS = 10_000;

function ensureBuilt(): void {
  const clientDist = path.join(REPO_ROOT, 'packages/client/dist/index.js');
  if (existsSync(CLI) && existsSync(clientDist)) return;
  execFileSync('npx', ['tsc', '-b', 'packages/client', 'packages/server'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
}

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  assert.ok(address && typeof address === 'object');
  probe.close();
  await once(probe, 'close');
  return address.port;
}

const live = new Set<ChildProcess>();

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

interface ServerProcess {
  child: ChildProcess;
  api: string;
  output: () => string;
}

/** Starts `mlflow-ts server` as a child process and waits until /health answers. */
async function startServerProcess(storeUri: string): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, 'server', '--backend-store-uri', storeUri, '--port', String(port), '--host', '127.0.0.1'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  child.once('exit', () => live.delete(child));
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (hasExited(child))
      assert.fail(`the server exited (${child.exitCode ?? child.signalCode}) on start:\n${log}`);
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200 && (await response.text()) === 'OK') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await killAndWait(child);
      assert.fail(`the server did not answer /health within 15 s:\n${log}`);
    }
    await sleep(50);
  }
  return { child, api: `${url}/api/2.0/mlflow`, output: () => log };
}

interface MetricPoint {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

interface MetricHistory {
  metrics?: MetricPoint[];
  next_page_token?: string;
}

/** Everything the server acknowledged for one run. */
interface AckedRun {
  runId: string;
  params: Map<string, string>;
  metrics: MetricPoint[];
}

interface LoadStats {
  acked: AckedRun[];
  ackedWrites: number;
  failedWrites: number;
  inFlight: number;
  inFlightAtKill: number;
  rejected: string[];
}

function newStats(): LoadStats {
  return { acked: [], ackedWrites: 0, failedWrites: 0, inFlight: 0, inFlightAtKill: 0, rejected: [] };
}

/**
 * POSTs a JSON body. Returns the parsed body on HTTP 200 and undefined when the request failed in
 * transport (the server died); any other status is recorded as a rejection.
 */
async function post<T = object>(
  api: string,
  endpoint: string,
  body: Record<string, unknown>,
  stats: LoadStats = newStats(),
): Promise<T | undefined> {
  stats.inFlight++;
  try {
    const response = await fetch(`${api}/${endpoint}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    if (response.status === 200) return JSON.parse(text) as T;
    stats.rejected.push(`${endpoint} -> ${response.status} ${text.slice(0, 300)}`);
    return undefined;
  } catch {
    stats.failedWrites++;
    return undefined;
  } finally {
    stats.inFlight--;
  }
}

/** One client: creates runs and logs params and metrics into them until the server stops answering. */
async function clientLoop(
  api: string,
  experimentId: string,
  worker: number,
  stats: LoadStats,
): Promise<void> {
  for (let runIndex = 0; ; runIndex++) {
    const created = await post<{ run: { info: { run_id: string } } }>(
      api,
      'runs/create',
      { experiment_id: experimentId, run_name: `w${worker}-r${runIndex}`, start_time: Date.now() },
      stats,
    );
    if (!created) return;
    const run: AckedRun = { runId: created.run.info.run_id, params: new Map(), metrics: [] };
    stats.acked.push(run);
    stats.ackedWrites++;
    for (let step = 0; step < ITERATIONS_PER_RUN; step++) {
      const timestamp = Date.now();
      const point = { key: 'loss', value: worker + step / 1000 + runIndex / 1e6, timestamp, step };
      if (!(await post(api, 'runs/log-metric', { run_id: run.runId, ...point }, stats))) return;
      run.metrics.push(point);
      stats.ackedWrites++;

      const param = { key: `p${step}`, value: `w${worker}-r${runIndex}-s${step}` };
      if (!(await post(api, 'runs/log-parameter', { run_id: run.runId, ...param }, stats))) return;
      run.params.set(param.key, param.value);
      stats.ackedWrites++;

      const metrics = ['acc', 'f1', 'recall'].map((key, i) => ({
        key,
        value: (step * 3 + i) / 7 + worker,
        timestamp: timestamp + 1,
        step,
      }));
      const params = [{ key: `b${step}`, value: String(step * worker) }];
      if (!(await post(api, 'runs/log-batch', { run_id: run.runId, metrics, params }, stats))) return;
      run.metrics.push(...metrics);
      for (const p of params) run.params.set(p.key, p.value);
      stats.ackedWrites++;
    }
  }
}

async function get<T>(api: string, endpoint: string, query: Record<string, string>) {
  const response = await fetch(`${api}/${endpoint}?${new URLSearchParams(query)}`, {
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, body: (await response.json()) as Partial<T> };
}

/** Checks one run against what was acknowledged for it; returns a list of what is missing. */
async function verifyRun(api: string, run: AckedRun): Promise<string[]> {
  const problems: string[] = [];
  const got = await get<{ run: { data: { params?: { key: string; value: string }[] } } }>(api, 'runs/get', {
    run_id: run.runId,
  });
  if (got.status !== 200) return [`run ${run.runId}: runs/get -> ${got.status} ${JSON.stringify(got.body)}`];
  const params = new Map<string, string>((got.body.run?.data.params ?? []).map((p) => [p.key, p.value]));
  for (const [key, value] of run.params) {
    if (params.get(key) !== value)
      problems.push(`run ${run.runId}: param ${key}=${value} is ${params.get(key)}`);
  }
  for (const key of new Set(run.metrics.map((m) => m.key))) {
    const history = await get<MetricHistory>(api, 'metrics/get-history', {
      run_id: run.runId,
      metric_key: key,
    });
    if (history.status !== 200) {
      problems.push(
        `run ${run.runId}: get-history ${key} -> ${history.status} ${JSON.stringify(history.body)}`,
      );
      continue;
    }
    assert.equal(history.body.next_page_token, undefined, 'a history this short fits in one page');
    const stored = new Set((history.body.metrics ?? []).map((m) => `${m.step}|${m.timestamp}|${m.value}`));
    for (const m of run.metrics.filter((point) => point.key === key)) {
      if (!stored.has(`${m.step}|${m.timestamp}|${m.value}`)) {
        problems.push(
          `run ${run.runId}: metric ${key} step ${m.step} value ${m.value} at ${m.timestamp} is missing`,
        );
      }
    }
  }
  return problems;
}

/** Runs `fn` over `items` with at most `limit` calls at once. */
async function pooled<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

async function crashAndRecover(t: TestContext, dialect: DialectName): Promise<void> {
  ensureBuilt();
  const store = await freshStoreUri(dialect);
  try {
    const first = await startServerProcess(store.uri);
    const experiment = await post<{ experiment_id: string }>(first.api, 'experiments/create', {
      name: `durability-${dialect}`,
    });
    assert.ok(experiment, `experiments/create failed:\n${first.output()}`);
    const experimentId: string = experiment.experiment_id;

    const stats = newStats();
    const loops = Array.from({ length: WORKERS }, (_, worker) =>
      clientLoop(first.api, experimentId, worker, stats),
    );
    const loadStart = Date.now();
    await sleep(LOAD_MS);
    while (stats.ackedWrites < MIN_ACKED_BEFORE_KILL && Date.now() - loadStart < MAX_LOAD_MS) await sleep(50);
    const loadMs = Date.now() - loadStart;
    stats.inFlightAtKill = stats.inFlight;
    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    const [code, signal] = await exited;
    assert.equal(
      signal,
      'SIGKILL',
      `the server exited with ${code} before it was killed:\n${first.output()}`,
    );
    await Promise.all(loops);

    assert.deepEqual(stats.rejected, [], 'no write is rejected while the server runs');
    assert.ok(stats.inFlightAtKill > 0, 'requests were in flight when the server was killed');
    assert.ok(stats.failedWrites > 0, 'some writes were cut off by the kill');
    assert.ok(stats.ackedWrites > 100, `only ${stats.ackedWrites} writes were acknowledged before the kill`);
    t.diagnostic(
      `${stats.ackedWrites} writes acknowledged in ${stats.acked.length} runs over ${loadMs} ms; ` +
        `${stats.inFlightAtKill} requests in flight at the kill, ${stats.failedWrites} cut off`,
    );

    const second = await startServerProcess(store.uri);
    try {
      const problems = (await pooled(stats.acked, 8, (run) => verifyRun(second.api, run))).flat();
      assert.deepEqual(problems.slice(0, 20), [], `${problems.length} acknowledged writes were lost`);

      // Every acknowledged run is listed in the experiment, and nothing more than was started.
      const search = await post<{ runs?: { info: { run_id: string } }[] }>(second.api, 'runs/search', {
        experiment_ids: [experimentId],
        max_results: 1000,
      });
      assert.ok(search, 'runs/search after the restart');
      const found = new Set((search.runs ?? []).map((r) => r.info.run_id));
      for (const run of stats.acked) assert.ok(found.has(run.runId), `run ${run.runId} is listed`);
      assert.ok(found.size <= stats.acked.length + WORKERS, 'at most one unacknowledged run per client');

      // The recovered store takes new writes.
      const run = stats.acked[0];
      const extra = { key: 'after_restart', value: 42, timestamp: Date.now(), step: 0 };
      assert.ok(await post(second.api, 'runs/log-metric', { run_id: run.runId, ...extra }));
      const history = await get<MetricHistory>(second.api, 'metrics/get-history', {
        run_id: run.runId,
        metric_key: extra.key,
      });
      assert.deepEqual(
        (history.body.metrics ?? []).map((m) => [m.step, m.value, m.timestamp]),
        [[0, 42, extra.timestamp]],
      );
    } finally {
      await killAndWait(second.child);
    }
  } finally {
    for (const child of live) await killAndWait(child);
    store.cleanup();
  }
}

describe('acknowledged writes survive SIGKILL', { timeout: 60_000 }, () => {
  after(async () => {
    for (const child of live) await killAndWait(child);
  });

  test('sqlite', { timeout: 30_000 }, (t) => crashAndRecover(t, 'sqlite'));
  test('postgres', { timeout: 30_000 }, (t) => crashAndRecover(t, 'postgres'));
});
