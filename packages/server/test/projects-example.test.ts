import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runWorkflow } from '../../../examples/multistep-workflow/workflow.js';
import { call, startTestServer, type TestServer } from './helpers.js';

// The example workflow in examples/multistep-workflow, run end to end against a real server.

let server: TestServer;
before(async () => {
  server = await startTestServer('sqlite');
});
after(() => server.close());

test('the multi-step example: prepare, three parallel trainings as child runs, best result on the parent', async () => {
  const result = await runWorkflow({ trackingUri: server.url, log: () => {} });
  assert.equal(result.trials.length, 3);
  const children = await call(server.api, 'POST', 'runs/search', {
    experiment_ids: ['0'],
    filter: `tags.mlflow.parentRunId = '${result.parentRunId}'`,
  });
  const byName = Object.fromEntries(children.body.runs.map((r: any) => [r.info.run_name, r.info]));
  assert.deepEqual(Object.keys(byName).sort(), ['prepare', 'train-lr-0.01', 'train-lr-0.1', 'train-lr-0.5']);
  for (const info of Object.values(byName) as any[]) assert.equal(info.status, 'FINISHED');
  // With lr 0.01 and 300 epochs the fit is still far off; 0.1 and 0.5 converge near the noise level.
  const rmse = Object.fromEntries(result.trials.map((t) => [t.learningRate, t.rmse]));
  assert.ok(rmse['0.01'] > rmse['0.1'], JSON.stringify(rmse));
  assert.ok(result.best.rmse < 0.4, JSON.stringify(result.best));
  const parent = await call(server.api, 'GET', 'runs/get', { run_id: result.parentRunId });
  assert.equal(parent.body.run.info.status, 'FINISHED');
  const params = Object.fromEntries(parent.body.run.data.params.map((p: any) => [p.key, p.value]));
  assert.equal(params.best_learning_rate, result.best.learningRate);
  // The training runs read the prepared data through runs:/ and logged that URI as their param.
  const train = await call(server.api, 'GET', 'runs/get', { run_id: result.trials[0].runId });
  const trainParams = Object.fromEntries(train.body.run.data.params.map((p: any) => [p.key, p.value]));
  assert.equal(trainParams.data, `runs:/${result.prepareRunId}/data.csv`);
});
