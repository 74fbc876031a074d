// Several server processes over one store: two independent `mlflow-ts server` processes over one
// PostgreSQL database and one S3 bucket, and one `--workers 2` server over one SQLite file. Both sides
// write the same runs, experiments and registered models at once and read each other's writes at
// once: every answer must show the latest acknowledged write (no per-process cache may go stale), no
// metric point may be lost or doubled, and ids stay unique.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { freshPostgresUri, freshS3Bucket, REPO_ROOT, s3TestEndpoint, s3TestEnv, tempDir } from './helpers.js';

const CLI = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const children: ChildProcess[] = [];
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups) await cleanup();
});

/** Starts `mlflow-ts server <args>` as a process of its own; resolves with its API base once it answers. */
async function startProcess(args: string[], env: Record<string, string> = {}): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'server', '--port', String(port), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${stderr}`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return `${url}/api/2.0/mlflow`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server on port ${port} did not start:\n${stderr}`);
}

/**
 * An API call on a connection of its own (GET bodies become query strings). A new connection each
 * time matters for `--workers`: the primary hands connections to the workers in turn, so consecutive
 * calls land on different workers rather than all on the one a kept-alive socket belongs to.
 */
function call(
  base: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  endpoint: string,
  body: Record<string, unknown> = {},
  authorization?: string,
): Promise<{ status: number; body: Record<string, any> }> {
  let url = `${base}/${endpoint}`;
  let payload: string | undefined;
  if (method === 'GET') {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(body)) q.append(k, String(v));
    url += `?${q}`;
  } else payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent: false,
        headers: {
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
          ...(authorization ? { authorization } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          // Answers are MLflow's JSON, but a 401 is plain text (as MLflow's).
          const json = (res.headers['content-type'] ?? '').includes('json');
          resolve({ status: res.statusCode ?? 0, body: json && text ? JSON.parse(text) : { text } });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** An API call that must succeed; returns the answer's body. */
async function ok(
  base: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  endpoint: string,
  body = {},
  authorization?: string,
) {
  const res = await call(base, method, endpoint, body, authorization);
  assert.equal(res.status, 200, `${method} ${endpoint} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
  return res.body;
}

function tagsOf(run: { data: { tags?: { key: string; value: string }[] } }): Record<string, string> {
  return Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value]));
}

function paramsOf(run: { data: { params?: { key: string; value: string }[] } }): Record<string, string> {
  return Object.fromEntries((run.data.params ?? []).map((t) => [t.key, t.value]));
}

function latestOf(run: { data: { metrics?: { key: string; step: number; value: number }[] } }, key: string) {
  return run.data.metrics?.find((m) => m.key === key);
}

/**
 * The shared scenario: `a` and `b` are the API bases of two server processes over the same store (or
 * the same base twice when the processes share a port; then the kernel picks one per connection).
 */
async function bothWriteAndReadEachOther(a: string, b: string): Promise<void> {
  const sides = [a, b];
  const experimentId = String(
    (await ok(a, 'POST', 'experiments/create', { name: `shared-${Date.now()}` })).experiment_id,
  );

  // Runs created on both sides at once: unique ids, all of them visible from either side.
  const created = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      ok(sides[i % 2], 'POST', 'runs/create', { experiment_id: experimentId, start_time: 1000 + i }),
    ),
  );
  const runIds = created.map((r) => r.run.info.run_id as string);
  assert.equal(new Set(runIds).size, runIds.length);
  for (const side of sides) {
    const found = await ok(side, 'POST', 'runs/search', { experiment_ids: [experimentId], max_results: 100 });
    assert.deepEqual(
      found.runs.map((r: { info: { run_id: string } }) => r.info.run_id).sort(),
      [...runIds].sort(),
    );
  }

  // Read-your-neighbour's-write, one write at a time, alternating sides. Each side first reads the run
  // (filling whatever it caches), then the other side writes, then the first must see that write at
  // once, through runs/get and runs/search alike.
  const runId = runIds[0];
  for (let i = 0; i < 12; i++) {
    const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a];
    await ok(reader, 'GET', 'runs/get', { run_id: runId });
    await ok(reader, 'POST', 'runs/search', { experiment_ids: [experimentId], max_results: 100 });
    await ok(writer, 'POST', 'runs/set-tag', { run_id: runId, key: 'turn', value: String(i) });
    await ok(writer, 'POST', 'runs/log-parameter', { run_id: runId, key: `p${i}`, value: String(i) });
    await ok(writer, 'POST', 'runs/log-metric', {
      run_id: runId,
      key: 'seq',
      value: i,
      timestamp: 5000 + i,
      step: i,
    });
    const seen = (await ok(reader, 'GET', 'runs/get', { run_id: runId })).run;
    assert.equal(tagsOf(seen).turn, String(i), `turn ${i}: the tag written on the other side`);
    assert.equal(paramsOf(seen)[`p${i}`], String(i), `turn ${i}: the param written on the other side`);
    assert.equal(latestOf(seen, 'seq')?.step, i, `turn ${i}: the latest metric written on the other side`);
    const searched = await ok(reader, 'POST', 'runs/search', {
      experiment_ids: [experimentId],
      filter: `tags.turn = '${i}'`,
    });
    assert.deepEqual(
      searched.runs.map((r: { info: { run_id: string } }) => r.info.run_id),
      [runId],
    );
    assert.equal(latestOf(searched.runs[0], 'seq')?.step, i);
    // The tag goes again on the other side: the reader must not keep showing it.
    await ok(writer, 'POST', 'runs/delete-tag', { run_id: runId, key: 'turn' });
    assert.equal(tagsOf((await ok(reader, 'GET', 'runs/get', { run_id: runId })).run).turn, undefined);
    // Run updates: name and status.
    await ok(writer, 'POST', 'runs/update', { run_id: runId, run_name: `name-${i}`, status: 'RUNNING' });
    const renamed = (await ok(reader, 'GET', 'runs/get', { run_id: runId })).run;
    assert.equal(renamed.info.run_name, `name-${i}`);
    assert.equal(tagsOf(renamed)['mlflow.runName'], `name-${i}`);
  }

  // Delete on one side, restore on the other; each sees the other's lifecycle change at once.
  const victim = runIds[1];
  await ok(a, 'POST', 'runs/delete', { run_id: victim });
  assert.equal((await ok(b, 'GET', 'runs/get', { run_id: victim })).run.info.lifecycle_stage, 'deleted');
  const activeOnB = await ok(b, 'POST', 'runs/search', { experiment_ids: [experimentId], max_results: 100 });
  assert.equal(activeOnB.runs.length, runIds.length - 1);
  await ok(b, 'POST', 'runs/restore', { run_id: victim });
  assert.equal((await ok(a, 'GET', 'runs/get', { run_id: victim })).run.info.lifecycle_stage, 'active');

  // Both sides log to the same runs and keys at once: every point lands exactly once, and the latest
  // value is the highest step whichever side wrote it last.
  const hot = runIds.slice(2, 4);
  const STEPS = 60;
  await Promise.all(
    Array.from({ length: STEPS }, (_, step) =>
      Promise.all(
        hot.map((run) =>
          ok(sides[step % 2], 'POST', 'runs/log-batch', {
            run_id: run,
            metrics: [
              { key: 'loss', value: 1 / (step + 1), timestamp: 10_000 + step, step },
              { key: `side${step % 2}`, value: step, timestamp: 10_000 + step, step },
            ],
            tags: [{ key: 'last', value: String(step) }],
            params: [{ key: `hot${step}`, value: String(step) }],
          }),
        ),
      ),
    ),
  );
  for (const run of hot) {
    for (const side of sides) {
      const history = await ok(side, 'GET', 'metrics/get-history', { run_id: run, metric_key: 'loss' });
      const steps = history.metrics
        .map((m: { step: number }) => m.step)
        .sort((x: number, y: number) => x - y);
      assert.deepEqual(
        steps,
        Array.from({ length: STEPS }, (_, s) => s),
      );
      const got = (await ok(side, 'GET', 'runs/get', { run_id: run })).run;
      assert.equal(latestOf(got, 'loss')?.step, STEPS - 1, 'the latest loss is the highest step');
      assert.equal(latestOf(got, 'side0')?.step, STEPS - 2);
      assert.equal(latestOf(got, 'side1')?.step, STEPS - 1);
      assert.equal(Object.keys(paramsOf(got)).filter((k) => k.startsWith('hot')).length, STEPS);
    }
  }

  // The same param from both sides with different values: exactly one wins, the other is refused
  // with MLflow's error (never a 500), and both sides then agree on the value.
  const race = await Promise.all(
    sides.map((side, i) =>
      call(side, 'POST', 'runs/log-parameter', { run_id: runIds[4], key: 'once', value: `v${i}` }),
    ),
  );
  assert.deepEqual(race.map((r) => r.status).sort(), [200, 400]);
  const refused = race.find((r) => r.status === 400);
  assert.equal(refused?.body.error_code, 'INVALID_PARAMETER_VALUE');
  const winner = race.findIndex((r) => r.status === 200);
  for (const side of sides)
    assert.equal(paramsOf((await ok(side, 'GET', 'runs/get', { run_id: runIds[4] })).run).once, `v${winner}`);

  // Experiments by name: a rename on one side is what the other side's lookup finds.
  const renamed = `renamed-${Date.now()}`;
  await ok(b, 'GET', 'experiments/get', { experiment_id: experimentId });
  await ok(a, 'POST', 'experiments/update', { experiment_id: experimentId, new_name: renamed });
  assert.equal(
    (await ok(b, 'GET', 'experiments/get-by-name', { experiment_name: renamed })).experiment.experiment_id,
    experimentId,
  );
  assert.equal(
    (await ok(b, 'GET', 'experiments/get', { experiment_id: experimentId })).experiment.name,
    renamed,
  );

  // The same new experiment name from both sides at once: one is created, the other gets MLflow's
  // RESOURCE_ALREADY_EXISTS (not an internal error).
  const contested = `contested-${Date.now()}`;
  const creates = await Promise.all(
    sides.map((side) => call(side, 'POST', 'experiments/create', { name: contested })),
  );
  assert.deepEqual(
    creates.map((r) => r.status).sort(),
    [200, 400],
    JSON.stringify(creates.map((r) => r.body)),
  );
  assert.equal(creates.find((r) => r.status === 400)?.body.error_code, 'RESOURCE_ALREADY_EXISTS');

  // Registry: versions made on both sides at once are numbered 1..n without gaps or repeats; an
  // alias set on one side is what the other resolves at once, and so is its move and deletion.
  const model = `model-${Date.now()}`;
  await ok(a, 'POST', 'registered-models/create', { name: model });
  const versions = await Promise.all(
    Array.from({ length: 16 }, (_, i) =>
      ok(sides[i % 2], 'POST', 'model-versions/create', {
        name: model,
        source: `s3://bucket/m${i}`,
        run_id: runIds[i],
      }),
    ),
  );
  assert.deepEqual(
    versions.map((v) => Number(v.model_version.version)).sort((x, y) => x - y),
    Array.from({ length: 16 }, (_, i) => i + 1),
  );
  for (let v = 1; v <= 4; v++) {
    const [writer, reader] = v % 2 === 0 ? [a, b] : [b, a];
    await ok(writer, 'POST', 'registered-models/alias', {
      name: model,
      alias: 'champion',
      version: String(v),
    });
    const byAlias = await ok(reader, 'GET', 'registered-models/alias', { name: model, alias: 'champion' });
    assert.equal(byAlias.model_version.version, String(v));
    const got = await ok(reader, 'GET', 'registered-models/get', { name: model });
    assert.deepEqual(got.registered_model.aliases, [{ alias: 'champion', version: String(v) }]);
    await ok(writer, 'POST', 'model-versions/set-tag', {
      name: model,
      version: String(v),
      key: 'k',
      value: `t${v}`,
    });
    const version = await ok(reader, 'GET', 'model-versions/get', { name: model, version: String(v) });
    assert.deepEqual(version.model_version.tags, [{ key: 'k', value: `t${v}` }]);
  }
  await ok(a, 'DELETE', 'registered-models/alias', { name: model, alias: 'champion' });
  // MLflow answers an unknown alias with INVALID_PARAMETER_VALUE (400).
  const gone = await call(b, 'GET', 'registered-models/alias', { name: model, alias: 'champion' });
  assert.equal(gone.status, 400);
  assert.match(gone.body.message, /alias champion not found/);
  // The same registered-model name from both sides at once.
  const contestedModel = `contested-model-${Date.now()}`;
  const modelCreates = await Promise.all(
    sides.map((side) => call(side, 'POST', 'registered-models/create', { name: contestedModel })),
  );
  assert.deepEqual(
    modelCreates.map((r) => r.status).sort(),
    [200, 400],
    JSON.stringify(modelCreates.map((r) => r.body)),
  );
  assert.equal(modelCreates.find((r) => r.status === 400)?.body.error_code, 'RESOURCE_ALREADY_EXISTS');
}

describe('two servers over one PostgreSQL database and one S3 bucket', () => {
  test('both write the same runs and models at once and read each other at once', {
    timeout: 180_000,
  }, async () => {
    const uri = await freshPostgresUri();
    const s3 = s3TestEndpoint();
    if (!s3.url) {
      if (s3.required) throw new Error(s3.reason);
      throw new Error(`this test needs an S3 server: ${s3.reason}`);
    }
    const bucket = await freshS3Bucket(s3);
    cleanups.push(bucket.cleanup);
    const args = ['--backend-store-uri', uri, '--artifacts-destination', `s3://${bucket.bucket}/artifacts`];
    const env = { ...s3TestEnv(s3), MLFLOW_WEBHOOK_ALLOWED_SCHEMES: 'https,http' };
    // Both start at once on an empty database: the schema is migrated once, whoever comes first.
    const [a, b] = await Promise.all([startProcess(args, env), startProcess(args, env)]);
    await bothWriteAndReadEachOther(a, b);
    await webhookMadeElsewhere(a, b);

    // Artifacts go to the one bucket: uploaded through one server, listed and read through the other.
    const run = await ok(a, 'POST', 'runs/create', { experiment_id: '0' });
    const runId = run.run.info.run_id as string;
    const root = a.replace('/api/2.0/mlflow', '');
    const other = b.replace('/api/2.0/mlflow', '');
    const put = await fetch(
      `${root}/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts/model/weights.bin`,
      {
        method: 'PUT',
        body: 'shared bytes',
      },
    );
    assert.equal(put.status, 200);
    const listed = await ok(b, 'GET', 'artifacts/list', { run_id: runId, path: 'model' });
    assert.deepEqual(
      listed.files.map((f: { path: string }) => f.path),
      ['model/weights.bin'],
    );
    const read = await fetch(
      `${other}/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts/model/weights.bin`,
    );
    assert.equal(await read.text(), 'shared bytes');
  });
});

/**
 * A webhook created through one server fires for an event raised through the other, even when that
 * other server looked the event's webhooks up (and found none) a moment before.
 */
async function webhookMadeElsewhere(a: string, b: string): Promise<void> {
  const deliveries: { data?: { name?: string; version?: string } }[] = [];
  const receiver = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on('end', () => {
      deliveries.push(JSON.parse(text));
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => receiver.close(resolve)));
  const { port } = receiver.address() as { port: number };
  const model = `hooked-${Date.now()}`;
  await ok(a, 'POST', 'registered-models/create', { name: model });
  await ok(b, 'POST', 'model-versions/create', { name: model, source: 's3://bucket/v1' });
  await ok(a, 'POST', 'webhooks', {
    name: 'elsewhere',
    url: `http://127.0.0.1:${port}/hook`,
    events: [{ entity: 'MODEL_VERSION', action: 'CREATED' }],
  });
  await ok(b, 'POST', 'model-versions/create', { name: model, source: 's3://bucket/v2' });
  for (let i = 0; i < 100 && deliveries.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    deliveries.map((d) => [d.data?.name, d.data?.version]),
    [[model, '2']],
  );
}

/** An HTTP Basic Authorization header. */
function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * Users, passwords, admin flags and tokens changed through one server take effect on the other's very
 * next request, although each server remembers the credentials it checked (scrypt is slow).
 */
async function credentialsChangedElsewhere(a: string, b: string): Promise<void> {
  const admin = basic('admin', 'admin-password-1');
  const oldPassword = basic('alice', 'alice-password-1');
  const newPassword = basic('alice', 'alice-password-2');
  await ok(a, 'POST', 'users/create', { username: 'alice', password: 'alice-password-1' }, admin);
  // Each side checks alice once (and remembers it), then the other side changes her password.
  for (const side of [a, b]) await ok(side, 'GET', 'users/current', {}, oldPassword);
  await ok(a, 'PATCH', 'users/update-password', { username: 'alice', password: 'alice-password-2' }, admin);
  for (const side of [b, a]) {
    assert.equal((await call(side, 'GET', 'users/current', {}, oldPassword)).status, 401);
    await ok(side, 'GET', 'users/current', {}, newPassword);
  }
  // The admin flag: granted on one side, used on the other; taken back there, refused here.
  assert.equal((await call(b, 'GET', 'users/list', {}, newPassword)).status, 403);
  await ok(a, 'PATCH', 'users/update-admin', { username: 'alice', is_admin: true }, admin);
  await ok(b, 'GET', 'users/list', {}, newPassword);
  await ok(a, 'GET', 'users/list', {}, newPassword);
  await ok(b, 'PATCH', 'users/update-admin', { username: 'alice', is_admin: false }, admin);
  assert.equal((await call(a, 'GET', 'users/list', {}, newPassword)).status, 403);
  // A token revoked on one side is refused on the other at once.
  const { token } = await ok(
    a,
    'POST',
    'users/access-tokens/create',
    { username: 'alice', name: 'ci' },
    admin,
  );
  const bearer = `Bearer ${token}`;
  for (const side of [a, b]) await ok(side, 'GET', 'users/current', {}, bearer);
  await ok(b, 'DELETE', 'users/access-tokens/delete', { username: 'alice', name: 'ci' }, admin);
  for (const side of [a, b]) assert.equal((await call(side, 'GET', 'users/current', {}, bearer)).status, 401);
  // A user deleted on one side is gone on the other.
  await ok(b, 'DELETE', 'users/delete', { username: 'alice' }, admin);
  for (const side of [a, b])
    assert.equal((await call(side, 'GET', 'users/current', {}, newPassword)).status, 401);
}

describe('two basic-auth servers over one PostgreSQL users store', () => {
  test('a credential changed through one server is refused by the other at once', {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const config = path.join(dir.dir, 'auth.ini');
    writeFileSync(
      config,
      `[mlflow]\ndefault_permission = READ\ndatabase_uri = ${await freshPostgresUri()}\nadmin_username = admin\nadmin_password = admin-password-1\n`,
    );
    const args = [
      '--backend-store-uri',
      await freshPostgresUri(),
      '--artifacts-destination',
      path.join(dir.dir, 'artifacts'),
      '--app-name',
      'basic-auth',
    ];
    const env = { MLFLOW_AUTH_CONFIG_PATH: config };
    const [a, b] = await Promise.all([startProcess(args, env), startProcess(args, env)]);
    await credentialsChangedElsewhere(a, b);
  });
});

describe('--workers 2 over one SQLite file', () => {
  test('the workers write the same runs and models at once and read each other at once', {
    timeout: 180_000,
  }, async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const uri = `sqlite:///${path.join(dir.dir, 'mlflow.db')}`;
    const base = await startProcess([
      '--backend-store-uri',
      uri,
      '--artifacts-destination',
      path.join(dir.dir, 'artifacts'),
      '--workers',
      '2',
    ]);
    // One port: each new connection goes to either worker (fetch opens several at once here).
    await bothWriteAndReadEachOther(base, base);
  });
});
