/**
 * Load generator for an MLflow-compatible tracking server (FastTrackML's methodology).
 *
 *   npx tsx bench/load.ts --target http://127.0.0.1:5000 [--users 20] [--iterations 100] [--ops A,B] [--json]
 *
 * Every virtual user runs `iterations` iterations in a closed loop (next request only after the previous
 * one answered). One iteration is:
 *
 *   CreateRun         POST runs/create in the bench experiment (created once, unique name)
 *   LogMetric         POST runs/log-metric, one metric
 *   LogBatch10        POST runs/log-batch, 10 metrics (10 keys, one step)
 *   LogBatch500       POST runs/log-batch, 500 metrics (50 keys x 10 steps)
 *   LogParamBatch10   POST runs/log-batch, 10 params with fresh keys
 *   LogParamBatch100  POST runs/log-batch, 100 params with fresh keys
 *   GetMetricHistory  GET  metrics/get-history for one of the LogBatch500 keys (10 points), max_results=25000
 *   SearchRuns        POST runs/search in the bench experiment, metric filter, max_results=100
 *   SearchExperiments POST experiments/search, max_results=100
 *
 * Only with --ops (MLflow 3 logged models; not in the default set, so figures stay comparable and an older
 * server can be measured):
 *
 *   CreateLoggedModel POST logged-models in the bench experiment, from the iteration's run
 *   LogModelBatch10   POST runs/log-batch, 10 metrics carrying that model's id and a dataset
 *
 * All logging goes to the run created in that iteration, so param keys never collide (params are write-once).
 * --ops runs a subset (e.g. only the writes, as FastTrackML's logging script does); the calls that need a run
 * pull in CreateRun, and GetMetricHistory pulls in LogBatch500 (whose points it reads back).
 * Latency is measured per request with performance.now() from just before the request is written until the
 * whole response body has arrived. Any status other than 200 (or a network error) counts as an error.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { type CommandLine, commandLine, encodeJson, fmt, markdownTable, percentile, send } from './common.js';

const OPERATIONS = [
  'CreateRun',
  'LogMetric',
  'LogBatch10',
  'LogBatch500',
  'LogParamBatch10',
  'LogParamBatch100',
  'GetMetricHistory',
  'SearchRuns',
  'SearchExperiments',
  'CreateLoggedModel',
  'LogModelBatch10',
] as const;
type Operation = (typeof OPERATIONS)[number];

interface Options {
  target: string;
  users: number;
  iterations: number;
  json: boolean;
  ops: Set<Operation>;
}

const USAGE = `usage: tsx bench/load.ts --target http://127.0.0.1:5000 [--users 20] [--iterations 100] [--ops A,B] [--json]
  --ops: comma-separated subset of ${OPERATIONS.join(', ')} (default: all but the last two)`;

/** Bad command line: cli.fail prints the usage and exits with 2. */
const cli: CommandLine = commandLine('bench', USAGE);

/** Operations that log to the run CreateRun made in the same iteration. */
const NEEDS_RUN: ReadonlySet<Operation> = new Set<Operation>([
  'LogMetric',
  'LogBatch10',
  'LogBatch500',
  'LogParamBatch10',
  'LogParamBatch100',
  'GetMetricHistory',
  'CreateLoggedModel',
  'LogModelBatch10',
]);

/** Operations run when --ops is not given. */
const DEFAULT_OPERATIONS = OPERATIONS.filter((op) => op !== 'CreateLoggedModel' && op !== 'LogModelBatch10');

function parseOps(list: string): Set<Operation> {
  const ops = new Set<Operation>();
  for (const name of list.split(',').map((s) => s.trim())) {
    if (name === '') continue;
    const op = OPERATIONS.find((o) => o.toLowerCase() === name.toLowerCase());
    if (!op) cli.fail(`unknown operation ${name} in --ops`);
    ops.add(op);
  }
  if (ops.size === 0) cli.fail('--ops needs at least one operation');
  if (ops.has('GetMetricHistory')) ops.add('LogBatch500');
  if (ops.has('LogModelBatch10')) ops.add('CreateLoggedModel');
  if ([...ops].some((op) => NEEDS_RUN.has(op))) ops.add('CreateRun');
  return ops;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    target: 'http://127.0.0.1:5000',
    users: 20,
    iterations: 100,
    json: false,
    ops: new Set(DEFAULT_OPERATIONS),
  };
  const flags = {
    target: 'string',
    users: 'string',
    iterations: 'string',
    ops: 'string',
    json: 'boolean',
  } as const;
  cli.parse(argv, flags, (name, value, flag) => {
    if (name === 'target') options.target = value.replace(/\/+$/, '');
    else if (name === 'users') options.users = cli.count(flag, value);
    else if (name === 'iterations') options.iterations = cli.count(flag, value);
    else if (name === 'ops') options.ops = parseOps(value);
    else options.json = true;
  });
  return options;
}

/** The target cannot be benchmarked at all (unreachable, refuses the setup call). */
function abort(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------------------
// HTTP: node:http with a keep-alive agent sized to the number of users (one socket per virtual user).

interface Response {
  status: number;
  body: string;
}

class Client {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly base: URL;

  constructor(target: string, users: number) {
    this.base = new URL(`${target}/api/2.0/mlflow/`);
    this.transport = this.base.protocol === 'https:' ? https : http;
    const agentOptions = { keepAlive: true, maxSockets: users, maxFreeSockets: users };
    this.agent =
      this.base.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /**
   * Builds the request (URL, JSON body) now and returns a function that sends it, so that timing the
   * returned function measures the exchange with the server and not the client's own encoding.
   */
  prepare(method: 'GET' | 'POST', path: string, body?: unknown): () => Promise<Response> {
    const url = new URL(path, this.base);
    const encoded = encodeJson(body);
    return async () => {
      const reply = await send(url, method, encoded, this.agent, this.transport);
      return { status: reply.status, body: reply.body.toString('utf8') };
    };
  }

  request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
    return this.prepare(method, path, body)();
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Recording

interface Sample {
  /** Requests sent, including those that failed. */
  requests: number;
  /** Latency of every request that got an HTTP response (any status); network failures have none. */
  latencies: number[];
  /** Requests sent that failed: non-200, network error, unparseable or wrong body. */
  errors: number;
  /** Requests not sent because the CreateRun of their iteration failed. */
  skipped: number;
}

interface ErrorSample {
  operation: Operation;
  status: number | string;
  body: string;
}

const MAX_ERROR_SAMPLES = 10;

class Recorder {
  readonly samples = Object.fromEntries(
    OPERATIONS.map((op): [Operation, Sample] => [op, { requests: 0, latencies: [], errors: 0, skipped: 0 }]),
  ) as Record<Operation, Sample>;
  readonly errorSamples: ErrorSample[] = [];

  error(operation: Operation, status: number | string, body: string): void {
    this.samples[operation].errors++;
    this.note(operation, status, body);
  }

  skip(operation: Operation, reason: string): void {
    this.samples[operation].skipped++;
    this.note(operation, 'skipped', reason);
  }

  private note(operation: Operation, status: number | string, body: string): void {
    if (this.errorSamples.length < MAX_ERROR_SAMPLES) {
      this.errorSamples.push({ operation, status, body: body.slice(0, 300) });
    }
  }
}

/** Times one request; returns the parsed body on 200, undefined (and records an error) otherwise. */
async function timed(
  recorder: Recorder,
  operation: Operation,
  send: () => Promise<Response>,
): Promise<Record<string, unknown> | undefined> {
  const sample = recorder.samples[operation];
  sample.requests++;
  const start = performance.now();
  let response: Response;
  try {
    response = await send();
  } catch (err) {
    recorder.error(operation, 'network', err instanceof Error ? err.message : String(err));
    return undefined;
  }
  sample.latencies.push(performance.now() - start);
  if (response.status !== 200) {
    recorder.error(operation, response.status, response.body);
    return undefined;
  }
  try {
    return JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    recorder.error(operation, 'bad-json', response.body);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Workload

interface MetricEntry {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

function metrics10(): MetricEntry[] {
  const now = Date.now();
  return Array.from({ length: 10 }, (_, k) => ({
    key: `m10_${k}`,
    value: Math.random(),
    timestamp: now,
    step: 0,
  }));
}

const BATCH500_KEYS = 50;
const BATCH500_STEPS = 10;

function metrics500(): MetricEntry[] {
  const now = Date.now();
  const out: MetricEntry[] = [];
  for (let k = 0; k < BATCH500_KEYS; k++) {
    for (let step = 0; step < BATCH500_STEPS; step++) {
      out.push({ key: `m500_${k}`, value: Math.random() * (k + 1), timestamp: now + step, step });
    }
  }
  return out;
}

function params(prefix: string, n: number): Array<{ key: string; value: string }> {
  return Array.from({ length: n }, (_, k) => ({
    key: `${prefix}_${k}`,
    value: `${(Math.random() * 1000).toFixed(6)}`,
  }));
}

async function virtualUser(
  client: Client,
  recorder: Recorder,
  experimentId: string,
  ops: ReadonlySet<Operation>,
  user: number,
  iterations: number,
): Promise<void> {
  for (let it = 0; it < iterations; it++) {
    let runId: string | undefined;
    if (ops.has('CreateRun')) {
      const created = await timed(
        recorder,
        'CreateRun',
        client.prepare('POST', 'runs/create', {
          experiment_id: experimentId,
          run_name: `u${user}-i${it}`,
          start_time: Date.now(),
          tags: [{ key: 'mlflow.user', value: 'bench' }],
        }),
      );
      const run = created?.run as { info?: { run_id?: string } } | undefined;
      runId = run?.info?.run_id;
      if (!runId) {
        // Without a run the logging calls of this iteration cannot be made: count them as errors too.
        for (const op of NEEDS_RUN) if (ops.has(op)) recorder.skip(op, 'CreateRun failed');
      }
    }
    if (runId) {
      const id = runId;
      if (ops.has('LogMetric')) {
        await timed(
          recorder,
          'LogMetric',
          client.prepare('POST', 'runs/log-metric', {
            run_id: id,
            key: 'loss',
            value: Math.random(),
            timestamp: Date.now(),
            step: it,
          }),
        );
      }
      if (ops.has('CreateLoggedModel')) {
        const created = await timed(
          recorder,
          'CreateLoggedModel',
          client.prepare('POST', 'logged-models', {
            experiment_id: experimentId,
            source_run_id: id,
            params: [{ key: 'alpha', value: '0.5' }],
            tags: [{ key: 'mlflow.user', value: 'bench' }],
          }),
        );
        const modelId = (created?.model as { info?: { model_id?: string } } | undefined)?.info?.model_id;
        if (!modelId) {
          if (ops.has('LogModelBatch10')) recorder.skip('LogModelBatch10', 'CreateLoggedModel failed');
        } else if (ops.has('LogModelBatch10')) {
          const metrics = metrics10().map((m) => ({
            ...m,
            model_id: modelId,
            dataset_name: 'eval',
            dataset_digest: 'd41d8cd9',
          }));
          await timed(
            recorder,
            'LogModelBatch10',
            client.prepare('POST', 'runs/log-batch', { run_id: id, metrics }),
          );
        }
      }
      if (ops.has('LogBatch10')) {
        await timed(
          recorder,
          'LogBatch10',
          client.prepare('POST', 'runs/log-batch', { run_id: id, metrics: metrics10() }),
        );
      }
      if (ops.has('LogBatch500')) {
        await timed(
          recorder,
          'LogBatch500',
          client.prepare('POST', 'runs/log-batch', { run_id: id, metrics: metrics500() }),
        );
      }
      if (ops.has('LogParamBatch10')) {
        await timed(
          recorder,
          'LogParamBatch10',
          client.prepare('POST', 'runs/log-batch', { run_id: id, params: params('p10', 10) }),
        );
      }
      if (ops.has('LogParamBatch100')) {
        await timed(
          recorder,
          'LogParamBatch100',
          client.prepare('POST', 'runs/log-batch', { run_id: id, params: params('p100', 100) }),
        );
      }
      if (ops.has('GetMetricHistory')) {
        const key = `m500_${it % BATCH500_KEYS}`;
        const history = await timed(
          recorder,
          'GetMetricHistory',
          client.prepare(
            'GET',
            `metrics/get-history?run_id=${encodeURIComponent(id)}&metric_key=${encodeURIComponent(key)}&max_results=25000`,
          ),
        );
        const points = history?.metrics;
        if (history && (!Array.isArray(points) || points.length !== BATCH500_STEPS)) {
          recorder.error('GetMetricHistory', 'wrong-result', `expected ${BATCH500_STEPS} points for ${key}`);
        }
      }
    }
    if (ops.has('SearchRuns')) {
      await timed(
        recorder,
        'SearchRuns',
        client.prepare('POST', 'runs/search', {
          experiment_ids: [experimentId],
          filter: 'metrics.loss < 0.5',
          max_results: 100,
        }),
      );
    }
    if (ops.has('SearchExperiments')) {
      await timed(
        recorder,
        'SearchExperiments',
        client.prepare('POST', 'experiments/search', { max_results: 100 }),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reporting

interface OperationStats {
  operation: Operation;
  requests: number;
  errors: number;
  skipped: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  reqPerSec: number;
}

function stats(operation: Operation, sample: Sample, wallMs: number): OperationStats {
  const sorted = [...sample.latencies].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    operation,
    requests: sample.requests,
    errors: sample.errors,
    skipped: sample.skipped,
    meanMs: sorted.length ? sum / sorted.length : Number.NaN,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
    reqPerSec: sample.requests / (wallMs / 1000),
  };
}

function operationsTable(rows: OperationStats[]): string {
  return markdownTable(
    [
      'operation',
      'requests:',
      'errors:',
      'skipped:',
      'mean ms:',
      'p50 ms:',
      'p95 ms:',
      'p99 ms:',
      'max ms:',
      'req/s:',
    ],
    rows.map((r) => [
      r.operation,
      r.requests,
      r.errors,
      r.skipped,
      fmt(r.meanMs, 2),
      fmt(r.p50Ms, 2),
      fmt(r.p95Ms, 2),
      fmt(r.p99Ms, 2),
      fmt(r.maxMs, 1),
      fmt(r.reqPerSec, 1),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const client = new Client(options.target, options.users);
  const recorder = new Recorder();

  const experimentName = `bench-${new Date().toISOString()}-${Math.random().toString(36).slice(2, 8)}`;
  let experimentId: string;
  try {
    const res = await client.request('POST', 'experiments/create', { name: experimentName });
    if (res.status !== 200) abort(`experiments/create answered ${res.status}: ${res.body.slice(0, 300)}`);
    experimentId = String((JSON.parse(res.body) as { experiment_id: string }).experiment_id);
  } catch (err) {
    abort(`cannot reach ${options.target}: ${err instanceof Error ? err.message : String(err)}`);
  }

  if (!options.json) {
    console.log(
      `bench: ${options.users} users x ${options.iterations} iterations against ${options.target} (experiment ${experimentName}, id ${experimentId})`,
    );
  }

  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.users }, (_, user) =>
      virtualUser(client, recorder, experimentId, options.ops, user, options.iterations),
    ),
  );
  const wallMs = performance.now() - started;
  client.close();

  const rows = OPERATIONS.filter((op) => options.ops.has(op)).map((op) =>
    stats(op, recorder.samples[op], wallMs),
  );
  const totalRequests = rows.reduce((a, r) => a + r.requests, 0);
  const totalErrors = rows.reduce((a, r) => a + r.errors, 0);
  const totalSkipped = rows.reduce((a, r) => a + r.skipped, 0);
  const summary = {
    target: options.target,
    users: options.users,
    iterations: options.iterations,
    enabledOperations: OPERATIONS.filter((op) => options.ops.has(op)),
    experimentId,
    experimentName,
    node: process.version,
    date: new Date().toISOString(),
    wallMs,
    totalRequests,
    totalErrors,
    totalSkipped,
    reqPerSec: totalRequests / (wallMs / 1000),
    operations: rows,
    errorSamples: recorder.errorSamples,
  };

  if (options.json) {
    console.log(JSON.stringify(summary, null, 2));
  } else {
    console.log(
      '\nLatency per request in ms, client side, over every request that got an HTTP response.\n' +
        'req/s = requests of that operation / wall time of the whole run.\n',
    );
    console.log(operationsTable(rows));
    console.log(
      `\nTotal: ${totalRequests} requests, ${totalErrors} errors, ${totalSkipped} skipped in ${fmt(wallMs / 1000, 2)} s wall time = ${fmt(summary.reqPerSec, 1)} req/s`,
    );
    if (recorder.errorSamples.length > 0) {
      console.log('\nFirst errors:');
      for (const e of recorder.errorSamples) console.log(`  ${e.operation} [${e.status}] ${e.body}`);
    }
  }
  if (totalErrors + totalSkipped > 0) process.exitCode = 1;
}

await main();
