import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newMLmodel, parseMLmodel, stringifyMLmodel } from '../src/models/mlmodel.js';
import { call, DIALECTS, startTestServer, type TestServer } from './helpers.js';

// The requests MLflow 3's Python client sends for `mlflow.<flavor>.log_model(...)` inside a run
// (mlflow/models/model.py Model.log), replayed in order over HTTP: read the run's params, create the
// logged model, link it as the run's output, copy the run's metrics of the step onto the model with
// log-batch, upload the model files through the artifact proxy to the model's artifact location, and
// finalize it READY. Then what a later load_model("models:/<id>") reads: the model, its files, its MLmodel.

for (const dialect of DIALECTS) {
  describe(`MLflow 3 log_model request sequence on ${dialect}`, () => {
    let srv: TestServer;
    const api = (
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      endpoint: string,
      body?: Record<string, unknown>,
    ) => call(srv.api, method, endpoint, body);
    const ok = async (res: Promise<{ status: number; body: Record<string, any> }>) => {
      const r = await res;
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };

    before(async () => {
      srv = await startTestServer(dialect);
    });
    after(async () => {
      await srv.close();
    });

    test('log_model in a run, then loading the model by id', async () => {
      const exp = (await ok(api('POST', 'experiments/create', { name: 'log-model-flow' }))).experiment_id;
      const run = (await ok(api('POST', 'runs/create', { experiment_id: exp, start_time: 1 }))).run.info
        .run_id;
      await ok(
        api('POST', 'runs/log-batch', {
          run_id: run,
          params: [{ key: 'C', value: '1.0' }],
          metrics: [
            { key: 'accuracy', value: 0.93, timestamp: 10, step: 0 },
            { key: 'accuracy', value: 0.95, timestamp: 20, step: 1 },
          ],
        }),
      );

      // 1. The run's params become the model's params.
      const params = (await ok(api('GET', 'runs/get', { run_id: run }))).run.data.params;
      const created = await ok(
        api('POST', 'logged-models', {
          experiment_id: exp,
          name: 'model',
          source_run_id: run,
          params,
          tags: [{ key: 'mlflow.user', value: 'someone' }],
        }),
      );
      const model = created.model.info;
      const id: string = model.model_id;
      // 2. The run produced the model at step 0.
      await ok(api('POST', 'runs/outputs', { run_id: run, models: [{ model_id: id, step: 0 }] }));
      // 3. The run's metrics at that step, logged again with the model id.
      const metricKeys = (await ok(api('GET', 'runs/get', { run_id: run }))).run.data.metrics.map(
        (m: { key: string }) => m.key,
      );
      const atStep = [];
      for (const key of metricKeys) {
        const history = (await ok(api('GET', 'metrics/get-history', { run_id: run, metric_key: key })))
          .metrics;
        for (const m of history)
          if (m.step === 0 && m.model_id === undefined) atStep.push({ ...m, run_id: run, model_id: id });
      }
      assert.equal(atStep.length, 1);
      await ok(api('POST', 'runs/log-batch', { run_id: run, metrics: atStep }));
      // 4. The files, uploaded through the artifact proxy under the model's artifact location.
      const prefix = 'mlflow-artifacts:/';
      assert.ok(model.artifact_uri.startsWith(prefix));
      const artifactPath = model.artifact_uri.slice(prefix.length);
      const mlmodel = newMLmodel({
        artifact_path: model.artifact_uri,
        model_uuid: id,
        model_id: id,
        run_id: run,
        flavors: { python_function: { loader_module: 'mlflow.sklearn', model_path: 'model.pkl' } },
        signature: { inputs: [{ type: 'double', name: 'x', required: true }], outputs: [{ type: 'long' }] },
      });
      for (const [name, body] of [
        ['MLmodel', stringifyMLmodel(mlmodel)],
        ['model.pkl', 'pickled bytes'],
      ]) {
        const put = await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/${artifactPath}/${name}`, {
          method: 'PUT',
          body,
        });
        assert.equal(put.status, 200, await put.text());
      }
      // 5. Finalized READY.
      const ready = await ok(
        api('PATCH', `logged-models/${id}`, { model_id: id, status: 'LOGGED_MODEL_READY' }),
      );
      assert.equal(ready.model.info.status, 'LOGGED_MODEL_READY');

      // Loading by id: the model, with its params and the metric of its step, and its files.
      const loaded = (await ok(api('GET', `logged-models/${id}`))).model;
      assert.deepEqual(loaded.data.params, [{ key: 'C', value: '1.0' }]);
      assert.deepEqual(loaded.data.metrics, [
        { key: 'accuracy', value: 0.93, timestamp: 10, step: 0, model_id: id, run_id: run },
      ]);
      const listing = await ok(api('GET', `logged-models/${id}/artifacts/directories`));
      assert.deepEqual(
        listing.files.map((f: { path: string }) => f.path),
        ['MLmodel', 'model.pkl'],
      );
      const proxied = await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/${artifactPath}/MLmodel`);
      const read = parseMLmodel(await proxied.text());
      assert.equal(read.model_id, id);
      assert.equal(read.run_id, run);
      assert.deepEqual(read.signature, mlmodel.signature);
      // And the model is found by searching the experiment for models of that run.
      const found = await ok(
        api('POST', 'logged-models/search', { experiment_ids: [exp], filter: `source_run_id = '${run}'` }),
      );
      assert.deepEqual(
        found.models.map((m: { info: { model_id: string } }) => m.info.model_id),
        [id],
      );
    });
  });
}
