import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MlflowClient } from '@mlflow-ts/client';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { tempDir } from './helpers.js';
import { CLI, type ServerProcess, startServerProcess } from './server-process.js';

// The data commands of the built `mlflow-ts` binary (experiments, runs, artifacts) against a server process.

describe('mlflow-ts experiments|runs|artifacts', () => {
  let srv: ServerProcess;
  let client: MlflowClient;
  const dir = tempDir();

  const cli = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, MLFLOW_TRACKING_URI: srv.url, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0', ...env },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (args: string[], env?: Record<string, string>) => {
    const r = cli(args, env);
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

  test('experiments create, search, get, rename, delete, restore', async () => {
    assert.match(
      ok(['experiments', 'create', '-n', 'cli-exp']),
      /^Created experiment 'cli-exp' with id (\d+)\n$/,
    );
    const id = (await client.getExperimentByName('cli-exp'))?.experiment_id as string;
    const json = JSON.parse(ok(['experiments', 'create', '--experiment-name', 'cli-exp-2', '--json']));
    assert.equal(json.name, 'cli-exp-2');

    const table = ok(['experiments', 'search']).split('\n');
    assert.match(table[0], /^Experiment Id\s+Name\s+Artifact Location$/);
    assert.match(table[1], /^-+\s+-+\s+-+$/);
    assert.ok(table.some((l) => new RegExp(`^${id}\\s+cli-exp\\s+mlflow-artifacts:`).test(l)));

    const got = JSON.parse(ok(['experiments', 'get', '-x', id, '--json']));
    assert.equal(got.name, 'cli-exp');
    assert.match(ok(['experiments', 'get', '-n', 'cli-exp']), /name\s+cli-exp/);

    ok(['experiments', 'rename', '-x', id, '--new-name', 'cli-renamed']);
    assert.equal((await client.getExperiment(id)).name, 'cli-renamed');
    ok(['experiments', 'delete', '--experiment-id', id]);
    assert.equal((await client.getExperiment(id)).lifecycle_stage, 'deleted');
    const deleted = JSON.parse(ok(['experiments', 'search', '--view', 'deleted_only', '--json']));
    assert.deepEqual(
      deleted.map((e: { experiment_id: string }) => e.experiment_id),
      [id],
    );
    ok(['experiments', 'restore', '-x', id]);
    assert.equal((await client.getExperiment(id)).lifecycle_stage, 'active');
  });

  test('errors exit 1 with the server error code and what to do', () => {
    const dup = cli(['experiments', 'create', '-n', 'Default']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /RESOURCE_ALREADY_EXISTS, HTTP 400/);
    const missing = cli(['experiments', 'get', '-x', '424242']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /RESOURCE_DOES_NOT_EXIST, HTTP 404/);
    const noServer = cli(['runs', 'list', '--experiment-id', '0'], {
      MLFLOW_TRACKING_URI: 'http://127.0.0.1:9',
    });
    assert.equal(noServer.code, 1);
    assert.match(noServer.stderr, /Check that the tracking server is running/);
    const noFlag = cli(['runs', 'describe']);
    assert.equal(noFlag.code, 1);
    assert.match(noFlag.stderr, /--run-id/);
    const badView = cli(['experiments', 'search', '--view', 'some']);
    assert.equal(badView.code, 1);
    assert.match(badView.stderr, /active_only, deleted_only or all/);
  });

  test('runs list, describe, delete, restore, export and experiments csv', async () => {
    const exp = await client.createExperiment('cli-runs');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await client.createRun(exp, { runName: `r${i}`, startTime: 1_700_000_000_000 + i * 1000 });
      await client.logBatch(run.info.run_id, {
        metrics: [{ key: 'acc', value: i / 10, step: 0, timestamp: 1 }],
        params: [{ key: 'lr', value: `0.${i}` }],
        tags: [{ key: 'note', value: i === 1 ? 'has, comma "quoted"' : 'plain' }],
      });
      ids.push(run.info.run_id);
    }
    const list = ok(['runs', 'list', '--experiment-id', exp]).split('\n');
    assert.match(list[0], /^Date\s+Name\s+ID\s+Status$/);
    assert.ok(list[2].includes(ids[2]), 'newest first');
    assert.ok(list[4].includes(ids[0]));
    assert.equal(JSON.parse(ok(['runs', 'list', '--json'], { MLFLOW_EXPERIMENT_ID: exp })).length, 3);

    const described = JSON.parse(ok(['runs', 'describe', '--run-id', ids[1]]));
    assert.equal(described.info.run_name, 'r1');
    assert.equal(described.data.params[0].value, '0.1');

    ok(['runs', 'delete', '--run-id', ids[0]]);
    assert.equal(JSON.parse(ok(['runs', 'list', '--experiment-id', exp, '--json'])).length, 2);
    assert.equal(
      JSON.parse(ok(['runs', 'list', '--experiment-id', exp, '--view', 'deleted_only', '--json'])).length,
      1,
    );
    ok(['runs', 'restore', '--run-id', ids[0]]);

    const csvFile = path.join(dir.dir, 'runs.csv');
    const r = cli(['runs', 'export', '-x', exp, '--order-by', 'metrics.acc DESC', '-o', csvFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Exported 3 runs .* as csv to /);
    const csv = readFileSync(csvFile, 'utf8').trimEnd().split('\n');
    assert.equal(
      csv[0],
      'run_id,experiment_id,status,artifact_uri,start_time,end_time,metrics.acc,params.lr,tags.mlflow.runName,tags.note',
    );
    assert.equal(csv.length, 4);
    assert.ok(csv[1].startsWith(`${ids[2]},${exp},RUNNING,`));
    assert.ok(csv[1].includes(',2023-11-14T22:13:22.000Z,,0.2,0.2,r2,plain'), csv[1]);
    assert.ok(csv[2].endsWith(',0.1,0.1,r1,"has, comma ""quoted"""'), csv[2]);

    const jsonl = ok([
      'runs',
      'export',
      '-n',
      'cli-runs',
      '--filter',
      'metrics.acc > 0.05',
      '--format',
      'jsonl',
    ])
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(jsonl.length, 2);
    assert.deepEqual(Object.keys(jsonl[0]).slice(0, 6), [
      'run_id',
      'experiment_id',
      'status',
      'artifact_uri',
      'start_time',
      'end_time',
    ]);
    assert.equal(typeof jsonl[0]['metrics.acc'], 'number');

    const parquetFile = path.join(dir.dir, 'runs.parquet');
    const pq = cli(['runs', 'export', '-x', exp, '--order-by', 'metrics.acc DESC', '-o', parquetFile]);
    assert.equal(pq.code, 0, pq.stderr);
    assert.match(pq.stderr, /Exported 3 runs .* as parquet/);
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(parquetFile) });
    assert.equal(rows.length, 3);
    assert.deepEqual(Object.keys(rows[0]), csv[0].split(','));
    assert.equal(rows[0].run_id, ids[2]);
    assert.equal(rows[0]['metrics.acc'], 0.2);
    assert.equal(rows[1]['tags.note'], 'has, comma "quoted"');
    assert.ok(rows[0].start_time instanceof Date);
    assert.equal((rows[0].start_time as Date).getTime(), 1_700_000_002_000);
    assert.equal(rows[0].end_time, null);
    const noOutput = cli(['runs', 'export', '-x', exp, '--format', 'parquet']);
    assert.equal(noOutput.code, 1);
    assert.match(noOutput.stderr, /pass --output/);

    const fromCsvCommand = ok(['experiments', 'csv', '-x', exp]);
    assert.equal(fromCsvCommand.trimEnd().split('\n').length, 4);
    const noExp = cli(['runs', 'export']);
    assert.equal(noExp.code, 1);
    assert.match(noExp.stderr, /--experiment-id or --experiment-name/);
  });

  test('artifacts log-artifact, log-artifacts, list and download', async () => {
    const exp = await client.createExperiment('cli-artifacts');
    const runId = (await client.createRun(exp)).info.run_id;
    const src = path.join(dir.dir, 'src');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'a.txt'), 'A');
    writeFileSync(path.join(src, 'sub', 'b.txt'), 'BB');
    const single = path.join(dir.dir, 'model.bin');
    writeFileSync(single, Buffer.alloc(3000, 7));

    ok(['artifacts', 'log-artifacts', '-l', src, '-r', runId, '--artifact-path', 'data']);
    assert.match(
      ok(['artifacts', 'log-artifact', '--local-file', single, '--run-id', runId]),
      /Logged artifact from local file/,
    );
    const table = ok(['artifacts', 'list', '-r', runId]).split('\n');
    assert.match(table[0], /^Path\s+Type\s+Size$/);
    assert.ok(table.some((l) => /^data\s+dir$/.test(l)));
    assert.ok(table.some((l) => /^model\.bin\s+file\s+2\.9 KiB$/.test(l)));
    const listed = JSON.parse(
      ok(['artifacts', 'list', '-r', runId, '--artifact-path', 'data/sub', '--json']),
    );
    assert.deepEqual(listed, [{ path: 'data/sub/b.txt', is_dir: false, file_size: 2 }]);

    const dst = path.join(dir.dir, 'dst');
    const printed = ok(['artifacts', 'download', '-r', runId, '--artifact-path', 'data', '-d', dst]).trim();
    assert.equal(printed, path.join(dst, 'data'));
    assert.equal(readFileSync(path.join(dst, 'data', 'sub', 'b.txt'), 'utf8'), 'BB');
    const viaUri = ok([
      'artifacts',
      'download',
      '--artifact-uri',
      `runs:/${runId}/model.bin`,
      '--dst-path',
      dst,
    ]).trim();
    assert.equal(readFileSync(viaUri).length, 3000);
    const tmp = ok(['artifacts', 'download', '-r', runId]).trim();
    assert.equal(readFileSync(path.join(tmp, 'data', 'a.txt'), 'utf8'), 'A');

    const missingFile = cli(['artifacts', 'log-artifact', '-l', path.join(dir.dir, 'nope'), '-r', runId]);
    assert.equal(missingFile.code, 1);
    assert.match(missingFile.stderr, /No such file/);
    const missingArtifact = cli([
      'artifacts',
      'download',
      '-r',
      runId,
      '--artifact-path',
      'nope.txt',
      '-d',
      dst,
    ]);
    assert.equal(missingArtifact.code, 1);
    assert.match(missingArtifact.stderr, /RESOURCE_DOES_NOT_EXIST/);
  });
});
