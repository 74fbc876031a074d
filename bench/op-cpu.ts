/**
 * Server CPU per request, one operation at a time.
 *
 *   npx tsc -b packages/client packages/server     # the bench runs packages/server/dist/cli/main.js
 *   npx tsx bench/op-cpu.ts [--requests 10000] [--warmup 8000] [--clients 8] [--ops A,B] [--repeat 1] [--json]
 *
 * For each operation a fresh server child process is started on a fresh SQLite store (in $TMPDIR), the
 * operation's set-up is made over HTTP, then `clients` closed-loop clients send it `warmup` times and
 * `requests` times more. Around the timed requests the bench reads the server's CPU time (utime + stime of
 * /proc/<pid>/stat, every thread of the process, in ticks of 10 ms) and its own (process.cpuUsage), and
 * prints per operation: server CPU per request, generator CPU per request and req/s. The first row,
 * Anchor, is a bare Fastify route answering a fixed JSON body in its own child process: what Node and
 * Fastify cost on this machine before any of our code runs.
 *
 * The warm-up is long on purpose: for the first few thousand requests V8 is still compiling the hot
 * paths (on its own threads), which after 500 requests still doubled the server CPU per request.
 * --server runs another build's CLI script (for example a copy of dist/ built from an older commit,
 * kept inside packages/server so that it finds the same node_modules).
 *
 * --node-arg passes flags to the server's node (e.g. --node-arg=--cpu-prof --node-arg=--cpu-prof-dir=/tmp/p);
 * the server is stopped with SIGTERM, so its profile is written on its graceful exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { commandLine, encodeJson, fmt, markdownTable, send } from './common.js';

const OPERATIONS = [
  'Anchor',
  'LogMetric',
  'GetHistory10',
  'RunsGet',
  'SearchExperiments',
  'CreateRun',
  'LogBatch10',
] as const;
type Operation = (typeof OPERATIONS)[number];

const USAGE = `usage: tsx bench/op-cpu.ts [--requests 10000] [--warmup 8000] [--clients 8] [--ops A,B] [--repeat 1]
                            [--node-arg FLAG]... [--server packages/server/dist/cli/main.js] [--json]
  --ops: comma-separated subset of ${OPERATIONS.join(', ')} (default: all)`;
const cli = commandLine('op-cpu', USAGE);

interface Options {
  requests: number;
  warmup: number;
  clients: number;
  repeat: number;
  ops: Operation[];
  nodeArgs: string[];
  /** The server's CLI script; another build can be compared with --server. */
  server: string;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    requests: 10000,
    warmup: 8000,
    clients: 8,
    repeat: 1,
    ops: [...OPERATIONS],
    nodeArgs: [],
    server: SERVER,
    json: false,
  };
  const flags = {
    requests: 'string',
    warmup: 'string',
    clients: 'string',
    repeat: 'string',
    ops: 'string',
    'node-arg': 'string',
    server: 'string',
    json: 'boolean',
  } as const;
  cli.parse(argv, flags, (name, value, flag) => {
    if (name === 'requests') o.requests = cli.count(flag, value);
    else if (name === 'warmup') o.warmup = cli.count(flag, value);
    else if (name === 'clients') o.clients = cli.count(flag, value);
    else if (name === 'repeat') o.repeat = cli.count(flag, value);
    else if (name === 'node-arg') o.nodeArgs.push(value);
    else if (name === 'server') o.server = path.resolve(value);
    else if (name === 'ops') {
      o.ops = value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map(
          (name) =>
            OPERATIONS.find((op) => op.toLowerCase() === name.toLowerCase()) ??
            cli.fail(`unknown operation ${name}`),
        );
      if (o.ops.length === 0) cli.fail('--ops needs at least one operation');
    } else o.json = true;
  });
  return o;
}

// ---------------------------------------------------------------------------------------------------------
// Server processes

const ROOT = path.resolve(import.meta.dirname, '..');
const SERVER = path.join(ROOT, 'packages/server/dist/cli/main.js');

/** A bare Fastify route with a fixed JSON answer, with the Fastify our server uses. */
function anchorSource(port: number): string {
  const fastify = pathToFileURL(
    createRequire(path.join(ROOT, 'packages/server/package.json')).resolve('fastify'),
  );
  return `import Fastify from '${fastify.href}';
const app = Fastify({ logger: false });
const body = JSON.stringify({ run: { info: { run_id: 'abc', status: 'RUNNING' } } });
app.get('/api/2.0/mlflow/anchor', async (_request, reply) => reply.type('application/json').send(body));
app.get('/health', async () => 'OK');
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
await app.listen({ host: '127.0.0.1', port: ${port} });`;
}

function startServer(op: Operation, store: string, port: number, o: Options): ChildProcess {
  const nodeArgs = o.nodeArgs;
  const args =
    op === 'Anchor'
      ? [...nodeArgs, '--input-type=module', '-e', anchorSource(port)]
      : [
          ...nodeArgs,
          o.server,
          'server',
          '--backend-store-uri',
          `sqlite:///${path.join(store, 'mlflow.db')}`,
          '--default-artifact-root',
          path.join(store, 'artifacts'),
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
        ];
  return spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: store });
}

async function waitUntilUp(base: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not come up');
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * CPU time (user + system) used so far, in ms (ticks of 10 ms): of the whole process (every thread, also
 * those that have ended) with /proc/<pid>/stat, of its main thread alone with /proc/<pid>/task/<pid>/stat.
 */
function cpuMsOf(pid: number, mainThread = false): number {
  const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime and stime, fields 14 and 15 of stat
}

// ---------------------------------------------------------------------------------------------------------
// Operations

interface Request {
  method: 'GET' | 'POST';
  url: URL;
  encoded: ReturnType<typeof encodeJson>;
}

type Api = (method: 'GET' | 'POST', endpoint: string, body?: unknown) => Promise<Record<string, any>>;

/** Makes the operation's set-up, then returns the maker of its i-th request. */
async function prepare(op: Operation, base: string, api: Api): Promise<(i: number) => Request> {
  const at = (method: 'GET' | 'POST', endpoint: string, body?: unknown): Request => ({
    method,
    url: new URL(`${base}/api/2.0/mlflow/${endpoint}`),
    encoded: encodeJson(body),
  });
  if (op === 'Anchor') {
    const request = at('GET', 'anchor');
    return () => request;
  }
  const { experiment_id: experimentId } = await api('POST', 'experiments/create', { name: 'op-cpu' });
  for (let i = 0; i < 4; i++) await api('POST', 'experiments/create', { name: `op-cpu-${i}` });
  const { run } = await api('POST', 'runs/create', { experiment_id: experimentId, start_time: Date.now() });
  const runId: string = run.info.run_id;
  const now = Date.now();
  // A run as a training script leaves it: a few params and tags, ten points of one metric.
  await api('POST', 'runs/log-batch', {
    run_id: runId,
    params: Array.from({ length: 5 }, (_, i) => ({ key: `param_${i}`, value: `value_${i}` })),
    tags: [{ key: 'team', value: 'bench' }],
    metrics: Array.from({ length: 10 }, (_, step) => ({
      key: 'loss',
      value: 1 / (step + 1),
      timestamp: now,
      step,
    })),
  });
  switch (op) {
    case 'LogMetric':
      return (i) =>
        at('POST', 'runs/log-metric', {
          run_id: runId,
          key: 'acc',
          value: i / 1e4,
          timestamp: now + i,
          step: i,
        });
    case 'GetHistory10': {
      const request = at('GET', `metrics/get-history?run_id=${runId}&metric_key=loss&max_results=25000`);
      return () => request;
    }
    case 'RunsGet': {
      const request = at('GET', `runs/get?run_id=${runId}`);
      return () => request;
    }
    case 'SearchExperiments': {
      const request = at('POST', 'experiments/search', { max_results: 100 });
      return () => request;
    }
    case 'CreateRun':
      return () => at('POST', 'runs/create', { experiment_id: experimentId, start_time: Date.now() });
    case 'LogBatch10':
      return (i) =>
        at('POST', 'runs/log-batch', {
          run_id: runId,
          metrics: Array.from({ length: 10 }, (_, k) => ({
            key: `m${k}`,
            value: k,
            timestamp: now + i,
            step: i,
          })),
        });
  }
}

/** What a correct answer looks like, so that a fast error is never taken for a fast request. */
function check(op: Operation, body: Buffer): boolean {
  if (op === 'GetHistory10') return (JSON.parse(body.toString('utf8')).metrics?.length ?? 0) === 10;
  if (op === 'RunsGet') return JSON.parse(body.toString('utf8')).run?.data?.params?.length === 5;
  if (op === 'SearchExperiments') return JSON.parse(body.toString('utf8')).experiments?.length === 6;
  return true;
}

interface Row {
  op: Operation;
  serverMs: number;
  /** Of serverMs, the main thread's (HTTP, JSON, reads); the rest is the SQLite writer thread, GC helpers, libuv. */
  mainMs: number;
  generatorMs: number;
  reqPerS: number;
  errors: number;
}

async function measure(op: Operation, o: Options, port: number): Promise<Row> {
  const store = mkdtempSync(path.join(tmpdir(), 'op-cpu-'));
  const base = `http://127.0.0.1:${port}`;
  const child = startServer(op, store, port, o);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.clients, maxFreeSockets: o.clients });
  try {
    await waitUntilUp(base, child);
    const api: Api = async (method, endpoint, body) => {
      const reply = await send(
        new URL(`${base}/api/2.0/mlflow/${endpoint}`),
        method,
        encodeJson(body),
        agent,
      );
      if (reply.status !== 200) throw new Error(`${endpoint}: HTTP ${reply.status} ${reply.body.toString()}`);
      return JSON.parse(reply.body.toString('utf8'));
    };
    const make = await prepare(op, base, api);
    let errors = 0;
    let firstError = '';
    const burst = async (count: number, offset: number) => {
      let next = 0;
      const loop = async () => {
        while (next < count) {
          const r = make(offset + next++);
          const reply = await send(r.url, r.method, r.encoded, agent);
          if (reply.status !== 200 || !check(op, reply.body)) {
            errors++;
            firstError ||= `HTTP ${reply.status}: ${reply.body.toString('utf8').slice(0, 200)}`;
          }
        }
      };
      await Promise.all(Array.from({ length: o.clients }, loop));
    };
    await burst(o.warmup, 0);
    const pid = child.pid as number;
    const server0 = cpuMsOf(pid);
    const main0 = cpuMsOf(pid, true);
    const generator0 = process.cpuUsage();
    const wall0 = performance.now();
    await burst(o.requests, o.warmup);
    const wall = performance.now() - wall0;
    const generator = process.cpuUsage(generator0);
    const server = cpuMsOf(pid) - server0;
    const main = cpuMsOf(pid, true) - main0;
    if (firstError) console.error(`${op}: ${errors} errors, first: ${firstError}`);
    return {
      op,
      serverMs: server / o.requests,
      mainMs: main / o.requests,
      generatorMs: (generator.user + generator.system) / 1000 / o.requests,
      reqPerS: (o.requests / wall) * 1000,
      errors,
    };
  } finally {
    agent.destroy();
    await stopServer(child);
    rmSync(store, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (!existsSync(o.server))
    cli.fail(`${o.server} is missing: build with npx tsc -b packages/client packages/server`);
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const loadBefore = load();
  const runs: Row[][] = [];
  let port = 5600 + Math.floor(Math.random() * 300);
  for (let r = 0; r < o.repeat; r++) {
    const rows: Row[] = [];
    for (const op of o.ops) rows.push(await measure(op, o, port++));
    runs.push(rows);
  }
  // Medians over the repeats, each column on its own.
  const rows = o.ops.map((op, i) => {
    const of = (pick: (row: Row) => number) => median(runs.map((rows) => pick(rows[i])));
    return {
      op,
      serverMs: of((r) => r.serverMs),
      mainMs: of((r) => r.mainMs),
      generatorMs: of((r) => r.generatorMs),
      reqPerS: of((r) => r.reqPerS),
      errors: runs.reduce((n, rows) => n + rows[i].errors, 0),
    };
  });
  if (o.json) {
    console.log(JSON.stringify({ options: o, loadBefore, loadAfter: load(), rows, runs }, null, 2));
    return;
  }
  console.log(
    `${o.requests} requests after ${o.warmup} warm-up, ${o.clients} clients, ${o.repeat > 1 ? `median of ${o.repeat} runs` : '1 run'}; load average ${loadBefore} before, ${load()} after\n`,
  );
  console.log(
    markdownTable(
      [
        'operation',
        'server CPU ms/req:',
        'main thread:',
        'other threads:',
        'generator CPU ms/req:',
        'req/s:',
        'errors:',
      ],
      rows.map((r) => [
        r.op,
        fmt(r.serverMs, 3),
        fmt(r.mainMs, 3),
        fmt(r.serverMs - r.mainMs, 3),
        fmt(r.generatorMs, 3),
        fmt(r.reqPerS, 0),
        r.errors,
      ]),
    ),
  );
  if (rows.some((r) => r.errors > 0)) process.exitCode = 1;
}

await main();
