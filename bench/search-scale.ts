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
// A new name whenever the seeded data changes, so an older store is never taken for this one.
const EXPERIMENT = 'search-scale-2';
const HISTORY_EXPERIMENT = 'search-scale-history';
const HISTORY_KEY = 'loss';

interface Options {
  runs: number;
  otherRuns: number;
  store: 'sqlite' | 'postgres';
  uri?: string;
  repeat: number;
  historyPoints: number;
  historyRepeat: number;
  port: number;
  cli: string;
  only?: 'searches' | 'history';
  /** Time only the searches whose name matches. */
  cases?: RegExp;
  json: boolean;
}

const USAGE = `usage: tsx bench/search-scale.ts [--runs 100000] [--other-runs 10000] [--store sqlite|postgres] [--uri STORE_URI]
       [--cases REGEXP] [--repeat 20] [--history-points 1000000] [--history-repeat 5] [--port 5079] [--cli PATH] [--only searches|history] [--json]
  --other-runs: runs in each of the 9 other experiments of the ten-experiment searches
  --cases: time only the searches whose name matches (case-insensitive)
  --uri: use (and reuse on later runs) this store instead of a fresh one
  --cli: the server's CLI script (default packages/server/dist/cli/main.js), e.g. an older build to compare`;

/** Bad command line: cli.fail prints the usage and exits with 2. */
const cli: CommandLine = commandLine('search-scale', USAGE);

function parseOptions(argv: string[]): Options {
  const o: Options = {
    runs: 100_000,
    otherRuns: 10_000,
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
    'other-runs': 'string',
    cases: 'string',
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
    else if (name === 'other-runs') o.otherRuns = cli.count(flag, value);
    else if (name === 'cases') o.cases = new RegExp(value, 'i');
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
/** The other experiments of the ten-experiment searches, and the runs' index range in each. */
const OTHER_EXPERIMENTS = 9;
const otherRunIndex = (k: number, j: number) => 100_000_000 + k * 10_000_000 + j;
const DATASETS = 20;

interface SeedInfo {
  experimentId: string;
  otherExperimentIds: string[];
  historyRunId: string;
  seeded: boolean;
  seedSeconds: number;
  rows: Record<string, number>;
}

type Values = Record<string, unknown>;
const TABLES = ['runs', 'params', 'tags', 'metrics', 'latest_metrics', 'inputs', 'input_tags'] as const;
type Table = (typeof TABLES)[number];
type Batch = Record<Table, Values[]>;

function emptyBatch(): Batch {
  return { runs: [], params: [], tags: [], metrics: [], latest_metrics: [], inputs: [], input_tags: [] };
}

/**
 * The rows of run `i`: 10 params (p9 missing from one run in ten), 10 metrics (m8 NaN in one run in a
 * hundred, m9 missing from one in ten), 5 tags (t4 missing from one in ten) plus mlflow.runName, one
 * run in fifty RUNNING (no end time), FAILED or KILLED each, and in the main experiment one run in ten
 * with a dataset input.
 */
function addRun(b: Batch, i: number, experimentId: string, datasetIds: string[] | undefined): void {
  const rand = prng(i + 1);
  const id = runIdOf(i);
  const name = `run-${i}`;
  const start = BASE_TIME + i * 1000;
  const deleted = isDeleted(i);
  const kind = i % 50;
  b.runs.push({
    run_uuid: id,
    experiment_id: Number(experimentId),
    name,
    user_id: `user-${i % 50}`,
    status: kind === 1 ? 'RUNNING' : kind === 2 ? 'FAILED' : kind === 3 ? 'KILLED' : 'FINISHED',
    start_time: start,
    end_time: kind === 1 ? null : start + 500 + (i % 7) * 100,
    deleted_time: deleted ? start + 600 : null,
    lifecycle_stage: deleted ? 'deleted' : 'active',
    artifact_uri: `mlflow-artifacts:/${experimentId}/${id}/artifacts`,
  });
  b.params.push(
    { run_uuid: id, key: 'p0', value: `model-${Math.floor(rand() * 10)}` },
    { run_uuid: id, key: 'p1', value: String(10 ** -Math.ceil(rand() * 5)) },
  );
  for (let k = 2; k < 10; k++) {
    const value = `v${Math.floor(rand() * 1000)}`;
    if (k !== 9 || i % 10 !== 4) b.params.push({ run_uuid: id, key: `p${k}`, value });
  }
  b.tags.push(
    { run_uuid: id, key: 'mlflow.runName', value: name },
    { run_uuid: id, key: 't0', value: `team-${i % 20}` },
    { run_uuid: id, key: 't1', value: `owner-${Math.floor(rand() * 100)}` },
  );
  for (let k = 2; k < 5; k++) {
    const value = `tag-${Math.floor(rand() * 500)}`;
    if (k !== 4 || i % 10 !== 6) b.tags.push({ run_uuid: id, key: `t${k}`, value });
  }
  for (let k = 0; k < 10; k++) {
    const value = rand();
    if (k === 9 && i % 10 === 3) continue;
    const nan = k === 8 && i % 100 === 5;
    const point = {
      run_uuid: id,
      key: `m${k}`,
      value: nan ? 0 : value,
      timestamp: start + 100,
      step: 0,
      is_nan: nan ? 1 : 0,
    };
    b.metrics.push(point);
    b.latest_metrics.push(point);
  }
  if (datasetIds && i % 10 === 0) {
    const d = (i / 10) % DATASETS;
    const input = `in-${id}`;
    b.inputs.push({
      input_uuid: input,
      source_type: 'DATASET',
      source_id: datasetIds[d],
      destination_type: 'RUN',
      destination_id: id,
      step: 0,
    });
    b.input_tags.push({ input_uuid: input, name: 'mlflow.data.context', value: d % 2 ? 'eval' : 'training' });
  }
}

/**
 * Bulk rows into the store's tables, bypassing the server: the store's secondary indexes are dropped
 * first and built again at the end (one sort each instead of a million random inserts), SQLite through
 * prepared statements without fsync, PostgreSQL through one `unnest` insert per table and batch.
 */
interface BulkWriter {
  write(batch: Batch): Promise<void>;
  /** Builds the dropped indexes again; returns the seconds it took. */
  finish(): Promise<number>;
  close(): Promise<void>;
}

const COLUMNS: Record<Table, [string, string][]> = {
  runs: [
    ['run_uuid', 'text'],
    ['experiment_id', 'bigint'],
    ['name', 'text'],
    ['user_id', 'text'],
    ['status', 'text'],
    ['start_time', 'bigint'],
    ['end_time', 'bigint'],
    ['deleted_time', 'bigint'],
    ['lifecycle_stage', 'text'],
    ['artifact_uri', 'text'],
  ],
  params: [
    ['run_uuid', 'text'],
    ['key', 'text'],
    ['value', 'text'],
  ],
  tags: [
    ['run_uuid', 'text'],
    ['key', 'text'],
    ['value', 'text'],
  ],
  metrics: [
    ['run_uuid', 'text'],
    ['key', 'text'],
    ['value', 'float8'],
    ['timestamp', 'bigint'],
    ['step', 'bigint'],
    ['is_nan', 'smallint'],
  ],
  latest_metrics: [
    ['run_uuid', 'text'],
    ['key', 'text'],
    ['value', 'float8'],
    ['timestamp', 'bigint'],
    ['step', 'bigint'],
    ['is_nan', 'smallint'],
  ],
  inputs: [
    ['input_uuid', 'text'],
    ['source_type', 'text'],
    ['source_id', 'text'],
    ['destination_type', 'text'],
    ['destination_id', 'text'],
    ['step', 'bigint'],
  ],
  input_tags: [
    ['input_uuid', 'text'],
    ['name', 'text'],
    ['value', 'text'],
  ],
};

function sqliteWriter(file: string): BulkWriter {
  const conn = new BetterSqlite3(file);
  conn.pragma('journal_mode = WAL');
  conn.pragma('synchronous = OFF');
  conn.pragma('cache_size = -1000000');
  const indexes = conn
    .prepare(
      `select name, sql from sqlite_master where type = 'index' and sql is not null
       and tbl_name in (${TABLES.map((t) => `'${t}'`).join(', ')})`,
    )
    .all() as { name: string; sql: string }[];
  for (const index of indexes) conn.exec(`drop index ${index.name}`);
  const inserts = Object.fromEntries(
    TABLES.map((t) => {
      const cols = COLUMNS[t].map(([c]) => c);
      const stmt = conn.prepare(
        `insert into ${t} (${cols.join(', ')}) values (${cols.map((c) => `@${c}`).join(', ')})`,
      );
      return [t, stmt];
    }),
  ) as Record<Table, BetterSqlite3.Statement>;
  const writeAll = conn.transaction((batch: Batch) => {
    for (const t of TABLES) for (const row of batch[t]) inserts[t].run(row);
  });
  return {
    async write(batch) {
      writeAll(batch);
    },
    async finish() {
      const started = performance.now();
      for (const index of indexes) conn.exec(index.sql);
      return (performance.now() - started) / 1000;
    },
    async close() {
      conn.close();
    },
  };
}

async function postgresWriter(connectionString: string): Promise<BulkWriter> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(
    `select indexname, indexdef from pg_indexes where schemaname = current_schema() and tablename = any($1)
     and indexname not in (select conname from pg_constraint)`,
    [TABLES],
  );
  for (const index of indexes) await client.query(`drop index ${index.indexname}`);
  return {
    async write(batch) {
      await client.query('begin');
      for (const t of TABLES) {
        const rows = batch[t];
        if (rows.length === 0) continue;
        const cols = COLUMNS[t];
        const arrays = cols.map(([c]) => rows.map((r) => r[c] ?? null));
        await client.query(
          `insert into ${t} (${cols.map(([c]) => c).join(', ')})
           select * from unnest(${cols.map(([, type], n) => `$${n + 1}::${type}[]`).join(', ')})`,
          arrays,
        );
      }
      await client.query('commit');
    },
    async finish() {
      const started = performance.now();
      for (const index of indexes) await client.query(index.indexdef);
      await client.query('analyze');
      return (performance.now() - started) / 1000;
    },
    async close() {
      await client.end();
    },
  };
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

async function countRuns(db: Kysely<Database>, experimentId: string): Promise<number> {
  const { n } = await db
    .selectFrom('runs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('experiment_id', '=', experimentId)
    .executeTakeFirstOrThrow();
  return Number(n);
}

const otherName = (k: number) => `${EXPERIMENT}-other-${k}`;

async function findSeeded(uri: string, o: Options, log: (s: string) => void): Promise<SeedInfo | undefined> {
  const plain = openPlain(uri);
  try {
    const existing = await findExperiment(plain, EXPERIMENT);
    const existingHistory = await findExperiment(plain, HISTORY_EXPERIMENT);
    if (!existing || !existingHistory) return undefined;
    const others: string[] = [];
    for (let k = 0; k < OTHER_EXPERIMENTS; k++) {
      const id = await findExperiment(plain, otherName(k));
      if (id === undefined) throw new Error(`the store lacks ${otherName(k)}: use another --uri`);
      others.push(id);
    }
    const n = await countRuns(plain, existing);
    const otherRuns = await countRuns(plain, others[0]);
    const history = await plain
      .selectFrom('runs')
      .select('run_uuid')
      .where('experiment_id', '=', String(existingHistory))
      .executeTakeFirstOrThrow();
    const { points } = await plain
      .selectFrom('metrics')
      .select((eb) => eb.fn.countAll<number>().as('points'))
      .where('run_uuid', '=', history.run_uuid)
      .where('key', '=', HISTORY_KEY)
      .executeTakeFirstOrThrow();
    if (n !== o.runs || otherRuns !== o.otherRuns || Number(points) !== o.historyPoints) {
      throw new Error(
        `the store already holds ${EXPERIMENT} with ${n} runs (${otherRuns} in each other experiment) and ` +
          `${points} history points; expected ${o.runs}, ${o.otherRuns} and ${o.historyPoints}: use another --uri`,
      );
    }
    log(`reusing the seeded store (${n} runs, ${points} history points)`);
    return {
      experimentId: existing,
      otherExperimentIds: others,
      historyRunId: history.run_uuid,
      seeded: false,
      seedSeconds: 0,
      rows: {},
    };
  } finally {
    await plain.destroy();
  }
}

async function seed(uri: string, o: Options, log: (s: string) => void): Promise<SeedInfo> {
  const found = await findSeeded(uri, o, log);
  if (found) return found;

  const started = performance.now();
  // Migrated to the current schema by the store itself, then written in bulk.
  const db = await openDatabase(uri);
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
  let experimentId: string;
  let historyExperimentId: string;
  const otherExperimentIds: string[] = [];
  const datasetIds = Array.from({ length: DATASETS }, (_, d) => `ds-${String(d).padStart(4, '0')}`);
  try {
    experimentId = await createExperiment(EXPERIMENT);
    historyExperimentId = await createExperiment(HISTORY_EXPERIMENT);
    for (let k = 0; k < OTHER_EXPERIMENTS; k++) otherExperimentIds.push(await createExperiment(otherName(k)));
    await db.writer.run((trx) =>
      trx
        .insertInto('datasets')
        .values(
          datasetIds.map((id, d) => ({
            dataset_uuid: id,
            experiment_id: experimentId,
            name: `ds-${d}`,
            digest: `digest${d}`,
            dataset_source_type: 'local',
            dataset_source: `{"uri": "/data/ds-${d}"}`,
            dataset_schema: null,
            dataset_profile: null,
          })) as never,
        )
        .execute(),
    );
  } finally {
    await db.close();
  }

  const location = parseStoreUri(uri);
  const writer =
    location.dialect === 'sqlite'
      ? sqliteWriter(location.file)
      : await postgresWriter(location.connectionString);
  const rows: Record<string, number> = Object.fromEntries(TABLES.map((t) => [t, 0]));
  const write = async (batch: Batch) => {
    await writer.write(batch);
    for (const t of TABLES) rows[t] += batch[t].length;
  };
  try {
    const BATCH = 2000;
    type Range = [string, number, (j: number) => number, string[] | undefined];
    const ranges: Range[] = [
      [experimentId, o.runs, (j) => j, datasetIds],
      ...otherExperimentIds.map((id, k): Range => [id, o.otherRuns, (j) => otherRunIndex(k, j), undefined]),
    ];
    for (const [expId, to, indexOf, datasets] of ranges) {
      for (let from = 0; from < to; from += BATCH) {
        const batch = emptyBatch();
        for (let j = from; j < Math.min(to, from + BATCH); j++) addRun(batch, indexOf(j), expId, datasets);
        await write(batch);
        if ((from / BATCH) % 50 === 49)
          log(`  ${from + BATCH} runs seeded (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      }
    }

    // One run with a long history: steps 0..N-1, one point a second, a slowly falling loss.
    const historyRunId = runIdOf(-1);
    const head = emptyBatch();
    head.runs.push({
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
    });
    head.tags.push({ run_uuid: historyRunId, key: 'mlflow.runName', value: 'history' });
    await write(head);
    const rand = prng(42);
    const POINTS_PER_TX = 50_000;
    for (let from = 0; from < o.historyPoints; from += POINTS_PER_TX) {
      const batch = emptyBatch();
      for (let step = from; step < Math.min(o.historyPoints, from + POINTS_PER_TX); step++) {
        batch.metrics.push({
          run_uuid: historyRunId,
          key: HISTORY_KEY,
          value: 1 / (1 + step / 1000) + rand() * 0.01,
          timestamp: BASE_TIME + step * 1000,
          step,
          is_nan: 0,
        });
      }
      if (from + POINTS_PER_TX >= o.historyPoints) batch.latest_metrics.push(batch.metrics.at(-1) as Values);
      await write(batch);
    }
    log(`rows written in ${((performance.now() - started) / 1000).toFixed(1)} s; building indexes`);
    const indexSeconds = await writer.finish();
    const seedSeconds = (performance.now() - started) / 1000;
    log(
      `seeded in ${seedSeconds.toFixed(1)} s (indexes ${indexSeconds.toFixed(1)} s): ${JSON.stringify(rows)}`,
    );
    return { experimentId, otherExperimentIds, historyRunId, seeded: true, seedSeconds, rows };
  } finally {
    await writer.close();
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
  /** Time this page (2 or more), reached by following page tokens from the first. */
  page?: number;
}

/**
 * The shapes of MLflow's runs search: ordering by each kind of key (and two at once, both directions),
 * filters with each comparator on each kind of key, OR and parentheses, datasets, deep pages and ten
 * experiments at once. Values are picked so that each filter matches some runs: p0 and t0 have 10 and
 * 20 values, p2..p9 and t2..t4 about 1,000 and 500.
 */
function searchCases(info: SeedInfo, runs: number): SearchCase[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < Math.min(50, runs); i += Math.max(1, Math.floor(runs / 50))) {
    if (i >= runs) break;
    if (!isDeleted(i)) ids.push(runIdOf(i));
  }
  const e = [info.experimentId];
  const ten = [info.experimentId, ...info.otherExperimentIds];
  const page = (name: string, body: Record<string, unknown>, n?: number): SearchCase => ({
    name,
    body: { experiment_ids: e, max_results: 100, ...body },
    page: n,
  });
  const order = (name: string, ...orderBy: string[]) => page(`order by ${name}`, { order_by: orderBy });
  const filter = (name: string, f: string) => page(`filter ${name}`, { filter: f });
  const mid = BASE_TIME + Math.floor(runs / 2) * 1000;
  const filtered = { filter: "metrics.m0 > 0.5 AND params.p0 = 'model-3'", order_by: ['metrics.m1 DESC'] };
  return [
    // The shapes measured since the first version of this bench.
    page('metric AND param filter, order by metric', filtered),
    page('the same, second page (page token)', filtered, 2),
    page('LIKE on a tag', { filter: "tags.t1 LIKE 'owner-1%'" }),
    page(`IN on ${ids.length} run ids`, {
      filter: `attributes.run_id IN (${ids.map((id) => `'${id}'`).join(', ')})`,
    }),
    page('run_view_type DELETED_ONLY', { run_view_type: 'DELETED_ONLY' }),
    page('run_view_type ALL', { run_view_type: 'ALL' }),
    page('default order, second page (page token)', {}, 2),
    // Ordering, one key.
    order('a metric DESC', 'metrics.m1 DESC'),
    order('a metric ASC, NaN in 1%', 'metrics.m8 ASC'),
    order('a metric DESC, missing in 10%', 'metrics.m9 DESC'),
    order('a param ASC', 'params.p2 ASC'),
    order('a param DESC', 'params.p2 DESC'),
    order('a param ASC, 10 values', 'params.p0 ASC'),
    order('a param DESC, missing in 10%', 'params.p9 DESC'),
    order('a tag DESC', 'tags.t1 DESC'),
    order('a tag ASC, missing in 10%', 'tags.t4 ASC'),
    order('run_name ASC', 'attributes.run_name ASC'),
    order('run_name DESC', 'attributes.run_name DESC'),
    order('status ASC', 'attributes.status ASC'),
    order('status DESC', 'attributes.status DESC'),
    order('start_time ASC', 'attributes.start_time ASC'),
    order('end_time DESC, missing in 2%', 'attributes.end_time DESC'),
    order('end_time ASC', 'attributes.end_time ASC'),
    order('user_id ASC', 'attributes.user_id ASC'),
    order('artifact_uri DESC', 'attributes.artifact_uri DESC'),
    order('run_id ASC', 'attributes.run_id ASC'),
    // Ordering, two keys.
    order('a param ASC, then a metric DESC', 'params.p0 ASC', 'metrics.m1 DESC'),
    order('a metric DESC, then a param ASC', 'metrics.m1 DESC', 'params.p2 ASC'),
    order('a tag DESC, then start_time ASC', 'tags.t0 DESC', 'attributes.start_time ASC'),
    order('status ASC, then a metric ASC', 'attributes.status ASC', 'metrics.m0 ASC'),
    // Filters on each kind of key (default order: start_time DESC).
    filter('metric >', 'metrics.m0 > 0.5'),
    filter('metric <= (0.1% match)', 'metrics.m0 <= 0.001'),
    filter('metric !=', 'metrics.m0 != 0.5'),
    filter('param =', "params.p0 = 'model-3'"),
    filter('param = (0.1% match)', "params.p2 = 'v5'"),
    filter('param !=', "params.p0 != 'model-3'"),
    filter('param LIKE', "params.p2 LIKE 'v1%'"),
    filter('param ILIKE', "params.p0 ILIKE 'MODEL-1%'"),
    filter('param IS NULL (10% match)', 'params.p9 IS NULL'),
    filter('param IS NOT NULL', 'params.p9 IS NOT NULL'),
    filter('tag =', "tags.t0 = 'team-3'"),
    filter('tag !=', "tags.t0 != 'team-3'"),
    filter('tag ILIKE', "tags.t1 ILIKE 'OWNER-2%'"),
    filter('tag IS NULL (10% match)', 'tags.t4 IS NULL'),
    filter('run_name =', `attributes.run_name = 'run-${Math.floor(runs / 3)}'`),
    filter('run_name LIKE (prefix)', `attributes.run_name LIKE 'run-${Math.floor(runs / 3)}%'`),
    filter('run_name ILIKE', "attributes.run_name ILIKE '%-12%'"),
    filter('status = (2% match)', "attributes.status = 'RUNNING'"),
    filter('status !=', "attributes.status != 'FINISHED'"),
    filter('user_id =', "attributes.user_id = 'user-7'"),
    filter('start_time >', `attributes.start_time > ${mid}`),
    filter('end_time <', `attributes.end_time < ${mid}`),
    filter('artifact_uri LIKE', `attributes.artifact_uri LIKE '%${runIdOf(11).slice(0, 4)}%'`),
    filter('run_id NOT IN', `attributes.run_id NOT IN ('${runIdOf(0)}', '${runIdOf(1)}')`),
    filter('dataset name =', "datasets.name = 'ds-3'"),
    filter('dataset context =', "datasets.context = 'training'"),
    filter('dataset digest IN', "datasets.digest IN ('digest1', 'digest2')"),
    filter('OR with parentheses', "(params.p0 = 'model-1' OR tags.t0 = 'team-3') AND metrics.m0 > 0.5"),
    page('filter param = and tag LIKE, order by a param', {
      filter: "params.p0 = 'model-3' AND tags.t1 LIKE 'owner-1%'",
      order_by: ['params.p2 ASC'],
    }),
    // Deep pages.
    page('default order, page 100', {}, 100),
    page('order by a metric, page 100', { order_by: ['metrics.m1 DESC'] }, 100),
    page('order by a param, page 100', { order_by: ['params.p2 ASC'] }, 100),
    page('order by run_name, page 100', { order_by: ['attributes.run_name ASC'] }, 100),
    page('metric AND param filter, page 100', filtered, 100),
    // Ten experiments.
    page('10 experiments, default order', { experiment_ids: ten }),
    page('10 experiments, order by a metric', { experiment_ids: ten, order_by: ['metrics.m1 DESC'] }),
    page('10 experiments, order by a param', { experiment_ids: ten, order_by: ['params.p2 ASC'] }),
    page('10 experiments, filter tag =', { experiment_ids: ten, filter: "tags.t0 = 'team-3'" }),
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
  const experiments = (body.experiment_ids as string[]).length;
  if (experiments > 1) parts.push(`${experiments} experiments`);
  return parts.join(', ') || 'no filter';
}

async function timeSearch(base: string, pid: number, c: SearchCase, repeat: number): Promise<Row> {
  let body = c.body;
  for (let n = 1; n < (c.page ?? 1); n++) {
    const previous = parse(await request(base, 'POST', 'runs/search', body), c.name);
    if (!previous.next_page_token) {
      throw new Error(`${c.name}: there is no page ${n + 1} to time; seed more runs (--runs)`);
    }
    body = { ...c.body, page_token: previous.next_page_token };
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
  return summarise(c.name, `${c.page ? `page ${c.page}: ` : ''}${describe(c.body)}`, ms, results, bytes, cpu);
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
    for (const c of o.only === 'history' ? [] : searchCases(info, o.runs)) {
      if (o.cases && !o.cases.test(c.name)) continue;
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
