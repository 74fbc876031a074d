import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer } from '../src/server.js';
import {
  call,
  DIALECTS,
  expectError,
  freshStoreUri,
  startTestServer,
  type TestServer,
  tempDir,
} from './helpers.js';

// The Model Registry over real HTTP on both dialects: MLflow's paths, JSON shapes, error codes,
// statuses and messages, for the good paths and the bad ones.

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

for (const dialect of DIALECTS) {
  describe(`model registry REST on ${dialect}`, () => {
    let srv: TestServer;
    const api = (method: Method, endpoint: string, body?: Record<string, unknown>) =>
      call(srv.api, method, endpoint, body);

    before(async () => {
      srv = await startTestServer(dialect);
    });
    after(async () => {
      await srv.close();
    });

    const createModel = async (name: string, extra: Record<string, unknown> = {}) => {
      const res = await api('POST', 'registered-models/create', { name, ...extra });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.registered_model;
    };
    const createVersion = async (name: string, extra: Record<string, unknown> = {}) => {
      const res = await api('POST', 'model-versions/create', {
        name,
        source: 's3://bucket/models/m',
        ...extra,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.model_version;
    };

    test('registered model lifecycle: create, get, update, rename, delete', async () => {
      const created = await createModel('lifecycle', {
        tags: [
          { key: 't', value: 'first' },
          { key: 't', value: 'second' },
        ],
        description: 'about it',
      });
      assert.equal(created.name, 'lifecycle');
      assert.equal(typeof created.creation_timestamp, 'number');
      assert.equal(created.last_updated_timestamp, created.creation_timestamp);
      assert.equal(created.description, 'about it');
      // Later tags with the same key win; empty lists are left out of the JSON.
      assert.deepEqual(created.tags, [{ key: 't', value: 'second' }]);
      assert.equal(created.latest_versions, undefined);
      assert.equal(created.aliases, undefined);

      const got = await api('GET', 'registered-models/get', { name: 'lifecycle' });
      assert.deepEqual(got.body.registered_model, created);
      const ajax = await call(`${srv.url}/ajax-api/2.0/mlflow`, 'GET', 'registered-models/get', {
        name: 'lifecycle',
      });
      assert.equal(ajax.body.registered_model.name, 'lifecycle');

      const updated = await api('PATCH', 'registered-models/update', {
        name: 'lifecycle',
        description: 'new words',
      });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.registered_model.description, 'new words');
      // No description clears it (proto reads it as ""), and "" is left out of the JSON.
      const cleared = await api('PATCH', 'registered-models/update', { name: 'lifecycle' });
      assert.equal(cleared.body.registered_model.description, undefined);

      await createVersion('lifecycle', { tags: [{ key: 'vt', value: '1' }] });
      await createVersion('lifecycle');
      assert.equal(
        (await api('POST', 'registered-models/alias', { name: 'lifecycle', alias: 'champ', version: '2' }))
          .status,
        200,
      );
      assert.equal(
        (await api('POST', 'registered-models/set-tag', { name: 'lifecycle', key: 'k', value: 'v' })).status,
        200,
      );

      const renamed = await api('POST', 'registered-models/rename', {
        name: 'lifecycle',
        new_name: 'lifecycle2',
      });
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      assert.equal(renamed.body.registered_model.name, 'lifecycle2');
      // Versions, tags and aliases follow the new name.
      assert.deepEqual(renamed.body.registered_model.aliases, [{ alias: 'champ', version: '2' }]);
      assert.deepEqual(
        renamed.body.registered_model.tags.map((t: { key: string }) => t.key),
        ['k', 't'],
      );
      const v1 = await api('GET', 'model-versions/get', { name: 'lifecycle2', version: '1' });
      assert.equal(v1.body.model_version.name, 'lifecycle2');
      assert.deepEqual(v1.body.model_version.tags, [{ key: 'vt', value: '1' }]);
      const byAlias = await api('GET', 'registered-models/alias', { name: 'lifecycle2', alias: 'champ' });
      assert.equal(byAlias.body.model_version.version, '2');
      await expectError(
        api('GET', 'registered-models/get', { name: 'lifecycle' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'Registered Model with name=lifecycle not found',
      );

      const deleted = await api('DELETE', 'registered-models/delete', { name: 'lifecycle2' });
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, {});
      await expectError(
        api('GET', 'model-versions/get', { name: 'lifecycle2', version: '1' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'Model Version (name=lifecycle2, version=1) not found',
      );
      // The name is free again, and version numbers start over with the new model.
      await createModel('lifecycle2');
      assert.equal((await createVersion('lifecycle2')).version, '1');
      const fresh = await api('GET', 'registered-models/get', { name: 'lifecycle2' });
      assert.equal(fresh.body.registered_model.tags, undefined);
      assert.equal(fresh.body.registered_model.aliases, undefined);
    });

    test('registered model bad inputs', async () => {
      await createModel('dup');
      await expectError(
        api('POST', 'registered-models/create', { name: 'dup' }),
        400,
        'RESOURCE_ALREADY_EXISTS',
        'Registered Model (name=dup) already exists.',
      );
      await expectError(
        api('POST', 'registered-models/create', {}),
        400,
        'INVALID_PARAMETER_VALUE',
        "Missing value for required parameter 'name'. See the API docs for more information about request parameters.",
      );
      await expectError(
        api('POST', 'registered-models/create', { name: 5 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid value 5 for parameter 'name' supplied. Hint: Value was of type 'int'/,
      );
      await expectError(
        api('POST', 'registered-models/create', { name: 'badtag', tags: [{ key: '../x', value: 'v' }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid value "..\/x" for parameter 'key' supplied: Names may be treated as files/,
      );
      await expectError(
        api('POST', 'registered-models/create', {
          name: 'bigtag',
          tags: [{ key: 'k', value: 'x'.repeat(100_001) }],
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        "'value' exceeds the maximum length of 100000 characters",
      );
      // Longer than MLflow's columns: refused before the database would fail on it.
      await expectError(
        api('POST', 'registered-models/create', { name: 'n'.repeat(257) }),
        400,
        'INVALID_PARAMETER_VALUE',
        "'name' exceeds the maximum length of 256 characters",
      );
      await expectError(
        api('POST', 'registered-models/create', { name: 'longdesc', description: 'd'.repeat(5001) }),
        400,
        'INVALID_PARAMETER_VALUE',
        "'description' exceeds the maximum length of 5000 characters",
      );
      // Registered model tag values up to MLflow's limit fit on both databases.
      await createModel('bigtag-ok', { tags: [{ key: 'k', value: 'x'.repeat(100_000) }] });
      // A failed create leaves nothing behind.
      await expectError(
        api('GET', 'registered-models/get', { name: 'badtag' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(api('GET', 'registered-models/get', {}), 400, 'INVALID_PARAMETER_VALUE');
      await expectError(
        api('GET', 'registered-models/get', { name: 'nope' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'Registered Model with name=nope not found',
      );
      await expectError(
        api('PATCH', 'registered-models/update', { name: 'nope', description: 'x' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('DELETE', 'registered-models/delete', { name: 'nope' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('POST', 'registered-models/rename', { name: 'nope', new_name: 'x' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('POST', 'registered-models/rename', { name: 'dup' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'new_name'/,
      );
      await createModel('dup2');
      await expectError(
        api('POST', 'registered-models/rename', { name: 'dup2', new_name: 'dup' }),
        400,
        'RESOURCE_ALREADY_EXISTS',
        'Registered Model (name=dup) already exists.',
      );
      await expectError(
        api('POST', 'registered-models/set-tag', { name: 'nope', key: 'k', value: 'v' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('POST', 'registered-models/set-tag', { name: 'dup', value: 'v' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'key'/,
      );
      await expectError(
        api('DELETE', 'registered-models/delete-tag', { name: 'nope', key: 'k' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      // Wrong method and unknown endpoint.
      await expectError(api('POST', 'registered-models/get', { name: 'dup' }), 404, 'ENDPOINT_NOT_FOUND');
    });

    test('registered model tags: set, overwrite, delete (missing key is fine)', async () => {
      await createModel('tagged');
      await api('POST', 'registered-models/set-tag', { name: 'tagged', key: 'a', value: '1' });
      await api('POST', 'registered-models/set-tag', { name: 'tagged', key: 'a', value: '2' });
      await api('POST', 'registered-models/set-tag', { name: 'tagged', key: 'b' });
      let got = await api('GET', 'registered-models/get', { name: 'tagged' });
      assert.deepEqual(got.body.registered_model.tags, [
        { key: 'a', value: '2' },
        { key: 'b', value: '' },
      ]);
      assert.equal(
        (await api('DELETE', 'registered-models/delete-tag', { name: 'tagged', key: 'a' })).status,
        200,
      );
      assert.equal(
        (await api('DELETE', 'registered-models/delete-tag', { name: 'tagged', key: 'zz' })).status,
        200,
      );
      got = await api('GET', 'registered-models/get', { name: 'tagged' });
      assert.deepEqual(got.body.registered_model.tags, [{ key: 'b', value: '' }]);
    });

    test('model versions: numbering, shape, update, tags, download URI', async () => {
      await createModel('mv');
      const run = await api('POST', 'runs/create', { experiment_id: '0' });
      const runId = run.body.run.info.run_id;
      const v1 = await createVersion('mv', {
        source: `runs:/${runId}/model`,
        run_id: runId,
        run_link: 'http://example/run',
        description: 'first',
        tags: [{ key: 'k', value: 'v' }],
      });
      assert.deepEqual(Object.keys(v1).sort(), [
        'creation_timestamp',
        'current_stage',
        'description',
        'last_updated_timestamp',
        'name',
        'run_id',
        'run_link',
        'source',
        'status',
        'tags',
        'version',
      ]);
      assert.equal(v1.version, '1');
      assert.equal(v1.current_stage, 'None');
      assert.equal(v1.status, 'READY');
      assert.equal(v1.source, `runs:/${runId}/model`);
      assert.equal(v1.run_id, runId);
      assert.deepEqual(v1.tags, [{ key: 'k', value: 'v' }]);
      // Absent strings come back as "" (proto defaults), as MLflow returns them.
      const v2 = await createVersion('mv');
      assert.equal(v2.version, '2');
      assert.equal(v2.run_id, '');
      assert.equal(v2.description, '');

      const model = await api('GET', 'registered-models/get', { name: 'mv' });
      assert.equal(model.body.registered_model.last_updated_timestamp >= v2.creation_timestamp, true);
      assert.deepEqual(
        model.body.registered_model.latest_versions.map((v: { version: string }) => v.version),
        ['2'],
      );

      const updated = await api('PATCH', 'model-versions/update', {
        name: 'mv',
        version: '1',
        description: 'new',
      });
      assert.equal(updated.body.model_version.description, 'new');
      // Without a description MLflow clears it (None), so the field disappears.
      const cleared = await api('PATCH', 'model-versions/update', { name: 'mv', version: '1' });
      assert.equal(cleared.body.model_version.description, undefined);

      await api('POST', 'model-versions/set-tag', { name: 'mv', version: '1', key: 'k', value: 'w' });
      await api('POST', 'model-versions/set-tag', { name: 'mv', version: 1, key: 'j', value: 'x' });
      let got = await api('GET', 'model-versions/get', { name: 'mv', version: '1' });
      assert.deepEqual(got.body.model_version.tags, [
        { key: 'j', value: 'x' },
        { key: 'k', value: 'w' },
      ]);
      await api('DELETE', 'model-versions/delete-tag', { name: 'mv', version: '1', key: 'k' });
      got = await api('GET', 'model-versions/get', { name: 'mv', version: '1' });
      assert.deepEqual(got.body.model_version.tags, [{ key: 'j', value: 'x' }]);

      const uri = await api('GET', 'model-versions/get-download-uri', { name: 'mv', version: '1' });
      assert.deepEqual(uri.body, { artifact_uri: `runs:/${runId}/model` });
      // A version made from models:/ stores where that version's files are.
      const copy = await createVersion('mv', { source: 'models:/mv/1' });
      assert.equal(copy.source, 'models:/mv/1');
      const copyUri = await api('GET', 'model-versions/get-download-uri', {
        name: 'mv',
        version: copy.version,
      });
      assert.equal(copyUri.body.artifact_uri, `runs:/${runId}/model`);
    });

    test('model version bad inputs', async () => {
      await createModel('mvbad');
      await createVersion('mvbad');
      await expectError(
        api('POST', 'model-versions/create', { name: 'nope', source: 's3://b/p' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'Registered Model with name=nope not found',
      );
      await expectError(
        api('POST', 'model-versions/create', { name: 'mvbad' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'source'/,
      );
      await expectError(
        api('POST', 'model-versions/create', { source: 's3://b/p' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'name'/,
      );
      await expectError(
        api('GET', 'model-versions/get', { name: 'mvbad', version: 'abc' }),
        400,
        'INVALID_PARAMETER_VALUE',
        "Parameter 'version' must be an integer, got 'abc'.",
      );
      await expectError(
        api('GET', 'model-versions/get', { name: 'mvbad' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'version'/,
      );
      await expectError(
        api('GET', 'model-versions/get', { name: 'mvbad', version: '9' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'Model Version (name=mvbad, version=9) not found',
      );
      await expectError(
        api('PATCH', 'model-versions/update', { name: 'mvbad', version: '9', description: 'x' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('DELETE', 'model-versions/delete', { name: 'mvbad', version: '9' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('POST', 'model-versions/set-tag', { name: 'mvbad', version: '9', key: 'k', value: 'v' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('POST', 'model-versions/set-tag', { name: 'mvbad', version: '1', key: 'k', value: 7 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid value 7 for parameter 'value' supplied/,
      );
      await expectError(
        api('DELETE', 'model-versions/delete-tag', { name: 'mvbad', version: '9', key: 'k' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('GET', 'model-versions/get-download-uri', { name: 'mvbad', version: '9' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('POST', 'model-versions/create', { name: 'mvbad', source: `s3://b/${'p'.repeat(500)}` }),
        400,
        'INVALID_PARAMETER_VALUE',
        "'source' exceeds the maximum length of 500 characters",
      );
      await expectError(
        api('POST', 'model-versions/create', { name: 'mvbad', source: 's3://b/p', run_id: 'r'.repeat(33) }),
        400,
        'INVALID_PARAMETER_VALUE',
        "'run_id' exceeds the maximum length of 32 characters",
      );
      await expectError(
        api('POST', 'model-versions/create', { name: 'mvbad', source: 'models:/nope/1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Unable to fetch model from model URI source artifact location 'models:\/nope\/1'/,
      );
    });

    test('model version sources are checked as MLflow checks them', async () => {
      await createModel('src');
      const bad = [
        'mlflow-artifacts://host:5000/../../../etc',
        'mlflow-artifacts:/1/../../x',
        'http://host/api/2.0/mlflow-artifacts/artifacts/..%2f..%2fx',
        's3://bucket/a/./b',
        's3://bucket',
        'https://host/a%00b',
      ];
      for (const source of bad) {
        await expectError(
          api('POST', 'model-versions/create', { name: 'src', source }),
          400,
          'INVALID_PARAMETER_VALUE',
          `Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`,
        );
      }
      // A local path needs the run whose artifact directory holds it.
      await expectError(
        api('POST', 'model-versions/create', { name: 'src', source: '/etc/passwd' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /^Invalid model version source: '\/etc\/passwd'. To use a local path as a model version source, the run_id request parameter has to be specified/,
      );
      await expectError(
        api('POST', 'model-versions/create', { name: 'src', source: 'file://remotehost/x' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /is not a valid remote uri/,
      );
      const run = await api('POST', 'runs/create', { experiment_id: '0' });
      const runId = run.body.run.info.run_id;
      // This server's runs store proxied artifacts, so no local path is inside a run's directory.
      await expectError(
        api('POST', 'model-versions/create', { name: 'src', source: '/tmp/model', run_id: runId }),
        400,
        'INVALID_PARAMETER_VALUE',
        /^Invalid model version source: '\/tmp\/model'/,
      );
      await expectError(
        api('POST', 'model-versions/create', { name: 'src', source: '/tmp/model', run_id: 'f'.repeat(32) }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      for (const source of [
        `runs:/${runId}/model`,
        'mlflow-artifacts:/0/abc/artifacts/model',
        's3://b/p/model/',
      ]) {
        assert.equal(
          (await api('POST', 'model-versions/create', { name: 'src', source })).status,
          200,
          source,
        );
      }
      // Prompt versions carry text and skip the check, as in MLflow.
      const prompt = await api('POST', 'model-versions/create', {
        name: 'src',
        source: 'dummy-source',
        tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }],
      });
      assert.equal(prompt.status, 200);
    });

    test('stages: transition, case-insensitive input, archive_existing_versions, latest versions', async () => {
      await createModel('staged');
      for (let i = 0; i < 4; i++) await createVersion('staged');
      const t1 = await api('POST', 'model-versions/transition-stage', {
        name: 'staged',
        version: '1',
        stage: 'production',
        archive_existing_versions: false,
      });
      assert.equal(t1.status, 200, JSON.stringify(t1.body));
      assert.equal(t1.body.model_version.current_stage, 'Production');
      await api('POST', 'model-versions/transition-stage', {
        name: 'staged',
        version: '2',
        stage: 'STAGING',
      });
      await api('POST', 'model-versions/transition-stage', {
        name: 'staged',
        version: '3',
        stage: 'Staging',
      });
      const t4 = await api('POST', 'model-versions/transition-stage', {
        name: 'staged',
        version: '4',
        stage: 'Production',
        archive_existing_versions: true,
      });
      assert.equal(t4.body.model_version.current_stage, 'Production');
      const v1 = await api('GET', 'model-versions/get', { name: 'staged', version: '1' });
      assert.equal(v1.body.model_version.current_stage, 'Archived');
      const v2 = await api('GET', 'model-versions/get', { name: 'staged', version: '2' });
      assert.equal(v2.body.model_version.current_stage, 'Staging');

      const latest = await api('POST', 'registered-models/get-latest-versions', { name: 'staged' });
      // One per stage, the newest in each, stages ordered by their oldest version (as MLflow lists them).
      assert.deepEqual(
        latest.body.model_versions.map((v: { version: string; current_stage: string }) => [
          v.current_stage,
          v.version,
        ]),
        [
          ['Archived', '1'],
          ['Staging', '3'],
          ['Production', '4'],
        ],
      );
      const onlyStaging = await api('GET', 'registered-models/get-latest-versions', {
        name: 'staged',
        stages: ['staging'],
      });
      assert.deepEqual(
        onlyStaging.body.model_versions.map((v: { version: string }) => v.version),
        ['3'],
      );
      const none = await api('POST', 'registered-models/get-latest-versions', {
        name: 'staged',
        stages: ['None'],
      });
      assert.deepEqual(none.body, {});

      await expectError(
        api('POST', 'model-versions/transition-stage', { name: 'staged', version: '1', stage: 'prod' }),
        400,
        'INVALID_PARAMETER_VALUE',
        'Invalid Model Version stage: prod. Value must be one of None, Staging, Production, Archived.',
      );
      await expectError(
        api('POST', 'model-versions/transition-stage', {
          name: 'staged',
          version: '1',
          stage: 'archived',
          archive_existing_versions: true,
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        "Model version transition cannot archive existing model versions because 'archived' is not an Active stage. Valid stages are ['Staging', 'Production']",
      );
      await expectError(
        api('POST', 'model-versions/transition-stage', { name: 'staged', version: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'stage'/,
      );
      await expectError(
        api('POST', 'model-versions/transition-stage', {
          name: 'staged',
          version: '1',
          stage: 'Staging',
          archive_existing_versions: 'yes',
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid value "yes" for parameter 'archive_existing_versions' supplied/,
      );
      await expectError(
        api('POST', 'model-versions/transition-stage', { name: 'staged', version: '99', stage: 'Staging' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('POST', 'registered-models/get-latest-versions', { name: 'staged', stages: ['bogus'] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid Model Version stage: bogus/,
      );
      await expectError(
        api('POST', 'registered-models/get-latest-versions', { name: 'nope' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
    });

    test('aliases: set, move, get, delete, reserved and invalid names', async () => {
      await createModel('aliased');
      await createVersion('aliased');
      await createVersion('aliased');
      await createVersion('aliased');
      const set = await api('POST', 'registered-models/alias', {
        name: 'aliased',
        alias: 'champion',
        version: '1',
      });
      assert.equal(set.status, 200);
      assert.deepEqual(set.body, {});
      await api('POST', 'registered-models/alias', { name: 'aliased', alias: 'champion', version: '2' });
      await api('POST', 'registered-models/alias', { name: 'aliased', alias: 'Challenger_2', version: '2' });
      const got = await api('GET', 'registered-models/alias', { name: 'aliased', alias: 'champion' });
      assert.equal(got.body.model_version.version, '2');
      assert.deepEqual(got.body.model_version.aliases, ['Challenger_2', 'champion']);
      const model = await api('GET', 'registered-models/get', { name: 'aliased' });
      assert.deepEqual(model.body.registered_model.aliases, [
        { alias: 'Challenger_2', version: '2' },
        { alias: 'champion', version: '2' },
      ]);
      const latest = await api('GET', 'registered-models/alias', { name: 'aliased', alias: 'LATEST' });
      assert.equal(latest.body.model_version.version, '3');

      assert.equal(
        (await api('DELETE', 'registered-models/alias', { name: 'aliased', alias: 'champion' })).status,
        200,
      );
      // Deleting an alias that is not set is not an error.
      assert.equal(
        (await api('DELETE', 'registered-models/alias', { name: 'aliased', alias: 'champion' })).status,
        200,
      );
      await expectError(
        api('GET', 'registered-models/alias', { name: 'aliased', alias: 'champion' }),
        400,
        'INVALID_PARAMETER_VALUE',
        'Registered model alias champion not found.',
      );

      // Deleting a version removes its aliases.
      await api('DELETE', 'model-versions/delete', { name: 'aliased', version: '2' });
      const after = await api('GET', 'registered-models/get', { name: 'aliased' });
      assert.equal(after.body.registered_model.aliases, undefined);
      await expectError(
        api('GET', 'registered-models/alias', { name: 'aliased', alias: 'Challenger_2' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );

      await expectError(
        api('POST', 'registered-models/alias', { name: 'aliased', alias: 'latest', version: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        "'latest' alias name (case insensitive) is reserved.",
      );
      await expectError(
        api('POST', 'registered-models/alias', { name: 'aliased', alias: 'V12', version: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        "Version alias name 'V12' is reserved.",
      );
      await expectError(
        api('POST', 'registered-models/alias', { name: 'aliased', alias: 'bad alias!', version: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        "Invalid alias name: 'bad alias!'. Names may only contain alphanumerics, underscores (_), and dashes (-).",
      );
      await expectError(
        api('POST', 'registered-models/alias', { name: 'aliased', alias: 'a'.repeat(256), version: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        "'Registered model alias name' exceeds the maximum length of 255 characters",
      );
      await expectError(
        api('POST', 'registered-models/alias', { name: 'aliased', alias: 'x', version: '2' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'Model Version (name=aliased, version=2) not found',
      );
      await expectError(
        api('POST', 'registered-models/alias', { name: 'aliased', alias: 'x' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'version'/,
      );
      await expectError(
        api('DELETE', 'registered-models/alias', { name: 'nope', alias: 'x' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await createModel('empty-model');
      await expectError(
        api('GET', 'registered-models/alias', { name: 'empty-model', alias: 'latest' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'Latest version not found for model empty-model.',
      );
    });

    test('concurrent version creations get distinct consecutive numbers', async () => {
      await createModel('busy');
      const created = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          api('POST', 'model-versions/create', { name: 'busy', source: `s3://b/busy/${i}` }),
        ),
      );
      for (const res of created) assert.equal(res.status, 200, JSON.stringify(res.body));
      const numbers = created.map((r) => Number(r.body.model_version.version)).sort((a, b) => a - b);
      assert.deepEqual(
        numbers,
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      // Each version kept its own source.
      for (const res of created) {
        const mv = res.body.model_version;
        const got = await api('GET', 'model-versions/get', { name: 'busy', version: mv.version });
        assert.equal(got.body.model_version.source, mv.source);
      }
    });

    test('deleting a version keeps its number taken and hides it everywhere', async () => {
      await createModel('del');
      await createVersion('del');
      await createVersion('del');
      assert.equal((await api('DELETE', 'model-versions/delete', { name: 'del', version: '2' })).status, 200);
      await expectError(
        api('GET', 'model-versions/get', { name: 'del', version: '2' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('DELETE', 'model-versions/delete', { name: 'del', version: '2' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      assert.equal((await createVersion('del')).version, '3');
      const search = await api('GET', 'model-versions/search', { filter: "name = 'del'" });
      assert.deepEqual(
        search.body.model_versions.map((v: { version: string }) => v.version),
        ['3', '1'],
      );
      const model = await api('GET', 'registered-models/get', { name: 'del' });
      assert.deepEqual(
        model.body.registered_model.latest_versions.map((v: { version: string }) => v.version),
        ['3'],
      );
    });

    test('search: filters, ordering, paging and limits', async () => {
      for (const name of ['search-a', 'search-b', 'search-c']) {
        await createModel(name, { tags: [{ key: 'team', value: name === 'search-b' ? 'blue' : 'red' }] });
        await createVersion(name, { tags: [{ key: 'flavor', value: name }] });
      }
      const models = await api('GET', 'registered-models/search', {
        filter: "name LIKE 'search-%' AND tags.team = 'red'",
      });
      assert.equal(models.status, 200, JSON.stringify(models.body));
      assert.deepEqual(
        models.body.registered_models.map((m: { name: string }) => m.name),
        ['search-a', 'search-c'],
      );
      assert.equal(models.body.registered_models[0].latest_versions[0].version, '1');

      // Paging: one per page, the token carries the position.
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await api('GET', 'registered-models/search', {
          filter: "name LIKE 'search-%'",
          order_by: ['name DESC'],
          max_results: 1,
          ...(token ? { page_token: token } : {}),
        });
        assert.equal(page.status, 200, JSON.stringify(page.body));
        seen.push(...page.body.registered_models.map((m: { name: string }) => m.name));
        token = page.body.next_page_token;
      } while (token);
      assert.deepEqual(seen, ['search-c', 'search-b', 'search-a']);
      // MLflow's own offset tokens work too.
      const offset = await api('GET', 'registered-models/search', {
        filter: "name LIKE 'search-%'",
        max_results: 1,
        page_token: Buffer.from(JSON.stringify({ offset: 2 })).toString('base64'),
      });
      assert.deepEqual(
        offset.body.registered_models.map((m: { name: string }) => m.name),
        ['search-c'],
      );
      assert.equal(offset.body.next_page_token, undefined);

      const versions = await api('GET', 'model-versions/search', {
        filter: "tags.flavor LIKE 'search-%' AND version_number = 1",
        order_by: ['name ASC'],
      });
      assert.deepEqual(
        versions.body.model_versions.map((v: { name: string }) => v.name),
        ['search-a', 'search-b', 'search-c'],
      );
      // Search results carry no aliases, as MLflow's.
      assert.equal(versions.body.model_versions[0].aliases, undefined);

      await expectError(
        api('GET', 'registered-models/search', { max_results: 1001 }),
        400,
        'INVALID_PARAMETER_VALUE',
        "Invalid value 1001 for parameter 'max_results' supplied. Hint: Value was of type 'int'. See the API docs for more information about request parameters.",
      );
      await expectError(
        api('GET', 'model-versions/search', { max_results: 200_001 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid value 200001 for parameter 'max_results'/,
      );
      await expectError(
        api('GET', 'model-versions/search', { max_results: 0 }),
        400,
        'INVALID_PARAMETER_VALUE',
        'Invalid value for max_results. It must be a positive integer, but got 0',
      );
      await expectError(
        api('GET', 'registered-models/search', { filter: "description = 'x'" }),
        400,
        'INVALID_PARAMETER_VALUE',
        "Invalid attribute key 'description' specified. Valid keys are '{'name'}'",
      );
      await expectError(
        api('GET', 'registered-models/search', { page_token: 'not a token!' }),
        400,
        'INVALID_PARAMETER_VALUE',
        'Invalid page token, could not base64-decode',
      );
      // A token is only good for the ordering it was made for.
      const first = await api('GET', 'registered-models/search', { max_results: 1 });
      await expectError(
        api('GET', 'registered-models/search', {
          max_results: 1,
          order_by: ['name DESC'],
          page_token: first.body.next_page_token,
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid page token/,
      );
    });

    test('prompts stay out of registry searches unless asked for', async () => {
      await createModel('a-prompt', { tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }] });
      const plain = await api('GET', 'registered-models/search', { filter: "name = 'a-prompt'" });
      assert.deepEqual(plain.body, {});
      const asked = await api('GET', 'registered-models/search', {
        filter: "tags.`mlflow.prompt.is_prompt` = 'true'",
      });
      assert.deepEqual(
        asked.body.registered_models.map((m: { name: string }) => m.name),
        ['a-prompt'],
      );
    });

    test('models:/ URIs and model-versions/get-artifact stream the version files', async () => {
      await createModel('served');
      const run = await api('POST', 'runs/create', { experiment_id: '0' });
      const info = run.body.run.info;
      // The run's artifacts are proxied: mlflow-artifacts:/0/<run>/artifacts under the destination.
      const dir = path.join(srv.artifactsDir, '0', info.run_id, 'artifacts', 'model');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'MLmodel'), 'flavors: {}\n');
      await createVersion('served', { source: `runs:/${info.run_id}/model`, run_id: info.run_id });
      await createVersion('served', { source: `${info.artifact_uri}/model`, run_id: info.run_id });
      await api('POST', 'registered-models/alias', { name: 'served', alias: 'prod', version: '1' });

      for (const version of ['1', '2']) {
        const res = await fetch(
          `${srv.url}/model-versions/get-artifact?name=served&version=${version}&path=MLmodel`,
        );
        assert.equal(res.status, 200);
        assert.equal(await res.text(), 'flavors: {}\n');
      }
      const range = await fetch(`${srv.url}/model-versions/get-artifact?name=served&version=1&path=MLmodel`, {
        headers: { Range: 'bytes=0-6' },
      });
      assert.equal(range.status, 206);
      assert.equal(await range.text(), 'flavors');

      const missing = await fetch(
        `${srv.url}/model-versions/get-artifact?name=served&version=1&path=nope.txt`,
      );
      assert.equal(missing.status, 404);
      const climbing = await fetch(
        `${srv.url}/model-versions/get-artifact?name=served&version=1&path=${encodeURIComponent('../../x')}`,
      );
      assert.equal(climbing.status, 400);
      assert.equal(((await climbing.json()) as { error_code: string }).error_code, 'INVALID_PARAMETER_VALUE');
      const unknown = await fetch(`${srv.url}/model-versions/get-artifact?name=nope&version=1&path=MLmodel`);
      assert.equal(unknown.status, 404);
      const noPath = await fetch(`${srv.url}/model-versions/get-artifact?name=served&version=1`);
      assert.equal(noPath.status, 400);

      // Every models:/ form resolves to a version's storage location when used as a source.
      await api('POST', 'model-versions/transition-stage', {
        name: 'served',
        version: '2',
        stage: 'Staging',
      });
      const expected: Record<string, string> = {
        'models:/served/1': `runs:/${info.run_id}/model`,
        'models:/served/staging': `${info.artifact_uri}/model`,
        'models:/served/latest': `${info.artifact_uri}/model`,
        'models:/served@prod': `runs:/${info.run_id}/model`,
      };
      for (const [source, location] of Object.entries(expected)) {
        const mv = await createVersion('served', { source });
        const uri = await api('GET', 'model-versions/get-download-uri', {
          name: 'served',
          version: mv.version,
        });
        assert.equal(uri.body.artifact_uri, location, source);
      }
      await expectError(
        api('POST', 'model-versions/create', { name: 'served', source: 'models:/served/Production' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /No versions of model with name 'served' and stage 'Production' found/,
      );
      await expectError(
        api('POST', 'model-versions/create', { name: 'served', source: 'models:/served@nope' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Registered model alias nope not found/,
      );
    });
  });
}

for (const dialect of DIALECTS) {
  test(`two servers on one ${dialect} store number the versions of a model without clashing`, async () => {
    // As with --workers: separate processes (here separate servers) write to the same database.
    const store = await freshStoreUri(dialect);
    const artifacts = tempDir('mlflow-ts-artifacts-');
    const config = {
      backendStoreUri: store.uri,
      serveArtifacts: true,
      artifactsDestination: artifacts.dir,
      host: '127.0.0.1',
      port: 0,
    };
    const first = await startServer(config);
    const second = await startServer(config);
    try {
      const apis = [first, second].map((s) => `${s.url}/api/2.0/mlflow`);
      assert.equal((await call(apis[0], 'POST', 'registered-models/create', { name: 'shared' })).status, 200);
      const created = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          call(apis[i % 2], 'POST', 'model-versions/create', { name: 'shared', source: `s3://b/${i}` }),
        ),
      );
      for (const res of created) assert.equal(res.status, 200, JSON.stringify(res.body));
      const numbers = created.map((r) => Number(r.body.model_version.version)).sort((a, b) => a - b);
      assert.deepEqual(
        numbers,
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
    } finally {
      await first.close();
      await second.close();
      store.cleanup();
      artifacts.cleanup();
    }
  });
}

for (const dialect of DIALECTS) {
  test(`local run artifacts (${dialect}): a source inside the run directory registers and serves its files`, async () => {
    const root = tempDir('mlflow-ts-local-root-');
    const srv = await startTestServer(dialect, { serveArtifacts: false, defaultArtifactRoot: root.dir });
    try {
      await call(srv.api, 'POST', 'registered-models/create', { name: 'local' });
      const run = (await call(srv.api, 'POST', 'runs/create', { experiment_id: '0' })).body.run.info;
      assert.equal(run.artifact_uri, path.join(root.dir, '0', run.run_id, 'artifacts'));
      mkdirSync(path.join(run.artifact_uri, 'model'), { recursive: true });
      writeFileSync(path.join(run.artifact_uri, 'model', 'MLmodel'), 'local\n');
      for (const source of [path.join(run.artifact_uri, 'model'), `file://${run.artifact_uri}/model`]) {
        const res = await call(srv.api, 'POST', 'model-versions/create', {
          name: 'local',
          source,
          run_id: run.run_id,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const file = await fetch(
          `${srv.url}/model-versions/get-artifact?name=local&version=${res.body.model_version.version}&path=MLmodel`,
        );
        assert.equal(file.status, 200);
        assert.equal(await file.text(), 'local\n');
      }
      // A path that climbs out of the run's directory is refused, with the resolved path in the message.
      const outside = await call(srv.api, 'POST', 'model-versions/create', {
        name: 'local',
        source: `${run.artifact_uri}/../../other`,
        run_id: run.run_id,
      });
      assert.equal(outside.status, 400);
      assert.equal(
        outside.body.message.startsWith(
          `Invalid model version source: '${path.join(root.dir, '0', 'other')}'.`,
        ),
        true,
        outside.body.message,
      );
    } finally {
      await srv.close();
      root.cleanup();
    }
  });
}

describe('model registry on an --artifacts-only server', () => {
  test('registry endpoints answer 503', async () => {
    const srv = await startTestServer('sqlite', { artifactsOnly: true });
    try {
      const res = await fetch(`${srv.api}/registered-models/get?name=x`);
      assert.equal(res.status, 503);
      const artifact = await fetch(`${srv.url}/model-versions/get-artifact?name=x&version=1&path=a`);
      assert.equal(artifact.status, 503);
    } finally {
      await srv.close();
    }
  });
});
