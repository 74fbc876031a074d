import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MlflowClient } from '@mlflow-ts/client';
import { tempDir } from './helpers.js';
import { CLI, type ServerProcess, startServerProcess } from './server-process.js';

// `mlflow-ts models ...` of the built binary against a server process.

describe('mlflow-ts models', () => {
  let srv: ServerProcess;
  let client: MlflowClient;
  const dir = tempDir();

  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, MLFLOW_TRACKING_URI: srv.url, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (args: string[]) => {
    const r = cli(args);
    assert.equal(r.code, 0, `mlflow-ts ${args.join(' ')}\n${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    srv = await startServerProcess('sqlite');
    client = new MlflowClient({ trackingUri: srv.url, maxRetries: 0 });
  });
  after(async () => {
    await srv.close();
    dir.cleanup();
  });

  test('register, list, show, alias, transition, download, and bad inputs', async () => {
    const expId = await client.createExperiment('cli-models');
    const run = await client.createRun(expId);
    const runId = run.info.run_id;
    const files = await client.runArtifacts(runId);
    await files.upload('model/MLmodel', 'flavors: {}\n');
    await files.upload('model/data/w.txt', 'weights');

    assert.match(
      ok(['models', 'register', '--model-uri', `runs:/${runId}/model`, '--name', 'cli-m']),
      /^Created version 1 of model 'cli-m' from mlflow-artifacts:.*\/model\.\n$/,
    );
    const v2 = JSON.parse(
      ok(['models', 'register', '--model-uri', 'models:/cli-m/1', '-n', 'cli-m', '--json']),
    );
    assert.equal(v2.version, '2');
    assert.equal(v2.source, `${run.info.artifact_uri}/model`);
    const v3 = JSON.parse(
      ok(['models', 'register', '--model-uri', 's3://bucket/m', '-n', 'other', '--json']),
    );
    assert.equal(v3.source, 's3://bucket/m');
    // The server refuses a bare local path without a run, as MLflow does; the message says why.
    const local = cli(['models', 'register', '--model-uri', '/some/path', '-n', 'other']);
    assert.equal(local.code, 1);
    assert.match(local.stderr, /Invalid model version source.*INVALID_PARAMETER_VALUE, HTTP 400/s);

    const table = ok(['models', 'list']).split('\n');
    assert.match(table[0] as string, /^Name\s+Latest Version\s+Aliases\s+Updated$/);
    assert.ok(table.some((l) => /^cli-m\s+2\b/.test(l)));
    const listed = JSON.parse(ok(['models', 'list', '--filter', "name = 'other'", '--json']));
    assert.deepEqual(
      listed.map((m: { name: string }) => m.name),
      ['other'],
    );
    assert.equal(JSON.parse(ok(['models', 'list', '--max-results', '1', '--json'])).length, 1);

    ok(['models', 'alias', 'set', '-n', 'cli-m', '-a', 'champion', '-v', '1']);
    assert.equal((await client.getModelVersionByAlias('cli-m', 'champion')).version, '1');
    assert.match(ok(['models', 'show', '-n', 'cli-m']), /aliases\s+champion=v1/);
    const shown = JSON.parse(ok(['models', 'show', '-n', 'cli-m', '-v', '1', '--json']));
    assert.deepEqual(shown.aliases, ['champion']);

    ok(['models', 'transition', '-n', 'cli-m', '-v', '1', '--stage', 'Production']);
    assert.match(
      ok([
        'models',
        'transition',
        '-n',
        'cli-m',
        '-v',
        '2',
        '--stage',
        'Production',
        '--archive-existing-versions',
      ]),
      /Version 2 of model 'cli-m' is now in stage 'Production'/,
    );
    assert.equal((await client.getModelVersion('cli-m', 1)).current_stage, 'Archived');

    const dst = path.join(dir.dir, 'dl');
    const out = ok(['models', 'download', '--model-uri', 'models:/cli-m@champion', '--dst-path', dst]);
    assert.equal(out.trim(), dst);
    assert.equal(readFileSync(path.join(dst, 'data', 'w.txt'), 'utf8'), 'weights');

    ok(['models', 'alias', 'delete', '-n', 'cli-m', '-a', 'champion']);
    assert.equal((await client.getRegisteredModel('cli-m')).aliases.length, 0);

    const missing = cli(['models', 'show', '-n', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /RESOURCE_DOES_NOT_EXIST, HTTP 404/);
    const badStage = cli(['models', 'transition', '-n', 'cli-m', '-v', '1', '--stage', 'Nowhere']);
    assert.equal(badStage.code, 1);
    assert.match(badStage.stderr, /INVALID_PARAMETER_VALUE/);
    const badUri = cli(['models', 'download', '--model-uri', 'models:/a@']);
    assert.equal(badUri.code, 1);
    assert.match(badUri.stderr, /Use models:\/<name>\/<version>/);
    const badMax = cli(['models', 'list', '--max-results', 'x']);
    assert.equal(badMax.code, 1);
    assert.match(badMax.stderr, /positive whole number/);
  });
});
