// The short fuzzing run inside `npm test`: a fixed seed, about half a minute per store, and a shorter one
// of the basic-auth app's users and permissions endpoints. The long run is `npm run reliability`
// (docs/reliability.md).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DIALECTS } from '../test/helpers.js';
import { describeFailure, judge, runCampaign } from './campaign.js';
import { describeAuthRoutes, describeRoutes } from './route-table.js';

const SEED = 20261207;
const REQUESTS = 1500;

describe('the route table read off the handlers', () => {
  test('records each field with the getter its handler reads it by', async () => {
    const routes = await describeRoutes();
    const logMetric = routes.find((r) => r.method === 'POST' && r.path === 'runs/log-metric');
    assert.deepEqual(logMetric?.fields.map((f) => `${f.name}:${f.kind}`).slice(0, 5), [
      'run_id:runId',
      'key:requiredString',
      'value:double',
      'timestamp:requiredInt',
      'step:int',
    ]);
    const update = routes.find((r) => r.method === 'POST' && r.path === 'runs/update');
    assert.deepEqual(update?.fields.find((f) => f.name === 'status')?.values, [
      'RUNNING',
      'SCHEDULED',
      'FINISHED',
      'FAILED',
      'KILLED',
    ]);
    const tagDelete = routes.find(
      (r) => r.method === 'DELETE' && r.path === 'logged-models/:model_id/tags/*',
    );
    assert.deepEqual(tagDelete?.params, ['model_id', '*']);
    // Every endpoint but those that read only their path reads some field.
    const silent = routes.filter((r) => r.fields.length === 0 && r.params.length === 0);
    assert.deepEqual(silent, []);
  });
});

describe('the judge of an answer', () => {
  test('takes a 2xx and MLflow error JSON with a 4xx or 501 NOT_IMPLEMENTED, nothing else', () => {
    const error = (code: string) => JSON.stringify({ error_code: code, message: 'm' });
    assert.equal(judge({ status: 200, body: '{}', contentType: 'application/json' }), undefined);
    assert.equal(judge({ status: 404, body: error('RESOURCE_DOES_NOT_EXIST'), contentType: '' }), undefined);
    assert.equal(judge({ status: 501, body: error('NOT_IMPLEMENTED'), contentType: '' }), undefined);
    assert.match(judge({ status: 500, body: error('INTERNAL_ERROR'), contentType: '' }) ?? '', /status 500/);
    assert.match(judge({ status: 501, body: error('INTERNAL_ERROR'), contentType: '' }) ?? '', /501/);
    assert.match(judge({ status: 414, body: '{"error":"x"}', contentType: '' }) ?? '', /without error_code/);
    assert.match(judge({ status: 400, body: 'Bad Request', contentType: '' }) ?? '', /without a JSON body/);
    assert.match(judge({ status: 302, body: '', contentType: '' }) ?? '', /status 302/);
    // basic-auth's refusal is MLflow's plain text; any other 401 must be error JSON.
    const refusal =
      'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html';
    assert.equal(judge({ status: 401, body: refusal, contentType: 'text/plain' }), undefined);
    assert.match(judge({ status: 401, body: 'no', contentType: '' }) ?? '', /without a JSON body/);
  });
});

test('500 fuzzed requests to the users and permissions endpoints (--app-name basic-auth): no 500, no hang, no change to data they did not name', async () => {
  const routes = await describeAuthRoutes();
  const result = await runCampaign({
    dialect: 'sqlite',
    requests: 500,
    seed: SEED,
    batchSize: 250,
    auth: true,
  });
  assert.deepEqual(result.failures.map(describeFailure), []);
  assert.ok((result.byStatus[200] ?? 0) > 25, JSON.stringify(result.byStatus));
  // One request in ten goes without credentials.
  assert.ok((result.byStatus[401] ?? 0) > 25, JSON.stringify(result.byStatus));
  const missed = routes.map((r) => r.key).filter((key) => !result.byRoute[key]);
  assert.deepEqual(missed, [], 'every auth route was fuzzed');
});

for (const dialect of DIALECTS) {
  test(`${REQUESTS} fuzzed requests on ${dialect}: no 500, no hang, no change to data they did not name`, async () => {
    const routes = await describeRoutes();
    const result = await runCampaign({ dialect, requests: REQUESTS, seed: SEED, batchSize: 250 });
    assert.deepEqual(result.failures.map(describeFailure), []);
    assert.equal(result.requests, REQUESTS);
    assert.ok(result.skipped < REQUESTS * 0.2, `${result.skipped} requests skipped`);
    // The run reached the stores (writes and reads that succeeded) as well as the checks.
    assert.ok((result.byStatus[200] ?? 0) > REQUESTS * 0.05, JSON.stringify(result.byStatus));
    assert.ok((result.byStatus[400] ?? 0) > REQUESTS * 0.2, JSON.stringify(result.byStatus));
    const missed = routes.map((r) => r.key).filter((key) => !result.byRoute[key]);
    assert.deepEqual(missed, [], 'every route of the table was fuzzed');
  });
}
