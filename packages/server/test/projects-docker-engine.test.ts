import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runProject } from '../src/projects/run-project.js';
import { call, startTestServer, type TestServer, tempDir } from './helpers.js';

// docker_env projects run for real in a container: Debian's podman (through a `docker` link to it),
// set up by scripts/services/podman.sh with a busybox image imported from Debian's packages. The
// container talks to the tracking server over the host network with busybox's wget, so what reaches
// tracking is what the project inside the container sent.

const PODMAN_DIR = process.env.MLFLOW_TS_TEST_PODMAN_DIR;
const IMAGE = 'localhost/mlflow-ts-test/busybox:1';

const LOG_SCRIPT = `set -e
env | sort > /data/env.txt
pwd > /data/pwd.txt
ls /mlflow/projects/code > /data/ls.txt
wget -q -O /data/answer.json --header 'Content-Type: application/json' \\
  --post-data "{\\"run_id\\": \\"$MLFLOW_RUN_ID\\", \\"key\\": \\"alpha\\", \\"value\\": $1, \\"timestamp\\": 1, \\"step\\": 0}" \\
  "$MLFLOW_TRACKING_URI/api/2.0/mlflow/runs/log-metric"
exit "$2"
`;

function mlproject(dataDir: string): string {
  return `name: containerized
docker_env:
  image: ${IMAGE}
  volumes: ["${dataDir}:/data"]
  environment: [["NEW_VAR", "new value"], "HOST_VAR"]
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      code: {type: float, default: 0}
    command: "sh log.sh {alpha} {code}"
`;
}

describe('docker_env in a real container (podman)', {
  skip:
    !PODMAN_DIR && process.env.CI !== 'true'
      ? 'MLFLOW_TS_TEST_PODMAN_DIR is not set (start scripts/services/podman.sh)'
      : false,
}, () => {
  let tracking: TestServer;
  const saved = {
    path: process.env.PATH,
    conf: process.env.CONTAINERS_CONF,
    storage: process.env.CONTAINERS_STORAGE_CONF,
  };
  const tmp = tempDir('mlflow-ts-container-');

  before(async () => {
    if (!PODMAN_DIR)
      throw new Error(
        'MLFLOW_TS_TEST_PODMAN_DIR is not set: scripts/services/podman.sh start must run under CI',
      );
    process.env.PATH = `${path.join(PODMAN_DIR, 'bin')}:${saved.path}`;
    process.env.CONTAINERS_CONF = path.join(PODMAN_DIR, 'containers.conf');
    process.env.CONTAINERS_STORAGE_CONF = path.join(PODMAN_DIR, 'storage.conf');
    process.env.HOST_VAR = 'copied from the host';
    tracking = await startTestServer('sqlite');
  });
  after(async () => {
    for (const [key, value] of [
      ['PATH', saved.path],
      ['CONTAINERS_CONF', saved.conf],
      ['CONTAINERS_STORAGE_CONF', saved.storage],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    delete process.env.HOST_VAR;
    await tracking?.close();
    tmp.cleanup();
  });

  function makeProject(name: string): { project: string; data: string } {
    const project = path.join(tmp.dir, name, 'project');
    const data = path.join(tmp.dir, name, 'data');
    mkdirSync(project, { recursive: true });
    mkdirSync(data, { recursive: true });
    writeFileSync(path.join(project, 'MLproject'), mlproject(data));
    writeFileSync(path.join(project, 'log.sh'), LOG_SCRIPT);
    return { project, data };
  }

  async function runOf(runId: string) {
    const res = await call(tracking.api, 'GET', 'runs/get', { run_id: runId });
    assert.equal(res.status, 200);
    const run = res.body.run;
    return {
      status: run.info.status as string,
      tags: Object.fromEntries(run.data.tags.map((x: any) => [x.key, x.value])) as Record<string, string>,
      metrics: Object.fromEntries((run.data.metrics ?? []).map((x: any) => [x.key, x.value])) as Record<
        string,
        number
      >,
    };
  }

  function envFile(data: string): Record<string, string> {
    const lines = readFileSync(path.join(data, 'env.txt'), 'utf8').trim().split('\n');
    return Object.fromEntries(
      lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  }

  test('the project runs mounted in the image, with tracking variables, volumes and environment', async () => {
    const { project, data } = makeProject('mounted');
    const submitted = await runProject({
      uri: project,
      parameters: { alpha: '0.25' },
      dockerArgs: { network: 'host' },
      trackingUri: tracking.url,
      log: () => {},
    });
    assert.equal(await submitted.wait(), true);
    const env = envFile(data);
    assert.equal(env.MLFLOW_RUN_ID, submitted.runId);
    assert.equal(env.MLFLOW_TRACKING_URI, tracking.url);
    assert.equal(env.MLFLOW_EXPERIMENT_ID, '0');
    assert.equal(env.NEW_VAR, 'new value');
    assert.equal(env.HOST_VAR, 'copied from the host');
    // Only what was passed: the host's own environment stays outside.
    assert.equal(env.CONTAINERS_CONF, undefined);
    assert.equal(readFileSync(path.join(data, 'pwd.txt'), 'utf8').trim(), '/mlflow/projects/code');
    assert.deepEqual(readFileSync(path.join(data, 'ls.txt'), 'utf8').trim().split('\n'), [
      'MLproject',
      'log.sh',
    ]);
    const run = await runOf(submitted.runId);
    assert.equal(run.status, 'FINISHED');
    assert.equal(run.metrics.alpha, 0.25);
    assert.equal(run.tags['mlflow.project.env'], 'docker');
    assert.equal(run.tags['mlflow.docker.image.uri'], IMAGE);
    const imageId = execFileSync('podman', ['image', 'inspect', '--format', '{{.Id}}', IMAGE], {
      encoding: 'utf8',
    }).trim();
    assert.match(run.tags['mlflow.docker.image.id'], new RegExp(`^(sha256:)?${imageId}$`));
  });

  test('a failing command in the container fails the run', async () => {
    const { project, data } = makeProject('failing');
    const submitted = await runProject({
      uri: project,
      parameters: { code: '3' },
      dockerArgs: { network: 'host' },
      trackingUri: tracking.url,
      log: () => {},
    });
    assert.equal(await submitted.wait(), false);
    assert.equal(envFile(data).MLFLOW_RUN_ID, submitted.runId);
    const run = await runOf(submitted.runId);
    assert.equal(run.status, 'FAILED');
    assert.equal(run.metrics.alpha, 0.5);
  });

  test('--build-image builds <name> FROM the image with the project copied in, and runs it unmounted', async () => {
    const { project, data } = makeProject('built');
    const submitted = await runProject({
      uri: project,
      buildImage: true,
      dockerArgs: { network: 'host' },
      trackingUri: tracking.url,
      log: () => {},
    });
    assert.equal(await submitted.wait(), true);
    assert.equal(readFileSync(path.join(data, 'pwd.txt'), 'utf8').trim(), '/mlflow/projects/code');
    assert.deepEqual(readFileSync(path.join(data, 'ls.txt'), 'utf8').trim().split('\n'), [
      'MLproject',
      'log.sh',
    ]);
    // The copy in the image, not a mount: a file added now is not seen by a new container.
    writeFileSync(path.join(project, 'added-later'), '');
    const listing = execFileSync('podman', ['run', '--rm', 'containerized', 'ls', '/mlflow/projects/code'], {
      encoding: 'utf8',
    });
    assert.deepEqual(listing.trim().split('\n'), ['MLproject', 'log.sh']);
    const run = await runOf(submitted.runId);
    assert.equal(run.status, 'FINISHED');
    assert.equal(run.tags['mlflow.docker.image.uri'], 'containerized');
    assert.equal(run.metrics.alpha, 0.5);
  });
});
