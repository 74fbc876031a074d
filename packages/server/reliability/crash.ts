// The crash-consistency campaign: 20 clients write through the real server process, which is SIGKILLed
// (workers and all) at random moments and restarted on the same store; every write answered 200 must be
// read back, the database must pass its integrity checks and latest_metrics must agree with the history.
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type DialectName, freshStoreUri, tempDir } from '../test/helpers.js';
import { freePort, killHard, type LiveServer, startServerProcess, stopServer } from './server-process.js';

export interface CrashOptions {
  dialect: DialectName;
  workers: number;
  kills: number;
  clients?: number;
  seed: number;
  /** The load runs for a random time in this range before each kill. */
  loadMs?: [number, number];
  progress?: (line: string) => void;
}

export interface CrashResult {
  dialect: DialectName;
  workers: number;
  seed: number;
  kills: number;
  /** Writes answered 200 (runs created, log-batch calls, set-tag calls), all read back. */
  acknowledged: { runs: number; batches: number; tags: number; metricPoints: number };
  /** Requests cut off by a kill (no answer): their outcome is unknown and not checked. */
  cutOff: number;
  /** Answers other than 200 while the server was up: none are expected. */
  refused: string[];
  /** Acknowledged writes missing or different after the restart. */
  lost: string[];
  /** Integrity-check and latest_metrics findings. */
  corrupt: string[];
  restartMs: { median: number; p95: number; max: number; all: number[] };
  elapsedMs: number;
}

interface AckedRun {
  runId: string;
  params: Map<string, string>;
  tags: Map<string, string>;
  /** key -> step -> value */
  metrics: Map<string, Map<number, number>>;
}

/** A small seeded generator (mulberry32), so that a run's kill times can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Outcome<T> = { ok: true; body: T } | { ok: false; cut: boolean; detail?: string };

async function post<T>(api: string, endpoint: string, body: unknown): Promise<Outcome<T>> {
  try {
    const r = await fetch(`${api}/${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await r.text();
    if (r.status === 200) return { ok: true, body: JSON.parse(text) as T };
    return { ok: false, cut: false, detail: `${endpoint} -> ${r.status} ${text.slice(0, 200)}` };
  } catch {
    return { ok: false, cut: true };
  }
}

interface Load {
  stop: boolean;
  cutOff: number;
  refused: string[];
  batches: number;
  tagCalls: number;
  points: number;
}

/** One client: runs of up to 8 steps, each step a log-batch (2 metrics, a param, a tag) and a set-tag. */
async function client(api: string, experimentId: string, id: string, load: Load, runs: AckedRun[]) {
  for (let r = 0; !load.stop; r++) {
    const created = await post<{ run: { info: { run_id: string } } }>(api, 'runs/create', {
      experiment_id: experimentId,
      run_name: `${id}-${r}`,
      start_time: Date.now(),
    });
    if (!created.ok) return note(load, created);
    const run: AckedRun = {
      runId: created.body.run.info.run_id,
      params: new Map(),
      tags: new Map(),
      metrics: new Map(),
    };
    runs.push(run);
    for (let step = 0; step < 8 && !load.stop; step++) {
      const metrics = ['m0', 'm1'].map((key, i) => ({
        key,
        value: step * 10 + i + Math.random(),
        timestamp: Date.now(),
        step,
      }));
      const batch = await post(api, 'runs/log-batch', {
        run_id: run.runId,
        metrics,
        params: [{ key: `p${step}`, value: `${id}-${r}-${step}` }],
        tags: [{ key: `bt${step}`, value: `${step}` }],
      });
      if (!batch.ok) return note(load, batch);
      for (const m of metrics) {
        if (!run.metrics.has(m.key)) run.metrics.set(m.key, new Map());
        run.metrics.get(m.key)?.set(m.step, m.value);
      }
      run.params.set(`p${step}`, `${id}-${r}-${step}`);
      run.tags.set(`bt${step}`, `${step}`);
      load.batches++;
      load.points += metrics.length;
      const tag = await post(api, 'runs/set-tag', { run_id: run.runId, key: `st${step}`, value: id });
      if (!tag.ok) return note(load, tag);
      run.tags.set(`st${step}`, id);
      load.tagCalls++;
    }
  }
}

function note(load: Load, outcome: { cut: boolean; detail?: string }): void {
  if (outcome.cut) load.cutOff++;
  else load.refused.push(outcome.detail ?? '');
}

interface RunView {
  run: {
    data: {
      params?: { key: string; value: string }[];
      tags?: { key: string; value: string }[];
      metrics?: { key: string; value: number; step: number }[];
    };
  };
}

/** Reads each acknowledged run back through the API; returns what is missing or different. */
export async function readBack(api: string, runs: AckedRun[]): Promise<string[]> {
  const lost: string[] = [];
  const check = async (run: AckedRun) => {
    const got = await fetch(`${api}/runs/get?run_id=${run.runId}`);
    if (got.status !== 200) {
      lost.push(`run ${run.runId}: runs/get answered ${got.status}`);
      return;
    }
    const { data } = ((await got.json()) as RunView).run;
    const params = new Map((data.params ?? []).map((p) => [p.key, p.value]));
    const tags = new Map((data.tags ?? []).map((t) => [t.key, t.value]));
    for (const [k, v] of run.params) if (params.get(k) !== v) lost.push(`run ${run.runId} param ${k}`);
    for (const [k, v] of run.tags) if (tags.get(k) !== v) lost.push(`run ${run.runId} tag ${k}`);
    const latest = new Map((data.metrics ?? []).map((m) => [m.key, m]));
    for (const [key, steps] of run.metrics) {
      const h = await fetch(`${api}/metrics/get-history?run_id=${run.runId}&metric_key=${key}`);
      const history = ((await h.json()) as { metrics?: { step: number; value: number }[] }).metrics ?? [];
      const stored = new Map(history.map((m) => [m.step, m.value]));
      for (const [step, value] of steps) {
        if (stored.get(step) !== value) lost.push(`run ${run.runId} metric ${key} step ${step}`);
      }
      // The latest value shown with the run is the history's highest step (unacknowledged points
      // may have landed too, so compare with what is stored, not with what was acknowledged).
      const top = history.reduce((a, b) => (b.step > a.step ? b : a), history[0]);
      const shown = latest.get(key);
      if (top && (shown?.step !== top.step || shown.value !== top.value)) {
        lost.push(`run ${run.runId} metric ${key}: latest ${JSON.stringify(shown)} vs history ${top.step}`);
      }
    }
  };
  // A few at a time: the check must not itself be a load test.
  for (let i = 0; i < runs.length; i += 8) await Promise.all(runs.slice(i, i + 8).map(check));
  return lost;
}

/**
 * latest_metrics against metrics in SQL: every (run, key) with history has a latest row, and no latest
 * row is behind a stored point (higher step, then timestamp, then value, MLflow's order).
 */
const LATEST_BEHIND = `select count(*) as n from latest_metrics l where exists (
  select 1 from metrics m where m.run_uuid = l.run_uuid and m.key = l.key and (m.step > l.step
    or (m.step = l.step and m.timestamp > l.timestamp)
    or (m.step = l.step and m.timestamp = l.timestamp and m.value > l.value)))`;
const LATEST_MISSING = `select count(*) as n from (select distinct run_uuid, key from metrics) k
  where not exists (select 1 from latest_metrics l where l.run_uuid = k.run_uuid and l.key = k.key)`;

/** The store as the kill left it: SQLite's integrity and foreign-key checks, and latest_metrics. */
export async function checkStore(dialect: DialectName, uri: string): Promise<string[]> {
  const found: string[] = [];
  if (dialect === 'sqlite') {
    const db = new Database(uri.replace(/^sqlite:\/\//, ''));
    try {
      const integrity = db.pragma('integrity_check') as { integrity_check: string }[];
      if (integrity.map((r) => r.integrity_check).join() !== 'ok') {
        found.push(`integrity_check: ${JSON.stringify(integrity).slice(0, 500)}`);
      }
      const fk = db.pragma('foreign_key_check') as unknown[];
      if (fk.length) found.push(`foreign_key_check: ${fk.length} rows`);
      const behind = (db.prepare(LATEST_BEHIND).get() as { n: number }).n;
      const missing = (db.prepare(LATEST_MISSING).get() as { n: number }).n;
      if (behind) found.push(`${behind} latest_metrics rows behind the history`);
      if (missing) found.push(`${missing} metric keys without a latest_metrics row`);
    } finally {
      db.close();
    }
    return found;
  }
  const client = new pg.Client({ connectionString: uri });
  await client.connect();
  try {
    const behind = Number((await client.query(LATEST_BEHIND)).rows[0].n);
    const missing = Number((await client.query(LATEST_MISSING)).rows[0].n);
    if (behind) found.push(`${behind} latest_metrics rows behind the history`);
    if (missing) found.push(`${missing} metric keys without a latest_metrics row`);
  } finally {
    await client.end();
  }
  return found;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export async function runCrashCampaign(options: CrashOptions): Promise<CrashResult> {
  const began = performance.now();
  const random = prng(options.seed);
  const [minMs, maxMs] = options.loadMs ?? [150, 1500];
  const clients = options.clients ?? 20;
  const store = await freshStoreUri(options.dialect);
  const artifacts = tempDir('mlflow-ts-crash-artifacts-');
  const spec = {
    storeUri: store.uri,
    artifactsDir: artifacts.dir,
    port: await freePort(),
    workers: options.workers,
  };
  const allRuns: AckedRun[] = [];
  const result: CrashResult = {
    dialect: options.dialect,
    workers: options.workers,
    seed: options.seed,
    kills: 0,
    acknowledged: { runs: 0, batches: 0, tags: 0, metricPoints: 0 },
    cutOff: 0,
    refused: [],
    lost: [],
    corrupt: [],
    restartMs: { median: 0, p95: 0, max: 0, all: [] },
    elapsedMs: 0,
  };
  // Four workers, each loading the server and starting its store threads, take 15-30 s to answer on
  // the shared 2-core machine; a start that takes longer than this fails the campaign.
  const startTimeoutMs = 90_000;
  let server: LiveServer | undefined;
  try {
    server = await startServerProcess(spec, startTimeoutMs);
    const created = await post<{ experiment_id: string }>(server.api, 'experiments/create', {
      name: `crash-${randomBytes(4).toString('hex')}`,
    });
    if (!created.ok) throw new Error(`experiments/create failed: ${JSON.stringify(created)}`);
    const experimentId = created.body.experiment_id;
    for (let k = 0; k < options.kills; k++) {
      const load: Load = { stop: false, cutOff: 0, refused: [], batches: 0, tagCalls: 0, points: 0 };
      const runs: AckedRun[] = [];
      const api = server.api;
      const loops = Array.from({ length: clients }, (_, c) =>
        client(api, experimentId, `k${k}c${c}`, load, runs),
      );
      // On a busy machine a fresh server (4 workers still loading) may take seconds to answer; the
      // random delay counts from when the load has reached the store, so every kill cuts writes.
      for (const until = Date.now() + 30_000; load.batches < clients && Date.now() < until; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, minMs + random() * (maxMs - minMs)));
      await killHard(server.child);
      await Promise.all(loops);
      result.kills++;
      result.cutOff += load.cutOff;
      result.refused.push(...load.refused);
      result.acknowledged.runs += runs.length;
      result.acknowledged.batches += load.batches;
      result.acknowledged.tags += load.tagCalls;
      result.acknowledged.metricPoints += load.points;
      const corrupt = await checkStore(options.dialect, store.uri);
      result.corrupt.push(...corrupt.map((c) => `after kill ${k + 1}: ${c}`));
      server = await startServerProcess(spec, startTimeoutMs);
      result.restartMs.all.push(Math.round(server.startMs));
      const lost = await readBack(server.api, runs);
      result.lost.push(...lost.map((l) => `after kill ${k + 1}: ${l}`));
      allRuns.push(...runs);
      options.progress?.(
        `${options.dialect} workers=${options.workers}: ${k + 1}/${options.kills} kills, ${result.acknowledged.batches} batches acknowledged, restart ${Math.round(server.startMs)} ms`,
      );
    }
    // Once more at the end: every run of every round, after all the later kills.
    const lost = await readBack(server.api, allRuns);
    result.lost.push(...lost.map((l) => `at the end: ${l}`));
  } finally {
    if (server) await stopServer(server.child);
    store.cleanup();
    artifacts.cleanup();
  }
  const sorted = [...result.restartMs.all].sort((a, b) => a - b);
  result.restartMs = {
    median: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    max: sorted.at(-1) ?? 0,
    all: result.restartMs.all,
  };
  result.elapsedMs = Math.round(performance.now() - began);
  return result;
}
