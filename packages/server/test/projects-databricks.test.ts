import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { databricksCredentials } from '../src/projects/backends/databricks-api.js';
import { runStatusOfJobRun } from '../src/projects/backends/databricks-backend.js';
import { jobLibraries, parseDatabricksConfig } from '../src/projects/backends/databricks-config.js';
import { ExecutionError } from '../src/projects/execution-error.js';
import { runProject } from '../src/projects/run-project.js';
import { DatabricksMock } from './databricks-mock.js';
import { call, DIALECTS, REPO_ROOT, startTestServer, type TestServer, tempDir } from './helpers.js';

// The databricks backend against a local mock of the DBFS and Jobs REST APIs (we cannot reach
// Databricks from here) that checks every request's shape; tracking on a real mlflow-ts server.

const CLUSTER = { spark_version: '13.3.x-scala2.12', node_type_id: 'i3.xlarge', num_workers: 1 };

function makeProject(files: Record<string, string | Buffer> = {}) {
  const t = tempDir('mlflow-ts-dbx-project-');
  writeFileSync(
    path.join(t.dir, 'MLproject'),
    [
      'name: dbx',
      'entry_points:',
      '  main:',
      '    parameters:',
      '      alpha: {type: float, default: 0.5}',
      '      text: string',
      '    command: "python train.py --alpha {alpha} {text}"',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(t.dir, 'train.py'), 'print("train")\n');
  mkdirSync(path.join(t.dir, 'mlruns'));
  writeFileSync(path.join(t.dir, 'mlruns', 'local-only.txt'), 'not uploaded\n');
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(t.dir, name), content);
  return t;
}

function runCli(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'packages/server/dist/cli/main.js'), ...args],
      { env, encoding: 'utf8' },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('databricks backend config, states and credentials', () => {
  test('a bare new_cluster spec, or new_cluster with libraries; MLflow is added unless already there', () => {
    const bare = parseDatabricksConfig(CLUSTER);
    assert.deepEqual(bare, { newCluster: CLUSTER, libraries: [] });
    assert.deepEqual(jobLibraries(bare, 'mlflow<4'), [{ pypi: { package: 'mlflow<4' } }]);
    const withLibs = parseDatabricksConfig({
      new_cluster: CLUSTER,
      libraries: [{ pypi: { package: 'scikit-learn' } }, { maven: { coordinates: 'a:b:1' } }],
    });
    assert.deepEqual(jobLibraries(withLibs, 'mlflow<4'), [
      { pypi: { package: 'scikit-learn' } },
      { maven: { coordinates: 'a:b:1' } },
      { pypi: { package: 'mlflow<4' } },
    ]);
    for (const pinned of ['mlflow==2.9.2', 'mlflow', 'git+https://github.com/someone/mlflow.git@x']) {
      const config = parseDatabricksConfig({
        new_cluster: CLUSTER,
        libraries: [{ pypi: { package: pinned } }],
      });
      assert.deepEqual(jobLibraries(config, 'mlflow<4'), [{ pypi: { package: pinned } }], pinned);
    }
    // mlflow-skinny is another package: MLflow is still added.
    const skinny = parseDatabricksConfig({
      new_cluster: CLUSTER,
      libraries: [{ pypi: { package: 'mlflow-skinny' } }],
    });
    assert.equal(jobLibraries(skinny, 'mlflow<4').length, 2);
  });

  test('missing, existing-cluster and malformed configs are refused with a message', () => {
    assert.throws(() => parseDatabricksConfig(undefined), /Backend spec must be provided/);
    assert.throws(
      () => parseDatabricksConfig({ existing_cluster_id: 'abc' }),
      /\*new cluster\* specification/,
    );
    assert.throws(() => parseDatabricksConfig({}), /config is empty/);
    assert.throws(() => parseDatabricksConfig({ new_cluster: 'x' }), /'new_cluster' must be a JSON object/);
    assert.throws(
      () => parseDatabricksConfig({ new_cluster: CLUSTER, libraries: ['scikit-learn'] }),
      /'libraries' must be a list of library objects/,
    );
    assert.throws(
      () => parseDatabricksConfig({ new_cluster: CLUSTER, num_workers: 2 }),
      /unknown key\(s\) 'num_workers'/,
    );
  });

  test('life cycle and result states map to run statuses', () => {
    assert.equal(runStatusOfJobRun({ life_cycle_state: 'PENDING' }), undefined);
    assert.equal(runStatusOfJobRun({ life_cycle_state: 'RUNNING' }), undefined);
    assert.equal(runStatusOfJobRun({ life_cycle_state: 'TERMINATING' }), undefined);
    assert.equal(runStatusOfJobRun({ life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' }), 'FINISHED');
    assert.equal(runStatusOfJobRun({ life_cycle_state: 'TERMINATED', result_state: 'FAILED' }), 'FAILED');
    assert.equal(runStatusOfJobRun({ life_cycle_state: 'TERMINATED', result_state: 'TIMEDOUT' }), 'FAILED');
    assert.equal(runStatusOfJobRun({ life_cycle_state: 'TERMINATED', result_state: 'CANCELED' }), 'KILLED');
    assert.equal(runStatusOfJobRun({ life_cycle_state: 'INTERNAL_ERROR' }), 'FAILED');
    assert.equal(runStatusOfJobRun({ life_cycle_state: 'SKIPPED' }), 'FAILED');
  });

  test('credentials come from DATABRICKS_HOST and DATABRICKS_TOKEN', () => {
    assert.throws(() => databricksCredentials({}), /needs DATABRICKS_HOST and DATABRICKS_TOKEN/);
    assert.throws(() => databricksCredentials({ DATABRICKS_HOST: 'h' }), /needs DATABRICKS_TOKEN: set/);
    assert.deepEqual(
      databricksCredentials({ DATABRICKS_HOST: 'ws.cloud.databricks.com/', DATABRICKS_TOKEN: 't' }),
      {
        host: 'https://ws.cloud.databricks.com',
        token: 't',
      },
    );
  });
});

for (const dialect of DIALECTS) {
  describe(`databricks backend against a mock workspace (${dialect} tracking)`, () => {
    let server: TestServer;
    let mock: DatabricksMock;
    const saved: Record<string, string | undefined> = {};
    const logs: string[] = [];
    const log = (line: string) => logs.push(line);

    before(async () => {
      server = await startTestServer(dialect);
      mock = await new DatabricksMock().start();
      for (const name of ['DATABRICKS_HOST', 'DATABRICKS_TOKEN', 'MLFLOW_TS_DATABRICKS_POLL_SECONDS'])
        saved[name] = process.env[name];
      process.env.DATABRICKS_HOST = mock.url;
      process.env.DATABRICKS_TOKEN = mock.token;
      process.env.MLFLOW_TS_DATABRICKS_POLL_SECONDS = '0.02';
    });
    after(async () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await mock?.close();
      await server?.close();
    });
    beforeEach(() => {
      mock.reset();
      logs.length = 0;
    });

    async function newExperiment(): Promise<string> {
      const created = await call(server.api, 'POST', 'experiments/create', {
        name: `dbx-${randomBytes(4).toString('hex')}`,
      });
      return created.body.experiment_id;
    }

    async function getRun(runId: string) {
      const got = await call(server.api, 'GET', 'runs/get', { run_id: runId });
      const run = got.body.run;
      return {
        status: run.info.status as string,
        tags: Object.fromEntries(run.data.tags.map((t: { key: string; value: string }) => [t.key, t.value])),
        params: Object.fromEntries(
          (run.data.params ?? []).map((p: { key: string; value: string }) => [p.key, p.value]),
        ),
      };
    }

    test('PENDING -> RUNNING -> TERMINATED/SUCCESS: upload, submit, poll, tags, FINISHED', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const experimentId = await newExperiment();
      const submitted = await runProject({
        uri: p.dir,
        backend: 'databricks',
        backendConfig: { new_cluster: CLUSTER, libraries: [{ pypi: { package: 'scikit-learn' } }] },
        parameters: { text: "it's $(rm -rf /)", extra: 'a b' },
        experimentId,
        trackingUri: server.url,
        log,
      });
      assert.equal(await submitted.wait(), true);
      assert.deepEqual(mock.violations, []);

      // The exact sequence of calls: nothing on DBFS yet -> one put (small project) -> submit -> poll.
      const calls = mock.calls();
      assert.deepEqual(calls.slice(0, 4), [
        'GET /api/2.0/dbfs/get-status',
        'POST /api/2.0/dbfs/put',
        'POST /api/2.0/jobs/runs/submit',
        'GET /api/2.0/jobs/runs/get',
      ]);
      assert.ok(calls.slice(3).every((c) => c === 'GET /api/2.0/jobs/runs/get'));
      assert.ok(calls.length >= 7, `polled until terminal: ${calls.length}`);

      // The archive is named by its sha256 and holds the project (not mlruns) under mlflow-project/.
      const [dbfsPath, data] = [...mock.files.entries()].at(-1) as [string, Buffer];
      const hash = createHash('sha256').update(data).digest('hex');
      assert.equal(dbfsPath, `/mlflow-experiments/${experimentId}/projects-code/${hash}.tar.gz`);
      assert.equal(mock.requests[0].query.path, dbfsPath);
      const listing = execFileSync('tar', ['tzf', '-'], { input: data, encoding: 'utf8' }).trim().split('\n');
      assert.deepEqual(listing, ['mlflow-project/MLproject', 'mlflow-project/train.py']);

      // The submitted job: MLflow's request shape, with the run id and parameters passed to `mlflow run`.
      const submit = mock.requests[2].body;
      assert.equal(submit.run_name, `MLflow Run for ${p.dir}`);
      assert.deepEqual(submit.new_cluster, CLUSTER);
      assert.deepEqual(submit.libraries, [
        { pypi: { package: 'scikit-learn' } },
        { pypi: { package: 'mlflow<4' } },
      ]);
      assert.deepEqual(submit.shell_command_task.env_vars, {
        MLFLOW_TRACKING_URI: server.url,
        MLFLOW_EXPERIMENT_ID: experimentId,
      });
      const [bash, dashC, script] = submit.shell_command_task.command;
      assert.equal(bash, 'bash');
      assert.equal(dashC, '-c');
      assert.match(script, /^export PATH=\$PATH:\$DB_HOME\/python\/bin &&\nmlflow --version &&\n/);
      assert.ok(
        script.includes(`rsync -a -v --ignore-existing /dbfs${dbfsPath} /databricks/mlflow/project-tars`),
      );
      assert.ok(script.includes(`tar --no-same-owner -xzvf /databricks/mlflow/project-tars/${hash}.tar.gz`));
      assert.ok(script.includes(`mv -T mlflow-project /databricks/mlflow/projects/${hash}`));
      const runLine = script.split('\n').at(-1);
      assert.equal(
        runLine,
        `mlflow run /databricks/mlflow/projects/${hash} --entry-point main -c '{"run_id":"${submitted.runId}"}' -P 'text=it'"'"'s $(rm -rf /)' -P 'extra=a b'`,
      );
      // The script is valid bash, and the parameters reach `mlflow run` as single literal words.
      const words = execFileSync('bash', ['-c', `printf '%s\\n' ${runLine.replace(/^mlflow run /, '')}`], {
        encoding: 'utf8',
      });
      assert.ok(words.includes("text=it's $(rm -rf /)\n"));
      execFileSync('bash', ['-n', '-c', script]);

      // Tracking: MLflow's tags, params, FINISHED.
      const run = await getRun(submitted.runId);
      assert.equal(run.status, 'FINISHED');
      assert.equal(run.tags['mlflow.project.backend'], 'databricks');
      assert.equal(
        run.tags['mlflow.databricks.runURL'],
        `${mock.url}/?o=1234#job/${Number(submitted.jobId) + 500}/run/1`,
      );
      assert.equal(run.tags['mlflow.databricks.shellJobRunID'], submitted.jobId);
      assert.equal(run.tags['mlflow.databricks.shellJobID'], String(Number(submitted.jobId) + 500));
      assert.equal(run.tags['mlflow.databricks.webappURL'], mock.url);
      assert.equal(run.params.text, `'it'"'"'s $(rm -rf /)'`);
      assert.equal(submitted.status(), 'FINISHED');
      assert.ok(logs.some((l) => l.includes(`Check the run's status at ${mock.url}/?o=1234#job/`)));
      assert.ok(logs.some((l) => l.includes('PENDING')));
      assert.ok(logs.some((l) => l.includes('TERMINATED/SUCCESS')));

      // The same project again: DBFS already has the archive, so nothing is uploaded.
      mock.reset();
      const again = await runProject({
        uri: p.dir,
        backend: 'databricks',
        backendConfig: CLUSTER,
        parameters: { text: 'x' },
        experimentId,
        trackingUri: server.url,
        envManager: 'virtualenv',
        log,
      });
      assert.equal(await again.wait(), true);
      assert.deepEqual(mock.calls().slice(0, 2), [
        'GET /api/2.0/dbfs/get-status',
        'POST /api/2.0/jobs/runs/submit',
      ]);
      assert.ok(logs.some((l) => l.includes('Project already exists in DBFS')));
      const script2 = mock.requests[1].body.shell_command_task.command[2];
      assert.match(script2, /--entry-point main --env-manager virtualenv -c /);
      assert.deepEqual(mock.requests[1].body.libraries, [{ pypi: { package: 'mlflow<4' } }]);
      assert.deepEqual(mock.violations, []);
    });

    test('a project over 1 MB is streamed with create / add-block / close', async (t) => {
      const p = makeProject({ 'weights.bin': randomBytes(2_500_000) });
      t.after(p.cleanup);
      const experimentId = await newExperiment();
      const submitted = await runProject({
        uri: p.dir,
        backend: 'databricks',
        backendConfig: CLUSTER,
        parameters: { text: 'x' },
        experimentId,
        trackingUri: server.url,
        log,
      });
      assert.equal(await submitted.wait(), true);
      assert.deepEqual(mock.violations, []);
      assert.deepEqual(mock.calls().slice(0, 6), [
        'GET /api/2.0/dbfs/get-status',
        'POST /api/2.0/dbfs/create',
        'POST /api/2.0/dbfs/add-block',
        'POST /api/2.0/dbfs/add-block',
        'POST /api/2.0/dbfs/add-block',
        'POST /api/2.0/dbfs/close',
      ]);
      const handle = mock.requests[1].body;
      assert.equal(typeof handle.overwrite, 'boolean');
      const stored = mock.files.get(mock.requests[1].body.path) as Buffer;
      const hash = createHash('sha256').update(stored).digest('hex');
      assert.ok(mock.requests[1].body.path.endsWith(`/${hash}.tar.gz`));
      const listing = execFileSync('tar', ['tzf', '-'], { input: stored, encoding: 'utf8' });
      assert.match(listing, /mlflow-project\/weights\.bin/);
      assert.ok(logs.some((l) => /100% \(\d+ KB\)/.test(l)));
    });

    test('a run that FAILS on Databricks ends FAILED', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      mock.nextOutcome = 'FAILED';
      const submitted = await runProject({
        uri: p.dir,
        backend: 'databricks',
        backendConfig: CLUSTER,
        parameters: { text: 'x' },
        experimentId: await newExperiment(),
        trackingUri: server.url,
        log,
      });
      assert.equal(await submitted.wait(), false);
      assert.equal((await getRun(submitted.runId)).status, 'FAILED');
      assert.equal(submitted.status(), 'FAILED');
      assert.ok(logs.some((l) => l.includes('TERMINATED/FAILED (Command exited with code 1)')));
      assert.deepEqual(mock.violations, []);
    });

    test('cancel() calls runs/cancel and records KILLED', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      mock.nextOutcome = 'HANG';
      const submitted = await runProject({
        uri: p.dir,
        backend: 'databricks',
        backendConfig: CLUSTER,
        parameters: { text: 'x' },
        experimentId: await newExperiment(),
        trackingUri: server.url,
        log,
      });
      const waiting = submitted.wait();
      await new Promise((r) => setTimeout(r, 150));
      assert.equal((await getRun(submitted.runId)).status, 'RUNNING');
      await submitted.cancel();
      assert.equal(await waiting, false);
      const cancel = mock.requests.find((r) => r.path === '/api/2.0/jobs/runs/cancel');
      assert.deepEqual(cancel?.body, { run_id: Number(submitted.jobId) });
      assert.equal((await getRun(submitted.runId)).status, 'KILLED');
      assert.equal(submitted.status(), 'KILLED');
      assert.deepEqual(mock.violations, []);
    });

    test('a 403 from Databricks fails with what to check; the run is recorded FAILED', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const experimentId = await newExperiment();
      process.env.DATABRICKS_TOKEN = 'dapi-wrong';
      try {
        await assert.rejects(
          runProject({
            uri: p.dir,
            backend: 'databricks',
            backendConfig: CLUSTER,
            parameters: { text: 'x' },
            experimentId,
            trackingUri: server.url,
            log,
          }),
          (error: Error) =>
            error instanceof ExecutionError &&
            /HTTP 403 403: Invalid access token\..*DATABRICKS_TOKEN/.test(error.message),
        );
      } finally {
        process.env.DATABRICKS_TOKEN = mock.token;
      }
      assert.equal(mock.requests.length, 1);
      assert.equal(mock.requests[0].path, '/api/2.0/dbfs/get-status');
      const search = await call(server.api, 'POST', 'runs/search', { experiment_ids: [experimentId] });
      assert.equal(search.body.runs.length, 1);
      assert.equal(search.body.runs[0].info.status, 'FAILED');
    });

    test('no credentials, no config or a local tracking store: refused before any run or request', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const experimentId = await newExperiment();
      const base = {
        uri: p.dir,
        backend: 'databricks',
        parameters: { text: 'x' },
        experimentId,
        trackingUri: server.url,
        log,
      };
      process.env.DATABRICKS_HOST = '';
      try {
        await assert.rejects(runProject({ ...base, backendConfig: CLUSTER }), /needs DATABRICKS_HOST/);
      } finally {
        process.env.DATABRICKS_HOST = mock.url;
      }
      await assert.rejects(runProject(base), /Backend spec must be provided/);
      await assert.rejects(
        runProject({ ...base, backendConfig: CLUSTER, trackingUri: 'sqlite:///tmp/x.db' }),
        /tracking URI must be a remote HTTP URI/,
      );
      await assert.rejects(
        runProject({ ...base, backendConfig: CLUSTER, parameters: {} }),
        /No value given for missing parameters: 'text'/,
      );
      assert.equal(mock.requests.length, 0);
      const search = await call(server.api, 'POST', 'runs/search', { experiment_ids: [experimentId] });
      assert.equal((search.body.runs ?? []).length, 0);
    });

    test('databricks_spark_job with python_file: a wrapper on DBFS run as a spark_python_task', async (t) => {
      const p = tempDir('mlflow-ts-dbx-spark-');
      t.after(p.cleanup);
      writeFileSync(
        path.join(p.dir, 'MLproject'),
        'name: spark\ndatabricks_spark_job:\n  python_file: job.py\n  parameters: [--rows, "10"]\n  python_libraries: [scikit-learn==1.3.0]\n',
      );
      writeFileSync(path.join(p.dir, 'job.py'), 'import sys\nprint("job", sys.argv)\n');
      const experimentId = await newExperiment();
      const submitted = await runProject({
        uri: p.dir,
        backend: 'databricks',
        backendConfig: { new_cluster: CLUSTER, libraries: [{ whl: 'dbfs:/libs/x.whl' }] },
        parameters: { ignored: '1' },
        experimentId,
        trackingUri: server.url,
        log,
      });
      assert.equal(await submitted.wait(), true);
      assert.deepEqual(mock.violations, []);
      assert.deepEqual(mock.calls().slice(0, 5), [
        'GET /api/2.0/dbfs/get-status',
        'POST /api/2.0/dbfs/put',
        'POST /api/2.0/dbfs/put',
        'POST /api/2.0/jobs/runs/submit',
        'GET /api/2.0/jobs/runs/get',
      ]);
      assert.ok(logs.some((l) => l.includes('--entry-point and -P are ignored')));
      const wrapperPath = mock.requests[2].body.path as string;
      assert.match(
        wrapperPath,
        new RegExp(`^/mlflow-experiments/${experimentId}/projects-code/[0-9a-f]{32}\\.py$`),
      );
      const submit = mock.requests[3].body;
      assert.deepEqual(submit.spark_python_task, {
        python_file: `dbfs:${wrapperPath}`,
        parameters: ['--rows', '10'],
      });
      assert.deepEqual(submit.libraries, [
        { whl: 'dbfs:/libs/x.whl' },
        { pypi: { package: 'scikit-learn==1.3.0' } },
      ]);
      assert.equal(submit.shell_command_task, undefined);
      const wrapper = (mock.files.get(wrapperPath) as Buffer).toString('utf8');
      assert.ok(wrapper.includes(`"MLFLOW_RUN_ID":"${submitted.runId}"`));
      assert.ok(wrapper.includes(`"MLFLOW_TRACKING_URI":"${server.url}"`));
      assert.ok(wrapper.endsWith('import sys\nprint("job", sys.argv)\n'));
      const [archivePath] = [...mock.files.keys()].filter(
        (k) => k.endsWith('.tar.gz') && k.includes(`/${experimentId}/`),
      );
      const hash = path.basename(archivePath, '.tar.gz');
      assert.ok(wrapper.includes(`os.chdir("/databricks/mlflow/projects/${hash}")`));
      // The wrapper is valid Python.
      execFileSync('python3', ['-c', 'import sys; compile(sys.stdin.read(), "w.py", "exec")'], {
        input: wrapper,
      });
      assert.equal((await getRun(submitted.runId)).status, 'FINISHED');
    });

    test('databricks_spark_job with entry points: the python command becomes the task', async (t) => {
      const p = tempDir('mlflow-ts-dbx-spark-');
      t.after(p.cleanup);
      writeFileSync(
        path.join(p.dir, 'MLproject'),
        [
          'name: spark',
          'databricks_spark_job:',
          '  python_libraries: [pandas]',
          'entry_points:',
          '  main:',
          '    parameters: {rows: {type: float, default: 5}, name: string}',
          '    command: "python etl.py --rows {rows} --name {name}"',
          '  bad:',
          '    command: "bash run.sh"',
          '',
        ].join('\n'),
      );
      writeFileSync(path.join(p.dir, 'etl.py'), 'print(1)\n');
      const base = {
        uri: p.dir,
        backend: 'databricks',
        backendConfig: CLUSTER,
        experimentId: await newExperiment(),
        trackingUri: server.url,
        log,
      };
      const submitted = await runProject({ ...base, parameters: { name: 'a b', extra: 'x' } });
      assert.equal(await submitted.wait(), true);
      const submit = mock.requests.find((r) => r.path === '/api/2.0/jobs/runs/submit')?.body;
      assert.deepEqual(submit.spark_python_task.parameters, ['--rows', '5', '--name', 'a b', '--extra', 'x']);
      assert.deepEqual(submit.libraries, [{ pypi: { package: 'pandas' } }]);
      assert.deepEqual(mock.violations, []);
      await assert.rejects(
        runProject({ ...base, entryPoint: 'bad' }),
        /only supports 'python' command in the entry point/,
      );
      // Refused before anything is recorded or sent.
      const requests = mock.requests.length;
      const search = await call(server.api, 'POST', 'runs/search', { experiment_ids: [base.experimentId] });
      assert.equal(search.body.runs.length, 1);
      assert.equal(mock.requests.length, requests);
    });

    test('mlflow-ts run -b databricks: waits and prints the run page; --no-wait prints both ids', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const configFile = path.join(p.dir, '..', `${path.basename(p.dir)}-cluster.json`);
      writeFileSync(configFile, JSON.stringify({ new_cluster: CLUSTER }));
      t.after(() => execFileSync('rm', ['-f', configFile]));
      const env = {
        ...process.env,
        MLFLOW_TRACKING_URI: server.url,
        MLFLOW_EXPERIMENT_ID: await newExperiment(),
      };
      const waited = await runCli(['run', p.dir, '-b', 'databricks', '-c', configFile, '-P', 'text=hi'], env);
      assert.equal(waited.code, 0, waited.stderr);
      assert.match(
        waited.stderr,
        /Check the run's status at http:\/\/127\.0\.0\.1:\d+\/\?o=1234#job\/\d+\/run\/1/,
      );
      assert.match(waited.stderr, /TERMINATED\/SUCCESS/);

      mock.nextOutcome = 'HANG';
      const noWait = await runCli(
        ['run', p.dir, '-b', 'databricks', '--no-wait', '-c', JSON.stringify(CLUSTER), '-P', 'text=hi'],
        env,
      );
      assert.equal(noWait.code, 0, noWait.stderr);
      const [runId, jobRunId] = noWait.stdout.trim().split(' ');
      assert.match(runId, /^[0-9a-f]{32}$/);
      assert.ok(mock.runs.has(Number(jobRunId)));
      const run = await getRun(runId);
      assert.equal(run.status, 'RUNNING');
      assert.equal(run.tags['mlflow.databricks.shellJobRunID'], jobRunId);

      // Ctrl-C while the Databricks run is going: runs/cancel, the run KILLED, exit code 130.
      mock.nextOutcome = 'HANG';
      const runsBefore = mock.runs.size;
      const child = spawn(
        process.execPath,
        [
          path.join(REPO_ROOT, 'packages/server/dist/cli/main.js'),
          ...['run', p.dir, '-b', 'databricks', '-c', JSON.stringify(CLUSTER), '-P', 'text=hi'],
        ],
        { env, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr?.on('data', (chunk) => {
        stderr += chunk;
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      for (let i = 0; i < 200 && !/Databricks run \d+: RUNNING/.test(stderr); i++) await sleep(50);
      assert.match(stderr, /Databricks run \d+: RUNNING/);
      child.kill('SIGINT');
      assert.equal(await exited, 130, stderr);
      assert.equal(mock.runs.size, runsBefore + 1);
      const cancelled = [...mock.runs.values()].at(-1);
      assert.equal(cancelled?.cancelled, true);
      const killedRunId = /in run with ID '([0-9a-f]{32})'|Run \(ID '([0-9a-f]{32})'\) interrupted/.exec(
        stderr,
      );
      assert.ok(killedRunId, stderr);
      assert.equal((await getRun(killedRunId[1] ?? killedRunId[2])).status, 'KILLED');

      mock.nextOutcome = 'FAILED';
      const failed = await runCli(
        ['run', p.dir, '-b', 'databricks', '-c', JSON.stringify(CLUSTER), '-P', 'text=hi'],
        env,
      );
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /Run \(ID '[0-9a-f]{32}'\) failed/);
      assert.deepEqual(mock.violations, []);
      assert.ok(readdirSync(p.dir).includes('MLproject'));
      assert.equal(readFileSync(path.join(p.dir, 'train.py'), 'utf8'), 'print("train")\n');
    });
  });
}
