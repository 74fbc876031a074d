import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MlflowClient } from '@mlflow-ts/client';
import { loadPipeline } from '../src/serving/load-model.js';
import { RuntimeRegistry } from '../src/serving/model-runtime.js';
import { localModelDir } from '../src/serving/model-source.js';
import { pythonFunctionRuntime } from '../src/serving/python-worker-pool.js';
import { type RunningScoringServer, startScoringServer } from '../src/serving/scoring-server.js';
import { startTestServer, type TestServer, tempDir } from './helpers.js';
import { CLI } from './server-process.js';
import { makeModels, servingPython } from './serving-env.js';

// Real models served for real: a Python virtualenv (built and cached by the set-up), models written in
// MLflow's on-disk format, logged to our tracking server as run artifacts and registered, then served
// by the scoring server (in-process) and by the `mlflow-ts models serve|predict` CLI (the built dist/).

const python = servingPython();
const skip = python === undefined ? 'no Python environment with scikit-learn (see the log)' : false;

let tracking: TestServer;
const modelsDir = tempDir('mlflow-ts-serving-models-');
const work = tempDir('mlflow-ts-serving-work-');
let runId = '';
const logLines: string[] = [];
const servers: RunningScoringServer[] = [];
const savedTrackingUri = process.env.MLFLOW_TRACKING_URI;

before(async () => {
  if (!python) return;
  makeModels(python, modelsDir.dir);
  tracking = await startTestServer('sqlite');
  process.env.MLFLOW_TRACKING_URI = tracking.url;
  const client = new MlflowClient({ trackingUri: tracking.url });
  const experimentId = await client.createExperiment('serving');
  const run = await client.createRun(experimentId);
  runId = run.info.run_id;
  for (const name of ['sklearn', 'custom', 'tensor', 'onnx']) {
    await client.logArtifacts(runId, path.join(modelsDir.dir, name), name);
  }
  await client.createRegisteredModel('linear-onnx');
  const version = await client.createModelVersion('linear-onnx', `runs:/${runId}/onnx`, { runId });
  await client.setRegisteredModelAlias('linear-onnx', 'champion', version.version);
});

after(async () => {
  for (const server of servers) await server.close();
  if (tracking) await tracking.close();
  modelsDir.cleanup();
  work.cleanup();
  if (savedTrackingUri === undefined) delete process.env.MLFLOW_TRACKING_URI;
  else process.env.MLFLOW_TRACKING_URI = savedTrackingUri;
});

async function serve(
  uri: string,
  options: { workers?: number; timeoutMs?: number; bodyLimit?: number; python?: string } = {},
): Promise<RunningScoringServer> {
  const server = await startScoringServer({
    modelDir: await localModelDir(uri, path.join(work.dir, `${servers.length}`)),
    host: '127.0.0.1',
    port: 0,
    workers: options.workers ?? 1,
    timeoutMs: options.timeoutMs ?? 20_000,
    python: options.python ?? (python as string),
    bodyLimit: options.bodyLimit ?? 10 * 1024 * 1024,
    requestTimeoutMs: 60_000,
    log: () => {},
    logLine: (line) => logLines.push(line),
  });
  servers.push(server);
  await server.loaded;
  return server;
}

async function invoke(
  server: RunningScoringServer,
  body: string | object,
  contentType = 'application/json',
): Promise<{ status: number; type: string; text: string; json: () => any }> {
  const res = await fetch(`${server.url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  // Python's json writes NaN bare; JSON.parse cannot read it.
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    text,
    json: () => JSON.parse(text.replace(/\bNaN\b/g, 'null')),
  };
}

describe('a logged sklearn model (cloudpickle) served from runs:/', { skip }, () => {
  let server: RunningScoringServer;
  before(async () => {
    server = await serve(`runs:/${runId}/sklearn`, { workers: 2 });
  });

  test('/ping, /health and /version', async () => {
    for (const route of ['/ping', '/health']) {
      const res = await fetch(`${server.url}${route}`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '\n');
    }
    const version = await fetch(`${server.url}/version`);
    assert.equal(version.status, 200);
    assert.match(await version.text(), /^\d+\.\d+\.\d+/);
  });

  test('every input format gives the same predictions', async () => {
    const rows = [
      [0, 1, 1],
      [5, 6, 7],
    ];
    const records = rows.map(([x1, x2, n]) => ({ x1, x2, n }));
    const bodies: [string | object, string][] = [
      [{ dataframe_split: { columns: ['x1', 'x2', 'n'], data: rows } }, 'application/json'],
      [{ dataframe_records: records }, 'application/json; charset=utf-8'],
      [{ instances: records }, 'application/json'],
      [{ inputs: { x1: [0, 5], x2: [1, 6], n: [1, 7] } }, 'application/json'],
      ['x1,x2,n\n0,1,1\n5,6,7\n', 'text/csv'],
      ['n,x2,x1\n1,1,0\n7,6,5\n', 'text/csv; charset=UTF-8'],
    ];
    for (const [body, type] of bodies) {
      const res = await invoke(server, body, type);
      assert.equal(res.status, 200, `${type} ${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.type, 'application/json; charset=utf-8');
      assert.deepEqual(res.json(), { predictions: [0, 1] });
    }
  });

  test('signature violations are 400 with MLflow error JSON naming the column', async () => {
    const missing = await invoke(server, { dataframe_split: { columns: ['x1', 'x2'], data: [[0, 1]] } });
    assert.equal(missing.status, 400);
    assert.equal(missing.json().error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(missing.json().message, /Model is missing inputs \['n'\]\./);
    const unsafe = await invoke(server, { dataframe_records: [{ x1: 0, x2: 1, n: 1.5 }] });
    assert.equal(unsafe.status, 400);
    assert.match(
      unsafe.json().message,
      /Incompatible input types for column n\. Can not safely convert float64 to int64\./,
    );
    const csv = await invoke(server, 'x1,x2,n\nabc,1,1\n', 'text/csv');
    assert.equal(csv.status, 400);
    assert.equal(csv.json().error_code, 'BAD_REQUEST');
    const badJson = await invoke(server, '{"dataframe_split": ');
    assert.equal(badJson.status, 400);
    assert.equal(badJson.json().error_code, 'INVALID_PARAMETER_VALUE');
  });

  test("content types MLflow 2 refuses are 415 text, as MLflow's server answers", async () => {
    const old = await invoke(
      server,
      { columns: ['x1'], data: [[1]] },
      'application/json; format=pandas-split',
    );
    assert.equal(old.status, 415);
    assert.match(old.type, /^text\/plain/);
    assert.match(old.text, /^Unrecognized content type parameters: format\. IMPORTANT/);
    const xml = await invoke(server, '<x/>', 'application/xml');
    assert.equal(xml.status, 415);
  });

  test('one JSON log line per request', async () => {
    logLines.length = 0;
    await fetch(`${server.url}/ping`);
    await invoke(server, { dataframe_records: [{ x1: 0, x2: 1, n: 1 }] });
    const entries = logLines.map((line) => JSON.parse(line));
    assert.deepEqual(
      entries.map((e) => [e.method, e.path, e.status]),
      [
        ['GET', '/ping', 200],
        ['POST', '/invocations', 200],
      ],
    );
    assert.equal(typeof entries[1].duration_ms, 'number');
  });
});

describe('a custom loader_module model: params, optional columns, output encoding, workers', { skip }, () => {
  let server: RunningScoringServer;
  before(async () => {
    server = await serve(`runs:/${runId}/custom`, { workers: 2, bodyLimit: 4096 });
  });

  test('params with defaults, NaN and dates encoded as MLflow does', async () => {
    const res = await invoke(server, {
      dataframe_records: [{ x: 1.5, label: 'a' }, { x: 2 }],
      params: { scale: 2 },
    });
    assert.equal(res.status, 200, res.text);
    assert.match(
      res.text,
      /^\{"predictions": \[\{"y": 3\.5, "missing": NaN, "when": "2024-05-01T12:30:00", "label": "a", "pid": \d+\}, \{"y": 4\.5, "missing": NaN/,
    );
    const defaults = await invoke(server, { dataframe_records: [{ x: 1 }] });
    assert.match(defaults.text, /"y": 1\.5,/);
    const bad = await invoke(server, { dataframe_records: [{ x: 1 }], params: { scale: 'big' } });
    assert.equal(bad.status, 400);
    assert.match(
      bad.json().message,
      /^Invalid parameters found: \{\('scale', "Failed to validate type and shape for 'scale'/,
    );
  });

  test("an exception in the model is MLflow's BAD_REQUEST with the Python stack trace", async () => {
    const res = await invoke(server, { dataframe_records: [{ x: 1 }], params: { sleep: -1 } });
    assert.equal(res.status, 400);
    assert.equal(res.json().error_code, 'BAD_REQUEST');
    assert.equal(
      res.json().message,
      'Encountered an unexpected error while evaluating the model. Verify that the serialized input Dataframe is compatible with the model for inference.',
    );
    assert.match(res.json().stack_trace, /ValueError: sleep length must be non-negative/);
  });

  test('concurrent requests are spread over the workers', async () => {
    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        invoke(server, { dataframe_records: [{ x: 1 }], params: { sleep: 0.4 } }),
      ),
    );
    const pids = new Set(answers.map((a) => a.json().predictions[0].pid));
    assert.equal(pids.size, 2);
  });

  test('a worker killed mid-request: that request gets an error, the next one an answer', async () => {
    const pidFile = path.join(work.dir, 'pid');
    writeFileSync(pidFile, '');
    const pending = invoke(server, {
      dataframe_records: [{ x: 1 }],
      params: { sleep: 30, pid_file: pidFile },
    });
    let pid = '';
    for (let i = 0; i < 100 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 50));
      pid = readFileSync(pidFile, 'utf8');
    }
    process.kill(Number(pid), 'SIGKILL');
    const res = await pending;
    assert.equal(res.status, 503);
    assert.equal(res.json().error_code, 'TEMPORARILY_UNAVAILABLE');
    // Both slots serve again once the replacement has loaded.
    const again = await Promise.all(
      [1, 2].map(() => invoke(server, { dataframe_records: [{ x: 1 }], params: { sleep: 0.3 } })),
    );
    for (const a of again) assert.equal(a.status, 200, a.text);
    assert.ok(!again.some((a) => String(a.json().predictions[0].pid) === pid));
  });

  test('a body over the limit is 413', async () => {
    const res = await invoke(server, { dataframe_records: Array.from({ length: 1000 }, () => ({ x: 1 })) });
    assert.equal(res.status, 413);
    assert.equal(res.json().error_code, 'RESOURCE_EXHAUSTED');
  });
});

describe('timeouts', { skip }, () => {
  test('a prediction over --timeout fails and its worker is replaced', async () => {
    const server = await serve(`runs:/${runId}/custom`, { timeoutMs: 1000 });
    const started = Date.now();
    const slow = await invoke(server, { dataframe_records: [{ x: 1 }], params: { sleep: 10 } });
    assert.equal(slow.status, 503);
    assert.match(slow.json().message, /longer than the 1 s timeout/);
    assert.ok(Date.now() - started < 5000);
    const next = await invoke(server, { dataframe_records: [{ x: 1 }] });
    assert.equal(next.status, 200, next.text);
  });
});

describe('a worker whose replacement cannot load the model', { skip }, () => {
  test('requests are refused with 503 while replacements back off, instead of hanging', async () => {
    // An interpreter that works once: every later start fails, as a broken environment would.
    const once = path.join(work.dir, 'started-once');
    const wrapper = path.join(work.dir, 'python-once.sh');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ -e '${once}' ]; then echo 'broken environment' >&2; exit 3; fi\ntouch '${once}'\nexec '${python}' "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const server = await serve(path.join(modelsDir.dir, 'custom'), { python: wrapper });
    const first = await invoke(server, { dataframe_records: [{ x: 1 }] });
    assert.equal(first.status, 200, first.text);
    process.kill(first.json().predictions[0].pid, 'SIGKILL');
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const res = await invoke(server, { dataframe_records: [{ x: 1 }] });
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json().error_code, 'TEMPORARILY_UNAVAILABLE');
      assert.ok(Date.now() - started < 3000);
      await new Promise((r) => setTimeout(r, 300));
    }
  });
});

describe('tensor models', { skip }, () => {
  test('a tensor signature through Python', async () => {
    const server = await serve(`runs:/${runId}/tensor`);
    const res = await invoke(server, {
      instances: [
        [1, 2, 3],
        [4, 5, 6],
      ],
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json(), { predictions: [6, 15] });
    const wrong = await invoke(server, { inputs: [[1, 2]] });
    assert.equal(wrong.status, 400);
    assert.match(wrong.json().message, /Shape of input \(1, 2\) does not match expected shape \(-1, 3\)\./);
  });

  test('ONNX in Node, from models:/name@alias', async () => {
    const server = await serve('models:/linear-onnx@champion');
    assert.equal(server.slot.pipeline?.runtime.name, 'onnx');
    const res = await invoke(server, {
      inputs: {
        X: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json(), { predictions: { Y: [[14.5], [32.5]] } });
    const frame = await invoke(server, { dataframe_split: { columns: ['a', 'b', 'c'], data: [[1, 0, 0]] } });
    assert.equal(frame.status, 400); // a named tensor signature wants a column named X
    assert.match(frame.json().message, /Model is missing inputs \['X'\]/);
  });

  test('ONNX in the Python worker (onnxruntime, no mlflow) answers as the Node runtime does', async () => {
    const modelDir = path.join(modelsDir.dir, 'onnx');
    const options = { workers: 1, timeoutMs: 20_000, python: python as string, log: () => {} };
    const inNode = await loadPipeline(modelDir, options);
    const inPython = await loadPipeline(
      modelDir,
      options,
      new RuntimeRegistry().register(pythonFunctionRuntime),
    );
    try {
      assert.equal(inNode.runtime.name, 'onnx');
      assert.equal(inPython.runtime.name, 'python_function');
      for (const body of [
        {
          inputs: {
            X: [
              [1, 2, 3],
              [4, 5, 6],
            ],
          },
        },
        { inputs: [[0.5, 0.25, 1]] },
        { instances: [[1, 1, 1]] },
      ]) {
        const text = JSON.stringify(body);
        const node = await inNode.score('application/json', text);
        assert.equal(await inPython.score('application/json', text), node, text);
      }
      assert.equal(
        await inPython.score('application/json', '{"inputs": {"X": [[1, 2, 3]]}}'),
        '{"predictions": {"Y": [[14.5]]}}',
      );
    } finally {
      await inNode.runtime.close();
      await inPython.runtime.close();
    }
  });
});

function runCli(
  args: string[],
  input?: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, MLFLOW_TS_PYTHON: python, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.stdin.end(input ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the CLI', { skip }, () => {
  test('models predict: CSV in, JSON out, and MLflow-style errors', async () => {
    const input = path.join(work.dir, 'in.csv');
    const output = path.join(work.dir, 'out.json');
    writeFileSync(input, 'x1,x2,n\n0,1,1\n5,6,7\n');
    const ok = await runCli([
      'models',
      'predict',
      '-m',
      `runs:/${runId}/sklearn`,
      '-i',
      input,
      '-o',
      output,
      '-t',
      'csv',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(readFileSync(output, 'utf8'), '{"predictions": [0, 1]}');
    const stdin = await runCli(
      ['models', 'predict', '-m', path.join(modelsDir.dir, 'sklearn-pickle')],
      '{"dataframe_split": {"columns": ["x1", "x2", "n"], "data": [[5, 6, 7]]}}',
    );
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.equal(stdin.stdout.trim(), '{"predictions": [1]}');
    const bad = await runCli(['models', 'predict', '-m', `runs:/${runId}/sklearn`, '-t', 'xml']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Unknown content type 'xml': pass json or csv\./);
  });

  test('models serve refuses what it does not support', async () => {
    const mlserver = await runCli(['models', 'serve', '-m', 'x', '--enable-mlserver']);
    assert.equal(mlserver.code, 1);
    assert.match(mlserver.stderr, /--enable-mlserver is not supported by mlflow-ts/);
    const manager = await runCli([
      'models',
      'serve',
      '-m',
      path.join(modelsDir.dir, 'sklearn'),
      '--env-manager',
      'pip',
    ]);
    assert.equal(manager.code, 1);
    assert.match(
      manager.stderr,
      /Invalid value for `env_manager`: pip\. Must be one of 'local', 'virtualenv', 'uv', 'conda'\./,
    );
  });

  test('--install-mlflow leaves the local interpreter alone, as MLflow does', async () => {
    const res = await runCli(
      ['models', 'predict', '-m', path.join(modelsDir.dir, 'sklearn'), '--install-mlflow'],
      '{"dataframe_records": [{"x1": 5, "x2": 6, "n": 7}]}',
    );
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), '{"predictions": [1]}');
    assert.match(res.stderr, /--install-mlflow has no effect with --env-manager local/);
    assert.doesNotMatch(res.stderr, /Installing mlflow/);
  });

  test("--env-manager virtualenv builds the model's python_env.yaml environment (cached like projects')", async () => {
    const cache = process.env.MLFLOW_TS_TEST_CACHE ?? path.join(tmpdir(), 'mlflow-ts-test-cache');
    const env: NodeJS.ProcessEnv = { MLFLOW_ENV_ROOT: path.join(cache, 'serving-env-root') };
    if (existsSync('/opt/pypi/simple') && !process.env.PIP_INDEX_URL)
      env.PIP_INDEX_URL = 'file:///opt/pypi/simple';
    const res = await runCli(
      ['models', 'predict', '-m', path.join(modelsDir.dir, 'sklearn'), '--env-manager', 'virtualenv'],
      '{"dataframe_records": [{"x1": 5, "x2": 6, "n": 7}]}',
      env,
    );
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), '{"predictions": [1]}');
    assert.match(res.stderr, /=== (Creating a virtualenv|Using the cached virtualenv)/);
  });

  test('--install-mlflow runs pip in the built environment; without an index that has mlflow it says what to do', async () => {
    const cache = process.env.MLFLOW_TS_TEST_CACHE ?? path.join(tmpdir(), 'mlflow-ts-test-cache');
    // The same cached environment as the test above; a failed install leaves it as it was.
    const env: NodeJS.ProcessEnv = { MLFLOW_ENV_ROOT: path.join(cache, 'serving-env-root') };
    if (existsSync('/opt/pypi/simple') && !process.env.PIP_INDEX_URL)
      env.PIP_INDEX_URL = 'file:///opt/pypi/simple';
    const res = await runCli(
      [
        'models',
        'predict',
        '-m',
        path.join(modelsDir.dir, 'sklearn'),
        '--env-manager',
        'virtualenv',
        '--install-mlflow',
      ],
      '{"dataframe_records": [{"x1": 5, "x2": 6, "n": 7}]}',
      env,
    );
    assert.match(res.stderr, /=== Installing mlflow: python -m pip install mlflow ===/);
    if (res.code === 0) {
      // An index with mlflow (not this machine's mirror): then the worker loads through mlflow.
      assert.equal(res.stdout.trim(), '{"predictions": [1]}');
      return;
    }
    assert.equal(res.code, 1);
    assert.equal(res.stdout, '');
    assert.match(
      res.stderr,
      /--install-mlflow could not install mlflow into the model's environment \(`pip install mlflow` failed; pip's output is above\)\. Point pip at a package index that has mlflow/,
    );
  });

  test('models serve: -h/-p, health once loaded, and SIGTERM lets the in-flight request finish', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [CLI, 'models', 'serve', '-m', `runs:/${runId}/custom`, '-h', '127.0.0.1', '-p', '0', '-w', '1'],
      { env: { ...process.env, MLFLOW_TS_PYTHON: python }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    const loaded = new Promise<string>((resolve, reject) => {
      child.stderr?.on('data', (c) => {
        err += c;
        const url = /listening on (http:\/\/\S+)/.exec(err)?.[1];
        if (url && /model loaded/.test(err)) resolve(url);
      });
      child.once('exit', () => reject(new Error(err)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const url = await loaded;
    assert.equal((await fetch(`${url}/ping`)).status, 200);
    const slow = fetch(`${url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataframe_records: [{ x: 1 }], params: { sleep: 1 } }),
    });
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(await exited, 0, err);
  });
});
