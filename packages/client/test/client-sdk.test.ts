import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MlflowClient, MlflowError, runsToTable } from '@mlflow-ts/client';
import { DIALECTS, tempDir } from '../../server/test/helpers.js';
import { type ServerProcess, startServerProcess } from '../../server/test/server-process.js';

// MlflowClient against the built server binary running as its own process, on both store dialects.

async function rejectsWithCode(promise: Promise<unknown>, code: string, status: number, message?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof MlflowError, `expected MlflowError, got ${error}`);
    assert.equal(error.errorCode, code, error.message);
    assert.equal(error.status, status);
    if (message) assert.match(error.message, message);
    return true;
  });
}

for (const dialect of DIALECTS) {
  describe(`MlflowClient against a server process on ${dialect}`, () => {
    let srv: ServerProcess;
    let client: MlflowClient;

    before(async () => {
      srv = await startServerProcess(dialect);
      client = new MlflowClient({ trackingUri: srv.url, maxRetries: 0 });
    });
    after(() => srv.close());

    test('experiments: create, get, search, rename, tags, delete and restore', async () => {
      const id = await client.createExperiment('sdk-exp', { tags: { team: 'a' } });
      const exp = await client.getExperiment(id);
      assert.equal(exp.name, 'sdk-exp');
      assert.equal(exp.lifecycle_stage, 'active');
      assert.deepEqual(exp.tags, [{ key: 'team', value: 'a' }]);
      assert.equal((await client.getExperimentByName('sdk-exp'))?.experiment_id, id);
      assert.equal(await client.getExperimentByName('no-such-experiment'), undefined);

      await rejectsWithCode(client.createExperiment('sdk-exp'), 'RESOURCE_ALREADY_EXISTS', 400, /sdk-exp/);
      await rejectsWithCode(client.getExperiment('987654321'), 'RESOURCE_DOES_NOT_EXIST', 404);
      await rejectsWithCode(client.createExperiment(''), 'INVALID_PARAMETER_VALUE', 400);

      await client.setExperimentTag(id, 'stage', 'dev');
      await client.deleteExperimentTag(id, 'team');
      assert.deepEqual((await client.getExperiment(id)).tags, [{ key: 'stage', value: 'dev' }]);

      await client.renameExperiment(id, 'sdk-exp-renamed');
      const found = await client.searchExperiments({ filter: "name = 'sdk-exp-renamed'" });
      assert.deepEqual(
        found.items.map((e) => e.experiment_id),
        [id],
      );
      await client.deleteExperiment(id);
      assert.equal((await client.getExperiment(id)).lifecycle_stage, 'deleted');
      const deleted = await client.searchAllExperiments({ viewType: 'DELETED_ONLY' });
      assert.ok(deleted.some((e) => e.experiment_id === id));
      await client.restoreExperiment(id);
      assert.equal((await client.getExperiment(id)).lifecycle_stage, 'active');

      for (let i = 0; i < 5; i++) await client.createExperiment(`paged-${i}`);
      const page = await client.searchExperiments({ maxResults: 2, filter: "name LIKE 'paged-%'" });
      assert.equal(page.items.length, 2);
      assert.ok(page.nextPageToken);
      const all = await client.searchAllExperiments({ filter: "name LIKE 'paged-%'" });
      assert.equal(all.length, 5);
    });

    test('runs: create, log, batch chunking, history, search, update, delete and restore', async () => {
      const exp = await client.createExperiment('sdk-runs');
      const run = await client.createRun(exp, { runName: 'first', tags: { origin: 'test' } });
      const runId = run.info.run_id;
      assert.equal(run.info.status, 'RUNNING');
      assert.equal(run.info.run_name, 'first');

      await client.logParam(runId, 'lr', 0.01);
      await client.setTag(runId, 'note', 'x');
      await client.logMetric(runId, 'loss', 0.5, { step: 1, timestamp: 1000 });
      await client.logMetric(runId, 'loss', Number.NaN, { step: 2, timestamp: 2000 });
      await client.logMetric(runId, 'loss', Number.POSITIVE_INFINITY, { step: 3, timestamp: 3000 });
      await client.deleteTag(runId, 'note');
      await rejectsWithCode(client.logParam(runId, 'lr', 0.02), 'INVALID_PARAMETER_VALUE', 400, /lr/);
      await rejectsWithCode(
        client.getRun('0123456789abcdef0123456789abcdef'),
        'RESOURCE_DOES_NOT_EXIST',
        404,
      );

      // 2500 metrics, 250 params and 250 tags need several requests within MLflow's limits.
      const metrics = Array.from({ length: 2500 }, (_, i) => ({
        key: 'acc',
        value: i,
        step: i,
        timestamp: 5000 + i,
      }));
      const params = Array.from({ length: 250 }, (_, i) => ({ key: `p${i}`, value: String(i) }));
      const tags = Array.from({ length: 250 }, (_, i) => ({ key: `t${i}`, value: String(i) }));
      await client.logBatch(runId, { metrics, params, tags });

      const got = await client.getRun(runId);
      assert.equal(got.data.params.length, 251);
      assert.equal(got.data.tags.filter((t) => t.key.startsWith('t')).length, 250);
      assert.ok(!got.data.tags.some((t) => t.key === 'note'));
      const history = await client.getMetricHistory(runId, 'acc');
      assert.equal(history.length, 2500);
      assert.deepEqual(
        history.map((m) => m.value),
        metrics.map((m) => m.value),
      );
      const loss = await client.getMetricHistory(runId, 'loss');
      assert.equal(loss.length, 3);
      assert.ok(Number.isNaN(loss[1].value));
      // SQL stores keep +Infinity as the largest double, as MLflow's SQL store does.
      assert.ok(loss[2].value >= Number.MAX_VALUE);

      const sampled = await client.getMetricHistoryBulkInterval([runId], 'acc', { maxResults: 10 });
      assert.ok(sampled.length > 0 && sampled.length <= 12, `sampled ${sampled.length}`);
      assert.ok(sampled.every((m) => m.run_id === runId));
      // The MIN_MAX extension: 2 buckets of 1250 steps, each kept at its first and last step (the
      // smallest and largest values of a rising history).
      const extremes = await client.getMetricHistoryBulkInterval([runId], 'acc', {
        maxResults: 8,
        sampling: 'MIN_MAX',
      });
      assert.deepEqual(
        extremes.map((m) => m.step),
        [0, 1249, 1250, 2499],
      );

      await client.logInputs(runId, [
        {
          dataset: { name: 'iris', digest: 'abc123', source_type: 'local', source: '{"uri": "iris.csv"}' },
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
        },
      ]);
      const withInputs = await client.getRun(runId);
      assert.equal(withInputs.inputs.dataset_inputs[0].dataset.name, 'iris');

      const second = await client.createRun(exp, { runName: 'second' });
      await client.logMetric(second.info.run_id, 'acc', 10_000);
      const info = await client.setTerminated(runId, 'FINISHED', 9_999_999);
      assert.equal(info.status, 'FINISHED');
      assert.equal(info.end_time, 9_999_999);

      const best = await client.searchRuns([exp], {
        filter: 'metrics.acc > 5000',
        orderBy: ['metrics.acc DESC'],
      });
      assert.deepEqual(
        best.items.map((r) => r.info.run_id),
        [second.info.run_id],
      );
      const page = await client.searchRuns([exp], { maxResults: 1 });
      assert.equal(page.items.length, 1);
      assert.ok(page.nextPageToken);
      assert.equal((await client.searchAllRuns([exp])).length, 2);
      await rejectsWithCode(
        client.searchRuns([exp], { filter: 'metrics.acc >>> 1' }),
        'INVALID_PARAMETER_VALUE',
        400,
      );

      const table = runsToTable(await client.searchAllRuns([exp], { orderBy: ['attributes.run_name ASC'] }));
      assert.deepEqual(table.columns.slice(0, 6), [
        'run_id',
        'experiment_id',
        'status',
        'artifact_uri',
        'start_time',
        'end_time',
      ]);
      assert.ok(table.columns.includes('metrics.acc'));
      assert.ok(table.columns.includes('params.lr'));
      assert.ok(table.columns.includes('tags.mlflow.runName'));
      assert.equal(table.rows[0]['metrics.acc'], 2499);
      assert.equal(table.rows[0]['params.lr'], '0.01');
      assert.equal(table.rows[1]['params.lr'], null);
      assert.ok(table.rows[0].end_time instanceof Date);
      assert.equal(table.rows[1].end_time, null);

      await client.deleteRun(second.info.run_id);
      assert.equal((await client.getRun(second.info.run_id)).info.lifecycle_stage, 'deleted');
      assert.equal((await client.searchAllRuns([exp])).length, 1);
      await client.restoreRun(second.info.run_id);
      assert.equal((await client.searchAllRuns([exp])).length, 2);
    });

    test('artifacts through the proxy: upload, list, download files and directories', async () => {
      const exp = await client.createExperiment('sdk-artifacts');
      const runId = (await client.createRun(exp)).info.run_id;
      await client.uploadArtifact(runId, 'notes/hello.txt', 'hello world');
      await client.uploadArtifact(runId, 'bytes.bin', new Uint8Array([0, 1, 2, 255]));
      await client.uploadArtifact(runId, 'blob.json', new Blob(['{"a":1}']));

      const local = tempDir();
      after(local.cleanup);
      const src = path.join(local.dir, 'src');
      mkdirSync(path.join(src, 'sub', 'deeper'), { recursive: true });
      writeFileSync(path.join(src, 'a.txt'), 'A');
      writeFileSync(path.join(src, 'sub', 'b.txt'), 'B');
      writeFileSync(path.join(src, 'sub', 'deeper', 'empty.txt'), '');
      // Large enough to cross many stream chunks in both directions.
      const big = Buffer.alloc(8 * 1024 * 1024 + 7);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
      writeFileSync(path.join(src, 'big.bin'), big);
      assert.deepEqual(await client.logArtifacts(runId, src, 'dir'), [
        'dir/a.txt',
        'dir/big.bin',
        'dir/sub/b.txt',
        'dir/sub/deeper/empty.txt',
      ]);
      assert.deepEqual(await client.logArtifact(runId, path.join(src, 'a.txt')), ['a.txt']);

      const root = await client.listArtifacts(runId);
      assert.deepEqual(
        root.map((f) => [f.path, f.is_dir]),
        [
          ['a.txt', false],
          ['blob.json', false],
          ['bytes.bin', false],
          ['dir', true],
          ['notes', true],
        ],
      );
      const proxyListing = await (await client.runArtifacts(runId)).list('dir/sub');
      assert.deepEqual(
        proxyListing.map((f) => f.path),
        ['dir/sub/b.txt', 'dir/sub/deeper'],
      );

      assert.equal(await client.readArtifactText(runId, 'notes/hello.txt'), 'hello world');
      assert.deepEqual([...(await client.readArtifactBytes(runId, 'bytes.bin'))], [0, 1, 2, 255]);
      assert.equal(await (await client.openArtifact(runId, 'blob.json')).text(), '{"a":1}');

      const dst = path.join(local.dir, 'dst');
      const dirPath = await client.downloadArtifacts(runId, 'dir', dst);
      assert.equal(dirPath, path.join(dst, 'dir'));
      assert.equal(readFileSync(path.join(dst, 'dir', 'sub', 'b.txt'), 'utf8'), 'B');
      assert.equal(readFileSync(path.join(dst, 'dir', 'sub', 'deeper', 'empty.txt'), 'utf8'), '');
      assert.ok(readFileSync(path.join(dst, 'dir', 'big.bin')).equals(big));
      const filePath = await client.downloadArtifacts(runId, 'notes/hello.txt', path.join(local.dir, 'one'));
      assert.equal(readFileSync(filePath, 'utf8'), 'hello world');
      const everything = await client.downloadArtifacts(runId);
      assert.equal(readFileSync(path.join(everything, 'dir', 'a.txt'), 'utf8'), 'A');

      await rejectsWithCode(client.readArtifactText(runId, 'missing.txt'), 'RESOURCE_DOES_NOT_EXIST', 404);
      await rejectsWithCode(
        client.uploadArtifact(runId, '../escape.txt', 'x'),
        'INVALID_PARAMETER_VALUE',
        0,
        /'\.\.'/,
      );
      await rejectsWithCode(client.uploadArtifact(runId, 'a/../../b.txt', 'x'), 'INVALID_PARAMETER_VALUE', 0);
    });
  });
}
