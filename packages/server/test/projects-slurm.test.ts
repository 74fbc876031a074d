import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseSlurmConfig } from '../src/projects/backends/slurm-config.js';
import { batchScript, runStatusOfJobState } from '../src/projects/backends/slurm-job.js';
import { ExecutionError } from '../src/projects/execution-error.js';
import { runProject } from '../src/projects/run-project.js';
import { call, REPO_ROOT, startTestServer, type TestServer, tempDir } from './helpers.js';

// The slurm backend against a real single-node Slurm (slurmctld + slurmd from Debian's slurm-wlm, with
// munge), started on loopback by scripts/services/slurm.sh.

let slurm: { conf?: string; reason?: string } | undefined;

function runCli(command: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, args, { env, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** SLURM_CONF of the test cluster, or why there is none. Under CI the tests fail instead of skipping. */
function slurmCluster(): { conf?: string; reason?: string } {
  if (slurm) return slurm;
  try {
    const conf = execFileSync('bash', [path.join(REPO_ROOT, 'scripts/services/slurm.sh'), 'start'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    slurm = { conf };
  } catch (error) {
    slurm = {
      reason: `the test Slurm cluster could not be started (scripts/services/slurm.sh start): ${error}`,
    };
  }
  return slurm;
}

describe('slurm backend config and job states', () => {
  test('config keys become sbatch options; unknown keys and bad values are refused', () => {
    const config = parseSlurmConfig({
      partition: 'gpu',
      time: '1:00:00',
      cpus: 4,
      memory: '8G',
      gpus: 'a100:1',
      sbatch_args: ['--qos=high'],
    });
    const script = batchScript({
      jobName: 'mlflow-abc',
      output: '/logs/slurm-%j.out',
      workDir: '/work',
      config,
      env: { MLFLOW_RUN_ID: 'abc', ODD: "it's" },
      command: 'echo hi',
    });
    assert.equal(
      script,
      [
        '#!/bin/bash',
        '#SBATCH --job-name=mlflow-abc',
        '#SBATCH --output=/logs/slurm-%j.out',
        '#SBATCH --chdir=/work',
        '#SBATCH --partition=gpu',
        '#SBATCH --time=1:00:00',
        '#SBATCH --cpus-per-task=4',
        '#SBATCH --mem=8G',
        '#SBATCH --gpus=a100:1',
        '#SBATCH --qos=high',
        'export MLFLOW_RUN_ID=abc',
        `export ODD='it'"'"'s'`,
        'exec echo hi',
        '',
      ].join('\n'),
    );
    assert.throws(
      () => parseSlurmConfig({ partitions: 'x' }),
      /unknown key\(s\) 'partitions'; known keys: partition, time, cpus, memory, gpus, sbatch_args/,
    );
    assert.throws(() => parseSlurmConfig({ cpus: 1.5 }), /'cpus' must be a positive integer/);
    assert.throws(
      () => parseSlurmConfig({ sbatch_args: '--qos=high' }),
      /'sbatch_args' must be a list of strings/,
    );
  });

  test('Slurm job states map to run statuses', () => {
    assert.equal(runStatusOfJobState('PENDING'), 'SCHEDULED');
    assert.equal(runStatusOfJobState('RUNNING'), 'RUNNING');
    assert.equal(runStatusOfJobState('COMPLETED'), 'FINISHED');
    assert.equal(runStatusOfJobState('CANCELLED+'), 'KILLED');
    assert.equal(runStatusOfJobState('CANCELLED by 0'), 'KILLED');
    for (const s of ['FAILED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL'])
      assert.equal(runStatusOfJobState(s), 'FAILED');
  });
});

describe('runs on a real Slurm cluster', () => {
  let server: TestServer;
  const savedConf = process.env.SLURM_CONF;
  before(async (t) => {
    const cluster = slurmCluster();
    if (cluster.conf) process.env.SLURM_CONF = cluster.conf;
    server = await startTestServer('sqlite');
    void t;
  });
  after(async () => {
    await server.close();
    if (savedConf === undefined) delete process.env.SLURM_CONF;
    else process.env.SLURM_CONF = savedConf;
  });

  function needsSlurm(t: { skip(message: string): void }): boolean {
    const cluster = slurmCluster();
    if (cluster.conf) return true;
    if (process.env.CI === 'true') throw new Error(cluster.reason);
    t.skip(cluster.reason ?? 'no Slurm');
    return false;
  }

  function makeProject(command: string) {
    const p = tempDir('mlflow-ts-slurm-project-');
    writeFileSync(
      path.join(p.dir, 'MLproject'),
      `name: on-slurm\nentry_points:\n  main:\n    parameters:\n      text: {type: string, default: hi}\n    command: "${command}"\n`,
    );
    writeFileSync(
      path.join(p.dir, 'report.py'),
      `import json, os, sys, urllib.request
with urllib.request.urlopen(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/get?run_id=" + os.environ["MLFLOW_RUN_ID"]) as r:
    status = json.load(r)["run"]["info"]["status"]
json.dump({"argv": sys.argv[1:], "job": os.environ.get("SLURM_JOB_ID"), "status_seen": status}, open("report.json", "w"))
`,
    );
    return p;
  }

  async function runInfo(runId: string) {
    const res = await call(server.api, 'GET', 'runs/get', { run_id: runId });
    return {
      status: res.body.run.info.status as string,
      tags: Object.fromEntries(res.body.run.data.tags.map((x: any) => [x.key, x.value])) as Record<
        string,
        string
      >,
    };
  }

  test('the run becomes an sbatch job: command inside the job, job id tagged, FINISHED at the end', async (t) => {
    if (!needsSlurm(t)) return;
    const p = makeProject('python3 report.py {text}');
    t.after(p.cleanup);
    const submitted = await runProject({
      uri: p.dir,
      backend: 'slurm',
      backendConfig: { partition: 'other', time: '10', cpus: 1 },
      parameters: { text: 'two words; $(x)' },
      envManager: 'local',
      trackingUri: server.url,
      log: () => {},
    });
    assert.match(submitted.jobId ?? '', /^\d+$/);
    const job = execFileSync('scontrol', ['show', 'job', '-o', submitted.jobId as string], {
      encoding: 'utf8',
    });
    assert.match(job, /\bPartition=other\b/);
    assert.match(job, /\bTimeLimit=00:10:00\b/);
    assert.equal(await submitted.wait(), true);
    const seen = JSON.parse(readFileSync(path.join(p.dir, 'report.json'), 'utf8'));
    assert.deepEqual(seen.argv, ['two words; $(x)']);
    assert.equal(seen.job, submitted.jobId);
    assert.equal(seen.status_seen, 'RUNNING');
    const run = await runInfo(submitted.runId);
    assert.equal(run.status, 'FINISHED');
    assert.equal(run.tags['mlflow.project.backend'], 'slurm');
    assert.equal(run.tags['mlflow.slurm.jobId'], submitted.jobId);
    assert.equal(run.tags['mlflow.source.type'], 'PROJECT');
  });

  test('a failing command ends the run FAILED', async (t) => {
    if (!needsSlurm(t)) return;
    const p = makeProject('exit 4');
    t.after(p.cleanup);
    const submitted = await runProject({
      uri: p.dir,
      backend: 'slurm',
      envManager: 'local',
      trackingUri: server.url,
      log: () => {},
    });
    assert.equal(await submitted.wait(), false);
    assert.equal((await runInfo(submitted.runId)).status, 'FAILED');
  });

  test('cancel() runs scancel; the run ends KILLED and the job is CANCELLED', async (t) => {
    if (!needsSlurm(t)) return;
    const p = makeProject('touch started && sleep 300');
    t.after(p.cleanup);
    const submitted = await runProject({
      uri: p.dir,
      backend: 'slurm',
      envManager: 'local',
      trackingUri: server.url,
      log: () => {},
    });
    for (let i = 0; i < 600 && !existsSync(path.join(p.dir, 'started')); i++) await sleep(100);
    assert.ok(existsSync(path.join(p.dir, 'started')), 'the job did not start within 60 s');
    await submitted.cancel();
    assert.equal((await runInfo(submitted.runId)).status, 'KILLED');
    const job = execFileSync('scontrol', ['show', 'job', '-o', submitted.jobId as string], {
      encoding: 'utf8',
    });
    assert.match(job, /\bJobState=CANCELLED\b/);
  });

  test('mlflow-ts run -b slurm --no-wait returns at once; the job records the end itself', async (t) => {
    if (!needsSlurm(t)) return;
    const p = makeProject('sleep 1 && python3 report.py {text}');
    t.after(p.cleanup);
    // Asynchronously: the tracking server answering the CLI runs in this process.
    const result = await runCli(
      process.execPath,
      [
        path.join(REPO_ROOT, 'packages/server/dist/cli/main.js'),
        'run',
        p.dir,
        '-b',
        'slurm',
        '--no-wait',
        '--env-manager',
        'local',
        '-c',
        '{"time": "5"}',
      ],
      { ...process.env, MLFLOW_TRACKING_URI: server.url },
    );
    assert.equal(result.code, 0, result.stderr);
    const [runId, jobId] = result.stdout.trim().split(' ');
    assert.match(runId, /^[0-9a-f]{32}$/);
    assert.match(jobId, /^\d+$/);
    assert.notEqual((await runInfo(runId)).status, 'FINISHED');
    let status = '';
    for (let i = 0; i < 600; i++) {
      status = (await runInfo(runId)).status;
      if (status === 'FINISHED' || status === 'FAILED') break;
      await sleep(100);
    }
    assert.equal(status, 'FINISHED');
    assert.deepEqual(JSON.parse(readFileSync(path.join(p.dir, 'report.json'), 'utf8')).argv, ['hi']);
  });

  test("bad backend config fails before a run exists; an unknown partition fails the run with sbatch's message", async (t) => {
    if (!needsSlurm(t)) return;
    const p = makeProject('true');
    t.after(p.cleanup);
    const experiment = await call(server.api, 'POST', 'experiments/create', {
      name: `slurm-bad-${Date.now()}`,
    });
    const experimentId = experiment.body.experiment_id as string;
    await assert.rejects(
      runProject({
        uri: p.dir,
        backend: 'slurm',
        backendConfig: { nodes: 2 },
        experimentId,
        envManager: 'local',
        trackingUri: server.url,
        log: () => {},
      }),
      (error: unknown) => error instanceof ExecutionError && /unknown key\(s\) 'nodes'/.test(error.message),
    );
    const none = await call(server.api, 'POST', 'runs/search', { experiment_ids: [experimentId] });
    assert.deepEqual(none.body.runs ?? [], []);
    await assert.rejects(
      runProject({
        uri: p.dir,
        backend: 'slurm',
        backendConfig: { partition: 'no-such-partition' },
        experimentId,
        envManager: 'local',
        trackingUri: server.url,
        log: () => {},
      }),
      (error: unknown) =>
        error instanceof ExecutionError &&
        /sbatch --parsable .* failed: .*(invalid partition|Invalid partition)/i.test(error.message),
    );
    const runs = await call(server.api, 'POST', 'runs/search', { experiment_ids: [experimentId] });
    assert.equal(runs.body.runs.length, 1);
    assert.equal(runs.body.runs[0].info.status, 'FAILED');
  });
});
