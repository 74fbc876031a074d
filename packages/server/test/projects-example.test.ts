import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runWorkflow } from '../../../examples/multistep-workflow/workflow.js';
import { call, REPO_ROOT, startTestServer, type TestServer, tempDir } from './helpers.js';

// The example workflow in examples/multistep-workflow, run end to end against a real server; and
// the first command of docs/projects.md as a new user types it (no server, no tracking URI).

const CLI = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');

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

/** The environment of a new user's shell: no tracking settings, and no login name variables. */
function bareEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ...extra };
  for (const key of Object.keys(env)) if (key.startsWith('MLFLOW_')) delete env[key];
  for (const key of ['LOGNAME', 'USER', 'LNAME', 'USERNAME']) delete env[key];
  return env;
}

function cli(args: string[], cwd: string, env: Record<string, string | undefined>) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 120_000 });
}

test('the first command of docs/projects.md, verbatim, with no tracking URI set', async (t) => {
  const docs = readFileSync(path.join(REPO_ROOT, 'docs/projects.md'), 'utf8');
  const line = /```sh\n(mlflow-ts run [^\n]+)\n/.exec(docs)?.[1];
  assert.ok(line, 'docs/projects.md starts its examples with an `mlflow-ts run` line');
  const args = line.split(/\s+/).slice(1);
  // A new user's checkout: the example at the same relative path, in a fresh working directory.
  const cwd = tempDir('mlflow-ts-newuser-');
  const tmp = tempDir('mlflow-ts-newuser-tmp-');
  t.after(() => {
    cwd.cleanup();
    tmp.cleanup();
  });
  cpSync(
    path.join(REPO_ROOT, 'examples/multistep-workflow'),
    path.join(cwd.dir, 'examples/multistep-workflow'),
    {
      recursive: true,
    },
  );
  const env = bareEnv({ TMPDIR: tmp.dir });
  const run = cli(args, cwd.dir, env);
  assert.equal(run.status, 0, run.stderr);
  // The step spoke REST to a server on a loopback port, not to the SQLite file.
  assert.match(run.stderr, /=== Run \(ID '\w+'\) succeeded ===/);
  // No `path` parameter to download: no download folder announced or left behind.
  assert.doesNotMatch(run.stderr, /Created directory/);
  assert.deepEqual(
    readdirSync(tmp.dir).filter((name) => name.startsWith('mlflow-ts-params-')),
    [],
  );
  // The data CLI, also with no URI, reads the same default store (sqlite:///mlflow.db in the cwd).
  const list = cli(['runs', 'list', '--experiment-id', '0', '--json'], cwd.dir, env);
  assert.equal(list.status, 0, list.stderr);
  const infos = JSON.parse(list.stdout) as Array<{ run_id: string; status: string; artifact_uri: string }>;
  assert.equal(infos.length, 1);
  assert.equal(infos[0].status, 'FINISHED');
  assert.ok(existsSync(path.join(cwd.dir, 'mlflow.db')));
  const describe = cli(['runs', 'describe', '--run-id', infos[0].run_id], cwd.dir, env);
  assert.equal(describe.status, 0, describe.stderr);
  const detail = JSON.parse(describe.stdout);
  const tags = Object.fromEntries(
    detail.data.tags.map((tag: { key: string; value: string }) => [tag.key, tag.value]),
  );
  // No $USER: the OS account name, as MLflow's getpass.getuser() falls back to.
  assert.equal(tags['mlflow.user'], userInfo().username);
  assert.deepEqual(
    detail.data.metrics.map((m: { key: string; value: number }) => [m.key, m.value]),
    [['rows', 500]],
  );
  // The artifact went through the proxy into ./mlruns of the working directory.
  const artifactPath = infos[0].artifact_uri.replace(/^mlflow-artifacts:\//, '');
  const data = readFileSync(path.join(cwd.dir, 'mlruns', artifactPath, 'data.csv'), 'utf8');
  assert.equal(data.trim().split('\n').length, 501);
});
