/**
 * Model serving benchmark: requests/s and latency of POST /invocations for a small sklearn model (Python
 * workers), an ONNX model (in Node, and in the Python workers when onnxruntime imports) and a stand-in model that answers at once (the scoring path's own
 * cost: HTTP, parsing, the signature, the prediction JSON), at 1 and 20 concurrent clients.
 *
 *   npx tsx bench/serving.ts [--python <python with scikit-learn, pandas, cloudpickle, onnx[, onnxruntime]>]
 *                            [--requests 2000] [--workers 2] [--clients 1,20]
 *
 * The models are written by packages/server/test/fixtures/serving/make_models.py. Each client sends its
 * next request when the previous one has answered; latency is from just before the request is written
 * until its whole body has arrived. Any status other than 200 counts as an error.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseMLmodel } from '../packages/server/src/models/mlmodel.js';
import { type ModelRuntime, RuntimeRegistry } from '../packages/server/src/serving/model-runtime.js';
import { pythonFunctionRuntime } from '../packages/server/src/serving/python-worker-pool.js';
import { buildScoringApp } from '../packages/server/src/serving/scoring-app.js';
import { ScoringPipeline } from '../packages/server/src/serving/scoring-pipeline.js';
import { startScoringServer } from '../packages/server/src/serving/scoring-server.js';
import { commandLine, encodeJson, fmt, markdownTable, percentile, send } from './common.js';

const USAGE =
  'usage: npx tsx bench/serving.ts [--python <path>] [--requests <n>] [--workers <n>] [--clients <n,n>]';
const cli = commandLine('bench/serving.ts', USAGE);
let python = process.env.MLFLOW_TS_PYTHON ?? 'python3';
let requests = 2000;
let workers = 2;
let clientCounts = [1, 20];
cli.parse(
  process.argv.slice(2),
  { python: 'string', requests: 'string', workers: 'string', clients: 'string' },
  (name, value, flag) => {
    if (name === 'python') python = value;
    if (name === 'requests') requests = cli.count(flag, value);
    if (name === 'workers') workers = cli.count(flag, value);
    if (name === 'clients') clientCounts = value.split(',').map((v) => cli.count(flag, v));
  },
);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Target {
  name: string;
  url: string;
  body: unknown;
  close(): Promise<void>;
}

async function measure(target: Target, clients: number): Promise<(string | number)[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const url = new URL('/invocations', target.url);
  const encoded = encodeJson(target.body);
  // Warm-up: every connection and worker once.
  await Promise.all(Array.from({ length: clients * 2 }, () => send(url, 'POST', encoded, agent)));
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < requests) {
        next++;
        const reply = await send(url, 'POST', encoded, agent);
        if (reply.status !== 200) errors++;
        latencies.push(reply.ms);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return [
    target.name,
    clients,
    requests,
    fmt(requests / seconds, 0),
    fmt(percentile(latencies, 50), 2),
    fmt(percentile(latencies, 99), 2),
    errors,
  ];
}

/** A model that answers at once: what is left is the scoring path itself. */
async function standIn(): Promise<Target> {
  const runtime: ModelRuntime = { name: 'stand-in', predict: async () => '[0, 1]', close: async () => {} };
  const model = parseMLmodel(
    `flavors: {}\nsignature:\n  inputs: '[{"type": "double", "name": "x1"}, {"type": "double", "name": "x2"}, {"type": "long", "name": "n"}]'\n`,
  );
  const app = buildScoringApp(
    { pipeline: new ScoringPipeline(model, runtime) },
    { bodyLimit: 1 << 20, requestTimeoutMs: 0, version: 'bench', logLine: () => {} },
  );
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { name: 'stand-in (no model)', url, body: SKLEARN_BODY, close: () => app.close() };
}

const SKLEARN_BODY = {
  dataframe_split: {
    columns: ['x1', 'x2', 'n'],
    data: [
      [0, 1, 1],
      [5, 6, 7],
    ],
  },
};

async function served(
  name: string,
  modelDir: string,
  body: unknown,
  runtimes?: RuntimeRegistry,
): Promise<Target> {
  const server = await startScoringServer({
    runtimes,
    modelDir,
    host: '127.0.0.1',
    port: 0,
    workers,
    timeoutMs: 60_000,
    python,
    bodyLimit: 1 << 20,
    requestTimeoutMs: 0,
    log: () => {},
    logLine: () => {},
  });
  await server.loaded;
  return { name, url: server.url, body, close: () => server.close() };
}

const ONNX_BODY = { inputs: { X: [[1, 2, 3]] } };

function imports(module: string): boolean {
  try {
    execFileSync(python, ['-c', `import ${module}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const models = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-bench-serving-'));
try {
  execFileSync(python, [path.join(ROOT, 'packages/server/test/fixtures/serving/make_models.py'), models], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const rows: (string | number)[][] = [];
  const targets = [
    await standIn(),
    await served(`sklearn, ${workers} Python workers`, path.join(models, 'sklearn'), SKLEARN_BODY),
    await served('ONNX in Node', path.join(models, 'onnx'), ONNX_BODY),
  ];
  if (imports('onnxruntime')) {
    targets.push(
      await served(
        `ONNX, ${workers} Python workers`,
        path.join(models, 'onnx'),
        ONNX_BODY,
        new RuntimeRegistry().register(pythonFunctionRuntime),
      ),
    );
  } else console.error(`bench/serving.ts: ${python} cannot import onnxruntime; no row for ONNX in Python`);
  for (const target of targets) {
    for (const clients of clientCounts) rows.push(await measure(target, clients));
    await target.close();
  }
  console.log(
    markdownTable(['Model', 'Clients:', 'Requests:', 'Requests/s:', 'p50 ms:', 'p99 ms:', 'Errors:'], rows),
  );
} finally {
  rmSync(models, { recursive: true, force: true });
}
