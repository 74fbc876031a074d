import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withModelVersion } from '../src/services/logged-model-service.js';
import { call, DIALECTS, expectError, startTestServer, type TestServer } from './helpers.js';

// MLflow 3's logged-model endpoints over real HTTP on both dialects: the calls MLflow's Python client
// makes from log_model, search with its grammar, metrics linked by model_id, and the bad inputs.

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

test('the mlflow.modelVersions value: appended in Python json.dumps form, listed versions kept', () => {
  assert.equal(withModelVersion(undefined, 'm', 1), '[{"name": "m", "version": 1}]');
  const one = '[{"name": "m", "version": 1}]';
  assert.equal(withModelVersion(one, 'm', 2), '[{"name": "m", "version": 1}, {"name": "m", "version": 2}]');
  assert.equal(withModelVersion(one, 'm', 1), one, 'a listed version is not added again');
  // Older MLflow clients wrote the number as text: still the same version.
  const text = '[{"name":"m","version":"3"}]';
  assert.equal(withModelVersion(text, 'm', 3), text);
  assert.equal(
    withModelVersion(text, 'n', 3),
    '[{"name": "m", "version": "3"}, {"name": "n", "version": 3}]',
  );
  assert.equal(withModelVersion('{"name": "m"}', 'm', 1), one, 'not a list: a new list');
  assert.equal(withModelVersion('', 'm', 1), one);
  assert.equal(withModelVersion('[]', 'é"\\', 1), '[{"name": "\\u00e9\\"\\\\", "version": 1}]');
});

for (const dialect of DIALECTS) {
  describe(`logged models on ${dialect}`, () => {
    let srv: TestServer;
    let experimentId: string;
    const api = (method: Method, endpoint: string, body?: Record<string, unknown>) =>
      call(srv.api, method, endpoint, body);
    const create = async (body: Record<string, unknown> = {}) => {
      const res = await api('POST', 'logged-models', { experiment_id: experimentId, ...body });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.model;
    };

    before(async () => {
      srv = await startTestServer(dialect);
      experimentId = (await api('POST', 'experiments/create', { name: 'models' })).body.experiment_id;
    });
    after(async () => {
      await srv.close();
    });

    test('create, get, finalize: the calls of log_model', async () => {
      const run = (await api('POST', 'runs/create', { experiment_id: experimentId })).body.run;
      const model = await create({
        name: 'clf',
        model_type: 'Classifier',
        source_run_id: run.info.run_id,
        params: [
          { key: 'alpha', value: '0.5' },
          { key: 'depth', value: '3' },
        ],
        tags: [{ key: 'team', value: 'vision' }],
      });
      const info = model.info;
      assert.match(info.model_id, /^m-[0-9a-f]{32}$/);
      assert.equal(info.experiment_id, experimentId);
      assert.equal(info.name, 'clf');
      assert.equal(info.model_type, 'Classifier');
      assert.equal(info.source_run_id, run.info.run_id);
      assert.equal(info.status, 'LOGGED_MODEL_PENDING');
      assert.equal(info.artifact_uri, `mlflow-artifacts:/${experimentId}/models/${info.model_id}/artifacts`);
      assert.equal(info.creation_timestamp_ms, info.last_updated_timestamp_ms);
      assert.deepEqual(info.tags, [{ key: 'team', value: 'vision' }]);
      assert.deepEqual(model.data.params, [
        { key: 'alpha', value: '0.5' },
        { key: 'depth', value: '3' },
      ]);

      const got = await api('GET', `logged-models/${info.model_id}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body.model, model);
      const ajax = await call(`${srv.url}/ajax-api/2.0/mlflow`, 'GET', `logged-models/${info.model_id}`);
      assert.equal(ajax.body.model.info.model_id, info.model_id);

      // The Python client sends the status by name and the id in the body as well as the path.
      const ready = await api('PATCH', `logged-models/${info.model_id}`, {
        model_id: info.model_id,
        status: 'LOGGED_MODEL_READY',
      });
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      assert.equal(ready.body.model.info.status, 'LOGGED_MODEL_READY');
      assert.ok(ready.body.model.info.last_updated_timestamp_ms >= info.creation_timestamp_ms);
      // By number (3 = LOGGED_MODEL_UPLOAD_FAILED), with the id only in the path.
      const failed = await api('PATCH', `logged-models/${info.model_id}`, { status: 3 });
      assert.equal(failed.body.model.info.status, 'LOGGED_MODEL_UPLOAD_FAILED');
    });

    test('a model without a name gets a generated one; without params or tags an empty data', async () => {
      const model = await create();
      assert.match(model.info.name, /^[a-z]+-[a-z]+-\d+$/);
      assert.deepEqual(model.data, {});
      assert.equal(model.info.tags, undefined);
    });

    test('create: bad inputs', async () => {
      await expectError(api('POST', 'logged-models', {}), 400, 'INVALID_PARAMETER_VALUE', /experiment_id/);
      await expectError(
        api('POST', 'logged-models', { experiment_id: '987654' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /No Experiment with id=987654 exists/,
      );
      await expectError(
        api('POST', 'logged-models', { experiment_id: 'abc' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      for (const name of ['a/b', 'a.b', 'a:b', "a'b", '50%']) {
        await expectError(
          api('POST', 'logged-models', { experiment_id: experimentId, name }),
          400,
          'INVALID_PARAMETER_VALUE',
          /Invalid model name/,
        );
      }
      await expectError(
        api('POST', 'logged-models', { experiment_id: experimentId, name: 'x'.repeat(501) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'name' exceeds the maximum length of 500/,
      );
      await expectError(
        api('POST', 'logged-models', { experiment_id: experimentId, params: 'nope' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /params/,
      );
      await expectError(
        api('POST', 'logged-models', { experiment_id: experimentId, tags: [{ value: 'v' }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /tags\[0\]\.key/,
      );
      await expectError(
        api('POST', 'logged-models', {
          experiment_id: experimentId,
          params: [
            { key: 'a', value: '1' },
            { key: 'a', value: '2' },
          ],
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Duplicate parameter keys/,
      );
      await expectError(
        api('POST', 'logged-models', {
          experiment_id: experimentId,
          tags: [{ key: 'k'.repeat(256), value: '' }],
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /tags\[0\]\.key' exceeds the maximum length of 255/,
      );
      await expectError(
        api('POST', 'logged-models', { experiment_id: experimentId, model_type: 7 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /model_type/,
      );
      const gone = (await api('POST', 'experiments/create', { name: 'gone' })).body.experiment_id;
      await api('POST', 'experiments/delete', { experiment_id: gone });
      await expectError(
        api('POST', 'logged-models', { experiment_id: gone }),
        400,
        'INVALID_PARAMETER_VALUE',
        /must be in the 'active' state/,
      );
    });

    test('get, finalize, delete of unknown models; bad statuses', async () => {
      const unknown = 'm-00000000000000000000000000000000';
      const notFound = new RegExp(`Logged model with ID '${unknown}' not found`);
      await expectError(api('GET', `logged-models/${unknown}`), 404, 'RESOURCE_DOES_NOT_EXIST', notFound);
      await expectError(
        api('PATCH', `logged-models/${unknown}`, { status: 'LOGGED_MODEL_READY' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        notFound,
      );
      await expectError(api('DELETE', `logged-models/${unknown}`), 404, 'RESOURCE_DOES_NOT_EXIST', notFound);
      const model = await create();
      const id = model.info.model_id;
      await expectError(api('PATCH', `logged-models/${id}`, {}), 400, 'INVALID_PARAMETER_VALUE', /'status'/);
      await expectError(
        api('PATCH', `logged-models/${id}`, { status: 'DONE' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /status/,
      );
      await expectError(api('PATCH', `logged-models/${id}`, { status: 9 }), 400, 'INVALID_PARAMETER_VALUE');
      // PATCH and DELETE with a body need MLflow's Content-Type only for POST and PUT; a body that is
      // not JSON is still refused.
      const res = await fetch(`${srv.api}/logged-models/${id}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json' },
        body: '{not json',
      });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error_code, 'INVALID_PARAMETER_VALUE');
    });

    test('delete hides a model from get and search; writes to it still find it', async () => {
      const model = await create({ name: 'doomed' });
      const id = model.info.model_id;
      // MLflow's Python client sends the id in a JSON body as well.
      const deleted = await fetch(`${srv.api}/logged-models/${id}`, {
        method: 'DELETE',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model_id: id }),
      });
      assert.equal(deleted.status, 200);
      assert.deepEqual(await deleted.json(), {});
      await expectError(api('GET', `logged-models/${id}`), 404, 'RESOURCE_DOES_NOT_EXIST');
      const found = await api('POST', 'logged-models/search', {
        experiment_ids: [experimentId],
        filter: "name = 'doomed'",
      });
      assert.deepEqual(found.body, {});
      // As in MLflow, deleting again is not an error (the row is still there).
      assert.equal((await api('DELETE', `logged-models/${id}`)).status, 200);
    });

    test('tags: set (upsert), delete, keys with slashes, bad inputs', async () => {
      const model = await create({ tags: [{ key: 'a', value: '1' }] });
      const id = model.info.model_id;
      const set = await api('PATCH', `logged-models/${id}/tags`, {
        tags: [{ key: 'a', value: '2' }, { key: 'path/like', value: 'x' }, { key: 'empty' }],
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.deepEqual(set.body, {});
      let got = (await api('GET', `logged-models/${id}`)).body.model;
      assert.deepEqual(got.info.tags, [
        { key: 'a', value: '2' },
        { key: 'empty', value: '' },
        { key: 'path/like', value: 'x' },
      ]);
      assert.equal((await api('DELETE', `logged-models/${id}/tags/path/like`)).status, 200);
      assert.equal(
        (await api('DELETE', `logged-models/${id}/tags/${encodeURIComponent('empty')}`)).status,
        200,
      );
      got = (await api('GET', `logged-models/${id}`)).body.model;
      assert.deepEqual(got.info.tags, [{ key: 'a', value: '2' }]);

      await expectError(
        api('DELETE', `logged-models/${id}/tags/nope`),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        new RegExp(`No tag with key 'nope' found for model with ID '${id}'`),
      );
      await expectError(
        api('PATCH', 'logged-models/m-unknown/tags', { tags: [{ key: 'a', value: 'b' }] }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(api('DELETE', 'logged-models/m-unknown/tags/a'), 404, 'RESOURCE_DOES_NOT_EXIST');
      await expectError(
        api('PATCH', `logged-models/${id}/tags`, { tags: { key: 'a' } }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api('PATCH', `logged-models/${id}/tags`, { tags: [{ key: 'a', value: 5 }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /tags\[0\]\.value/,
      );
    });

    test('params: logged after creation, write-once, bad inputs', async () => {
      const model = await create({ params: [{ key: 'a', value: '1' }] });
      const id = model.info.model_id;
      const logged = await api('POST', `logged-models/${id}/params`, {
        model_id: id,
        params: [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ],
      });
      assert.equal(logged.status, 200, JSON.stringify(logged.body));
      assert.deepEqual(logged.body, {});
      const got = (await api('GET', `logged-models/${id}`)).body.model;
      assert.deepEqual(got.data.params, [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ]);
      await expectError(
        api('POST', `logged-models/${id}/params`, { params: [{ key: 'a', value: 'other' }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Changing param values is not allowed/,
      );
      await expectError(
        api('POST', 'logged-models/m-unknown/params', { params: [{ key: 'a', value: '1' }] }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('POST', `logged-models/${id}/params`, { params: [{ key: '', value: '1' }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /params\[0\]\.key/,
      );
      // Nothing of a refused request was written.
      const after = (await api('GET', `logged-models/${id}`)).body.model;
      assert.deepEqual(after.data.params, got.data.params);
    });

    test('metrics logged with a model_id attach to the model (log-metric and log-batch)', async () => {
      const run = (await api('POST', 'runs/create', { experiment_id: experimentId })).body.run.info.run_id;
      const model = await create({ source_run_id: run });
      const id = model.info.model_id;
      let res = await api('POST', 'runs/log-metric', {
        run_id: run,
        key: 'acc',
        value: 0.9,
        timestamp: 1000,
        step: 1,
        model_id: id,
        dataset_name: 'val',
        dataset_digest: 'abc123',
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      res = await api('POST', 'runs/log-batch', {
        run_id: run,
        metrics: [
          { key: 'acc', value: 0.95, timestamp: 2000, step: 2, model_id: id, dataset_name: 'val' },
          { key: 'loss', value: 'NaN', timestamp: 2000, step: 2, model_id: id },
          { key: 'plain', value: 1, timestamp: 2000, step: 0 },
        ],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      // The same point again is recorded once.
      await api('POST', 'runs/log-metric', {
        run_id: run,
        key: 'acc',
        value: 0.9,
        timestamp: 1000,
        step: 1,
        model_id: id,
        dataset_name: 'val',
        dataset_digest: 'abc123',
      });
      const got = (await api('GET', `logged-models/${id}`)).body.model;
      assert.deepEqual(got.data.metrics, [
        {
          key: 'acc',
          value: 0.9,
          timestamp: 1000,
          step: 1,
          dataset_name: 'val',
          dataset_digest: 'abc123',
          model_id: id,
          run_id: run,
        },
        { key: 'acc', value: 0.95, timestamp: 2000, step: 2, dataset_name: 'val', model_id: id, run_id: run },
        { key: 'loss', value: 'NaN', timestamp: 2000, step: 2, model_id: id, run_id: run },
      ]);
      // The run has them all, as before.
      const runData = (await api('GET', 'runs/get', { run_id: run })).body.run.data;
      assert.deepEqual(runData.metrics.map((m: { key: string }) => m.key).sort(), ['acc', 'loss', 'plain']);

      // A metric naming an unknown model fails the whole request and writes nothing.
      await expectError(
        api('POST', 'runs/log-batch', {
          run_id: run,
          metrics: [
            { key: 'late', value: 1, timestamp: 3000, step: 3 },
            { key: 'late', value: 2, timestamp: 3000, step: 4, model_id: 'm-nope' },
          ],
        }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /Logged model with ID 'm-nope' not found/,
      );
      const history = await api('GET', 'metrics/get-history', { run_id: run, metric_key: 'late' });
      assert.deepEqual(history.body, {});
      await expectError(
        api('POST', 'runs/log-metric', {
          run_id: run,
          key: 'x',
          value: 1,
          timestamp: 1,
          model_id: id,
          dataset_digest: 'd'.repeat(37),
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'dataset_digest' exceeds the maximum length of 36/,
      );
      await expectError(
        api('POST', 'runs/log-batch', {
          run_id: run,
          metrics: [{ key: 'x', value: 1, timestamp: 1, model_id: 5 }],
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /metrics\[0\]\.model_id/,
      );
    });

    test('runs/outputs links a run to the models it produced (log_model in a run calls it)', async () => {
      const run = (await api('POST', 'runs/create', { experiment_id: experimentId })).body.run.info.run_id;
      const model = await create({ source_run_id: run });
      const id = model.info.model_id;
      const ok = await api('POST', 'runs/outputs', { run_id: run, models: [{ model_id: id, step: 0 }] });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.deepEqual(ok.body, {});
      // Again: a no-op, not a conflict.
      assert.equal(
        (await api('POST', 'runs/outputs', { run_id: run, models: [{ model_id: id, step: 0 }] })).status,
        200,
      );
      // The run shows the models it produced and (log-inputs' models) the ones it used.
      const used = await create();
      const logged = await api('POST', 'runs/log-inputs', {
        run_id: run,
        models: [{ model_id: used.info.model_id }],
      });
      assert.equal(logged.status, 200, JSON.stringify(logged.body));
      const shown = (await api('GET', 'runs/get', { run_id: run })).body.run;
      assert.deepEqual(shown.outputs, { model_outputs: [{ model_id: id, step: 0 }] });
      assert.deepEqual(shown.inputs, { model_inputs: [{ model_id: used.info.model_id }] });
      const searched = (
        await api('POST', 'runs/search', {
          experiment_ids: [experimentId],
          filter: `attributes.run_id = '${run}'`,
        })
      ).body.runs[0];
      assert.deepEqual(searched.outputs, shown.outputs);
      assert.deepEqual(searched.inputs, shown.inputs);
      await expectError(
        api('POST', 'runs/log-inputs', { run_id: run, models: [{}] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /models\[0\]\.model_id/,
      );
      // Runs without model links keep MLflow 2's shape.
      const plain = (await api('POST', 'runs/create', { experiment_id: experimentId })).body.run.info.run_id;
      const plainRun = (await api('GET', 'runs/get', { run_id: plain })).body.run;
      assert.equal(plainRun.outputs, undefined);
      assert.deepEqual(plainRun.inputs, {});
      await expectError(
        api('POST', 'runs/outputs', { run_id: run }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'models'/,
      );
      await expectError(
        api('POST', 'runs/outputs', { models: [] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'run_id'/,
      );
      await expectError(
        api('POST', 'runs/outputs', { run_id: run, models: [{ model_id: id }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /models\[0\]\.step/,
      );
      await expectError(
        api('POST', 'runs/outputs', { run_id: run, models: [{ model_id: id, step: 'x' }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /models\[0\]\.step/,
      );
      await expectError(
        api('POST', 'runs/outputs', { run_id: run, models: [{ step: 1 }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /models\[0\]\.model_id/,
      );
      await expectError(
        api('POST', 'runs/outputs', { run_id: 'nope', models: [{ model_id: id, step: 1 }] }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await api('POST', 'runs/delete', { run_id: run });
      await expectError(
        api('POST', 'runs/outputs', { run_id: run, models: [{ model_id: id, step: 1 }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /must be in the 'active' state/,
      );
    });

    test('versions created from a logged model are listed in its mlflow.modelVersions tag', async () => {
      const model = await create({ name: 'registered' });
      const id = model.info.model_id;
      const tagOf = async (modelId: string) =>
        (await api('GET', `logged-models/${modelId}`)).body.model.info.tags?.find(
          (t: { key: string }) => t.key === 'mlflow.modelVersions',
        )?.value;
      const register = async (name: string, body: Record<string, unknown>) => {
        const created = await api('POST', 'model-versions/create', { name, ...body });
        assert.equal(created.status, 200, JSON.stringify(created.body));
        return created.body.model_version;
      };
      for (const name of ['lm-reg', 'modèle', 'plain', 'prompt-reg']) {
        const made = await api('POST', 'registered-models/create', { name });
        assert.equal(made.status, 200, JSON.stringify(made.body));
      }

      // As MLflow's handler writes it: Python's json.dumps of [{name, version}], the version a number.
      const v1 = await register('lm-reg', { source: `models:/${id}`, model_id: id });
      assert.equal(v1.version, '1');
      assert.equal(await tagOf(id), '[{"name": "lm-reg", "version": 1}]');
      await register('modèle', { source: model.info.artifact_uri, model_id: id });
      await register('lm-reg', { source: `models:/${id}`, model_id: id });
      assert.equal(
        await tagOf(id),
        '[{"name": "lm-reg", "version": 1}, {"name": "mod\\u00e8le", "version": 1}, {"name": "lm-reg", "version": 2}]',
      );
      assert.deepEqual(JSON.parse(await tagOf(id))[1], { name: 'modèle', version: 1 });

      // Without model_id (a plain source, or only a models:/<id> source) nothing is recorded, as in
      // MLflow's handler; neither for a prompt version.
      const other = (await create()).info.model_id;
      await register('plain', { source: `models:/${other}` });
      await register('prompt-reg', {
        source: 'dummy-source',
        model_id: other,
        tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }],
      });
      assert.equal(await tagOf(other), undefined);

      // A value that is not a JSON list is replaced by a new list.
      const broken = (await create({ tags: [{ key: 'mlflow.modelVersions', value: 'not json' }] })).info
        .model_id;
      await register('plain', { source: `models:/${broken}`, model_id: broken });
      assert.equal(await tagOf(broken), '[{"name": "plain", "version": 2}]');

      // Concurrent registrations of one logged model each end up in the list.
      const shared = (await create()).info.model_id;
      const versions = await Promise.all(
        Array.from({ length: 8 }, () =>
          register('lm-reg', { source: `models:/${shared}`, model_id: shared }),
        ),
      );
      const listed: { name: string; version: number }[] = JSON.parse(await tagOf(shared));
      assert.deepEqual(
        listed.map((e) => e.version).sort((a, b) => a - b),
        versions.map((v: { version: string }) => Number(v.version)).sort((a, b) => a - b),
      );
      assert.ok(listed.every((e) => e.name === 'lm-reg'));

      // An unknown or deleted logged model fails before any version is made.
      const before = (await api('GET', 'model-versions/search', { filter: "name = 'lm-reg'" })).body
        .model_versions.length;
      await expectError(
        api('POST', 'model-versions/create', { name: 'lm-reg', source: 's3://b/m', model_id: 'm-nope' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        "Logged model with ID 'm-nope' not found.",
      );
      await expectError(
        api('POST', 'model-versions/create', {
          name: 'lm-reg',
          source: 'models:/m-nope',
          model_id: 'm-nope',
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /^Unable to fetch model from model URI source artifact location 'models:\/m-nope'.*not found/,
      );
      await expectError(
        api('POST', 'model-versions/create', {
          name: 'lm-reg',
          source: 's3://b/m',
          model_id: 'm-nope',
          run_id: 'r'.repeat(32),
        }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      const gone = (await create()).info.model_id;
      assert.equal((await api('DELETE', `logged-models/${gone}`)).status, 200);
      await expectError(
        api('POST', 'model-versions/create', { name: 'lm-reg', source: 's3://b/m', model_id: gone }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      const afterCount = (await api('GET', 'model-versions/search', { filter: "name = 'lm-reg'" })).body
        .model_versions.length;
      assert.equal(afterCount, before);
    });

    test('artifact directory listing under the model artifact location', async () => {
      const model = await create();
      const id = model.info.model_id;
      // Files as a client uploads them through the proxy: <destination>/<exp>/models/<id>/artifacts/...
      const root = path.join(srv.artifactsDir, experimentId, 'models', id, 'artifacts');
      mkdirSync(path.join(root, 'sub'), { recursive: true });
      writeFileSync(path.join(root, 'MLmodel'), 'artifact_path: model\n');
      writeFileSync(path.join(root, 'sub', 'weights.bin'), 'abcd');
      const top = await api('GET', `logged-models/${id}/artifacts/directories`);
      assert.equal(top.status, 200, JSON.stringify(top.body));
      assert.equal(top.body.root_uri, model.info.artifact_uri);
      assert.deepEqual(top.body.files, [
        { path: 'MLmodel', is_dir: false, file_size: 21 },
        { path: 'sub', is_dir: true },
      ]);
      const sub = await api('GET', `logged-models/${id}/artifacts/directories`, {
        artifact_directory_path: 'sub',
      });
      assert.deepEqual(sub.body.files, [{ path: 'sub/weights.bin', is_dir: false, file_size: 4 }]);
      await expectError(
        api('GET', `logged-models/${id}/artifacts/directories`, { artifact_directory_path: '../..' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api('GET', 'logged-models/m-unknown/artifacts/directories'),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      // The UI's file download.
      const file = await fetch(
        `${srv.url}/ajax-api/2.0/mlflow/logged-models/${id}/artifacts/files?artifact_file_path=sub/weights.bin`,
      );
      assert.equal(file.status, 200);
      assert.equal(await file.text(), 'abcd');
      const noPath = await fetch(`${srv.url}/ajax-api/2.0/mlflow/logged-models/${id}/artifacts/files`);
      assert.equal(noPath.status, 400);
      assert.equal((await noPath.json()).error_code, 'BAD_REQUEST');
    });

    describe('search', () => {
      let exp: string;
      const ids: Record<string, string> = {};
      const search = (body: Record<string, unknown>) =>
        api('POST', 'logged-models/search', { experiment_ids: [exp], ...body });
      const names = async (body: Record<string, unknown>) => {
        const res = await search(body);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return (res.body.models ?? []).map((m: { info: { name: string } }) => m.info.name);
      };

      before(async () => {
        exp = (await api('POST', 'experiments/create', { name: 'search-models' })).body.experiment_id;
        const run = (await api('POST', 'runs/create', { experiment_id: exp })).body.run.info.run_id;
        const specs = [
          { name: 'alpha', type: 'LLM', lr: '0.1', acc: [0.7, 0.8], ds: 'train' },
          { name: 'beta', type: 'Classifier', lr: '0.01', acc: [0.9], ds: 'test' },
          { name: 'gamma', type: 'Classifier', lr: '0.001', acc: [], ds: 'test' },
          { name: 'delta', type: 'Agent', lr: '0.1', acc: [0.6], ds: 'test' },
        ];
        for (const [i, s] of specs.entries()) {
          const res = await api('POST', 'logged-models', {
            experiment_id: exp,
            name: s.name,
            model_type: s.type,
            params: [{ key: 'lr', value: s.lr }],
            tags: [{ key: 'order', value: String(i) }],
          });
          const id = res.body.model.info.model_id;
          ids[s.name] = id;
          for (const [step, value] of s.acc.entries()) {
            await api('POST', 'runs/log-metric', {
              run_id: run,
              key: 'acc',
              value,
              timestamp: 100 + step,
              step,
              model_id: id,
              dataset_name: s.ds,
              dataset_digest: `${s.ds}-d`,
            });
          }
          // Creation times must differ for the default order.
          await new Promise((r) => setTimeout(r, 5));
        }
        await api('PATCH', `logged-models/${ids.beta}`, { status: 'LOGGED_MODEL_READY' });
      });

      test('default order: newest first', async () => {
        assert.deepEqual(await names({}), ['delta', 'gamma', 'beta', 'alpha']);
      });

      test('attributes, params, tags and metrics in the filter', async () => {
        assert.deepEqual(await names({ filter: "name = 'beta'" }), ['beta']);
        assert.deepEqual(await names({ filter: "attributes.name LIKE '%a'" }), [
          'delta',
          'gamma',
          'beta',
          'alpha',
        ]);
        assert.deepEqual(await names({ filter: "name ILIKE 'AL%'" }), ['alpha']);
        assert.deepEqual(await names({ filter: "name IN ('alpha', 'gamma')" }), ['gamma', 'alpha']);
        assert.deepEqual(await names({ filter: "model_type != 'Classifier'" }), ['delta', 'alpha']);
        assert.deepEqual(await names({ filter: "model_type NOT IN ('Classifier', 'LLM')" }), ['delta']);
        // MLflow reads an unquoted value of a text key as its text.
        assert.deepEqual(await names({ filter: 'params.lr = 0.1' }), ['delta', 'alpha']);
        assert.deepEqual(await names({ filter: "params.lr = '0.01'" }), ['beta']);
        assert.deepEqual(await names({ filter: "tags.order = '2'" }), ['gamma']);
        assert.deepEqual(await names({ filter: 'metrics.acc > 0.75' }), ['beta', 'alpha']);
        assert.deepEqual(await names({ filter: 'metrics.acc <= 0.7 AND params.lr = 0.1' }), [
          'delta',
          'alpha',
        ]);
        assert.deepEqual(await names({ filter: "status = 'READY'" }), ['beta']);
        assert.deepEqual(await names({ filter: "status = 'LOGGED_MODEL_PENDING'" }), [
          'delta',
          'gamma',
          'alpha',
        ]);
        assert.deepEqual(await names({ filter: `model_id = '${ids.gamma}'` }), ['gamma']);
        const created = (await search({ filter: "name = 'beta'" })).body.models[0].info.creation_timestamp_ms;
        assert.deepEqual(await names({ filter: `creation_time > ${created}` }), ['delta', 'gamma']);
        assert.deepEqual(await names({ filter: `creation_timestamp_ms <= ${created}` }), ['beta', 'alpha']);
        assert.deepEqual(await names({ filter: "name = 'alpha' OR name = 'delta'" }), ['delta', 'alpha']);
      });

      test('datasets restrict metric clauses, or alone keep models with metrics on them', async () => {
        assert.deepEqual(await names({ datasets: [{ dataset_name: 'test' }] }), ['delta', 'beta']);
        assert.deepEqual(
          await names({ filter: 'metrics.acc > 0.5', datasets: [{ dataset_name: 'train' }] }),
          ['alpha'],
        );
        assert.deepEqual(await names({ datasets: [{ dataset_name: 'test', dataset_digest: 'other' }] }), []);
        assert.deepEqual(
          await names({
            datasets: [{ dataset_name: 'test', dataset_digest: 'test-d' }, { dataset_name: 'train' }],
          }),
          ['delta', 'beta', 'alpha'],
        );
      });

      test('order_by attributes and metrics (latest value, missing last)', async () => {
        assert.deepEqual(await names({ order_by: [{ field_name: 'name' }] }), [
          'alpha',
          'beta',
          'delta',
          'gamma',
        ]);
        assert.deepEqual(await names({ order_by: [{ field_name: 'name', ascending: false }] }), [
          'gamma',
          'delta',
          'beta',
          'alpha',
        ]);
        assert.deepEqual(await names({ order_by: [{ field_name: 'creation_timestamp', ascending: true }] }), [
          'alpha',
          'beta',
          'gamma',
          'delta',
        ]);
        // alpha's latest acc is 0.8 (step 1), not its first 0.7; gamma has none and comes last.
        assert.deepEqual(await names({ order_by: [{ field_name: 'metrics.acc', ascending: false }] }), [
          'beta',
          'alpha',
          'delta',
          'gamma',
        ]);
        assert.deepEqual(await names({ order_by: [{ field_name: 'metrics.acc', ascending: true }] }), [
          'delta',
          'alpha',
          'beta',
          'gamma',
        ]);
        assert.deepEqual(
          await names({ order_by: [{ field_name: 'metrics.acc', ascending: true, dataset_name: 'train' }] }),
          ['alpha', 'delta', 'gamma', 'beta'],
        );
      });

      test('pages with MLflow-style tokens', async () => {
        const first = await search({ max_results: 3, order_by: [{ field_name: 'name' }] });
        assert.equal(first.status, 200);
        assert.deepEqual(
          first.body.models.map((m: { info: { name: string } }) => m.info.name),
          ['alpha', 'beta', 'delta'],
        );
        const token = first.body.next_page_token;
        assert.equal(typeof token, 'string');
        const decoded = JSON.parse(Buffer.from(token, 'base64').toString());
        assert.equal(decoded.offset, 3);
        assert.deepEqual(decoded.experiment_ids, [exp]);
        const second = await search({
          max_results: 3,
          order_by: [{ field_name: 'name' }],
          page_token: token,
        });
        assert.deepEqual(
          second.body.models.map((m: { info: { name: string } }) => m.info.name),
          ['gamma'],
        );
        assert.equal(second.body.next_page_token, undefined);
        // A token belongs to its request.
        await expectError(
          search({ max_results: 3, page_token: token }),
          400,
          'INVALID_PARAMETER_VALUE',
          /Order by in the page token does not match/,
        );
        await expectError(
          search({
            max_results: 3,
            order_by: [{ field_name: 'name' }],
            page_token: token,
            filter: "name = 'x'",
          }),
          400,
          'INVALID_PARAMETER_VALUE',
          /Filter string in the page token does not match/,
        );
        await expectError(
          api('POST', 'logged-models/search', {
            experiment_ids: [exp, '0'],
            order_by: [{ field_name: 'name' }],
            page_token: token,
          }),
          400,
          'INVALID_PARAMETER_VALUE',
          /Experiment IDs in the page token do not match/,
        );
        await expectError(
          search({ page_token: 'not base64!' }),
          400,
          'INVALID_PARAMETER_VALUE',
          /Invalid page token/,
        );
        await expectError(
          search({ page_token: Buffer.from('{"offset": 1').toString('base64') }),
          400,
          'INVALID_PARAMETER_VALUE',
          /Invalid page token/,
        );
      });

      test('bad searches', async () => {
        await expectError(
          api('POST', 'logged-models/search', {}),
          400,
          'INVALID_PARAMETER_VALUE',
          /experiment_ids/,
        );
        const bad: [Record<string, unknown>, RegExp][] = [
          [{ filter: 'metric.acc > 1' }, /Invalid entity type: 'metric'/],
          [{ filter: "metrics.acc LIKE '1'" }, /Invalid comparison operator for metrics\.acc: 'LIKE'/],
          [{ filter: "metrics.acc > 'high'" }, /Expected a number/],
          [{ filter: "params.lr > '1'" }, /Invalid comparison operator for params\.lr/],
          [{ filter: "nonsense = 'x'" }, /Invalid attribute key 'nonsense'/],
          [{ filter: "name = 'x' AND" }, /Invalid clause/],
          [{ filter: "status = 'SHINY'" }, /Invalid status 'SHINY'/],
          [{ filter: 'tags.t IS NULL' }, /Invalid comparison operator/],
          [{ order_by: [{ field_name: 'nope' }] }, /Invalid order by field name: nope/],
          [{ order_by: [{ field_name: 'params.lr' }] }, /Only metrics are supported/],
          [{ order_by: [{ ascending: true }] }, /order_by\[0\]\.field_name/],
          [{ order_by: [{ field_name: 'name', ascending: 'yes' }] }, /order_by\[0\]\.ascending/],
          [
            { datasets: [{ dataset_digest: 'x' }] },
            /`dataset_name` in the `datasets` clause must be specified/,
          ],
          [{ max_results: -1 }, /max_results/],
          [{ max_results: 50001 }, /max_results/],
        ];
        for (const [body, message] of bad) {
          await expectError(search(body), 400, 'INVALID_PARAMETER_VALUE', message);
        }
      });

      test('an experiment id that is not a number finds nothing', async () => {
        const res = await api('POST', 'logged-models/search', { experiment_ids: ['abc'] });
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, {});
      });
    });
  });
}
