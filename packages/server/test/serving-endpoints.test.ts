import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MlflowClient } from '@mlflow-ts/client';
import { type RunningServer, type ServerConfig, startServer } from '../src/server.js';
import { EndpointHost } from '../src/serving/endpoint-host.js';
import { RuntimeRegistry } from '../src/serving/model-runtime.js';
import { ADMIN, ALICE, as, BOB, startAuthServer } from './auth-client.js';
import { DIALECTS, type DialectName, freshStoreUri, type TestServer, tempDir } from './helpers.js';
import { startServerProcess } from './server-process.js';
import { makeModels, servingPython } from './serving-env.js';

// Serving endpoints hosted by the tracking server, with real ONNX models run in Node: version 1 answers
// X·W + 0.5, version 2 X·W + 1.5 (so answers say which version gave them), version 3 cannot load.

const python = servingPython();
const skip = python === undefined ? 'no Python environment with onnx (see the log)' : false;
const models = tempDir('mlflow-ts-endpoint-models-');
const ROW = { inputs: { X: [[1, 2, 3]] } };
const PREDICTION = { 1: 14.5, 2: 15.5 } as Record<string, number>;

before(() => {
  if (!python) return;
  makeModels(python, models.dir);
  const v2 = path.join(models.dir, 'onnx-v2');
  cpSync(path.join(models.dir, 'onnx'), v2, { recursive: true });
  execFileSync(python, [
    '-c',
    'import onnx, sys\nfrom onnx import numpy_helper\nimport numpy as np\nm = onnx.load(sys.argv[1])\n' +
      'for i, t in enumerate(m.graph.initializer):\n    if t.name == "B":\n' +
      '        m.graph.initializer[i].CopyFrom(numpy_helper.from_array(np.array([1.5], dtype=np.float32), "B"))\n' +
      'onnx.save(m, sys.argv[1])',
    path.join(v2, 'model.onnx'),
  ]);
  const broken = path.join(models.dir, 'broken');
  mkdirSync(broken);
  writeFileSync(path.join(broken, 'MLmodel'), 'flavors:\n  no_such_flavor:\n    data: x\n');
});

after(() => models.cleanup());

interface Served {
  url: string;
  server: RunningServer;
  close(): Promise<void>;
}

/** A server on a given store and artifact folder, so a second one (or a restart) shares them. */
async function serveOn(
  storeUri: string,
  artifactsDir: string,
  extra: Partial<ServerConfig> = {},
): Promise<Served> {
  const server = await startServer({
    backendStoreUri: storeUri,
    serveArtifacts: true,
    artifactsDestination: artifactsDir,
    host: '127.0.0.1',
    port: 0,
    serving: { recheckMs: 300, python: python ?? 'python3', timeoutMs: 20_000 },
    ...extra,
  });
  return { url: server.url, server, close: () => server.close() };
}

/** Logs the three models and registers them as versions 1, 2, 3 of `name`, with @champion on 1. */
async function registerVersions(url: string, name: string, auth?: string): Promise<void> {
  const [username, password] = auth?.split(':') ?? [];
  const client = new MlflowClient({ trackingUri: url, username, password });
  const experimentId = await client.createExperiment(`exp-${name}`);
  const run = await client.createRun(experimentId);
  await client.createRegisteredModel(name);
  for (const dir of ['onnx', 'onnx-v2', 'broken']) {
    await client.logArtifacts(run.info.run_id, path.join(models.dir, dir), dir);
    await client.createModelVersion(name, `runs:/${run.info.run_id}/${dir}`, { runId: run.info.run_id });
  }
  await client.setRegisteredModelAlias(name, 'champion', '1');
}

async function api(url: string, method: string, endpoint: string, body?: object) {
  const response = await fetch(`${url}/api/2.0/${endpoint}`, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {}, text };
}

async function setAlias(url: string, name: string, alias: string, version: string) {
  const res = await api(url, 'POST', 'mlflow/registered-models/alias', { name, alias, version });
  assert.equal(res.status, 200, res.text);
}

async function invoke(url: string, name: string, body: string | object = ROW, type = 'application/json') {
  const response = await fetch(`${url}/serving-endpoints/${name}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, version: response.headers.get('x-mlflow-model-version'), text };
}

/** Polls the endpoint until `ok` holds of its state. */
async function waitFor(url: string, name: string, ok: (e: Record<string, any>) => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  let last: Record<string, any> = {};
  while (Date.now() < deadline) {
    const res = await api(url, 'GET', `serving-endpoints/${name}`);
    last = res.body.endpoint ?? res.body;
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`endpoint ${name} never reached the state wanted; last: ${JSON.stringify(last)}`);
}

for (const dialect of DIALECTS) {
  describe(`serving endpoints (${dialect})`, { skip }, () => {
    let store: { uri: string; cleanup: () => void };
    const artifacts = tempDir('mlflow-ts-endpoint-artifacts-');
    let a: Served;

    before(async () => {
      store = await freshStoreUri(dialect);
      a = await serveOn(store.uri, artifacts.dir);
      await registerVersions(a.url, 'lin');
    });
    after(async () => {
      await a?.close();
      store?.cleanup();
      artifacts.cleanup();
    });

    test('create, get, list and delete, with MLflow-style errors', async () => {
      const bad = async (body: object, status: number, code: string, message: RegExp) => {
        const res = await api(a.url, 'POST', 'serving-endpoints', body);
        assert.equal(res.status, status, res.text);
        assert.equal(res.body.error_code, code, res.text);
        assert.match(res.body.message, message);
      };
      await bad({ model_uri: 'models:/lin@champion' }, 400, 'INVALID_PARAMETER_VALUE', /'name'/);
      await bad({ name: 'x' }, 400, 'INVALID_PARAMETER_VALUE', /'model'/);
      await bad(
        { name: 'a b', model_uri: 'models:/lin@champion' },
        400,
        'INVALID_PARAMETER_VALUE',
        /name 'a b'/,
      );
      await bad({ name: 'x', model_uri: 'runs:/abc/model' }, 400, 'INVALID_PARAMETER_VALUE', /models:\//);
      await bad(
        { name: 'x', model_uri: 'models:/lin/Production' },
        400,
        'INVALID_PARAMETER_VALUE',
        /@<alias>/,
      );
      await bad(
        { name: 'x', model_uri: 'models:/lin@champion', workers: 0 },
        400,
        'INVALID_PARAMETER_VALUE',
        /workers/,
      );
      await bad(
        { name: 'x', model_uri: 'models:/lin@champion', workers: 'two' },
        400,
        'INVALID_PARAMETER_VALUE',
        /workers/,
      );
      await bad({ name: 'x', model_uri: 'models:/nope/1' }, 404, 'RESOURCE_DOES_NOT_EXIST', /nope/);
      // As MLflow's get-by-alias answers a missing alias: 400 with its words.
      await bad(
        { name: 'x', model_uri: 'models:/lin@nosuch' },
        400,
        'INVALID_PARAMETER_VALUE',
        /alias nosuch not found/,
      );
      await bad({ name: 'x', model_uri: 'models:/lin/99' }, 404, 'RESOURCE_DOES_NOT_EXIST', /99/);

      const created = await api(a.url, 'POST', 'serving-endpoints', { name: 'crud', model: 'models:/lin/1' });
      assert.equal(created.status, 200, created.text);
      assert.equal(created.body.endpoint.name, 'crud');
      assert.equal(created.body.endpoint.model_uri, 'models:/lin/1');
      assert.equal(created.body.endpoint.registered_model_name, 'lin');
      assert.equal(created.body.endpoint.workers, 1);
      assert.ok(['LOADING', 'READY'].includes(created.body.endpoint.state));
      await bad({ name: 'crud', model_uri: 'models:/lin/2' }, 400, 'RESOURCE_ALREADY_EXISTS', /crud/);

      const ready = await waitFor(a.url, 'crud', (e) => e.state === 'READY');
      assert.equal(ready.serving_version, '1');
      assert.equal(ready.loading_version, undefined);

      const list = await api(a.url, 'GET', 'serving-endpoints?registered_model_name=lin');
      assert.ok(list.body.endpoints.some((e: { name: string }) => e.name === 'crud'));
      const none = await api(a.url, 'GET', 'serving-endpoints?registered_model_name=other');
      assert.deepEqual(none.body, { endpoints: [] });
      const ajax = await fetch(`${a.url}/ajax-api/2.0/serving-endpoints/crud`);
      assert.equal(ajax.status, 200);

      assert.equal((await api(a.url, 'GET', 'serving-endpoints/nosuch')).status, 404);
      assert.equal(
        (await api(a.url, 'DELETE', 'serving-endpoints/nosuch')).body.error_code,
        'RESOURCE_DOES_NOT_EXIST',
      );
      assert.equal((await api(a.url, 'DELETE', 'serving-endpoints/crud')).status, 200);
      assert.equal((await api(a.url, 'GET', 'serving-endpoints/crud')).status, 404);
      const gone = await invoke(a.url, 'crud');
      assert.equal(gone.status, 404, gone.text);
      assert.equal(JSON.parse(gone.text).error_code, 'RESOURCE_DOES_NOT_EXIST');
    });

    test('invocations speak the scoring protocol and name the version that answered', async () => {
      await api(a.url, 'POST', 'serving-endpoints', { name: 'proto', model_uri: 'models:/lin/2' });
      await waitFor(a.url, 'proto', (e) => e.state === 'READY');
      const ok = await invoke(a.url, 'proto');
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.version, '2');
      assert.deepEqual(JSON.parse(ok.text), { predictions: { Y: [[15.5]] } });
      // A signature error: MLflow's JSON error, and the version that refused it.
      const wrong = await invoke(a.url, 'proto', { inputs: { X: [[1, 2]] } });
      assert.equal(wrong.status, 400);
      assert.equal(wrong.version, '2');
      assert.equal(JSON.parse(wrong.text).error_code, 'INVALID_PARAMETER_VALUE');
      const notJson = await invoke(a.url, 'proto', '{', 'application/json');
      assert.equal(notJson.status, 400);
      const type = await invoke(a.url, 'proto', 'x', 'text/plain');
      assert.equal(type.status, 415);
      const csv = await invoke(a.url, 'proto', 'a,b\n1,2\n', 'text/csv');
      assert.equal(csv.status, 400, csv.text); // the ONNX signature is a tensor named X
      await api(a.url, 'DELETE', 'serving-endpoints/proto');
    });

    test('the SDK creates, gets, lists, invokes and deletes endpoints', async () => {
      const client = new MlflowClient({ trackingUri: a.url });
      const created = await client.createServingEndpoint('sdk', 'models:/lin/2', { workers: 2 });
      assert.equal(created.workers, 2);
      await waitFor(a.url, 'sdk', (e) => e.state === 'READY');
      assert.equal((await client.getServingEndpoint('sdk')).serving_version, '2');
      const listed = await client.listServingEndpoints({ registeredModelName: 'lin' });
      assert.ok(listed.some((e) => e.name === 'sdk'));
      const answer = await client.invokeServingEndpoint('sdk', ROW);
      assert.deepEqual(answer, { body: { predictions: { Y: [[15.5]] } }, version: '2' });
      await assert.rejects(client.invokeServingEndpoint('sdk', { inputs: { X: [[1]] } }), {
        errorCode: 'INVALID_PARAMETER_VALUE',
      });
      await client.deleteServingEndpoint('sdk');
      await assert.rejects(client.getServingEndpoint('sdk'), { errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    });

    test('the alias moves under load: zero failed requests, the version flips once and never back', async () => {
      await setAlias(a.url, 'lin', 'champion', '1');
      const created = await api(a.url, 'POST', 'serving-endpoints', {
        name: 'champ',
        model_uri: 'models:/lin@champion',
      });
      assert.equal(created.status, 200, created.text);
      await waitFor(a.url, 'champ', (e) => e.serving_version === '1');

      let stop = false;
      const failures: string[] = [];
      const sequences: string[][] = [];
      const client = async (i: number) => {
        const seen: string[] = [];
        sequences[i] = seen;
        while (!stop) {
          const res = await invoke(a.url, 'champ');
          if (res.status !== 200 || res.version === null) {
            failures.push(`${res.status} ${res.text}`);
            continue;
          }
          const y = JSON.parse(res.text).predictions.Y[0][0];
          if (y !== PREDICTION[res.version]) failures.push(`version ${res.version} answered ${y}`);
          seen.push(res.version);
        }
      };
      const clients = Array.from({ length: 8 }, (_, i) => client(i));
      await new Promise((r) => setTimeout(r, 300));
      await setAlias(a.url, 'lin', 'champion', '2');
      await waitFor(a.url, 'champ', (e) => e.serving_version === '2' && e.loading_version === undefined);
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await Promise.all(clients);

      assert.deepEqual(failures, []);
      for (const seen of sequences) {
        assert.ok(seen.includes('1') && seen.includes('2'), `a client saw ${[...new Set(seen)]}`);
        const flip = seen.indexOf('2');
        assert.ok(
          seen.slice(flip).every((v) => v === '2'),
          'a client went back to version 1',
        );
        assert.ok(seen.slice(0, flip).every((v) => v === '1'));
      }
    });

    test('a version that fails to load leaves the old one serving, and the error is reported', async () => {
      await waitFor(a.url, 'champ', (e) => e.serving_version === '2');
      await setAlias(a.url, 'lin', 'champion', '3');
      const failed = await waitFor(a.url, 'champ', (e) => e.error !== undefined);
      assert.equal(failed.state, 'READY');
      assert.equal(failed.serving_version, '2');
      assert.match(failed.error, /Version 3 of 'lin' failed to load: .*no_such_flavor/);
      const still = await invoke(a.url, 'champ');
      assert.equal(still.status, 200, still.text);
      assert.equal(still.version, '2');
      // Deleting the alias: the endpoint keeps its version and says why it cannot follow.
      assert.equal(
        (await api(a.url, 'DELETE', 'mlflow/registered-models/alias', { name: 'lin', alias: 'champion' }))
          .status,
        200,
      );
      const orphan = await waitFor(a.url, 'champ', (e) => /Cannot resolve/.test(e.error ?? ''));
      assert.equal(orphan.serving_version, '2');
      assert.equal((await invoke(a.url, 'champ')).status, 200);
      // Back to the serving version: nothing is wrong any more.
      await setAlias(a.url, 'lin', 'champion', '2');
      const healed = await waitFor(a.url, 'champ', (e) => e.error === undefined);
      assert.equal(healed.serving_version, '2');
    });

    test('another server on the store sees the endpoints, and its alias writes reach this one', async () => {
      const pinned = await api(a.url, 'POST', 'serving-endpoints', {
        name: 'pinned',
        model_uri: 'models:/lin/1',
      });
      assert.equal(pinned.status, 200, pinned.text);
      const b = await serveOn(store.uri, artifacts.dir);
      try {
        // Started after the endpoints were made: it loads them from the store (a restart does the same).
        const champ = await waitFor(b.url, 'champ', (e) => e.state === 'READY');
        assert.equal(champ.serving_version, '2');
        assert.equal((await waitFor(b.url, 'pinned', (e) => e.state === 'READY')).serving_version, '1');
        assert.equal((await invoke(b.url, 'pinned')).version, '1');
        // The alias moved on b: a finds out by its periodic re-check, not by a hook.
        await setAlias(b.url, 'lin', 'champion', '1');
        await waitFor(a.url, 'champ', (e) => e.serving_version === '1');
        assert.equal((await invoke(a.url, 'champ')).version, '1');
        // A version-bound endpoint stays where it is.
        assert.equal((await waitFor(a.url, 'pinned', (e) => e.state === 'READY')).serving_version, '1');
        // Deleted on b: a refuses it at once (it reads the definition at each request), not after
        // its re-check.
        assert.equal((await invoke(a.url, 'pinned')).version, '1');
        assert.equal((await api(b.url, 'DELETE', 'serving-endpoints/pinned')).status, 200);
        assert.equal((await invoke(a.url, 'pinned')).status, 404);
        assert.equal((await api(a.url, 'GET', 'serving-endpoints/pinned')).status, 404);
      } finally {
        await b.close();
      }
    });

    test('a restart loads the stored endpoints again', async () => {
      await a.close();
      a = await serveOn(store.uri, artifacts.dir);
      const champ = await waitFor(a.url, 'champ', (e) => e.state === 'READY');
      assert.equal(champ.serving_version, '1');
      const res = await invoke(a.url, 'champ');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.version, '1');
    });
  });
}

/** The pids of the Python scoring workers of process `parent` (this one by default). */
function scoringWorkers(parent = process.pid): string[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(parent)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when the process has no children
  }
  return out
    .split('\n')
    .filter((line) => line.includes('mlflow_ts_scoring_worker'))
    .map((line) => line.trim().split(/\s+/)[0]);
}

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('python_function endpoints: worker processes follow the serving version', { skip }, () => {
  test("the old version's workers stop after a switch, and every worker stops with the server", async () => {
    const store = await freshStoreUri('sqlite');
    const artifacts = tempDir('mlflow-ts-endpoint-py-');
    const srv = await serveOn(store.uri, artifacts.dir);
    try {
      const client = new MlflowClient({ trackingUri: srv.url });
      const run = await client.createRun(await client.createExperiment('py'));
      await client.logArtifacts(run.info.run_id, path.join(models.dir, 'sklearn'), 'sklearn');
      await client.createRegisteredModel('py');
      for (let i = 0; i < 2; i++) {
        await client.createModelVersion('py', `runs:/${run.info.run_id}/sklearn`, { runId: run.info.run_id });
      }
      await client.setRegisteredModelAlias('py', 'live', '1');
      assert.deepEqual(scoringWorkers(), []);
      await client.createServingEndpoint('py', 'models:/py@live', { workers: 2 });
      await waitFor(srv.url, 'py', (e) => e.state === 'READY');
      const first = scoringWorkers();
      assert.equal(first.length, 2);
      const frame = { dataframe_split: { columns: ['x1', 'x2', 'n'], data: [[1.0, 2.0, 3]] } };
      const v1 = await invoke(srv.url, 'py', frame);
      assert.equal(v1.status, 200, v1.text);
      assert.equal(v1.version, '1');

      await client.setRegisteredModelAlias('py', 'live', '2');
      await waitFor(srv.url, 'py', (e) => e.serving_version === '2');
      await until(() => {
        const now = scoringWorkers();
        return now.length === 2 && now.every((pid) => !first.includes(pid));
      }, "version 1's workers to stop and version 2's to run");
      const v2 = await invoke(srv.url, 'py', frame);
      assert.equal(v2.status, 200, v2.text);
      assert.equal(v2.version, '2');
    } finally {
      await srv.close();
      store.cleanup();
      artifacts.cleanup();
    }
    await until(() => scoringWorkers().length === 0, 'the workers to stop with the server');
  });
});

describe('mlflow-ts server stops its endpoints with it', { skip }, () => {
  test('SIGTERM: the endpoint workers of `mlflow-ts server` stop and it exits 0', async () => {
    const saved = process.env.MLFLOW_TS_PYTHON;
    process.env.MLFLOW_TS_PYTHON = python;
    const srv = await startServerProcess('sqlite');
    if (saved === undefined) delete process.env.MLFLOW_TS_PYTHON;
    else process.env.MLFLOW_TS_PYTHON = saved;
    try {
      const client = new MlflowClient({ trackingUri: srv.url });
      const run = await client.createRun(await client.createExperiment('sigterm'));
      await client.logArtifacts(run.info.run_id, path.join(models.dir, 'sklearn'), 'sklearn');
      await client.createRegisteredModel('py');
      await client.createModelVersion('py', `runs:/${run.info.run_id}/sklearn`, { runId: run.info.run_id });
      await client.createServingEndpoint('py', 'models:/py/1', { workers: 2 });
      await waitFor(srv.url, 'py', (e) => e.state === 'READY');
      const pid = srv.child.pid as number;
      const workers = scoringWorkers(pid);
      assert.equal(workers.length, 2);
      const exited = new Promise<number | null>((resolve) => srv.child.once('exit', (code) => resolve(code)));
      srv.child.kill('SIGTERM');
      assert.equal(await exited, 0);
      const alive = (p: string) => {
        try {
          process.kill(Number(p), 0);
          return true;
        } catch {
          return false;
        }
      };
      await until(() => !workers.some(alive), 'the workers to stop with the server');
    } finally {
      await srv.close();
    }
  });
});

describe('serving endpoints under basic auth', { skip }, () => {
  const dir = tempDir('mlflow-ts-endpoint-auth-');
  let srv: TestServer;
  const dialect: DialectName = 'sqlite';

  before(async () => {
    srv = await startAuthServer(dialect, dir.dir, {
      serving: { recheckMs: 0, python: python ?? 'python3', timeoutMs: 20_000 },
    });
    // Alice registers (and so manages) the model; Bob gets READ by the default permission.
    await registerVersions(srv.url, 'secret', ALICE);
  });
  after(async () => {
    await srv?.close();
    dir.cleanup();
  });

  const body = { name: 'sec', model_uri: 'models:/secret@champion' };

  test('READ may get and invoke, EDIT may create, MANAGE may delete', async () => {
    assert.equal((await as(undefined, srv.url, 'GET', 'api/2.0/serving-endpoints')).status, 401);
    assert.equal((await as(BOB, srv.url, 'POST', 'api/2.0/serving-endpoints', body)).status, 403);
    const created = await as(ALICE, srv.url, 'POST', 'api/2.0/serving-endpoints', body);
    assert.equal(created.status, 200, created.text);
    assert.equal((await as(BOB, srv.url, 'GET', 'api/2.0/serving-endpoints/sec')).status, 200);
    const listed = await as(BOB, srv.url, 'GET', 'api/2.0/serving-endpoints');
    assert.deepEqual(
      listed.body.endpoints.map((e: { name: string }) => e.name),
      ['sec'],
    );
    await waitForAuth(srv.url, 'sec');
    const invoked = await as(BOB, srv.url, 'POST', 'serving-endpoints/sec/invocations', ROW);
    assert.equal(invoked.status, 200, invoked.text);
    assert.equal((await as(BOB, srv.url, 'DELETE', 'api/2.0/serving-endpoints/sec')).status, 403);

    // Bob loses READ on the model: the endpoint disappears from his list and refuses him.
    const revoke = await as(ALICE, srv.api, 'POST', 'registered-models/permissions/create', {
      name: 'secret',
      username: 'bob',
      permission: 'NO_PERMISSIONS',
    });
    assert.equal(revoke.status, 200, revoke.text);
    assert.deepEqual((await as(BOB, srv.url, 'GET', 'api/2.0/serving-endpoints')).body, { endpoints: [] });
    assert.equal((await as(BOB, srv.url, 'GET', 'api/2.0/serving-endpoints/sec')).status, 403);
    assert.equal((await as(BOB, srv.url, 'POST', 'serving-endpoints/sec/invocations', ROW)).status, 403);

    assert.equal((await as(ALICE, srv.url, 'DELETE', 'api/2.0/serving-endpoints/sec')).status, 200);
    assert.equal((await as(ADMIN, srv.url, 'GET', 'api/2.0/serving-endpoints/sec')).status, 404);
  });
});

async function waitForAuth(url: string, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const res = await as(ADMIN, url, 'GET', `api/2.0/serving-endpoints/${name}`);
    if (res.body.endpoint?.state === 'READY') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`endpoint ${name} never became READY`);
}

describe("the endpoint host with a runtime under the test's control", () => {
  const dir = tempDir('mlflow-ts-endpoint-host-');
  after(() => dir.cleanup());

  /** A model per version whose predictions wait for the test, and a record of loads and closes. */
  function setUp() {
    const events: string[] = [];
    const gates: Array<() => void> = [];
    let current = 1;
    const failing = new Set<number>();
    const runtimes = new RuntimeRegistry().register({
      name: 'gated',
      accepts: (model) => 'gated' in model.flavors,
      async load(modelDir) {
        const version = Number(path.basename(modelDir));
        if (failing.has(version)) throw new Error(`version ${version} is broken`);
        events.push(`load ${version}`);
        return {
          name: 'gated',
          predict: () => new Promise<string>((resolve) => gates.push(() => resolve(JSON.stringify(version)))),
          async close() {
            events.push(`close ${version}`);
          },
        };
      },
    });
    const host = new EndpointHost({
      runtimes,
      workDir: path.join(dir.dir, 'work'),
      runtime: { python: 'python3', timeoutMs: 1000, log: () => {} },
      source: {
        resolveVersion: async () => current,
        async fetchVersion(_name, version) {
          const modelDir = path.join(dir.dir, String(version));
          mkdirSync(modelDir, { recursive: true });
          writeFileSync(path.join(modelDir, 'MLmodel'), 'flavors:\n  gated: {}\n');
          return modelDir;
        },
      },
    });
    const definition = {
      name: 'e',
      model_uri: 'models:/m@a',
      registered_model_name: 'm',
      workers: 1,
      creation_timestamp: 1,
      last_updated_timestamp: 1,
    };
    const invoke = () => {
      let version = 0;
      const answer = host.invoke('e', 'application/json', '{"inputs": [[1]]}', (v) => {
        version = v;
      });
      return { version: () => version, answer };
    };
    const moveTo = (v: number) => {
      current = v;
    };
    return { host, definition, events, gates, invoke, moveTo, failing };
  }

  test('in-flight requests finish on the old version, which is closed only after them', async () => {
    const { host, definition, events, gates, invoke, moveTo } = setUp();
    host.add(definition);
    await host.refresh('e');
    assert.equal(host.stateOf(definition).serving_version, '1');
    const slow = invoke();
    assert.equal(slow.version(), 1);
    moveTo(2);
    await host.refresh('e');
    assert.equal(host.stateOf(definition).serving_version, '2');
    // Version 1 still has a request in flight: loaded beside, switched, not yet closed.
    assert.deepEqual(events, ['load 1', 'load 2']);
    const fresh = invoke();
    assert.equal(fresh.version(), 2);
    for (const open of gates.splice(0)) open();
    assert.equal(await slow.answer, '{"predictions": 1}');
    assert.equal(await fresh.answer, '{"predictions": 2}');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ['load 1', 'load 2', 'close 1']);
    await host.close();
    assert.deepEqual(events, ['load 1', 'load 2', 'close 1', 'close 2']);
    assert.equal(existsSync(path.join(dir.dir, 'work')), false, 'the scratch folders are removed');
  });

  test('a version that fails to load is reported and not retried; the old one serves on', async () => {
    const { host, definition, events, gates, invoke, moveTo, failing } = setUp();
    host.add(definition);
    await host.refresh('e');
    failing.add(2);
    moveTo(2);
    await host.refresh('e');
    await host.refresh('e');
    const state = host.stateOf(definition);
    assert.equal(state.state, 'READY');
    assert.equal(state.serving_version, '1');
    assert.match(state.error ?? '', /Version 2 of 'm' failed to load: version 2 is broken/);
    const request = invoke();
    for (const open of gates.splice(0)) open();
    assert.equal(await request.answer, '{"predictions": 1}');
    assert.deepEqual(events, ['load 1']);
    await host.close();
  });

  test('no version yet: 503 while loading, FAILED when the first load fails', async () => {
    const { host, definition, failing } = setUp();
    failing.add(1);
    host.add(definition);
    assert.equal(host.stateOf(definition).state, 'LOADING');
    await assert.rejects(
      host.invoke('e', undefined, '{}', () => {}),
      { errorCode: 'TEMPORARILY_UNAVAILABLE' },
    );
    await host.refresh('e');
    assert.equal(host.stateOf(definition).state, 'FAILED');
    await assert.rejects(
      host.invoke('nope', undefined, '{}', () => {}),
      { errorCode: 'RESOURCE_DOES_NOT_EXIST' },
    );
    await host.close();
  });
});
