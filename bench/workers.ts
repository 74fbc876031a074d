/**
 * Scale-out curve: `mlflow-ts server --workers N` for each N, over a fresh store, loaded by load.ts,
 * with the CPU time of everyone involved, so a flat curve can be explained by who ran out of CPU.
 *
 *   npx tsx bench/workers.ts --store postgres|sqlite [--workers 1,2,4] [--users 20] [--iterations 30]
 *                            [--ops A,B] [--postgres postgresql://...] [--cli .../cli/main.js]
 *
 * Per N it reports req/s (load.ts's total over wall time), and CPU seconds over the load run of:
 * the server (the primary plus its workers, from /proc/<pid>/stat), PostgreSQL's backends serving
 * this database (the processes whose title names it; the shared WAL writer and checkpointer are left
 * out), and the load generator (bash's `times` over the load.ts child). CPU per request is
 * the server's CPU divided by the requests. PostgreSQL: --postgres, else MLFLOW_TS_TEST_POSTGRES_URI
 * (scripts/services/postgres.sh start prints one); a database is created per run and dropped after.
 * --cli runs another build of the server (e.g. a copy of packages/server/dist made before a change).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { commandLine, fmt, markdownTable } from './common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let cliPath = path.join(ROOT, 'packages/server/dist/cli/main.js');
const USAGE =
  'usage: npx tsx bench/workers.ts --store postgres|sqlite [--workers 1,2,4] [--users 20] [--iterations 30] [--ops A,B] [--postgres URI] [--cli path/to/cli/main.js]';
const cli = commandLine('bench/workers.ts', USAGE);

let store: 'postgres' | 'sqlite' | undefined;
let workerCounts = [1, 2, 4];
let users = 20;
let iterations = 30;
let ops: string | undefined;
let postgresUri = process.env.MLFLOW_TS_TEST_POSTGRES_URI;
cli.parse(
  process.argv.slice(2),
  {
    store: 'string',
    workers: 'string',
    users: 'string',
    iterations: 'string',
    ops: 'string',
    postgres: 'string',
    cli: 'string',
  },
  (name, value, flag) => {
    if (name === 'store') {
      if (value !== 'postgres' && value !== 'sqlite') cli.fail('--store is postgres or sqlite');
      store = value as 'postgres' | 'sqlite';
    } else if (name === 'workers') workerCounts = value.split(',').map((v) => cli.count(flag, v));
    else if (name === 'users') users = cli.count(flag, value);
    else if (name === 'iterations') iterations = cli.count(flag, value);
    else if (name === 'ops') ops = value;
    else if (name === 'cli') cliPath = path.resolve(value);
    else postgresUri = value;
  },
);
if (!store) cli.fail('--store is required');
if (store === 'postgres' && !postgresUri) cli.fail('give --postgres or set MLFLOW_TS_TEST_POSTGRES_URI');

/** utime + stime of a process in ms (fields 14 and 15 of /proc/<pid>/stat, in 10 ms ticks); 0 once gone. */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** Every process on the machine as [pid, parent pid, title]. */
function processes(): [number, number, string][] {
  const out: [number, number, string][] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const title = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      out.push([Number(name), ppid, title]);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU ms of the server: its primary and every process forked from it (the workers). */
function serverCpuMs(primary: number): number {
  const all = processes();
  const tree = new Set([primary]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of all) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let ms = 0;
  for (const pid of tree) ms += cpuMsOf(pid);
  return ms;
}

/** PostgreSQL backends serving `database` (their title is "postgres: user database host ..."). */
function postgresBackends(database: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const [pid, , title] of processes()) {
    if (title.startsWith('postgres: ') && title.split(' ').includes(database)) out.set(pid, cpuMsOf(pid));
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    import('node:net').then(({ createServer }) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
  });
}

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not come up');
}

/** Runs load.ts under bash, whose `times` gives the CPU its child used; returns its JSON and that CPU. */
function runLoad(target: string): Promise<{ summary: LoadSummary; cpuMs: number }> {
  const args = [
    '--import',
    'tsx',
    path.join(ROOT, 'bench/load.ts'),
    '--target',
    target,
    '--users',
    String(users),
    '--iterations',
    String(iterations),
    '--json',
    ...(ops ? ['--ops', ops] : []),
  ];
  const script = `"${process.execPath}" ${args.map((a) => `'${a}'`).join(' ')}; times >&2`;
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      // `times` prints the shell's then its children's user and system time: "0m1.234s 0m0.567s".
      const lines = stderr.trim().split('\n');
      const children = lines[lines.length - 1].match(/(\d+)m([\d.]+)s/g) ?? [];
      const cpuMs = children
        .map((t) => {
          const [, m, s] = /(\d+)m([\d.]+)s/.exec(t) as RegExpExecArray;
          return (Number(m) * 60 + Number(s)) * 1000;
        })
        .reduce((a, b) => a + b, 0);
      try {
        resolve({ summary: JSON.parse(stdout) as LoadSummary, cpuMs });
      } catch {
        reject(new Error(`load.ts failed: ${error?.message ?? ''}\n${stderr.slice(0, 2000)}`));
      }
    });
  });
}

interface LoadSummary {
  wallMs: number;
  totalRequests: number;
  totalErrors: number;
  reqPerSec: number;
}

interface Row {
  workers: number;
  summary: LoadSummary;
  serverCpuMs: number;
  postgresCpuMs?: number;
  loadCpuMs: number;
  load: string;
}

async function freshStore(): Promise<{ uri: string; database?: string; drop: () => Promise<void> }> {
  if (store === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-bench-workers-'));
    return {
      uri: `sqlite:///${path.join(dir, 'mlflow.db')}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const database = `mlflow_ts_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresUri });
  await admin.connect();
  await admin.query(`create database ${database}`);
  await admin.end();
  const url = new URL(postgresUri as string);
  url.pathname = `/${database}`;
  return {
    uri: url.toString(),
    database,
    drop: async () => {
      const c = new pg.Client({ connectionString: postgresUri });
      await c.connect();
      await c.query(`drop database if exists ${database} with (force)`);
      await c.end();
    },
  };
}

async function measure(workers: number): Promise<Row> {
  const fresh = await freshStore();
  const artifacts = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-bench-artifacts-'));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      cliPath,
      'server',
      '--backend-store-uri',
      fresh.uri,
      '--artifacts-destination',
      artifacts,
      '--port',
      String(port),
      '--workers',
      String(workers),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, child);
    const pid = child.pid as number;
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
    const server0 = serverCpuMs(pid);
    const pg0 = fresh.database ? postgresBackends(fresh.database) : undefined;
    const { summary, cpuMs } = await runLoad(url);
    const serverCpu = serverCpuMs(pid) - server0;
    let postgresCpuMs: number | undefined;
    if (pg0 && fresh.database) {
      // Backends opened during the run started from 0; those of before count from where they were.
      postgresCpuMs = 0;
      for (const [bpid, ms] of postgresBackends(fresh.database)) postgresCpuMs += ms - (pg0.get(bpid) ?? 0);
    }
    return { workers, summary, serverCpuMs: serverCpu, postgresCpuMs, loadCpuMs: cpuMs, load };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    rmSync(artifacts, { recursive: true, force: true });
    await fresh.drop();
  }
}

const rows: Row[] = [];
console.log(
  `bench/workers.ts: ${store}, ${users} users x ${iterations} iterations${ops ? ` (${ops})` : ''}, ${cpus().length} CPUs, node ${process.version}, ${new Date().toISOString()}`,
);
for (const n of workerCounts) {
  const row = await measure(n);
  rows.push(row);
  console.error(`workers ${n}: ${fmt(row.summary.reqPerSec, 1)} req/s`);
}
const wallS = (r: Row) => r.summary.wallMs / 1000;
console.log(
  markdownTable(
    [
      'workers:',
      'requests:',
      'errors:',
      'req/s:',
      'server CPU s:',
      'server cores busy:',
      'server CPU ms/req:',
      ...(store === 'postgres' ? ['PostgreSQL CPU s:', 'PostgreSQL ms/req:'] : []),
      'load gen CPU s:',
      'load avg before:',
    ],
    rows.map((r) => [
      r.workers,
      r.summary.totalRequests,
      r.summary.totalErrors,
      fmt(r.summary.reqPerSec, 1),
      fmt(r.serverCpuMs / 1000, 1),
      fmt(r.serverCpuMs / 1000 / wallS(r), 2),
      fmt(r.serverCpuMs / r.summary.totalRequests, 3),
      ...(store === 'postgres'
        ? [fmt((r.postgresCpuMs ?? 0) / 1000, 1), fmt((r.postgresCpuMs ?? 0) / r.summary.totalRequests, 3)]
        : []),
      fmt(r.loadCpuMs / 1000, 1),
      r.load,
    ]),
  ),
);
