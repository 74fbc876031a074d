/**
 * Restart time of `mlflow-ts server`: spawns the built CLI over an existing store, times spawn -> the first
 * 200 from /health, reads the process's CPU time (all its threads) at that moment, then SIGKILLs it, as
 * the crash campaign does (docs/reliability.md). The first start of each store migrates it and is not
 * counted. Prints a table: median, p90 and max of wall time and of CPU time per store.
 *
 *   npx tsx bench/startup.ts                       # SQLite, 10 starts
 *   npx tsx bench/startup.ts --postgres postgresql://postgres@127.0.0.1:54329/postgres --starts 10
 *   npx tsx bench/startup.ts --cli /other/checkout/packages/server/dist/cli/main.js   # compare builds
 *   npx tsx bench/startup.ts --extra "--workers 4"
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { commandLine, markdownTable, percentile } from './common.js';

const USAGE = `usage: npx tsx bench/startup.ts [--starts N] [--postgres URI] [--no-sqlite] [--cli PATH] [--extra "ARGS"]`;
const cli = commandLine('startup', USAGE);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let starts = 10;
let postgres: string | undefined;
let sqlite = true;
let cliPath = path.join(root, 'packages/server/dist/cli/main.js');
let extra: string[] = [];
cli.parse(
  process.argv.slice(2),
  { starts: 'string', postgres: 'string', 'no-sqlite': 'boolean', cli: 'string', extra: 'string' },
  (name, value, flag) => {
    if (name === 'starts') starts = cli.count(flag, value);
    else if (name === 'postgres') postgres = value;
    else if (name === 'no-sqlite') sqlite = false;
    else if (name === 'cli') cliPath = path.resolve(value);
    else if (name === 'extra') extra = value.split(' ').filter(Boolean);
  },
);

/** CPU time (user + system, every thread) the process has used so far, in ms (ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

interface Start {
  wallMs: number;
  cpuMs: number;
}

async function startOnce(storeUri: string, artifacts: string, port: number): Promise<Start> {
  const began = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      cliPath,
      'server',
      '--backend-store-uri',
      storeUri,
      '--artifacts-destination',
      artifacts,
      '--port',
      String(port),
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let log = '';
  child.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited on start:\n${log}`);
      const up = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (up) break;
      if (performance.now() - began > 60_000) throw new Error(`no /health within 60 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return { wallMs: performance.now() - began, cpuMs: cpuMsOf(child.pid as number) };
  } finally {
    const exited = once(child, 'exit');
    process.kill(-(child.pid as number), 'SIGKILL');
    await exited;
  }
}

async function measure(name: string, storeUri: string, artifacts: string): Promise<(string | number)[]> {
  const port = await freePort();
  await startOnce(storeUri, artifacts, port); // creates and migrates the store
  const runs: Start[] = [];
  for (let i = 0; i < starts; i++) runs.push(await startOnce(storeUri, artifacts, port));
  const wall = runs.map((r) => r.wallMs).sort((a, b) => a - b);
  const cpu = runs.map((r) => r.cpuMs).sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(0);
  return [
    name,
    starts,
    f(percentile(wall, 50)),
    f(percentile(wall, 90)),
    f(wall[wall.length - 1]),
    f(percentile(cpu, 50)),
    f(percentile(cpu, 90)),
  ];
}

const rows: (string | number)[][] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-startup-'));
try {
  if (sqlite) rows.push(await measure('SQLite', `sqlite:///${dir}/m.db`, `${dir}/artifacts`));
  if (postgres) {
    // A database of its own, dropped afterwards.
    const db = `startup_${process.pid}`;
    const admin = new pg.Client({ connectionString: postgres });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    try {
      const url = new URL(postgres);
      url.pathname = `/${db}`;
      rows.push(await measure('PostgreSQL', url.toString(), `${dir}/artifacts`));
    } finally {
      await admin.query(`DROP DATABASE ${db} WITH (FORCE)`);
      await admin.end();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `cli: ${cliPath} ${extra.join(' ')}; load average ${readFileSync('/proc/loadavg', 'utf8').trim()}`,
);
console.log(
  markdownTable(
    ['store', 'starts', 'wall median ms', 'wall p90 ms', 'wall max ms', 'CPU median ms', 'CPU p90 ms'],
    rows,
  ),
);
