import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as mlflow from '@mlflow-ts/client';
import { MlflowClient, MlflowError } from '@mlflow-ts/client';
import { DIALECTS, REPO_ROOT, tempDir } from '../../server/test/helpers.js';
import { type ServerProcess, startServerProcess } from '../../server/test/server-process.js';

// The fluent API (setExperiment, startRun, withRun, log*, buffered metrics) against a server process.

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]);

for (const dialect of DIALECTS) {
  describe(`fluent API against a server process on ${dialect}`, () => {
    let srv: ServerProcess;
    let client: MlflowClient;
    const savedEnv = { ...process.env };

    before(async () => {
      srv = await startServerProcess(dialect);
      client = new MlflowClient({ trackingUri: srv.url, maxRetries: 0 });
    });
    after(() => srv.close());
    afterEach(async () => {
      while (mlflow.activeRun()) await mlflow.endRun();
      mlflow.resetFluentState();
      for (const key of Object.keys(process.env)) if (key.startsWith('MLFLOW_')) delete process.env[key];
      Object.assign(process.env, savedEnv);
    });

    test('withRun logs params, metrics, tags, artifacts and inputs, and ends FINISHED', async () => {
      mlflow.setTrackingUri(srv.url);
      const exp = await mlflow.setExperiment('fluent');
      assert.equal((await mlflow.setExperiment('fluent')).experiment_id, exp.experiment_id);
      const runId = await mlflow.withRun(
        async (run) => {
          assert.equal(mlflow.activeRun()?.runId, run.runId);
          await mlflow.logParam('alpha', 0.5);
          await mlflow.logParams({ beta: 1, gamma: 'x' });
          await mlflow.setTag('stage', 'dev');
          await mlflow.setTags({ owner: 'ada' });
          for (let step = 0; step < 5; step++) await mlflow.logMetric('loss', 1 / (step + 1), { step });
          await mlflow.logMetrics({ acc: 0.9, f1: 0.8 }, { step: 5 });
          await mlflow.logText('hello', 'notes/hello.txt');
          await mlflow.logDict({ a: 1, b: [1, 2] }, 'config.json');
          await mlflow.logDict({ a: 1, b: [1, 2] }, 'config.yaml');
          await mlflow.logImage(PNG, 'images/plot.png');
          await mlflow.logImage(JPEG, 'images/photo.jpg');
          await assert.rejects(mlflow.logImage(JPEG, 'images/wrong.png'), /not PNG data/);
          await assert.rejects(mlflow.logImage(PNG, 'images/plot.gif'), /\.png, \.jpg or \.jpeg/);
          await mlflow.logInput(
            { name: 'train', digest: 'd1', source_type: 'local', source: '{"uri":"train.csv"}' },
            { context: 'training' },
          );
          const history = await mlflow.getMetricHistory('loss');
          assert.deepEqual(
            history.map((m) => m.step),
            [0, 1, 2, 3, 4],
          );
          return run.runId;
        },
        { runName: 'fluent-run', tags: { extra: 'yes' } },
      );
      assert.equal(mlflow.activeRun(), undefined);
      const run = await client.getRun(runId);
      assert.equal(run.info.status, 'FINISHED');
      assert.equal(run.info.experiment_id, exp.experiment_id);
      assert.equal(run.info.run_name, 'fluent-run');
      const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
      assert.deepEqual(params, { alpha: '0.5', beta: '1', gamma: 'x' });
      const tags = Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
      assert.equal(tags.stage, 'dev');
      assert.equal(tags.owner, 'ada');
      assert.equal(tags.extra, 'yes');
      assert.equal(tags['mlflow.source.type'], 'LOCAL');
      const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));
      assert.deepEqual(metrics, { loss: 0.2, acc: 0.9, f1: 0.8 });
      assert.equal(run.inputs.dataset_inputs[0].tags[0].value, 'training');
      assert.equal(await client.readArtifactText(runId, 'notes/hello.txt'), 'hello');
      assert.deepEqual(JSON.parse(await client.readArtifactText(runId, 'config.json')), { a: 1, b: [1, 2] });
      assert.equal(await client.readArtifactText(runId, 'config.yaml'), 'a: 1\nb:\n  - 1\n  - 2\n');
      assert.deepEqual([...(await client.readArtifactBytes(runId, 'images/plot.png'))], [...PNG]);
      assert.deepEqual(
        (await client.listArtifacts(runId, 'images')).map((f) => f.path),
        ['images/photo.jpg', 'images/plot.png'],
      );
    });

    test('a throwing withRun ends FAILED and rethrows; nested runs carry their parent', async () => {
      mlflow.setTrackingUri(srv.url);
      await mlflow.setExperiment('fluent-nested');
      let failedId = '';
      await assert.rejects(
        mlflow.withRun(async (run) => {
          failedId = run.runId;
          await mlflow.logMetric('m', 1);
          throw new Error('training diverged');
        }),
        /training diverged/,
      );
      const failed = await client.getRun(failedId);
      assert.equal(failed.info.status, 'FAILED');
      assert.equal(failed.data.metrics[0].value, 1, 'buffered metric flushed before the run ended');

      const parent = await mlflow.startRun({ runName: 'parent' });
      await assert.rejects(
        mlflow.startRun(),
        (e: unknown) => e instanceof MlflowError && /already active/.test(e.message),
      );
      const child = await mlflow.startRun({ nested: true, runName: 'child' });
      assert.equal(mlflow.activeRun()?.runId, child.runId);
      await mlflow.logParam('depth', 2);
      await mlflow.endRun();
      assert.equal(mlflow.activeRun()?.runId, parent.runId);
      await mlflow.endRun('KILLED');
      const childRun = await client.getRun(child.runId);
      assert.equal(childRun.data.tags.find((t) => t.key === 'mlflow.parentRunId')?.value, parent.runId);
      assert.equal(childRun.info.status, 'FINISHED');
      assert.equal((await client.getRun(parent.runId)).info.status, 'KILLED');
      await assert.rejects(async () => mlflow.logParam('x', 1), /No active run/);
    });

    test('MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME and MLFLOW_RUN_ID steer the fluent API', async () => {
      process.env.MLFLOW_TRACKING_URI = srv.url;
      process.env.MLFLOW_EXPERIMENT_NAME = 'from-env';
      const first = await mlflow.startRun();
      await mlflow.endRun();
      const exp = await client.getExperimentByName('from-env');
      assert.equal(first.info.experiment_id, exp?.experiment_id);

      mlflow.resetFluentState();
      process.env.MLFLOW_RUN_ID = first.runId;
      const resumed = await mlflow.startRun();
      assert.equal(resumed.runId, first.runId);
      assert.equal((await client.getRun(first.runId)).info.status, 'RUNNING');
      await mlflow.logMetric('resumed', 1);
      await mlflow.endRun();
      assert.equal((await client.getRun(first.runId)).data.metrics[0].key, 'resumed');

      mlflow.resetFluentState();
      delete process.env.MLFLOW_RUN_ID;
      delete process.env.MLFLOW_EXPERIMENT_NAME;
      process.env.MLFLOW_EXPERIMENT_ID = exp?.experiment_id;
      const byId = await mlflow.startRun();
      assert.equal(byId.info.experiment_id, exp?.experiment_id);
    });

    test('searchRuns returns the flat table of MLflow search_runs', async () => {
      mlflow.setTrackingUri(srv.url);
      await mlflow.setExperiment('fluent-search');
      for (const lr of [0.1, 0.2, 0.3]) {
        await mlflow.withRun(async () => {
          await mlflow.logParam('lr', lr);
          await mlflow.logMetric('score', lr * 10);
        });
      }
      const table = await mlflow.searchRuns({
        filter: 'metrics.score >= 2',
        orderBy: ['metrics.score DESC'],
      });
      assert.deepEqual(
        table.rows.map((r) => r['params.lr']),
        ['0.3', '0.2'],
      );
      assert.deepEqual(table.columns.slice(0, 7), [
        'run_id',
        'experiment_id',
        'status',
        'artifact_uri',
        'start_time',
        'end_time',
        'metrics.score',
      ]);
      assert.equal(table.rows[0].status, 'FINISHED');
      const limited = await mlflow.searchRuns({ experimentNames: ['fluent-search'], maxResults: 1 });
      assert.equal(limited.rows.length, 1);
      const csv = mlflow.tableToCsv(table).split('\n');
      assert.match(
        csv[0],
        /^run_id,experiment_id,status,artifact_uri,start_time,end_time,metrics\.score,params\.lr/,
      );
      assert.equal(csv.length, 4);
      await assert.rejects(mlflow.searchRuns({ experimentNames: ['nope'] }), /No experiment named 'nope'/);
    });

    test('metrics logged in a hot loop are all stored, in order, in background batches', async () => {
      mlflow.setTrackingUri(srv.url);
      await mlflow.setExperiment('fluent-load');
      const run = await mlflow.startRun();
      const n = 30_000;
      const keys = ['loss', 'acc', 'lr'];
      for (let i = 0; i < n; i++) {
        for (const key of keys)
          await mlflow.logMetric(key, i * 0.5 + keys.indexOf(key), { step: i, timestamp: 1_000_000 + i });
      }
      await mlflow.endRun();
      for (const key of keys) {
        const history = await client.getMetricHistory(run.runId, key);
        assert.equal(history.length, n, `${key}: ${history.length} of ${n} values stored`);
        for (let i = 0; i < n; i++) {
          if (history[i].step !== i || history[i].value !== i * 0.5 + keys.indexOf(key)) {
            assert.fail(`${key}[${i}] is step ${history[i].step} value ${history[i].value}`);
          }
        }
      }
      assert.equal((await client.getRun(run.runId)).info.status, 'FINISHED');
    });

    test('values logged at the same step keep their logging order', async () => {
      mlflow.setTrackingUri(srv.url);
      const run = await mlflow.startRun();
      const ts = Date.now();
      for (let i = 0; i < 2500; i++) await mlflow.logMetric('same', i, { step: 0, timestamp: ts });
      await mlflow.flush();
      const history = await client.getMetricHistory(run.runId, 'same');
      assert.equal(history.length, 2500);
      assert.deepEqual(
        history.map((m) => m.value),
        Array.from({ length: 2500 }, (_, i) => i),
      );
    });

    test('changing the tracking URI still sends what was buffered before', async () => {
      mlflow.setTrackingUri(srv.url);
      const run = await mlflow.startRun();
      await mlflow.logMetric('before-switch', 1);
      mlflow.setTrackingUri(`${srv.url}/`);
      await mlflow.endRun();
      assert.equal((await client.getMetricHistory(run.runId, 'before-switch')).length, 1);
    });

    test('a rejected background batch surfaces on flush with the server error', async () => {
      mlflow.setTrackingUri(srv.url);
      const run = await mlflow.startRun();
      await client.deleteRun(run.runId);
      await mlflow.logMetric('late', 1);
      await assert.rejects(mlflow.flush(), (e: unknown) => {
        assert.ok(e instanceof MlflowError);
        assert.equal(e.status, 400);
        assert.equal(e.errorCode, 'INVALID_PARAMETER_VALUE');
        return true;
      });
      await mlflow.flush();
      mlflow.resetFluentState();
    });

    test('a script that never ends its run has its buffered metrics flushed at exit', () => {
      const dir = tempDir();
      after(dir.cleanup);
      const script = path.join(dir.dir, 'train.mjs');
      writeFileSync(
        script,
        `import * as mlflow from '${pathToFileURL(path.join(REPO_ROOT, 'packages/client/dist/node.js'))}';
const run = await mlflow.startRun({ runName: 'exit-flush' });
for (let i = 0; i < 5003; i++) await mlflow.logMetric('x', i, { step: i });
console.log(run.runId);
`,
      );
      const result = spawnSync(process.execPath, [script], {
        encoding: 'utf8',
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          MLFLOW_TRACKING_URI: srv.url,
          NODE_PATH: path.join(REPO_ROOT, 'node_modules'),
        },
        timeout: 60_000,
      });
      assert.equal(result.status, 0, result.stderr);
      const runId = result.stdout.trim();
      return (async () => {
        const history = await client.getMetricHistory(runId, 'x');
        assert.equal(history.length, 5003);
        assert.equal((await client.getRun(runId)).info.status, 'FINISHED');
      })();
    });
  });
}
