/**
 * Search and metric-history latency on a large store.
 *
 *   npx tsc -b packages/client packages/server        # the bench starts the built server
 *   npx tsx bench/search-scale.ts [--runs 100000] [--store sqlite|postgres] [--repeat 20] [--json]
 *
 * 1. Seeds an experiment of `--runs` runs, each with 10 params, 10 metrics and 5 tags (plus the
 *    mlflow.runName tag), one run in a hundred deleted, and a second experiment holding one run whose
 *    metric `loss` has `--history-points` points. Seeding is in-process, through the store's own
 *    group-commit writer, in transactions of a few thousand runs with multi-row inserts; it writes the
 *    rows the store itself would write (run name tag, latest_metrics, artifact URIs).
 * 2. Starts the built server (packages/server/dist/cli/main.js server) on that store, as a child
 *    process, and times searches and history reads over HTTP, each repeated `--repeat` times after
 *    two untimed warm-up calls. Latency: from just before the request is written until the whole
 *    body has been read (node:http, one keep-alive socket).
 * 3. Reads the server's peak RSS (VmHWM in /proc/<pid>/status) before and after the history reads.
 *
 * A store that already holds the bench experiment with the same number of runs is reused
 * (`--uri`), so a second run skips seeding; run ids are derived from a fixed seed, so they match.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../packages/server/src/store/database.js';
import type { Database } from '../packages/server/src/store/schema.js';
import { parseStoreUri } from '../packages/server/src/store/store-uri.js';
import {
  type CommandLine,
  commandLine,
  encodeJson,
  fmt as f,
  markdownTable,
  percentile,
  type Reply,
  send,
} from './common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'packages/server/dist/cli/main.js');
const EXPERIMENT = 'search-scale';
const HISTORY_EXPERIMENT = 'search-scale-history';
const HISTORY_KEY = 'loss';

interface Options {
  runs: number;
  store: 'sqlite' | 'postgres';
  uri?: string;
  repeat: number;
  historyPoints: number;
  historyRepeat: number;
  port: number;
  cli: string;
  only?: 'searches' | 'history';
  json: boolean;
}

const USAGE = `usage: tsx bench/search-scale.ts [--runs 100000] [--store sqlite|postgres] [--uri STORE_URI]
       [--repeat 20] [--history-points 1000000] [--history-repeat 5] [--port 5079] [--cli PATH] [--only searches|history] [--json]
  --uri: use (and reuse on later runs) this store instead of a fresh one
  --cli: the server's CLI script (default packages/server/dist/cli/main.js), e.g. an older build to compare`;

/** Bad command line: cli.fail prints the usage and exits with 2. */
const cli: CommandLine = commandLine('search-scale', USAGE);

function parseOptions(argv: string[]): Options {
  const o: Options = {
    runs: 100_000,
    store: 'sqlite',
    repeat: 20,
    historyPoints: 1_000_000,
    historyRepeat: 5,
    port: 5079,
    cli: CLI,
    json: false,
  };
  const flags = {
    runs: 'string',
    store: 'string',
    uri: 'string',
    repeat: 'string',
    'history-points': 'string',
    'history-repeat': 'string',
    port: 'string',
    only: 'string',
    cli: 'string',
    json: 'boolean',
  } as const;
  cli.parse(argv, flags, (name, value, flag) => {
    if (name === 'runs') o.runs = cli.count(flag, value);
    else if (name === 'store') {
      if (value !== 'sqlite' && value !== 'postgres') cli.fail('--store is sqlite or postgres');
      o.store = value;
    } else if (name === 'uri') o.uri = value;
    else if (name === 'repeat') o.repeat = cli.count(flag, value);
    else if (name === 'history-points') o.historyPoints = cli.count(flag, value);
    else if (name === 'history-repeat') o.historyRepeat = cli.count(flag, value);
    else if (name === 'port') o.port = cli.count(flag, value);
    else if (name === 'only') {
      if (value !== 'searches' && value !== 'history') cli.fail('--only is searches or history');
      o.only = value;
    } else if (name === 'cli') o.cli = path.resolve(value);
    else o.json = true;
  });
  return o;
}

// ---------------------------------------------------------------------------------------------------------
// Deterministic data

/** mulberry32: a small seeded PRNG, so every seeding of N runs produces the same store. */
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

function runIdOf(i: number): string {
  const rand = prng(0x5eed0000 + i);
  let id = '';
  for (let k = 0; k < 4; k++)
    id += Math.floor(rand() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return id;
}

const BASE_TIME = 1_700_000_000_000;
const isDeleted = (i: number) => i % 100 === 7;

interface SeedInfo {
  experimentId: string;
  historyRunId: string;
  seeded: boolean;
  seedSeconds: number;
  rows: Record<string, number>;
}

/**
 * The store opened without migrating it, to look for an earlier seeding: the server under test (maybe
 * an older build, see --cli) is the one that brings the schema up to its own version.
 */
function openPlain(uri: string): Kysely<Database> {
  const location = parseStoreUri(uri);
  // A new store's directory is made here (the server refuses a missing one), so any --uri path works.
  if (location.dialect === 'sqlite' && location.file !== ':memory:') {
    mkdirSync(path.dirname(location.file), { recursive: true });
  }
  return new Kysely<Database>({
    dialect:
      location.dialect === 'sqlite'
        ? new SqliteDialect({ database: new BetterSqlite3(location.file) })
        : new PostgresDialect({ pool: new pg.Pool({ connectionString: location.connectionString, max: 1 }) }),
  });
}

async function findExperiment(db: Kysely<Database>, name: string): Promise<string | undefined> {
  try {
    const row = await db
      .selectFrom('experiments')
      .select('experiment_id')
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? String(row.experiment_id) : undefined;
  } catch {
    return undefined; // an empty database: no tables yet
  }
}

async function seed(uri: string, o: Options, log: (s: string) => void): Promise<SeedInfo> {
  const plain = openPlain(uri);
  try {
    const existing = await findExperiment(plain, EXPERIMENT);
    const existingHistory = await findExperiment(plain, HISTORY_EXPERIMENT);
    if (existing && existingHistory) {
      const db = { reader: plain };
      const { n } = await db.reader
        .selectFrom('runs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('experiment_id', '=', String(existing))
        .executeTakeFirstOrThrow();
      const history = await db.reader
        .selectFrom('runs')
        .select('run_uuid')
        .where('experiment_id', '=', String(existingHistory))
        .executeTakeFirstOrThrow();
      const { points } = await db.reader
        .selectFrom('metrics')
        .select((eb) => eb.fn.countAll<number>().as('points'))
        .where('run_uuid', '=', history.run_uuid)
        .where('key', '=', HISTORY_KEY)
        .executeTakeFirstOrThrow();
      if (Number(n) !== o.runs || Number(points) !== o.historyPoints) {
        throw new Error(
          `the store already holds ${EXPERIMENT} with ${n} runs and ${points} history points; ` +
            `expected ${o.runs} and ${o.historyPoints}: use another --uri`,
        );
      }
      log(`reusing the seeded store (${n} runs, ${points} history points)`);
      return {
        experimentId: existing,
        historyRunId: history.run_uuid,
        seeded: false,
        seedSeconds: 0,
        rows: {},
      };
    }
  } finally {
    await plain.destroy();
  }

  const db = await openDatabase(uri);
  try {
    const started = performance.now();
    const rows = { runs: 0, params: 0, tags: 0, metrics: 0, latest_metrics: 0 };
    const createExperiment = (name: string) =>
      db.writer.run(async (trx) => {
        const now = Date.now();
        const inserted = await trx
          .insertInto('experiments')
          .values({ name, lifecycle_stage: 'active', creation_time: now, last_update_time: now } as never)
          .returning('experiment_id')
          .executeTakeFirstOrThrow();
        const id = String(inserted.experiment_id);
        await trx
          .updateTable('experiments')
          .set({ artifact_location: `mlflow-artifacts:/${id}` })
          .where('experiment_id', '=', String(id))
          .execute();
        return id;
      });
    const experimentId = await createExperiment(EXPERIMENT);
    const historyExperimentId = await createExperiment(HISTORY_EXPERIMENT);

    // Multi-row inserts, each under SQLite's limit of 32,766 bound variables.
    const insertAll = async (trx: any, table: string, values: Record<string, unknown>[]) => {
      if (values.length === 0) return;
      const per = Math.floor(30_000 / Object.keys(values[0]).length);
      for (let i = 0; i < values.length; i += per) {
        await trx
          .insertInto(table)
          .values(values.slice(i, i + per))
          .execute();
      }
    };

    const BATCH = 2000;
    for (let from = 0; from < o.runs; from += BATCH) {
      const runs: Record<string, unknown>[] = [];
      const params: Record<string, unknown>[] = [];
      const tags: Record<string, unknown>[] = [];
      const metrics: Record<string, unknown>[] = [];
      for (let i = from; i < Math.min(o.runs, from + BATCH); i++) {
        const rand = prng(i + 1);
        const id = runIdOf(i);
        const name = `run-${i}`;
        const start = BASE_TIME + i * 1000;
        const deleted = isDeleted(i);
        runs.push({
          run_uuid: id,
          experiment_id: Number(experimentId),
          name,
          user_id: `user-${i % 50}`,
          status: 'FINISHED',
          start_time: start,
          end_time: start + 500,
          deleted_time: deleted ? start + 600 : null,
          lifecycle_stage: deleted ? 'deleted' : 'active',
          artifact_uri: `mlflow-artifacts:/${experimentId}/${id}/artifacts`,
        });
        params.push(
          { run_uuid: id, key: 'p0', value: `model-${Math.floor(rand() * 10)}` },
          { run_uuid: id, key: 'p1', value: String(10 ** -Math.ceil(rand() * 5)) },
        );
        for (let k = 2; k < 10; k++)
          params.push({ run_uuid: id, key: `p${k}`, value: `v${Math.floor(rand() * 1000)}` });
        tags.push(
          { run_uuid: id, key: 'mlflow.runName', value: name },
          { run_uuid: id, key: 't0', value: `team-${i % 20}` },
          { run_uuid: id, key: 't1', value: `owner-${Math.floor(rand() * 100)}` },
        );
        for (let k = 2; k < 5; k++)
          tags.push({ run_uuid: id, key: `t${k}`, value: `tag-${Math.floor(rand() * 500)}` });
        // m8 is NaN in one run in a hundred and m9 is missing from one run in ten, so ordering by
        // them exercises the NaN and missing-values-last rules.
        for (let k = 0; k < 10; k++) {
          if (k === 9 && i % 10 === 3) continue;
          const nan = k === 8 && i % 100 === 5;
          metrics.push({
            run_uuid: id,
            key: `m${k}`,
            value: nan ? 0 : rand(),
            timestamp: start + 100,
            step: 0,
            is_nan: nan ? 1 : 0,
          });
        }
      }
      await db.writer.run(async (trx) => {
        await insertAll(trx, 'runs', runs);
        await insertAll(trx, 'params', params);
        await insertAll(trx, 'tags', tags);
        await insertAll(trx, 'metrics', metrics);
        await insertAll(trx, 'latest_metrics', metrics);
      });
      rows.runs += runs.length;
      rows.params += params.length;
      rows.tags += tags.length;
      rows.metrics += metrics.length;
      rows.latest_metrics += metrics.length;
      if ((from / BATCH) % 10 === 9)
        log(`  ${from + BATCH} runs seeded (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    }

    // One run with a long history: steps 0..N-1, one point a second, a slowly falling loss.
    const historyRunId = runIdOf(-1);
    await db.writer.run(async (trx) => {
      await insertAll(trx, 'runs', [
        {
          run_uuid: historyRunId,
          experiment_id: Number(historyExperimentId),
          name: 'history',
          user_id: 'bench',
          status: 'FINISHED',
          start_time: BASE_TIME,
          end_time: BASE_TIME + o.historyPoints * 1000,
          deleted_time: null,
          lifecycle_stage: 'active',
          artifact_uri: `mlflow-artifacts:/${historyExperimentId}/${historyRunId}/artifacts`,
        },
      ]);
      await insertAll(trx, 'tags', [{ run_uuid: historyRunId, key: 'mlflow.runName', value: 'history' }]);
    });
    rows.runs += 1;
    rows.tags += 1;
    const rand = prng(42);
    const POINTS_PER_TX = 50_000;
    let last: Record<string, unknown> | undefined;
    for (let from = 0; from < o.historyPoints; from += POINTS_PER_TX) {
      const points: Record<string, unknown>[] = [];
      for (let step = from; step < Math.min(o.historyPoints, from + POINTS_PER_TX); step++) {
        last = {
          run_uuid: historyRunId,
          key: HISTORY_KEY,
          value: 1 / (1 + step / 1000) + rand() * 0.01,
          timestamp: BASE_TIME + step * 1000,
          step,
          is_nan: 0,
        };
        points.push(last);
      }
      await db.writer.run((trx) => insertAll(trx, 'metrics', points));
      rows.metrics += points.length;
    }
    if (last) {
      const latest = last;
      await db.writer.run((trx) => insertAll(trx, 'latest_metrics', [latest]));
      rows.latest_metrics += 1;
    }
    const seedSeconds = (performance.now() - started) / 1000;
    log(`seeded in ${seedSeconds.toFixed(1)} s: ${JSON.stringify(rows)}`);
    return { experimentId, historyRunId, seeded: true, seedSeconds, rows };
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Server process

function startServer(script: string, uri: string, port: number): ChildProcess {
  if (!existsSync(script))
    cli.fail(`${script} is missing: build first with npx tsc -b packages/client packages/server`);
  const child = spawn(
    process.execPath,
    [script, 'server', '--backend-store-uri', uri, '--host', '127.0.0.1', '--port', String(port)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return child;
}

async function waitUntilUp(base: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 600_000; // a migration on a big store may take a while
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the server did not come up');
}

/** CPU time (user + system) the process has used so far, in ms; /proc counts it in ticks of 10 ms. */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime and stime, fields 14 and 15 of stat
}

function memoryOf(pid: number): { hwmMb: number; rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { hwmMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(base: string, method: 'GET' | 'POST', endpoint: string, body?: unknown): Promise<Reply> {
  return send(new URL(`${base}/api/2.0/mlflow/${endpoint}`), method, encodeJson(body), agent);
}

function parse(reply: Reply, what: string): Record<string, any> {
  if (reply.status !== 200) {
    throw new Error(`${what}: HTTP ${reply.status}: ${reply.body.toString('utf8').slice(0, 300)}`);
  }
  return JSON.parse(reply.body.toString('utf8')) as Record<string, any>;
}

// ---------------------------------------------------------------------------------------------------------
// Measurements

interface Row {
  name: string;
  request: string;
  results: number;
  bytes: number;
  n: number;
  /** Server CPU time per request (or per whole read), from /proc/<pid>/stat over all timed ones. */
  cpuMs: number;
  p50: number;
  p95: number;
  mean: number;
  min: number;
  max: number;
}

function summarise(
  name: string,
  requestText: string,
  ms: number[],
  results: number,
  bytes: number,
  cpuMs: number,
): Row {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    name,
    request: requestText,
    results,
    bytes,
    n: ms.length,
    cpuMs: cpuMs / ms.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    mean: ms.reduce((a, b) => a + b, 0) / ms.length,
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

interface SearchCase {
  name: string;
  body: Record<string, unknown>;
  /** Time the page after the first one, following the first page's token. */
  secondPage?: boolean;
}

function searchCases(experimentId: string, runs: number): SearchCase[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < Math.min(50, runs); i += Math.max(1, Math.floor(runs / 50))) {
    if (i >= runs) break;
    if (!isDeleted(i)) ids.push(runIdOf(i));
  }
  const e = [experimentId];
  const filtered = {
    experiment_ids: e,
    filter: "metrics.m0 > 0.5 AND params.p0 = 'model-3'",
    order_by: ['metrics.m1 DESC'],
    max_results: 100,
  };
  return [
    { name: 'metric AND param filter, order by metric', body: filtered },
    { name: 'the same, second page (page token)', body: filtered, secondPage: true },
    {
      name: 'order by metric, no filter',
      body: { experiment_ids: e, order_by: ['metrics.m1 DESC'], max_results: 100 },
    },
    {
      name: 'order by a param',
      body: { experiment_ids: e, order_by: ['params.p2 ASC'], max_results: 100 },
    },
    {
      name: 'order by a param, second page (page token)',
      body: { experiment_ids: e, order_by: ['params.p2 ASC'], max_results: 100 },
      secondPage: true,
    },
    {
      name: 'order by a tag, descending',
      body: { experiment_ids: e, order_by: ['tags.t1 DESC'], max_results: 100 },
    },
    {
      name: 'LIKE on a tag',
      body: { experiment_ids: e, filter: "tags.t1 LIKE 'owner-1%'", max_results: 100 },
    },
    {
      name: `IN on ${ids.length} run ids`,
      body: {
        experiment_ids: e,
        filter: `attributes.run_id IN (${ids.map((id) => `'${id}'`).join(', ')})`,
        max_results: 100,
      },
    },
    {
      name: 'run_view_type DELETED_ONLY',
      body: { experiment_ids: e, run_view_type: 'DELETED_ONLY', max_results: 100 },
    },
    {
      name: 'default order, second page (page token)',
      body: { experiment_ids: e, max_results: 100 },
      secondPage: true,
    },
  ];
}

function describe(body: Record<string, unknown>): string {
  const parts: string[] = [];
  if (body.filter) {
    const f = String(body.filter);
    parts.push(`filter \`${f.length > 60 ? `${f.slice(0, 57)}...` : f}\``);
  }
  if (body.order_by) parts.push(`order_by \`${(body.order_by as string[]).join(', ')}\``);
  if (body.run_view_type) parts.push(String(body.run_view_type));
  parts.push(`max_results ${body.max_results}`);
  return parts.join(', ');
}

async function timeSearch(base: string, pid: number, c: SearchCase, repeat: number): Promise<Row> {
  let body = c.body;
  if (c.secondPage) {
    const first = parse(await request(base, 'POST', 'runs/search', c.body), c.name);
    if (!first.next_page_token) {
      throw new Error(
        `${c.name}: every match fits on the first page, so there is no second page to time; seed more runs (--runs)`,
      );
    }
    body = { ...c.body, page_token: first.next_page_token };
  }
  const ms: number[] = [];
  let results = 0;
  let bytes = 0;
  let cpu = 0;
  for (let i = 0; i < repeat + 2; i++) {
    if (i === 2) cpu = cpuMsOf(pid);
    const reply = await request(base, 'POST', 'runs/search', body);
    const parsed = parse(reply, c.name);
    results = (parsed.runs ?? []).length;
    bytes = reply.body.length;
    if (i >= 2) ms.push(reply.ms);
  }
  cpu = cpuMsOf(pid) - cpu;
  if (results === 0) throw new Error(`${c.name}: no runs found`);
  return summarise(c.name, `${c.secondPage ? 'page 2: ' : ''}${describe(c.body)}`, ms, results, bytes, cpu);
}

interface HistoryRow extends Row {
  requests: number;
  hwmBeforeMb: number;
  /** After the first (checked) read: a later rise would mean memory grows with the reads. */
  hwmAfterFirstMb: number;
  hwmAfterMb: number;
  rssAfterMb: number;
}

/** Reads the whole history, following page tokens when `pageSize` is set; returns points and bytes. */
async function readHistory(
  base: string,
  runId: string,
  pageSize: number | undefined,
  check: boolean,
): Promise<{ ms: number; points: number; bytes: number; requests: number }> {
  let token: string | undefined;
  let ms = 0;
  let points = 0;
  let bytes = 0;
  let requests = 0;
  let lastStep = -1;
  do {
    const q = new URLSearchParams({ run_id: runId, metric_key: HISTORY_KEY });
    if (pageSize !== undefined) q.set('max_results', String(pageSize));
    if (token) q.set('page_token', token);
    const reply = await request(base, 'GET', `metrics/get-history?${q}`);
    ms += reply.ms;
    bytes += reply.body.length;
    requests++;
    if (reply.status !== 200)
      throw new Error(`get-history: HTTP ${reply.status}: ${reply.body.toString().slice(0, 300)}`);
    if (check) {
      const parsed = parse(reply, 'get-history');
      const metrics = (parsed.metrics ?? []) as { step: number }[];
      for (const m of metrics) {
        if (m.step !== lastStep + 1) throw new Error(`get-history: step ${m.step} after ${lastStep}`);
        lastStep = m.step;
      }
      points += metrics.length;
      token = parsed.next_page_token;
    } else {
      // Without parsing: the token, if any, is at the end of the body; points are counted by step fields.
      const text = reply.body.toString('latin1');
      const m = /"next_page_token":"([^"]*)"\}$/.exec(text);
      token = m ? m[1] : undefined;
      points += text.split('"step":').length - 1;
    }
  } while (token);
  return { ms, points, bytes, requests };
}

async function timeHistory(
  base: string,
  pid: number,
  runId: string,
  name: string,
  pageSize: number | undefined,
  repeat: number,
  expected: number,
): Promise<HistoryRow> {
  const before = memoryOf(pid);
  const first = await readHistory(base, runId, pageSize, true); // checked, untimed
  if (first.points !== expected) throw new Error(`${name}: ${first.points} points, expected ${expected}`);
  const afterFirst = memoryOf(pid);
  const ms: number[] = [];
  let requests = 0;
  let bytes = 0;
  const cpu = cpuMsOf(pid);
  for (let i = 0; i < repeat; i++) {
    const r = await readHistory(base, runId, pageSize, false);
    if (r.points !== expected) throw new Error(`${name}: ${r.points} points, expected ${expected}`);
    ms.push(r.ms);
    requests = r.requests;
    bytes = r.bytes;
  }
  const after = memoryOf(pid);
  const q = pageSize === undefined ? 'no max_results' : `max_results=${pageSize}, following page tokens`;
  return {
    ...summarise(name, q, ms, expected, bytes, cpuMsOf(pid) - cpu),
    requests,
    hwmBeforeMb: before.hwmMb,
    hwmAfterFirstMb: afterFirst.hwmMb,
    hwmAfterMb: after.hwmMb,
    rssAfterMb: after.rssMb,
  };
}

function searchTable(rows: Row[]): string {
  return markdownTable(
    [
      'search',
      'request',
      'runs:',
      'response KB:',
      'p50 ms:',
      'p95 ms:',
      'mean ms:',
      'min ms:',
      'max ms:',
      'server CPU ms:',
    ],
    rows.map((r) => [
      r.name,
      r.request,
      r.results,
      f(r.bytes / 1024, 0),
      f(r.p50),
      f(r.p95),
      f(r.mean),
      f(r.min),
      f(r.max),
      f(r.cpuMs, 0),
    ]),
  );
}

function historyTable(rows: HistoryRow[]): string {
  return markdownTable(
    [
      'history read',
      'request',
      'points:',
      'requests:',
      'MB:',
      'p50 ms:',
      'mean ms:',
      'min ms:',
      'max ms:',
      'server CPU ms:',
      'server VmHWM MB: before → after 1st read → after all',
    ],
    rows.map((r) => [
      r.name,
      r.request,
      r.results,
      r.requests,
      f(r.bytes / 1024 / 1024),
      f(r.p50),
      f(r.mean),
      f(r.min),
      f(r.max),
      f(r.cpuMs, 0),
      `${f(r.hwmBeforeMb)} → ${f(r.hwmAfterFirstMb)} → ${f(r.hwmAfterMb)}`,
    ]),
  );
}

function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const log = (s: string) => {
    if (!o.json) console.log(s);
    else console.error(s);
  };
  let uri = o.uri;
  if (!uri) {
    if (o.store === 'sqlite') {
      const dir = path.join(tmpdir(), `mlflow-ts-search-scale-${o.runs}`);
      mkdirSync(dir, { recursive: true });
      uri = `sqlite:///${path.join(dir, `fresh-${Date.now()}.db`)}`;
    } else {
      uri = execFileSync(
        'bash',
        [path.join(ROOT, 'scripts/services/postgres.sh'), 'createdb', `mlflow_search_scale_${o.runs}`],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      ).trim();
    }
  }
  const loadBefore = loadAverage();
  log(`search-scale: ${o.runs} runs on ${uri} (load average ${loadBefore})`);
  const info = await seed(uri, o, log);

  const base = `http://127.0.0.1:${o.port}`;
  const child = startServer(o.cli, uri, o.port);
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGINT');
  };
  process.on('exit', stop);
  try {
    const started = performance.now();
    await waitUntilUp(base, child);
    log(`server up in ${((performance.now() - started) / 1000).toFixed(1)} s (pid ${child.pid})`);
    const pid = child.pid as number;
    const startupMemory = memoryOf(pid);

    const searches: Row[] = [];
    for (const c of o.only === 'history' ? [] : searchCases(info.experimentId, o.runs)) {
      const row = await timeSearch(base, pid, c, o.repeat);
      log(`  ${row.name}: p50 ${f(row.p50)} ms, p95 ${f(row.p95)} ms (${row.results} runs)`);
      searches.push(row);
    }

    const history: HistoryRow[] = [];
    const reads = [
      ['whole history, one response', undefined],
      ['whole history, pages of 25,000', 25_000],
    ] as const;
    for (const [name, size] of o.only === 'searches' ? [] : reads) {
      try {
        const row = await timeHistory(
          base,
          pid,
          info.historyRunId,
          name,
          size,
          o.historyRepeat,
          o.historyPoints,
        );
        log(
          `  ${row.name}: p50 ${f(row.p50)} ms, VmHWM ${f(row.hwmBeforeMb)} -> ${f(row.hwmAfterFirstMb)} -> ${f(row.hwmAfterMb)} MB`,
        );
        history.push(row);
      } catch (error) {
        // Reported, not fatal: a server that caps max_results cannot return the whole history at once.
        log(`  ${name}: FAILED: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    }
    const loadAfter = loadAverage();

    const summary = {
      date: new Date().toISOString(),
      node: process.version,
      store: o.store,
      uri,
      runs: o.runs,
      historyPoints: o.historyPoints,
      repeat: o.repeat,
      seeded: info.seeded,
      seedSeconds: info.seedSeconds,
      seedRows: info.rows,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
      serverStartupMemoryMb: startupMemory,
      searches,
      history,
    };
    if (o.json) {
      console.log(JSON.stringify(summary, null, 2));
    } else {
      console.log(
        `\n${o.store}: ${o.runs} runs (10 params, 10 metrics, 5 tags each; 1% deleted), ` +
          `${info.seeded ? `seeded in ${f(info.seedSeconds)} s` : 'store reused'}; ` +
          `${o.repeat} timed calls per search after 2 warm-ups. Load average ${loadBefore} before, ${loadAfter} after.\n`,
      );
      console.log(searchTable(searches));
      console.log(
        `\nMetric history: ${o.historyPoints} points, ${o.historyRepeat} timed reads each after one checked read. ` +
          `Server RSS after start-up ${f(startupMemory.rssMb)} MB.\n`,
      );
      console.log(historyTable(history));
    }
  } finally {
    stop();
    agent.destroy();
  }
}

await main();
