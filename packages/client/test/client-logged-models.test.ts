import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as mlflow from '@mlflow-ts/client';
import { downloadModel, MlflowClient, MlflowError, MODEL_VERSIONS_TAG } from '@mlflow-ts/client';
import { DIALECTS, tempDir } from '../../server/test/helpers.js';
import { type ServerProcess, startServerProcess } from '../../server/test/server-process.js';

// MlflowClient's MLflow 3 logged-model methods against the built server running as its own process,
// on both dialects: the calls, what the server keeps, and the errors of bad inputs.

async function rejectsWithCode(promise: Promise<unknown>, code: string, status: number, message?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof MlflowError, `expected MlflowError, got ${error}`);
    assert.equal(error.errorCode, code, error.message);
    assert.equal(error.status, status, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

for (const dialect of DIALECTS) {
  describe(`MlflowClient logged-model methods on ${dialect}`, () => {
    let srv: ServerProcess;
    let client: MlflowClient;
    let experimentId: string;

    before(async () => {
      srv = await startServerProcess(dialect);
      client = new MlflowClient({ trackingUri: srv.url, maxRetries: 0 });
      experimentId = await client.createExperiment('sdk-logged-models');
    });
    after(() => srv.close());

    test('create, get, finalize, delete', async () => {
      const run = await client.createRun(experimentId);
      const model = await client.createLoggedModel(experimentId, {
        name: 'clf',
        sourceRunId: run.info.run_id,
        modelType: 'Classifier',
        tags: { team: 'vision' },
        params: { alpha: 0.5, depth: 3 },
      });
      const info = model.info;
      assert.match(info.model_id, /^m-[0-9a-f]{32}$/);
      assert.equal(info.experiment_id, experimentId);
      assert.equal(info.name, 'clf');
      assert.equal(info.model_type, 'Classifier');
      assert.equal(info.source_run_id, run.info.run_id);
      assert.equal(info.status, 'LOGGED_MODEL_PENDING');
      assert.equal(info.artifact_uri, `mlflow-artifacts:/${experimentId}/models/${info.model_id}/artifacts`);
      assert.deepEqual(info.tags, [{ key: 'team', value: 'vision' }]);
      assert.deepEqual(model.data, {
        params: [
          { key: 'alpha', value: '0.5' },
          { key: 'depth', value: '3' },
        ],
        metrics: [],
      });
      assert.deepEqual(await client.getLoggedModel(info.model_id), model);

      const ready = await client.finalizeLoggedModel(info.model_id, 'LOGGED_MODEL_READY');
      assert.equal(ready.info.status, 'LOGGED_MODEL_READY');
      const failed = await client.finalizeLoggedModel(info.model_id, 'LOGGED_MODEL_UPLOAD_FAILED');
      assert.equal(failed.info.status, 'LOGGED_MODEL_UPLOAD_FAILED');

      // Without options: a generated name, empty tags and data.
      const bare = await client.createLoggedModel(experimentId);
      assert.match(bare.info.name, /^[a-z]+-[a-z]+-\d+$/);
      assert.deepEqual(bare.info.tags, []);
      assert.deepEqual(bare.data, { params: [], metrics: [] });

      await client.deleteLoggedModel(bare.info.model_id);
      await rejectsWithCode(
        client.getLoggedModel(bare.info.model_id),
        'RESOURCE_DOES_NOT_EXIST',
        404,
        new RegExp(`Logged model with ID '${bare.info.model_id}' not found.`),
      );
    });

    test('bad inputs answer MLflow errors', async () => {
      await rejectsWithCode(client.createLoggedModel('424242'), 'RESOURCE_DOES_NOT_EXIST', 404);
      await rejectsWithCode(
        client.createLoggedModel(experimentId, { name: 'a/b' }),
        'INVALID_PARAMETER_VALUE',
        400,
        /Invalid model name \('a\/b'\)/,
      );
      await rejectsWithCode(
        client.createLoggedModel(experimentId, { tags: { ['k'.repeat(256)]: 'v' } }),
        'INVALID_PARAMETER_VALUE',
        400,
      );
      await rejectsWithCode(client.getLoggedModel('m-unknown'), 'RESOURCE_DOES_NOT_EXIST', 404);
      await rejectsWithCode(
        client.finalizeLoggedModel('m-unknown', 'LOGGED_MODEL_READY'),
        'RESOURCE_DOES_NOT_EXIST',
        404,
      );
      const model = await client.createLoggedModel(experimentId);
      await rejectsWithCode(
        client.finalizeLoggedModel(model.info.model_id, 'READY' as mlflow.LoggedModelStatus),
        'INVALID_PARAMETER_VALUE',
        400,
      );
      await rejectsWithCode(client.deleteLoggedModel('m-unknown'), 'RESOURCE_DOES_NOT_EXIST', 404);
      await rejectsWithCode(
        client.setLoggedModelTags('m-unknown', { a: 'b' }),
        'RESOURCE_DOES_NOT_EXIST',
        404,
      );
      await rejectsWithCode(client.logModelParams('m-unknown', { a: 1 }), 'RESOURCE_DOES_NOT_EXIST', 404);
      await rejectsWithCode(client.listLoggedModelArtifacts('m-unknown'), 'RESOURCE_DOES_NOT_EXIST', 404);
    });

    test('tags (keys with slashes and spaces) and write-once params', async () => {
      const id = (await client.createLoggedModel(experimentId, { tags: { a: '1' } })).info.model_id;
      await client.setLoggedModelTags(id, { a: '2', 'dir/sub key': 'x' });
      await client.setLoggedModelTags(id, [{ key: 'b', value: '3' }]);
      assert.deepEqual((await client.getLoggedModel(id)).info.tags, [
        { key: 'a', value: '2' },
        { key: 'b', value: '3' },
        { key: 'dir/sub key', value: 'x' },
      ]);
      await client.deleteLoggedModelTag(id, 'dir/sub key');
      await client.deleteLoggedModelTag(id, 'b');
      assert.deepEqual((await client.getLoggedModel(id)).info.tags, [{ key: 'a', value: '2' }]);
      await rejectsWithCode(
        client.deleteLoggedModelTag(id, 'b'),
        'RESOURCE_DOES_NOT_EXIST',
        404,
        /No tag with key 'b'/,
      );

      await client.logModelParams(id, { lr: 0.01, layers: 3 });
      await client.logModelParams(id, [{ key: 'lr', value: '0.01' }]);
      assert.deepEqual((await client.getLoggedModel(id)).data.params, [
        { key: 'layers', value: '3' },
        { key: 'lr', value: '0.01' },
      ]);
      await rejectsWithCode(
        client.logModelParams(id, { lr: 0.1 }),
        'INVALID_PARAMETER_VALUE',
        400,
        /Changing param values is not allowed/,
      );
    });

    test('metrics linked to a model: logMetric, logBatch and the fluent API; runs/outputs', async () => {
      const run = await client.createRun(experimentId);
      const runId = run.info.run_id;
      const id = (await client.createLoggedModel(experimentId, { sourceRunId: runId })).info.model_id;
      await client.logMetric(runId, 'acc', 0.9, {
        step: 1,
        timestamp: 1000,
        modelId: id,
        datasetName: 'eval',
        datasetDigest: 'd1',
      });
      await client.logBatch(runId, {
        metrics: [{ key: 'loss', value: 0.25, step: 2, timestamp: 2000, model_id: id }],
      });
      // A metric without a model goes to the run only.
      await client.logMetric(runId, 'other', 1);
      const metrics = (await client.getLoggedModel(id)).data.metrics;
      assert.deepEqual(
        metrics.sort((a, b) => a.key.localeCompare(b.key)),
        [
          {
            key: 'acc',
            value: 0.9,
            timestamp: 1000,
            step: 1,
            model_id: id,
            run_id: runId,
            dataset_name: 'eval',
            dataset_digest: 'd1',
          },
          { key: 'loss', value: 0.25, timestamp: 2000, step: 2, model_id: id, run_id: runId },
        ],
      );
      assert.equal((await client.getMetricHistory(runId, 'acc'))[0]?.value, 0.9);
      await rejectsWithCode(
        client.logMetric(runId, 'acc', 1, { modelId: 'm-unknown' }),
        'RESOURCE_DOES_NOT_EXIST',
        404,
      );

      await client.logOutputs(runId, [{ modelId: id, step: 3 }]);
      assert.deepEqual((await client.getRun(runId)).outputs, { model_outputs: [{ model_id: id, step: 3 }] });
      await rejectsWithCode(
        client.logOutputs('0'.repeat(32), [{ modelId: id }]),
        'RESOURCE_DOES_NOT_EXIST',
        404,
      );

      mlflow.setTrackingUri(srv.url);
      try {
        const fluentId = (await client.createLoggedModel(experimentId)).info.model_id;
        await mlflow.setExperiment({ id: experimentId });
        await mlflow.withRun(async () => {
          await mlflow.logMetric('f1', 0.5, { step: 4, modelId: fluentId, datasetName: 'test' });
          await mlflow.logMetrics({ f2: 0.6 }, { modelId: fluentId });
        });
        const fluentMetrics = (await client.getLoggedModel(fluentId)).data.metrics;
        assert.deepEqual(fluentMetrics.map((m) => [m.key, m.value, m.step, m.dataset_name]).sort(), [
          ['f1', 0.5, 4, 'test'],
          ['f2', 0.6, 0, undefined],
        ]);
      } finally {
        await mlflow.flush();
      }
    });

    test('search: filter, datasets, order, pages, and bad searches', async () => {
      const exp = await client.createExperiment('sdk-logged-models-search');
      const run = await client.createRun(exp);
      const ids: Record<string, string> = {};
      for (const [name, acc] of [
        ['low', 0.5],
        ['mid', 0.7],
        ['high', 0.9],
      ] as const) {
        const m = await client.createLoggedModel(exp, { name, params: { kind: name } });
        ids[name] = m.info.model_id;
        await client.logMetric(run.info.run_id, 'acc', acc, { modelId: m.info.model_id, datasetName: 'val' });
      }
      await client.finalizeLoggedModel(ids.high as string, 'LOGGED_MODEL_READY');
      const names = (models: mlflow.LoggedModel[]) => models.map((m) => m.info.name);

      const best = await client.searchLoggedModels([exp], {
        filter: 'metrics.acc > 0.6',
        orderBy: [{ fieldName: 'metrics.acc', ascending: false }],
      });
      assert.deepEqual(names(best.items), ['high', 'mid']);
      assert.equal(best.nextPageToken, undefined);
      assert.deepEqual(
        names((await client.searchLoggedModels([exp], { filter: "status = 'READY'" })).items),
        ['high'],
      );
      assert.deepEqual(
        names((await client.searchLoggedModels([exp], { filter: "params.kind = 'low'" })).items),
        ['low'],
      );
      const onVal = await client.searchLoggedModels([exp], {
        filter: 'metrics.acc >= 0.5',
        datasets: [{ datasetName: 'val' }],
        orderBy: [{ fieldName: 'metrics.acc', datasetName: 'val' }],
      });
      assert.deepEqual(names(onVal.items), ['low', 'mid', 'high']);
      const onOther = await client.searchLoggedModels([exp], {
        filter: 'metrics.acc >= 0.5',
        datasets: [{ datasetName: 'other' }],
      });
      assert.deepEqual(onOther.items, []);

      const first = await client.searchLoggedModels([exp], {
        orderBy: [{ fieldName: 'name' }],
        maxResults: 2,
      });
      assert.deepEqual(names(first.items), ['high', 'low']);
      assert.ok(first.nextPageToken);
      const second = await client.searchLoggedModels([exp], {
        orderBy: [{ fieldName: 'name' }],
        maxResults: 2,
        pageToken: first.nextPageToken,
      });
      assert.deepEqual(names(second.items), ['mid']);
      assert.equal(second.nextPageToken, undefined);
      assert.deepEqual(
        names(await client.searchAllLoggedModels([exp], { orderBy: [{ fieldName: 'name' }], maxResults: 1 })),
        ['high', 'low', 'mid'],
      );

      await rejectsWithCode(
        client.searchLoggedModels([exp], { filter: 'metrics.acc >>> 1' }),
        'INVALID_PARAMETER_VALUE',
        400,
      );
      await rejectsWithCode(
        client.searchLoggedModels([exp], { orderBy: [{ fieldName: 'nonsense' }] }),
        'INVALID_PARAMETER_VALUE',
        400,
      );
      await rejectsWithCode(
        client.searchLoggedModels([exp], {
          filter: "name = 'x'",
          orderBy: [{ fieldName: 'name' }],
          pageToken: first.nextPageToken,
        }),
        'INVALID_PARAMETER_VALUE',
        400,
      );
      await rejectsWithCode(
        client.searchLoggedModels([exp], { maxResults: 50_001 }),
        'INVALID_PARAMETER_VALUE',
        400,
      );
    });

    test('artifacts: upload, list, download by models:/<model_id>; registering links the version', async () => {
      const model = await client.createLoggedModel(experimentId, { name: 'with-files' });
      const id = model.info.model_id;
      const local = tempDir('mlflow-ts-lm-upload-');
      mkdirSync(path.join(local.dir, 'data'));
      writeFileSync(path.join(local.dir, 'MLmodel'), 'flavors: {}\n');
      writeFileSync(path.join(local.dir, 'data', 'weights.bin'), 'w1');
      assert.deepEqual((await client.logModelArtifacts(id, local.dir)).sort(), [
        'MLmodel',
        'data/weights.bin',
      ]);
      writeFileSync(path.join(local.dir, 'extra.txt'), 'more');
      assert.deepEqual(await client.logModelArtifact(id, path.join(local.dir, 'extra.txt'), 'notes'), [
        'notes/extra.txt',
      ]);
      await (await client.loggedModelArtifacts(id)).upload('data/config.json', '{}');
      local.cleanup();

      assert.deepEqual(await client.listLoggedModelArtifacts(id), [
        { path: 'MLmodel', is_dir: false, file_size: 12 },
        { path: 'data', is_dir: true },
        { path: 'notes', is_dir: true },
      ]);
      assert.deepEqual(await client.listLoggedModelArtifacts(id, 'data'), [
        { path: 'data/config.json', is_dir: false, file_size: 2 },
        { path: 'data/weights.bin', is_dir: false, file_size: 2 },
      ]);
      await rejectsWithCode(client.listLoggedModelArtifacts(id, '../..'), 'INVALID_PARAMETER_VALUE', 400);

      const dst = tempDir('mlflow-ts-lm-dl-');
      const out = await downloadModel(client, `models:/${id}`, dst.dir);
      assert.equal(out, dst.dir);
      assert.equal(readFileSync(path.join(dst.dir, 'data', 'weights.bin'), 'utf8'), 'w1');
      assert.equal(readFileSync(path.join(dst.dir, 'notes', 'extra.txt'), 'utf8'), 'more');
      dst.cleanup();

      await client.createRegisteredModel('from-logged');
      const v = await client.createModelVersion('from-logged', `models:/${id}`, { modelId: id });
      assert.equal(v.version, '1');
      const tag = (await client.getLoggedModel(id)).info.tags.find((t) => t.key === MODEL_VERSIONS_TAG);
      assert.equal(tag?.value, '[{"name": "from-logged", "version": 1}]');
      assert.equal(await client.getModelVersionDownloadUri('from-logged', 1), model.info.artifact_uri);
    });
  });
}
