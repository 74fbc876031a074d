// Regression tests for the bugs the fuzzing campaign (packages/server/reliability) found: each request
// here once answered a 500 or Fastify's own error shape on at least one store.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, DIALECTS, expectError, startTestServer, type TestServer } from './helpers.js';

for (const dialect of DIALECTS) {
  describe(`requests the fuzzer found on ${dialect}`, () => {
    let srv: TestServer;
    let experimentId: string;
    let runId: string;
    const api = (method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>) =>
      call(srv.api, method, endpoint, body);
    const invalid = (promise: ReturnType<typeof api>, message?: RegExp) =>
      expectError(promise, 400, 'INVALID_PARAMETER_VALUE', message);
    const raw = async (method: string, url: string, body?: string) => {
      const response = await fetch(`${srv.url}${url}`, {
        method,
        ...(body !== undefined ? { body, headers: { 'content-type': 'application/octet-stream' } } : {}),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
    };

    before(async () => {
      srv = await startTestServer(dialect);
      experimentId = (await api('POST', 'experiments/create', { name: 'fuzzed' })).body.experiment_id;
      runId = (await api('POST', 'runs/create', { experiment_id: experimentId })).body.run.info.run_id;
    });
    after(() => srv.close());

    test('an artifact name longer than the file system allows is refused, not a 500', async () => {
      const long = 'x'.repeat(300);
      const proxy = '/api/2.0/mlflow-artifacts/artifacts';
      for (const [method, body] of [
        ['PUT', 'data'],
        ['GET', undefined],
        ['DELETE', undefined],
      ] as const) {
        await invalid(raw(method, `${proxy}/dir/${long}`, body), /longer than 255 bytes/);
      }
      await invalid(raw('GET', `${proxy}?path=${long}`), /longer than 255 bytes/);
      await invalid(api('GET', 'artifacts/list', { run_id: runId, path: long }), /longer than 255 bytes/);
      // A whole path past PATH_MAX, each name short enough.
      await invalid(raw('PUT', `${proxy}/${'abcdefgh/'.repeat(500)}f`, 'data'), /4096 bytes/);
      // 255 bytes is still a name.
      assert.equal((await raw('PUT', `${proxy}/dir/${'y'.repeat(255)}`, 'data')).status, 200);
    });

    test('deleting a path through a file deletes nothing and answers 200', async () => {
      writeFileSync(path.join(srv.artifactsDir, 'plain'), 'kept');
      const answer = await raw('DELETE', '/api/2.0/mlflow-artifacts/artifacts/plain/below');
      assert.equal(answer.status, 200);
      assert.ok(existsSync(path.join(srv.artifactsDir, 'plain')));
    });

    test("a path parameter past the router's limit answers MLflow's error JSON", async () => {
      const answer = await raw('GET', `/api/2.0/mlflow/webhooks/${'w'.repeat(1001)}`);
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.equal(typeof answer.body.message, 'string');
    });

    test('experiments/create with a tag key twice is refused and creates nothing', async () => {
      await invalid(
        api('POST', 'experiments/create', {
          name: 'twice',
          tags: [
            { key: 'k', value: 'a' },
            { key: 'k', value: 'b' },
          ],
        }),
        /Duplicate tag keys have been submitted: \['k'\]/,
      );
      await expectError(
        api('GET', 'experiments/get-by-name', { experiment_name: 'twice' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
    });

    test('run names and user ids wider than their columns are refused; 250 code points are kept', async () => {
      const long = 'r'.repeat(251);
      await invalid(
        api('POST', 'runs/create', { experiment_id: experimentId, run_name: long }),
        /'run_name' exceeds the maximum length of 250/,
      );
      await invalid(
        api('POST', 'runs/create', { experiment_id: experimentId, user_id: 'u'.repeat(257) }),
        /'user_id'/,
      );
      await invalid(
        api('POST', 'runs/create', {
          experiment_id: experimentId,
          tags: [{ key: 'mlflow.runName', value: long }],
        }),
        /'value' exceeds the maximum length of 250/,
      );
      await invalid(api('POST', 'runs/update', { run_id: runId, run_name: long }), /'run_name'/);
      await invalid(
        api('POST', 'runs/set-tag', { run_id: runId, key: 'mlflow.runName', value: long }),
        /'value'/,
      );
      await invalid(
        api('POST', 'runs/log-batch', { run_id: runId, tags: [{ key: 'mlflow.runName', value: long }] }),
        /'tags\[0\]\.value'/,
      );
      // Emoji are two UTF-16 units each but one character to PostgreSQL.
      const emoji = '🙂'.repeat(250);
      const run = (await api('POST', 'runs/create', { experiment_id: experimentId, run_name: emoji })).body
        .run;
      assert.equal(run.info.run_name, emoji);
      const unchanged = (await api('GET', 'runs/get', { run_id: runId })).body.run.info.run_name;
      assert.notEqual(unchanged, long);
    });

    test("an artifact location too long for its runs' artifact URIs is refused", async () => {
      const at = (n: number) => `s3://bucket/${'d'.repeat(n - 's3://bucket/'.length)}`;
      await invalid(
        api('POST', 'experiments/create', { name: 'long-location', artifact_location: at(949) }),
        /'artifact_location' is 949 characters long \(as stored\); at most 948/,
      );
      // The longest taken still holds a run and a logged model.
      const id = (await api('POST', 'experiments/create', { name: 'longest', artifact_location: at(948) }))
        .body.experiment_id;
      assert.equal((await api('POST', 'runs/create', { experiment_id: id })).status, 200);
      assert.equal((await api('POST', 'logged-models', { experiment_id: id })).status, 200);
    });

    test('an experiment id past 2^63 - 1 names no experiment; one past 2^53 is looked up exactly', async () => {
      // Past the 64-bit columns: no experiment (PostgreSQL once answered 500 for these).
      for (const id of ['123456789012345678901234567890', '9223372036854775808']) {
        await expectError(
          api('GET', 'experiments/get', { experiment_id: id }),
          404,
          'RESOURCE_DOES_NOT_EXIST',
        );
        await expectError(api('POST', 'runs/create', { experiment_id: id }), 404, 'RESOURCE_DOES_NOT_EXIST');
        assert.equal((await api('POST', 'runs/search', { experiment_ids: [id] })).status, 200);
      }
      // Within them (MLflow's file store draws such ids): an ordinary unknown id, never a rounded neighbour.
      for (const id of ['9007199254740993', '9223372036854775807']) {
        await expectError(
          api('GET', 'experiments/get', { experiment_id: id }),
          404,
          'RESOURCE_DOES_NOT_EXIST',
        );
      }
    });

    test('a model version past the 32-bit column is refused', async () => {
      await api('POST', 'registered-models/create', { name: 'fuzz-registry' });
      await invalid(
        api('GET', 'model-versions/get-download-uri', {
          name: 'fuzz-registry',
          version: '9223372036854775808',
        }),
        /must be an integer from -2147483648 to 2147483647/,
      );
      await expectError(
        api('GET', 'model-versions/get', { name: 'fuzz-registry', version: '2147483647' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
    });

    test('log-batch with a tag key twice keeps the last value', async () => {
      const answer = await api('POST', 'runs/log-batch', {
        run_id: runId,
        tags: [
          { key: 'twice', value: 'first' },
          { key: 'twice', value: 'last' },
        ],
        params: [
          { key: 'same', value: 'v' },
          { key: 'same', value: 'v' },
        ],
      });
      assert.equal(answer.status, 200);
      const data = (await api('GET', 'runs/get', { run_id: runId })).body.run.data;
      assert.deepEqual(
        data.tags.filter((t: { key: string }) => t.key === 'twice'),
        [{ key: 'twice', value: 'last' }],
      );
      assert.deepEqual(data.params, [{ key: 'same', value: 'v' }]);
    });
  });
}
