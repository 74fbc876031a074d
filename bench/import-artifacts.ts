/**
 * `db import --copy-artifacts`: how fast artifacts move between a local directory and S3 (moto by default)
 * through the artifact repositories, and what a resumed copy (every file already there) costs.
 *
 *   npx tsx bench/import-artifacts.ts [--runs 20] [--small-per-run 50] [--small-kb 10] [--big 4] [--big-mb 32]
 *       [--s3 http://127.0.0.1:54330] [--dir DIR]
 *
 * Builds an MLflow SQLite store (schema revision 1b5f0d9ad7c1, experiments and runs only) whose runs'
 * artifact URIs point at a local tree: `--runs` runs with `--small-per-run` files of `--small-kb` KiB
 * each, and `--big` files of `--big-mb` MiB spread over the first runs. Then imports it in-process
 * (importStore) into fresh SQLite stores, one scenario each: local -> local, local -> s3://, the same
 * again into the same s3:// destination (every file skipped: the cost of resuming), and s3:// -> local.
 * The S3 endpoint is --s3, else MLFLOW_TS_TEST_S3_ENDPOINT, else scripts/services/moto.sh start. Times
 * are wall time and this process's CPU time (user + system); the S3 server's own CPU is not in it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import BetterSqlite3 from 'better-sqlite3';
import {
  createS3Client,
  S3ArtifactRepository,
} from '../packages/server/src/artifacts/s3-artifact-repository.js';
import { importStore } from '../packages/server/src/import/importer.js';
import { commandLine, markdownTable } from './common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE =
  'usage: tsx bench/import-artifacts.ts [--runs 20] [--small-per-run 50] [--small-kb 10] [--big 4] [--big-mb 32] [--s3 URL] [--dir DIR]';
const cli = commandLine('import-artifacts', USAGE);

interface Options {
  runs: number;
  smallPerRun: number;
  smallKb: number;
  big: number;
  bigMb: number;
  s3?: string;
  dir: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    runs: 20,
    smallPerRun: 50,
    smallKb: 10,
    big: 4,
    bigMb: 32,
    dir: path.join(tmpdir(), `mlflow-ts-import-artifacts-${process.pid}`),
  };
  cli.parse(
    argv,
    {
      runs: 'string',
      'small-per-run': 'string',
      'small-kb': 'string',
      big: 'string',
      'big-mb': 'string',
      s3: 'string',
      dir: 'string',
    },
    (name, value, flag) => {
      if (name === 's3') o.s3 = value;
      else if (name === 'dir') o.dir = value;
      else if (name === 'runs') o.runs = cli.count(flag, value);
      else if (name === 'small-per-run') o.smallPerRun = cli.count(flag, value);
      else if (name === 'small-kb') o.smallKb = cli.count(flag, value);
      else if (name === 'big') o.big = Number(value) === 0 ? 0 : cli.count(flag, value);
      else if (name === 'big-mb') o.bigMb = cli.count(flag, value);
    },
  );
  return o;
}

const runId = (i: number) => `run${String(i).padStart(29, '0')}`;

/** The artifact tree below `dir` (MLflow's layout: 1/<run>/artifacts/...); its file count and bytes. */
function buildTree(o: Options, dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (let r = 0; r < o.runs; r++) {
    const base = path.join(dir, '1', runId(r), 'artifacts');
    mkdirSync(path.join(base, 'small'), { recursive: true });
    for (let f = 0; f < o.smallPerRun; f++) {
      writeFileSync(path.join(base, 'small', `f${f}.bin`), randomBytes(o.smallKb * 1024));
      files++;
      bytes += o.smallKb * 1024;
    }
  }
  for (let b = 0; b < o.big; b++) {
    const base = path.join(dir, '1', runId(b % o.runs), 'artifacts');
    writeFileSync(path.join(base, `big${b}.bin`), randomBytes(o.bigMb * 1024 * 1024));
    files++;
    bytes += o.bigMb * 1024 * 1024;
  }
  return { files, bytes };
}

/** A minimal MLflow 3.6 SQLite store whose runs' artifact URIs are `locate(<relative>)`. */
function sourceStore(file: string, o: Options, locate: (relative: string) => string): string {
  rmSync(file, { force: true });
  const db = new BetterSqlite3(file);
  db.exec(`create table alembic_version (version_num varchar(32) not null primary key);
    insert into alembic_version values ('1b5f0d9ad7c1');
    create table experiments (experiment_id integer primary key, name varchar(256) not null, artifact_location varchar(256),
      lifecycle_stage varchar(32), creation_time bigint, last_update_time bigint, workspace varchar(63) default 'default' not null);
    create table runs (run_uuid varchar(32) primary key, name varchar(250), source_type varchar(20), source_name varchar(500),
      entry_point_name varchar(50), user_id varchar(256), status varchar(9), start_time bigint, end_time bigint,
      source_version varchar(50), lifecycle_stage varchar(20), artifact_uri varchar(200), experiment_id integer, deleted_time bigint);`);
  db.prepare(`insert into experiments values (1, 'bench', ?, 'active', 1, 1, 'default')`).run(locate('1'));
  const insert = db.prepare(
    `insert into runs values (?, ?, 'LOCAL', '', '', 'u', 'FINISHED', 1000, 2000, '', 'active', ?, 1, null)`,
  );
  for (let r = 0; r < o.runs; r++) insert.run(runId(r), `r${r}`, locate(`1/${runId(r)}/artifacts`));
  db.close();
  return `sqlite:///${file}`;
}

function s3Endpoint(o: Options): string {
  if (o.s3) return o.s3;
  if (process.env.MLFLOW_TS_TEST_S3_ENDPOINT) return process.env.MLFLOW_TS_TEST_S3_ENDPOINT;
  return execFileSync('bash', [path.join(ROOT, 'scripts/services/moto.sh'), 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(o.dir, { recursive: true });
  const endpoint = s3Endpoint(o);
  // moto takes any credentials; a real S3 endpoint needs AWS_ACCESS_KEY_ID etc. set by the caller.
  process.env.MLFLOW_S3_ENDPOINT_URL = endpoint;
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  process.env.AWS_DEFAULT_REGION ??= 'us-east-1';
  const bucket = `mlflow-ts-bench-${randomBytes(4).toString('hex')}`;
  const client = createS3Client({
    endpoint,
    region: 'us-east-1',
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));

  const tree = path.join(o.dir, 'src');
  const total = buildTree(o, tree);
  console.log(
    `${total.files} files, ${(total.bytes / 1e6).toFixed(1)} MB in ${o.runs} runs; S3 at ${endpoint} (bucket ${bucket})\n`,
  );

  const rows: (string | number)[][] = [];
  let n = 0;
  const scenario = async (name: string, locate: (relative: string) => string, dest: string) => {
    n++;
    const from = sourceStore(path.join(o.dir, `source${n}.db`), o, locate);
    const to = `sqlite:///${path.join(o.dir, `target${n}.db`)}`;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const summary = await importStore({ from, to, copyArtifacts: { dest } });
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const a = summary.artifacts;
    if (!a) throw new Error('no artifact counts');
    rows.push([
      name,
      a.files,
      a.filesSkipped,
      (a.bytes / 1e6).toFixed(1),
      seconds.toFixed(2),
      ((used.user + used.system) / 1e6).toFixed(2),
      (a.bytes / 1e6 / seconds).toFixed(1),
      ((a.files + a.filesSkipped) / seconds).toFixed(0),
    ]);
  };
  const s3Dest = `s3://${bucket}/dest`;
  await scenario('local -> local', (rel) => path.join(tree, rel), path.join(o.dir, 'dest-local'));
  await scenario('local -> s3', (rel) => path.join(tree, rel), s3Dest);
  await scenario('local -> s3, resumed (all there)', (rel) => path.join(tree, rel), s3Dest);
  await scenario('s3 -> local', (rel) => `${s3Dest}/${rel}`, path.join(o.dir, 'dest-from-s3'));

  console.log(
    markdownTable(
      ['scenario', 'files copied:', 'files skipped:', 'MB copied:', 'wall s:', 'CPU s:', 'MB/s:', 'files/s:'],
      rows,
    ),
  );
  rmSync(o.dir, { recursive: true, force: true });
  await new S3ArtifactRepository(`s3://${bucket}`).delete('dest');
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  client.destroy();
}

await main();
