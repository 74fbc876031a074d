import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, DIALECTS, expectError, startTestServer, type TestServer } from './helpers.js';

// The REST contract over real HTTP: MLflow's paths, JSON shapes, error codes and statuses.

for (const dialect of DIALECTS) {
  describe(`REST API on ${dialect}`, () => {
    let srv: TestServer;
    const api = (method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>) =>
      call(srv.api, method, endpoint, body);

    before(async () => {
      srv = await startTestServer(dialect);
    });
    after(async () => {
      await srv.close();
    });

    test('health, version and server info', async () => {
      const health = await fetch(`${srv.url}/health`);
      assert.equal(health.status, 200);
      assert.equal(await health.text(), 'OK');
      assert.match(await (await fetch(`${srv.url}/version`)).text(), /^\d+\.\d+\.\d+/);
      const info = await call(srv.url, 'GET', 'api/2.0/mlflow/server-features');
      assert.equal(info.status, 200);
      assert.equal(info.body.store_type, 'SqlStore');
    });

    test('a whole tracking flow, under /api and /ajax-api', async () => {
      const created = await api('POST', 'experiments/create', {
        name: 'flow',
        tags: [{ key: 'a', value: 'b' }],
      });
      assert.equal(created.status, 200);
      const experimentId = created.body.experiment_id;
      assert.equal(typeof experimentId, 'string');

      const byName = await api('GET', 'experiments/get-by-name', { experiment_name: 'flow' });
      assert.equal(byName.body.experiment.experiment_id, experimentId);
      assert.deepEqual(byName.body.experiment.tags, [{ key: 'a', value: 'b' }]);
      const ajax = await call(`${srv.url}/ajax-api/2.0/mlflow`, 'GET', 'experiments/get', {
        experiment_id: experimentId,
      });
      assert.equal(ajax.body.experiment.name, 'flow');

      const run = await api('POST', 'runs/create', {
        experiment_id: experimentId,
        start_time: 1000,
        user_id: 'u',
        run_name: 'r1',
      });
      assert.equal(run.status, 200);
      const info = run.body.run.info;
      assert.equal(info.run_name, 'r1');
      assert.equal(info.status, 'RUNNING');
      assert.equal(info.start_time, 1000);
      assert.equal(info.end_time, undefined, 'unset fields are omitted');
      assert.deepEqual(run.body.run.data, { tags: [{ key: 'mlflow.runName', value: 'r1' }] });
      const runId = info.run_id;

      assert.deepEqual(
        (await api('POST', 'runs/log-parameter', { run_id: runId, key: 'lr', value: '0.1' })).body,
        {},
      );
      assert.equal(
        (
          await api('POST', 'runs/log-metric', {
            run_uuid: runId,
            key: 'loss',
            value: 1.5,
            timestamp: 5,
            step: 1,
          })
        ).status,
        200,
      );
      assert.equal(
        (
          await api('POST', 'runs/log-metric', {
            run_id: runId,
            key: 'loss',
            value: 'NaN',
            timestamp: '6',
            step: '2',
          })
        ).status,
        200,
      );
      assert.equal(
        (await api('POST', 'runs/log-metric', { run_id: runId, key: 'big', value: 'Infinity', timestamp: 6 }))
          .status,
        200,
      );
      const batch = await api('POST', 'runs/log-batch', {
        run_id: runId,
        metrics: [{ key: 'acc', value: 0.9, timestamp: 7, step: 3 }],
        params: [{ key: 'layers', value: '3' }],
        tags: [{ key: 'team', value: 'vision' }],
      });
      assert.equal(batch.status, 200);
      assert.equal(
        (await api('POST', 'runs/set-tag', { run_id: runId, key: 'gone', value: 'x' })).status,
        200,
      );
      assert.equal((await api('POST', 'runs/delete-tag', { run_id: runId, key: 'gone' })).status, 200);

      const got = await api('GET', 'runs/get', { run_id: runId });
      const metrics = Object.fromEntries(got.body.run.data.metrics.map((m: { key: string }) => [m.key, m]));
      assert.deepEqual(metrics.loss, { key: 'loss', value: 'NaN', timestamp: 6, step: 2 });
      assert.equal(metrics.big.value, 1.7976931348623157e308);
      assert.deepEqual(got.body.run.data.params, [
        { key: 'layers', value: '3' },
        { key: 'lr', value: '0.1' },
      ]);
      assert.ok(!got.body.run.data.tags.some((t: { key: string }) => t.key === 'gone'));

      const history = await api('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss' });
      assert.deepEqual(history.body, {
        metrics: [
          { key: 'loss', value: 1.5, timestamp: 5, step: 1 },
          { key: 'loss', value: 'NaN', timestamp: 6, step: 2 },
        ],
      });
      const bulk = await call(`${srv.url}/ajax-api/2.0/mlflow`, 'GET', 'metrics/get-history-bulk', {
        run_id: [runId],
        metric_key: 'loss',
      });
      assert.equal(bulk.body.metrics.length, 2);
      assert.equal(bulk.body.metrics[0].run_id, runId);
      assert.equal(
        (await api('GET', 'metrics/get-history-bulk', { run_id: [runId], metric_key: 'loss' })).status,
        404,
        'ajax only',
      );
      const interval = await api('GET', 'metrics/get-history-bulk-interval', {
        run_ids: [runId],
        metric_key: 'loss',
        max_results: 10,
      });
      assert.equal(interval.body.metrics.length, 2);

      const found = await api('POST', 'runs/search', {
        experiment_ids: [experimentId],
        filter: "params.lr = '0.1' and metrics.acc > 0.5",
      });
      assert.deepEqual(
        found.body.runs.map((r: { info: { run_id: string } }) => r.info.run_id),
        [runId],
      );
      const none = await api('POST', 'runs/search', {
        experiment_ids: [experimentId],
        filter: 'metrics.acc > 0.95',
      });
      assert.deepEqual(none.body, {});

      const updated = await api('POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: 2000 });
      assert.equal(updated.body.run_info.status, 'FINISHED');
      assert.equal(updated.body.run_info.end_time, 2000);

      const inputs = await api('POST', 'runs/log-inputs', {
        run_id: runId,
        datasets: [
          {
            dataset: { name: 'd', digest: 'x1', source_type: 'local', source: '/d' },
            tags: [{ key: 'mlflow.data.context', value: 'train' }],
          },
        ],
      });
      assert.equal(inputs.status, 200);
      const withInputs = await api('GET', 'runs/get', { run_id: runId });
      assert.equal(withInputs.body.run.inputs.dataset_inputs[0].dataset.name, 'd');

      assert.equal((await api('POST', 'runs/delete', { run_id: runId })).status, 200);
      const deleted = await api('POST', 'runs/search', {
        experiment_ids: [experimentId],
        run_view_type: 'DELETED_ONLY',
      });
      assert.equal(deleted.body.runs.length, 1);
      assert.equal((await api('POST', 'runs/restore', { run_id: runId })).status, 200);

      const searched = await api('GET', 'experiments/search', {
        filter: "name = 'flow'",
        order_by: ['name ASC', 'creation_time DESC'],
        max_results: 5,
      });
      assert.deepEqual(
        searched.body.experiments.map((e: { name: string }) => e.name),
        ['flow'],
      );
      const posted = await api('POST', 'experiments/search', { max_results: 1, view_type: 'ALL' });
      assert.equal(posted.body.experiments.length, 1);
      assert.ok(posted.body.next_page_token);

      assert.equal(
        (await api('POST', 'experiments/update', { experiment_id: experimentId, new_name: 'flow2' })).status,
        200,
      );
      assert.equal(
        (
          await api('POST', 'experiments/set-experiment-tag', {
            experiment_id: experimentId,
            key: 'k',
            value: 'v',
          })
        ).status,
        200,
      );
      assert.equal(
        (await api('POST', 'experiments/delete-experiment-tag', { experiment_id: experimentId, key: 'k' }))
          .status,
        200,
      );
      assert.equal((await api('POST', 'experiments/delete', { experiment_id: experimentId })).status, 200);
      assert.equal(
        (await api('GET', 'experiments/get', { experiment_id: experimentId })).body.experiment
          .lifecycle_stage,
        'deleted',
      );
      assert.equal((await api('POST', 'experiments/restore', { experiment_id: experimentId })).status, 200);
    });

    test('search returns every param, tag and metric exactly, including awkward characters and numbers', async () => {
      const exp = await api('POST', 'experiments/create', { name: 'exact-values' });
      const run = await api('POST', 'runs/create', {
        experiment_id: exp.body.experiment_id,
        run_name: 'exact',
      });
      const runId = run.body.run.info.run_id;
      const awkward = [
        'quote"d',
        'back\\slash',
        'new\nline',
        'tab\tand\u0001ctl',
        'emoji 🚀 ü',
        'a'.repeat(300),
      ];
      const params = awkward.map((value, i) => ({ key: `p${i}`, value }));
      const tags = awkward.map((value, i) => ({ key: `t${i}`, value }));
      const values = [
        0.1,
        1 / 3,
        1e308,
        1.7976931348623157e308,
        5,
        2 ** 53,
        0.30000000000000004,
        1e-300,
        -2.5,
      ];
      const metrics = values.map((value, i) => ({
        key: `m${i}`,
        value,
        timestamp: 1700000000000 + i,
        step: i,
      }));
      const logged = await api('POST', 'runs/log-batch', {
        run_id: runId,
        params,
        tags,
        metrics: [...metrics, { key: 'nan', value: 'NaN', timestamp: 1, step: 3 }],
      });
      assert.equal(logged.status, 200, JSON.stringify(logged.body));

      const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
      const found = await api('POST', 'runs/search', { experiment_ids: [exp.body.experiment_id] });
      assert.equal(found.status, 200);
      const data = found.body.runs[0].data;
      assert.deepEqual(data.params, [...params].sort(byKey));
      const expectedTags = [...tags, { key: 'mlflow.runName', value: 'exact' }].sort(byKey);
      assert.deepEqual(data.tags, expectedTags);
      assert.deepEqual(
        data.metrics,
        [...metrics, { key: 'nan', value: 'NaN', timestamp: 1, step: 3 }].sort(byKey),
      );
      const got = await api('GET', 'runs/get', { run_id: runId });
      assert.deepEqual(got.body.run.data, data);

      // A run with nothing logged has no lists at all in its JSON, as MLflow's protobuf mapping writes it.
      const bare = await api('POST', 'runs/create', { experiment_id: exp.body.experiment_id });
      await api('POST', 'runs/delete-tag', { run_id: bare.body.run.info.run_id, key: 'mlflow.runName' });
      const again = await api('POST', 'runs/search', {
        experiment_ids: [exp.body.experiment_id],
        filter: `attributes.run_id = '${bare.body.run.info.run_id}'`,
      });
      assert.deepEqual(again.body.runs[0].data, {});
    });

    test('bad requests get MLflow errors with 4xx statuses and write nothing', async () => {
      const exp = (await api('POST', 'experiments/create', { name: 'bad-inputs' })).body.experiment_id;
      const runId = (await api('POST', 'runs/create', { experiment_id: exp })).body.run.info.run_id;

      await expectError(
        api('POST', 'experiments/create', {}),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'name'/,
      );
      await expectError(
        api('POST', 'experiments/create', { name: 123 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid value 123 for parameter 'name' supplied. Hint: Value was of type 'int'/,
      );
      await expectError(
        api('POST', 'experiments/create', { name: 'bad-inputs' }),
        400,
        'RESOURCE_ALREADY_EXISTS',
      );
      await expectError(
        api('POST', 'experiments/create', { name: 'x'.repeat(501) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /500/,
      );
      await expectError(
        api('GET', 'experiments/get', { experiment_id: '424242' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(api('GET', 'experiments/get', {}), 400, 'INVALID_PARAMETER_VALUE', /experiment_id/);
      await expectError(
        api('GET', 'experiments/get-by-name', { experiment_name: 'nope' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(api('GET', 'runs/get', { run_id: 'f'.repeat(32) }), 404, 'RESOURCE_DOES_NOT_EXIST');
      await expectError(
        api('POST', 'runs/create', { experiment_id: '99999' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('POST', 'runs/log-metric', { run_id: runId, key: 'm', value: 'abc', timestamp: 1 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'value'/,
      );
      await expectError(
        api('POST', 'runs/log-metric', { run_id: runId, key: 'm', value: 1 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'timestamp'/,
      );
      await expectError(
        api('POST', 'runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1.5 }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api('POST', 'runs/log-metric', { key: 'm', value: 1, timestamp: 1 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /run_id/,
      );
      await expectError(
        api('POST', 'runs/log-parameter', { run_id: runId, key: 'k'.repeat(251), value: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /250/,
      );
      await expectError(
        api('POST', 'runs/set-tag', { run_id: runId, key: 'bad key!', value: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Names may only contain/,
      );
      // Letters and digits of any script are word characters in MLflow's (Python) pattern; emoji are not.
      assert.equal(
        (await api('POST', 'runs/set-tag', { run_id: runId, key: '学习率_٣ é', value: '1' })).status,
        200,
      );
      await expectError(
        api('POST', 'runs/log-parameter', { run_id: runId, key: 'fire🔥', value: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Names may only contain/,
      );
      await expectError(
        api('POST', 'runs/update', { run_id: runId, status: 'DONE' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /status/,
      );

      const tooMany = Array.from({ length: 1001 }, (_, i) => ({
        key: `m${i}`,
        value: i,
        timestamp: 1,
        step: 0,
      }));
      await expectError(
        api('POST', 'runs/log-batch', { run_id: runId, metrics: tooMany }),
        400,
        'INVALID_PARAMETER_VALUE',
        /at most 1000 metrics/,
      );
      const manyParams = Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'v' }));
      await expectError(
        api('POST', 'runs/log-batch', { run_id: runId, params: manyParams }),
        400,
        'INVALID_PARAMETER_VALUE',
        /at most 100 params/,
      );
      await expectError(
        api('POST', 'runs/log-batch', {
          run_id: runId,
          metrics: [
            { key: 'ok', value: 1, timestamp: 1 },
            { key: 'bad!', value: 1, timestamp: 1 },
          ],
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /metrics\[1\]\.name/,
      );
      await expectError(
        api('POST', 'runs/log-batch', { run_id: runId, metrics: [{ value: 1, timestamp: 1 }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /metrics\[0\]\.key/,
      );
      await expectError(
        api('POST', 'runs/log-batch', { run_id: runId, metrics: 'nope' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      const after = await api('GET', 'runs/get', { run_id: runId });
      assert.equal(after.body.run.data.metrics, undefined, 'rejected batches wrote nothing');

      await expectError(
        api('POST', 'runs/search', { experiment_ids: [exp], filter: 'metrics.x >>> 1' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api('POST', 'runs/search', { experiment_ids: [exp], max_results: 50001 }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api('POST', 'runs/search', { experiment_ids: [exp], page_token: 'garbage!' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /page token/,
      );
      await expectError(
        api('POST', 'runs/search', { experiment_ids: [exp], run_view_type: 'SOME' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api('GET', 'metrics/get-history-bulk-interval', { metric_key: 'm' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /run_ids/,
      );
      const manyIds = Array.from({ length: 101 }, (_, i) => `r${i}`);
      await expectError(
        api('GET', 'metrics/get-history-bulk-interval', { run_ids: manyIds, metric_key: 'm' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /at most 100 run_ids/,
      );

      const raw = async (path: string, init: RequestInit) => {
        const res = await fetch(`${srv.api}/${path}`, init);
        return { status: res.status, body: (await res.json()) as Record<string, any> };
      };
      await expectError(
        raw('runs/log-metric', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: '{"run_id": ',
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Malformed JSON/,
      );
      await expectError(
        raw('runs/log-metric', { method: 'POST', body: new Blob(['{}']) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Content-Type header is missing/,
      );
      await expectError(
        raw('runs/log-metric', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Content-Type must be one of/,
      );
      await expectError(
        raw('runs/log-metric', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: '[1,2]',
        }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(raw('runs/does-not-exist', { method: 'POST' }), 404, 'ENDPOINT_NOT_FOUND');
      await expectError(raw('runs/get', { method: 'DELETE' }), 404, 'ENDPOINT_NOT_FOUND');
      const bareNan = await raw('runs/log-metric', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: `{"run_id": "${runId}", "key": "bare", "value": NaN, "timestamp": 1}`,
      });
      assert.equal(bareNan.status, 200, 'bare NaN tokens from Python json are accepted');
    });
  });
}
