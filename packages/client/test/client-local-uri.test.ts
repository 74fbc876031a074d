import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  closeLocalServers,
  currentUserName,
  DEFAULT_TRACKING_URI,
  MlflowClient,
  type MlflowError,
  resolveTrackingUri,
} from '@mlflow-ts/client';
import Database from 'better-sqlite3';
import pg from 'pg';
import { localStoreLocation } from '../../server/src/in-process.js';
import { freshPostgresUri, REPO_ROOT, tempDir } from '../../server/test/helpers.js';

// Local tracking URIs: the client SDK serves sqlite:///, postgresql:// and directory URIs in-process
// through the mlflow-ts package, so scripts log with no server running.

const CLIENT_ENTRY = pathToFileURL(path.join(REPO_ROOT, 'packages/client/dist/node.js')).href;

/** A script that logs one run with the fluent API and lets the process end by itself (no endRun). */
function loggingScript(entry = CLIENT_ENTRY): string {
  return `
import * as mlflow from ${JSON.stringify(entry)};
await mlflow.setExperiment('local-script');
const run = await mlflow.startRun({ runName: 'from-a-script' });
await mlflow.logParams({ lr: '0.01', depth: '4' });
await mlflow.setTag('team', 'ml');
for (let i = 0; i < 2500; i++) mlflow.logMetric('loss', 1 / (i + 1), { step: i });
await mlflow.logText('hello from a script', 'notes/readme.txt');
console.log(run.runId);
`;
}

function runScript(cwd: string, source: string, env: Record<string, string>) {
  const file = path.join(cwd, 'script.mjs');
  writeFileSync(file, source);
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  delete childEnv.MLFLOW_RUN_ID;
  delete childEnv.MLFLOW_EXPERIMENT_NAME;
  delete childEnv.MLFLOW_EXPERIMENT_ID;
  return spawnSync(process.execPath, [file], { cwd, env: childEnv, encoding: 'utf8', timeout: 60_000 });
}

interface StoredRun {
  name: string;
  status: string;
  artifactUri: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  metricCount: number;
  lastLoss: number;
}

function readRunFromSqlite(file: string, runId: string): StoredRun {
  const db = new Database(file, { readonly: true });
  try {
    const run = db.prepare('select name, status, artifact_uri from runs where run_uuid = ?').get(runId) as
      | { name: string; status: string; artifact_uri: string }
      | undefined;
    assert.ok(run, `run ${runId} is in ${file}`);
    const pairs = (table: string) =>
      Object.fromEntries(
        (
          db.prepare(`select key, value from ${table} where run_uuid = ?`).all(runId) as {
            key: string;
            value: string;
          }[]
        ).map((r) => [r.key, r.value]),
      );
    const metrics = db
      .prepare("select step, value from metrics where run_uuid = ? and key = 'loss' order by step")
      .all(runId) as { step: number; value: number }[];
    return {
      name: run.name,
      status: run.status,
      artifactUri: run.artifact_uri,
      params: pairs('params'),
      tags: pairs('tags'),
      metricCount: metrics.length,
      lastLoss: metrics.at(-1)?.value ?? Number.NaN,
    };
  } finally {
    db.close();
  }
}

function assertLoggedRun(run: StoredRun): void {
  assert.equal(run.name, 'from-a-script');
  // The process ended without endRun: the exit hook ended the run and flushed every buffered metric.
  assert.equal(run.status, 'FINISHED');
  assert.deepEqual(run.params, { lr: '0.01', depth: '4' });
  assert.equal(run.tags.team, 'ml');
  assert.equal(run.metricCount, 2500);
  assert.equal(run.lastLoss, 1 / 2500);
}

describe('local tracking URIs (in-process server)', () => {
  const tmp = tempDir('mlflow-ts-local-uri-');
  after(async () => {
    await closeLocalServers();
    tmp.cleanup();
  });

  test('a script with MLFLOW_TRACKING_URI=sqlite:///... logs a run into the file, artifacts into ./mlruns', () => {
    const cwd = path.join(tmp.dir, 'sqlite-script');
    mkdirSync(cwd);
    const result = runScript(cwd, loggingScript(), { MLFLOW_TRACKING_URI: 'sqlite:///store/runs.db' });
    assert.equal(result.status, 0, result.stderr);
    const runId = result.stdout.trim();
    assert.match(runId, /^[0-9a-f]{32}$/);
    const run = readRunFromSqlite(path.join(cwd, 'store/runs.db'), runId);
    assertLoggedRun(run);
    assert.match(run.artifactUri, new RegExp(`^mlflow-artifacts:/\\d+/${runId}/artifacts$`));
    const rel = run.artifactUri.slice('mlflow-artifacts:/'.length);
    assert.equal(
      readFileSync(path.join(cwd, 'mlruns', rel, 'notes/readme.txt'), 'utf8'),
      'hello from a script',
    );
  });

  test('traces from a script on a sqlite:/// URI that never flushes are stored by the time it ends', () => {
    const cwd = path.join(tmp.dir, 'sqlite-traces');
    mkdirSync(cwd);
    const source = `
import * as mlflow from ${JSON.stringify(CLIENT_ENTRY)};
await mlflow.setExperiment('local-traces');
const retrieve = mlflow.trace(async function retrieve(query) { return ['doc about ' + query]; });
const answer = mlflow.trace(async function answer(question) { return (await retrieve(question))[0]; });
console.log(await answer('why'));
`;
    const result = runScript(cwd, source, { MLFLOW_TRACKING_URI: 'sqlite:///traces.db' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'doc about why');
    const db = new Database(path.join(cwd, 'traces.db'), { readonly: true });
    try {
      const traces = db.prepare('SELECT request_id, status, request_preview FROM trace_info').all();
      assert.deepEqual(
        traces.map((t) => [
          (t as { status: string }).status,
          (t as { request_preview: string }).request_preview,
        ]),
        [['OK', '{"question":"why"}']],
      );
      const spans = db
        .prepare('SELECT name, parent_span_id, status FROM spans ORDER BY start_time_unix_nano')
        .all();
      assert.deepEqual(
        spans.map((r) => (r as { name: string }).name),
        ['answer', 'retrieve'],
      );
    } finally {
      db.close();
    }
  });

  test('a plain directory path keeps the store in <dir>/mlflow.db and the artifacts in <dir>', () => {
    const cwd = path.join(tmp.dir, 'dir-script');
    mkdirSync(cwd);
    const result = runScript(cwd, loggingScript(), { MLFLOW_TRACKING_URI: 'tracking' });
    assert.equal(result.status, 0, result.stderr);
    const runId = result.stdout.trim();
    const run = readRunFromSqlite(path.join(cwd, 'tracking/mlflow.db'), runId);
    assertLoggedRun(run);
    const rel = run.artifactUri.slice('mlflow-artifacts:/'.length);
    assert.equal(
      readFileSync(path.join(cwd, 'tracking', rel, 'notes/readme.txt'), 'utf8'),
      'hello from a script',
    );
    assert.ok(!existsSync(path.join(cwd, 'mlruns')));
  });

  test('a script with MLFLOW_TRACKING_URI=postgresql://... logs a run into the database', async () => {
    const uri = await freshPostgresUri();
    const cwd = path.join(tmp.dir, 'pg-script');
    mkdirSync(cwd);
    const result = runScript(cwd, loggingScript(), { MLFLOW_TRACKING_URI: uri });
    assert.equal(result.status, 0, result.stderr);
    const runId = result.stdout.trim();
    const db = new pg.Client({ connectionString: uri });
    await db.connect();
    try {
      const run = await db.query('select name, status, artifact_uri from runs where run_uuid = $1', [runId]);
      assert.equal(run.rows[0].name, 'from-a-script');
      assert.equal(run.rows[0].status, 'FINISHED');
      const metrics = await db.query(
        "select count(*)::int as n from metrics where run_uuid = $1 and key = 'loss'",
        [runId],
      );
      assert.equal(metrics.rows[0].n, 2500);
      const params = await db.query('select key, value from params where run_uuid = $1 order by key', [
        runId,
      ]);
      assert.deepEqual(params.rows, [
        { key: 'depth', value: '4' },
        { key: 'lr', value: '0.01' },
      ]);
      const rel = String(run.rows[0].artifact_uri).slice('mlflow-artifacts:/'.length);
      assert.equal(
        readFileSync(path.join(cwd, 'mlruns', rel, 'notes/readme.txt'), 'utf8'),
        'hello from a script',
      );
    } finally {
      await db.end();
    }
  });

  test('file: URIs name a directory as plain paths do', () => {
    const dir = path.join(tmp.dir, 'as-file-uri');
    const fromUrl = localStoreLocation(pathToFileURL(dir).href);
    assert.deepEqual(fromUrl, {
      backendStoreUri: `sqlite:///${path.join(dir, 'mlflow.db')}`,
      artifactsDestination: dir,
    });
    assert.deepEqual(localStoreLocation('file:rel/dir', '/base'), {
      backendStoreUri: 'sqlite:////base/rel/dir/mlflow.db',
      artifactsDestination: '/base/rel/dir',
    });
    assert.deepEqual(localStoreLocation('sqlite:///x.db', '/base'), {
      backendStoreUri: 'sqlite:///x.db',
      artifactsDestination: '/base/mlruns',
    });
  });

  test('MlflowClient on a local SQLite URI: every call goes through the REST app, errors included', async () => {
    const file = path.join(tmp.dir, 'client', 'c.db');
    const client = new MlflowClient({ trackingUri: `sqlite:///${file}`, maxRetries: 0 });
    assert.equal(client.trackingUri, `sqlite:///${file}`);
    const experimentId = await client.createExperiment('in-process');
    const run = await client.createRun(experimentId, { runName: 'direct' });
    await client.logBatch(run.info.run_id, {
      metrics: [{ key: 'acc', value: 0.9, timestamp: 1, step: 0 }],
      params: [{ key: 'k', value: 'v' }],
    });
    const got = await client.getRun(run.info.run_id);
    assert.deepEqual(got.data.params, [{ key: 'k', value: 'v' }]);
    assert.equal(got.data.metrics[0].value, 0.9);
    // MLflow's error codes and statuses come through unchanged.
    await assert.rejects(client.getRun('0'.repeat(32)), (e: MlflowError) => {
      assert.equal(e.errorCode, 'RESOURCE_DOES_NOT_EXIST');
      assert.equal(e.status, 404);
      return true;
    });
    await assert.rejects(client.createExperiment('in-process'), (e: MlflowError) => {
      assert.equal(e.errorCode, 'RESOURCE_ALREADY_EXISTS');
      return true;
    });
    // A second client of the same URI shares the store; after closing, the next call reopens it.
    await closeLocalServers();
    const again = new MlflowClient(`sqlite:///${file}`);
    assert.equal((await again.getRun(run.info.run_id)).info.run_name, 'direct');
    await closeLocalServers();
  });

  test('MlflowClient on a postgresql:// URI logs into the database', async () => {
    const uri = await freshPostgresUri();
    const client = new MlflowClient({ trackingUri: uri, maxRetries: 0 });
    const experimentId = await client.createExperiment('pg-in-process');
    const run = await client.createRun(experimentId);
    await client.logParam(run.info.run_id, 'p', '1');
    await client.setTag(run.info.run_id, 't', 'x');
    await closeLocalServers();
    const db = new pg.Client({ connectionString: uri });
    await db.connect();
    try {
      const params = await db.query('select key, value from params where run_uuid = $1', [run.info.run_id]);
      assert.deepEqual(params.rows, [{ key: 'p', value: '1' }]);
      const tags = await db.query("select value from tags where run_uuid = $1 and key = 't'", [
        run.info.run_id,
      ]);
      assert.deepEqual(tags.rows, [{ value: 'x' }]);
    } finally {
      await db.end();
    }
  });

  test('URIs that are neither http(s) nor a local store are refused with what to use', () => {
    assert.throws(
      () => resolveTrackingUri('s3://bucket/runs'),
      (e: MlflowError) => e.errorCode === 'INVALID_PARAMETER_VALUE' && /sqlite:\/\/\//.test(e.message),
    );
    assert.equal(resolveTrackingUri('sqlite:///a.db'), 'sqlite:///a.db');
    assert.equal(resolveTrackingUri('./runs'), './runs');
    assert.equal(resolveTrackingUri('http://h:5000/'), 'http://h:5000');
  });

  test("no tracking URI in Node: MLflow 3's default store, sqlite:///mlflow.db, as `mlflow-ts run` uses", () => {
    assert.equal(DEFAULT_TRACKING_URI, 'sqlite:///mlflow.db');
    assert.equal(resolveTrackingUri(undefined, {}), DEFAULT_TRACKING_URI);
    assert.equal(resolveTrackingUri(undefined, { MLFLOW_TRACKING_URI: '' }), DEFAULT_TRACKING_URI);
    assert.equal(resolveTrackingUri(undefined, { MLFLOW_TRACKING_URI: 'http://h:1' }), 'http://h:1');
  });

  test('the mlflow.user tag: login variables as getpass reads them, else the OS account name', () => {
    assert.equal(currentUserName({ LOGNAME: 'a', USER: 'b', USERNAME: 'c' }), 'a');
    assert.equal(currentUserName({ USER: 'b', USERNAME: 'c' }), 'b');
    assert.equal(currentUserName({ USERNAME: 'c' }), 'c');
    assert.equal(currentUserName({}), userInfo().username);
  });

  test('without the mlflow-ts package, a local URI fails with what to install', () => {
    // The client alone, as an app that installed only @mlflow-ts/client has it.
    const app = path.join(tmp.dir, 'client-only');
    const pkg = path.join(app, 'node_modules/@mlflow-ts/client');
    cpSync(path.join(REPO_ROOT, 'packages/client/dist'), path.join(pkg, 'dist'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'packages/client/package.json'), path.join(pkg, 'package.json'));
    const script = `
import { MlflowClient } from '@mlflow-ts/client';
for (const uri of ['sqlite:///x.db', undefined]) {
  try {
    await new MlflowClient(uri).searchExperiments();
    console.log('no error');
  } catch (e) {
    console.log(e.message);
  }
}
`;
    const result = runScript(app, script, { MLFLOW_TRACKING_URI: '' });
    assert.equal(result.status, 0, result.stderr);
    const [explicit, implicit] = result.stdout.trim().split('\n');
    assert.match(explicit, /needs the mlflow-ts package .*npm install mlflow-ts/);
    // With no URI at all the message says the store is the default, and how to name a server instead.
    assert.match(
      implicit,
      /^Tracking URI 'sqlite:\/\/\/mlflow\.db' \(the default when MLFLOW_TRACKING_URI is not set\) is a local store.*npm install mlflow-ts.*MLFLOW_TRACKING_URI/,
    );
    assert.ok(!existsSync(path.join(app, 'x.db')));
    assert.ok(!existsSync(path.join(app, 'mlflow.db')));
  });
});
