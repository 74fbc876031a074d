import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { downloadModel, MlflowClient, MlflowError, parseModelUri, resolveModelUri } from '@mlflow-ts/client';
import { DIALECTS, tempDir } from '../../server/test/helpers.js';
import { type ServerProcess, startServerProcess } from '../../server/test/server-process.js';

// MlflowClient's registry methods against the built server running as its own process, on both dialects.

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
  describe(`MlflowClient registry methods on ${dialect}`, () => {
    let srv: ServerProcess;
    let client: MlflowClient;

    before(async () => {
      srv = await startServerProcess(dialect);
      client = new MlflowClient({ trackingUri: srv.url, maxRetries: 0 });
    });
    after(() => srv.close());

    test('registered models: create, get, rename, update, tags, search with paging, delete', async () => {
      const created = await client.createRegisteredModel('reg-a', {
        tags: { team: 'x' },
        description: 'first',
      });
      assert.equal(created.name, 'reg-a');
      assert.deepEqual(created.tags, [{ key: 'team', value: 'x' }]);
      assert.deepEqual(created.latest_versions, []);
      await rejectsWithCode(client.createRegisteredModel('reg-a'), 'RESOURCE_ALREADY_EXISTS', 400, /reg-a/);
      await rejectsWithCode(client.createRegisteredModel(''), 'INVALID_PARAMETER_VALUE', 400);
      await rejectsWithCode(client.getRegisteredModel('no-such-model'), 'RESOURCE_DOES_NOT_EXIST', 404);

      const renamed = await client.renameRegisteredModel('reg-a', 'reg-b');
      assert.equal(renamed.name, 'reg-b');
      await rejectsWithCode(client.getRegisteredModel('reg-a'), 'RESOURCE_DOES_NOT_EXIST', 404);
      assert.equal((await client.updateRegisteredModel('reg-b', 'second')).description, 'second');

      await client.setRegisteredModelTag('reg-b', 'stage', 'dev');
      await client.deleteRegisteredModelTag('reg-b', 'team');
      assert.deepEqual((await client.getRegisteredModel('reg-b')).tags, [{ key: 'stage', value: 'dev' }]);

      for (const n of ['page-1', 'page-2', 'page-3']) await client.createRegisteredModel(n);
      const first = await client.searchRegisteredModels({ filter: "name LIKE 'page-%'", maxResults: 2 });
      assert.deepEqual(
        first.items.map((m) => m.name),
        ['page-1', 'page-2'],
      );
      assert.ok(first.nextPageToken);
      const second = await client.searchRegisteredModels({
        filter: "name LIKE 'page-%'",
        maxResults: 2,
        pageToken: first.nextPageToken,
      });
      assert.deepEqual(
        second.items.map((m) => m.name),
        ['page-3'],
      );
      assert.equal(second.nextPageToken, undefined);
      const all = await client.searchAllRegisteredModels({ filter: "name LIKE 'page-%'", maxResults: 1 });
      assert.equal(all.length, 3);
      await rejectsWithCode(
        client.searchRegisteredModels({ filter: 'nonsense ===' }),
        'INVALID_PARAMETER_VALUE',
        400,
      );

      await client.deleteRegisteredModel('reg-b');
      await rejectsWithCode(client.deleteRegisteredModel('reg-b'), 'RESOURCE_DOES_NOT_EXIST', 404);
    });

    test('model versions: create, get, update, tags, aliases, stages, latest, search, download uri, delete', async () => {
      const expId = await client.createExperiment('reg-exp');
      const run = await client.createRun(expId);
      const runId = run.info.run_id;
      const source = `${run.info.artifact_uri}/model`;
      await client.createRegisteredModel('mv');
      const v1 = await client.createModelVersion('mv', source, {
        runId,
        tags: { k: 'v' },
        description: 'd1',
      });
      const v2 = await client.createModelVersion('mv', source, { runId });
      assert.equal(v1.version, '1');
      assert.equal(v2.version, '2');
      assert.equal(v1.run_id, runId);
      assert.deepEqual(v1.tags, [{ key: 'k', value: 'v' }]);
      assert.equal(v1.current_stage, 'None');
      await rejectsWithCode(
        client.createModelVersion('missing-model', source),
        'RESOURCE_DOES_NOT_EXIST',
        404,
      );
      await rejectsWithCode(client.getModelVersion('mv', 99), 'RESOURCE_DOES_NOT_EXIST', 404);
      await rejectsWithCode(client.getModelVersion('mv', 'abc'), 'INVALID_PARAMETER_VALUE', 400);

      assert.equal((await client.getModelVersion('mv', 1)).description, 'd1');
      assert.equal((await client.updateModelVersion('mv', 1, 'changed')).description, 'changed');
      await client.setModelVersionTag('mv', 1, 'q', 'r');
      await client.deleteModelVersionTag('mv', 1, 'k');
      assert.deepEqual((await client.getModelVersion('mv', 1)).tags, [{ key: 'q', value: 'r' }]);

      await client.setRegisteredModelAlias('mv', 'champion', 1);
      assert.equal((await client.getModelVersionByAlias('mv', 'champion')).version, '1');
      assert.deepEqual((await client.getModelVersion('mv', 1)).aliases, ['champion']);
      await client.setRegisteredModelAlias('mv', 'champion', '2');
      assert.equal((await client.getModelVersionByAlias('mv', 'champion')).version, '2');
      assert.deepEqual((await client.getRegisteredModel('mv')).aliases, [
        { alias: 'champion', version: '2' },
      ]);
      await client.deleteRegisteredModelAlias('mv', 'champion');
      // MLflow answers a missing alias with INVALID_PARAMETER_VALUE, not RESOURCE_DOES_NOT_EXIST.
      await rejectsWithCode(
        client.getModelVersionByAlias('mv', 'champion'),
        'INVALID_PARAMETER_VALUE',
        400,
        /alias champion not found/,
      );
      await rejectsWithCode(
        client.setRegisteredModelAlias('mv', 'latest', 1),
        'INVALID_PARAMETER_VALUE',
        400,
      );

      assert.equal(
        (await client.transitionModelVersionStage('mv', 1, 'Production')).current_stage,
        'Production',
      );
      const moved = await client.transitionModelVersionStage('mv', 2, 'production', true);
      assert.equal(moved.current_stage, 'Production');
      assert.equal((await client.getModelVersion('mv', 1)).current_stage, 'Archived');
      await rejectsWithCode(
        client.transitionModelVersionStage('mv', 1, 'Nowhere'),
        'INVALID_PARAMETER_VALUE',
        400,
      );

      const latest = await client.getLatestVersions('mv', ['Production']);
      assert.deepEqual(
        latest.map((v) => v.version),
        ['2'],
      );
      assert.equal((await client.getLatestVersions('mv')).length, 2);

      const found = await client.searchModelVersions({ filter: `run_id = '${runId}'` });
      assert.deepEqual(found.items.map((v) => v.version).sort(), ['1', '2']);
      assert.equal(await client.getModelVersionDownloadUri('mv', 1), source);

      await client.deleteModelVersion('mv', 1);
      await rejectsWithCode(client.getModelVersion('mv', 1), 'RESOURCE_DOES_NOT_EXIST', 404);
      assert.deepEqual(
        (await client.searchModelVersions({ filter: "name = 'mv'" })).items.map((v) => v.version),
        ['2'],
      );
    });

    test('models:/ and runs:/ URIs resolve through the server and download through the proxy', async () => {
      const expId = await client.createExperiment('uri-exp');
      const run = await client.createRun(expId);
      const runId = run.info.run_id;
      const files = await client.runArtifacts(runId);
      await files.upload('model/MLmodel', 'flavors: {}\n');
      await files.upload('model/data/weights.bin', 'w1');
      const source = `${run.info.artifact_uri}/model`;
      await client.createRegisteredModel('uri-m');
      await client.createModelVersion('uri-m', source, { runId });
      await client.createModelVersion('uri-m', `${source}/data`, { runId });
      await client.transitionModelVersionStage('uri-m', 1, 'Staging');
      await client.setRegisteredModelAlias('uri-m', 'champ', 1);

      assert.equal(await resolveModelUri(client, 'models:/uri-m/1'), source);
      assert.equal(await resolveModelUri(client, 'models:/uri-m/latest'), `${source}/data`);
      assert.equal(await resolveModelUri(client, 'models:/uri-m/Staging'), source);
      assert.equal(await resolveModelUri(client, 'models:/uri-m@champ'), source);
      assert.equal(await resolveModelUri(client, `runs:/${runId}/model`), source);
      await rejectsWithCode(
        resolveModelUri(client, 'models:/uri-m/Production'),
        'RESOURCE_DOES_NOT_EXIST',
        404,
      );
      await rejectsWithCode(resolveModelUri(client, 'models:/uri-m/7'), 'RESOURCE_DOES_NOT_EXIST', 404);
      await rejectsWithCode(
        resolveModelUri(client, 's3://bucket/x'),
        'INVALID_PARAMETER_VALUE',
        400,
        /models:\//,
      );
      // As in MLflow, models:/a/b/c is stage 'b' of model 'a' with the path 'c'; the server refuses the stage.
      await rejectsWithCode(
        resolveModelUri(client, 'models:/a/b/c'),
        'INVALID_PARAMETER_VALUE',
        400,
        /Invalid Model Version stage: b/,
      );
      await rejectsWithCode(resolveModelUri(client, 'models:/m-nonexistent'), 'RESOURCE_DOES_NOT_EXIST', 404);
      assert.deepEqual(parseModelUri('models:/m-abc'), { kind: 'logged-model', modelId: 'm-abc' });

      const dst = tempDir('mlflow-ts-model-dl-');
      const seen: string[] = [];
      const out = await downloadModel(client, 'models:/uri-m@champ', dst.dir, (p) => seen.push(p));
      assert.equal(out, dst.dir);
      assert.deepEqual(seen.sort(), ['MLmodel', 'data/weights.bin']);
      assert.equal(readFileSync(path.join(dst.dir, 'data', 'weights.bin'), 'utf8'), 'w1');
      dst.cleanup();
    });

    test('models:/ URIs with a path inside the model resolve and download that file or directory', async () => {
      const expId = await client.createExperiment('uri-path-exp');
      const run = await client.createRun(expId);
      const runId = run.info.run_id;
      const files = await client.runArtifacts(runId);
      await files.upload('model/MLmodel', 'flavors: {}\n');
      await files.upload('model/data/weights.bin', 'w1');
      await files.upload('model/data/deep/more.txt', 'more');
      const source = `${run.info.artifact_uri}/model`;
      await client.createRegisteredModel('path-m');
      await client.createModelVersion('path-m', source, { runId });
      await client.transitionModelVersionStage('path-m', 1, 'Production');
      await client.setRegisteredModelAlias('path-m', 'champ', 1);

      const cases: [string, string][] = [
        ['models:/path-m/1/MLmodel', `${source}/MLmodel`],
        ['models:/path-m/1/data/weights.bin', `${source}/data/weights.bin`],
        ['models:/path-m/1/data/', `${source}/data`],
        ['models:/path-m/1//data//deep', `${source}/data/deep`],
        ['models:/path-m/production/data', `${source}/data`],
        ['models:/path-m/latest/MLmodel', `${source}/MLmodel`],
        ['models:/path-m@champ/data/weights.bin', `${source}/data/weights.bin`],
        [`runs:/${runId}/model/data`, `${source}/data`],
      ];
      for (const [uri, location] of cases) assert.equal(await resolveModelUri(client, uri), location, uri);

      assert.deepEqual(parseModelUri('models:/path-m/1/data/w.bin'), {
        kind: 'version',
        name: 'path-m',
        version: '1',
        path: 'data/w.bin',
      });
      assert.deepEqual(parseModelUri('models:/path-m@champ/x'), {
        kind: 'alias',
        name: 'path-m',
        alias: 'champ',
        path: 'x',
      });
      assert.deepEqual(parseModelUri('models:/path-m/Staging/x/y'), {
        kind: 'stage',
        name: 'path-m',
        stage: 'Staging',
        path: 'x/y',
      });
      assert.deepEqual(parseModelUri('models:/path-m/latest/'), { kind: 'latest', name: 'path-m' });
      assert.deepEqual(parseModelUri('models:///path-m/2'), {
        kind: 'version',
        name: 'path-m',
        version: '2',
      });
      // A single segment after an id is read as a stage, as MLflow reads it.
      assert.deepEqual(parseModelUri('models:/m-abc/MLmodel'), {
        kind: 'stage',
        name: 'm-abc',
        stage: 'MLmodel',
      });

      for (const [uri, why] of [
        ['models:/path-m/1/../../other', /'\.' and '\.\.' are not allowed/],
        ['models:/path-m@champ/./x', /'\.' and '\.\.' are not allowed/],
        ['models://profile/path-m/1', /names another registry/],
        ['models:/path-m@/x', /alias after @ is empty/],
        ['models:/@champ/x', /model name is empty/],
        ['models:/ /1/x', /model name is empty/],
        ['models:', /model name is missing/],
      ] as const) {
        await rejectsWithCode(resolveModelUri(client, uri), 'INVALID_PARAMETER_VALUE', 400, why);
      }
      await rejectsWithCode(
        resolveModelUri(client, 'models:/path-m/Staging/MLmodel'),
        'RESOURCE_DOES_NOT_EXIST',
        404,
      );

      // Downloads lay files out as MLflow's download_artifacts does: <dst>/<path>.
      const dst = tempDir('mlflow-ts-model-path-dl-');
      const file = await downloadModel(client, 'models:/path-m/1/data/weights.bin', dst.dir);
      assert.equal(file, path.join(dst.dir, 'data', 'weights.bin'));
      assert.equal(readFileSync(file, 'utf8'), 'w1');
      const seen: string[] = [];
      const dir = await downloadModel(client, 'models:/path-m@champ/data', path.join(dst.dir, 'b'), (p) =>
        seen.push(p),
      );
      assert.equal(dir, path.join(dst.dir, 'b', 'data'));
      assert.deepEqual(seen.sort(), ['data/deep/more.txt', 'data/weights.bin']);
      assert.equal(readFileSync(path.join(dir, 'deep', 'more.txt'), 'utf8'), 'more');
      const fromRun = await downloadModel(client, `runs:/${runId}/model/MLmodel`, path.join(dst.dir, 'c'));
      assert.equal(readFileSync(fromRun, 'utf8'), 'flavors: {}\n');
      await rejectsWithCode(
        downloadModel(client, 'models:/path-m/1/no-such-file', path.join(dst.dir, 'd')),
        'RESOURCE_DOES_NOT_EXIST',
        404,
      );
      dst.cleanup();

      // The server reads models:/ sources as MLflow's registry does: no path after the version.
      await rejectsWithCode(
        client.createModelVersion('path-m', 'models:/path-m/1/data'),
        'INVALID_PARAMETER_VALUE',
        400,
        /Not a proper models:\/ URI/,
      );
    });
  });
}
