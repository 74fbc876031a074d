// `mlflow-ts db import --copy-artifacts`: artifacts read from a local directory or S3 (moto, radosgw) and
// written into a local or S3 destination through the artifact repositories, locations rewritten to
// mlflow-artifacts:/ URIs that our server then serves; an interrupted copy resumed; the CLI's progress.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  createReadStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { AzureBlobArtifactRepository } from '../src/artifacts/azure-blob-artifact-repository.js';
import { S3ArtifactRepository } from '../src/artifacts/s3-artifact-repository.js';
import { type ImportSummary, importStore } from '../src/import/importer.js';
import { startServer } from '../src/server.js';
import {
  azureTestConnection,
  call,
  freshAzureContainer,
  freshS3Bucket,
  freshStoreUri,
  REPO_ROOT,
  type S3TestTarget,
  s3TestEnv,
  s3TestSettings,
  s3TestTarget,
  tempDir,
} from './helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mlflow-3.6', 'sqlite');
const RUN_A = 'f3cff73b41d646a5938ed3cfdf6c12f7';
const RUN_B = '12da494731f8426aac987b90531a7850';
const MODEL = 'm-2ba6c111700649538f3a009e689aa33a';
/** The fixture's runs with no artifacts (7 of its 9). */
const EMPTY_RUNS = 7;
const MANY = 20;
/** notes/tmp-artifact.txt, data/big.bin and many/* of run A, b.txt of run B. */
const RUN_FILES = 2 + MANY + 1;
const MODEL_FILES = 7;
const BIG = 12 * 1024 * 1024 + 123;

/**
 * The fixture's artifacts (run A's note and the logged model), plus a 12 MiB file (more than one S3
 * part) and 20 small files in run A and one in run B, in MLflow's layout below `dir`.
 */
function sourceTree(dir: string): void {
  cpSync(path.join(FIXTURES, 'mlartifacts'), dir, { recursive: true });
  const runA = path.join(dir, '1', RUN_A, 'artifacts');
  mkdirSync(path.join(runA, 'data'), { recursive: true });
  writeFileSync(path.join(runA, 'data', 'big.bin'), randomBytes(BIG));
  mkdirSync(path.join(runA, 'many'));
  for (let i = 0; i < MANY; i++)
    writeFileSync(path.join(runA, 'many', `f${i}.txt`), `file ${i}\n`.repeat(i + 1));
  mkdirSync(path.join(dir, '1', RUN_B, 'artifacts'), { recursive: true });
  writeFileSync(path.join(dir, '1', RUN_B, 'artifacts', 'b.txt'), 'run b');
}

/** Every file below `dir`, by path relative to it, with its SHA-256. */
function digests(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else
        out.set(
          child,
          createHash('sha256')
            .update(readFileSync(path.join(dir, child)))
            .digest('hex'),
        );
    }
  };
  walk('');
  return out;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A copy of MLflow 3.6's SQLite fixture whose locations are where a non-proxying MLflow server would
 * have put them (`locate` of the layout's relative path), with model versions registered from
 * inside run A's artifacts and the logged model's (MLflow 2 resolved a source to such a location).
 */
function sourceStore(dir: string, locate: (relative: string) => string): string {
  const file = path.join(dir, 'mlflow.db');
  cpSync(path.join(FIXTURES, 'mlflow.db'), file);
  const db = new BetterSqlite3(file);
  try {
    for (const e of db.prepare('select experiment_id from experiments').all() as {
      experiment_id: number;
    }[]) {
      db.prepare('update experiments set artifact_location = ? where experiment_id = ?').run(
        locate(String(e.experiment_id)),
        e.experiment_id,
      );
    }
    const runs = db.prepare('select run_uuid, experiment_id from runs').all() as {
      run_uuid: string;
      experiment_id: number;
    }[];
    for (const r of runs) {
      db.prepare('update runs set artifact_uri = ? where run_uuid = ?').run(
        locate(`${r.experiment_id}/${r.run_uuid}/artifacts`),
        r.run_uuid,
      );
    }
    db.prepare('update logged_models set artifact_location = ? where model_id = ?').run(
      locate(`1/models/${MODEL}/artifacts`),
      MODEL,
    );
    db.prepare(
      `update model_versions set source = ?, storage_location = ? where name = 'fixture-model' and version = 2`,
    ).run(locate(`1/${RUN_A}/artifacts/notes`), locate(`1/${RUN_A}/artifacts/notes`));
    db.prepare(
      `update model_versions set source = ?, storage_location = ? where name = 'fixture-model' and version = 3`,
    ).run(`models:/${MODEL}`, locate(`1/models/${MODEL}/artifacts`));
  } finally {
    db.close();
  }
  return `sqlite:///${file}`;
}

/** Sets MLflow's S3 variables for `target` while `fn` runs (the repositories read them, as a server does). */
function withS3Env<T>(target: S3TestTarget, fn: () => Promise<T>): Promise<T> {
  return withEnv(s3TestEnv(target), fn);
}

async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Checks the store through a server on `destination`: rewritten locations, and files served by the proxy. */
async function checkServed(
  storeUri: string,
  destination: string,
  expected: Map<string, string>,
): Promise<void> {
  const server = await startServer({
    backendStoreUri: storeUri,
    serveArtifacts: true,
    artifactsDestination: destination,
    host: '127.0.0.1',
    port: 0,
  });
  try {
    const api = `${server.url}/api/2.0/mlflow`;
    const run = await call(api, 'GET', 'runs/get', { run_id: RUN_A });
    assert.equal(run.body.run.info.artifact_uri, `mlflow-artifacts:/1/${RUN_A}/artifacts`);
    const empty = await call(api, 'GET', 'runs/get', { run_id: 'd9165cd792f945cabc8d5c7fda8494ff' });
    assert.doesNotMatch(
      empty.body.run.info.artifact_uri,
      /^mlflow-artifacts:/,
      'a run with nothing there keeps its location',
    );
    const exp = await call(api, 'GET', 'experiments/get', { experiment_id: '1' });
    assert.equal(exp.body.experiment.artifact_location, 'mlflow-artifacts:/1');
    const model = await call(api, 'GET', `logged-models/${MODEL}`);
    assert.equal(model.body.model.info.artifact_uri, `mlflow-artifacts:/1/models/${MODEL}/artifacts`);
    const v2 = await call(api, 'GET', 'model-versions/get', { name: 'fixture-model', version: '2' });
    assert.equal(v2.body.model_version.source, `mlflow-artifacts:/1/${RUN_A}/artifacts/notes`);
    const v3 = await call(api, 'GET', 'model-versions/get', { name: 'fixture-model', version: '3' });
    assert.equal(v3.body.model_version.source, `models:/${MODEL}`);
    const v3uri = await call(api, 'GET', 'model-versions/get-download-uri', {
      name: 'fixture-model',
      version: '3',
    });
    assert.equal(v3uri.body.artifact_uri, `mlflow-artifacts:/1/models/${MODEL}/artifacts`);

    // Downloaded through the server's proxy: byte for byte what the source held.
    const big = await fetch(`${server.url}/get-artifact?run_id=${RUN_A}&path=data/big.bin`);
    assert.equal(big.status, 200);
    assert.equal(
      sha256(new Uint8Array(await big.arrayBuffer())),
      expected.get(`1/${RUN_A}/artifacts/data/big.bin`),
    );
    const mlmodel = await fetch(
      `${server.url}/api/2.0/mlflow-artifacts/artifacts/1/models/${MODEL}/artifacts/MLmodel`,
    );
    assert.equal(mlmodel.status, 200);
    assert.equal(
      sha256(new Uint8Array(await mlmodel.arrayBuffer())),
      expected.get(`1/models/${MODEL}/artifacts/MLmodel`),
    );
    const listed = await call(api, 'GET', 'artifacts/list', { run_id: RUN_A, path: 'many' });
    assert.equal(listed.body.files.length, MANY);
  } finally {
    await server.close();
  }
}

function assertCounts(
  summary: ImportSummary,
  expected: Partial<NonNullable<ImportSummary['artifacts']>>,
): void {
  const a = summary.artifacts;
  assert.ok(a, 'the summary counts the artifacts');
  for (const [k, v] of Object.entries(expected)) assert.equal(a[k as keyof typeof a], v, `artifacts.${k}`);
}

function totalBytes(dir: string): number {
  let sum = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else sum += statSync(path.join(d, e.name)).size;
    }
  };
  walk(dir);
  return sum;
}

describe('db import --copy-artifacts between local directories', () => {
  const src = tempDir('mlflow-ts-copy-src-');
  const artifacts = path.join(src.dir, 'artifacts');
  let expected: Map<string, string>;
  before(() => {
    sourceTree(artifacts);
    expected = digests(artifacts);
  });
  after(() => src.cleanup());

  test('file: URIs in, a directory out; the CLI reports progress on stderr and the counts on stdout', async () => {
    const from = sourceStore(src.dir, (rel) => pathToFileURL(path.join(artifacts, rel)).href);
    const store = await freshStoreUri('sqlite');
    const dest = tempDir('mlflow-ts-copy-dest-');
    try {
      const cli = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');
      const result = spawnSync(
        process.execPath,
        [cli, 'db', 'import', '--from', from, '--to', store.uri, '--copy-artifacts', dest.dir],
        { encoding: 'utf8', timeout: 120_000 },
      );
      assert.equal(result.status, 0, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(
          `artifacts: ${RUN_FILES} files, [\\d.]+ MB \\([\\d.]+ files/s, [\\d.]+ MB/s\\), 0 already there`,
        ),
      );
      assert.match(
        result.stdout,
        new RegExp(
          `Artifacts: 3 locations copied \\(${RUN_FILES + MODEL_FILES} files, [\\d.]+ MB; 0 files already there\\); ` +
            `kept where they were: 0 not readable, ${EMPTY_RUNS} with nothing there; 3 model version locations rewritten\\.`,
        ),
      );
      const copied = digests(dest.dir);
      for (const [rel, digest] of expected) assert.equal(copied.get(rel), digest, rel);
      assert.equal(copied.size, expected.size);
      await checkServed(store.uri, dest.dir, expected);
    } finally {
      store.cleanup();
      dest.cleanup();
    }
  });

  test('killed (SIGKILL) while copying, the import started again copies only what is missing', async () => {
    // Many files in one run, so the copy is still under way when it is killed.
    const many = tempDir('mlflow-ts-copy-many-');
    const store = await freshStoreUri('sqlite');
    const dest = tempDir('mlflow-ts-copy-dest-');
    const FILES = 1500;
    try {
      const tree = path.join(many.dir, 'artifacts');
      const runDir = path.join(tree, '1', RUN_A, 'artifacts', 'bulk');
      mkdirSync(runDir, { recursive: true });
      for (let i = 0; i < FILES; i++) writeFileSync(path.join(runDir, `f${i}.bin`), randomBytes(2048));
      const from = sourceStore(many.dir, (rel) => path.join(tree, rel));
      const cli = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');
      const args = [cli, 'db', 'import', '--from', from, '--to', store.uri, '--copy-artifacts', dest.dir];
      const copiedSoFar = () => {
        try {
          return readdirSync(path.join(dest.dir, '1', RUN_A, 'artifacts', 'bulk')).length;
        } catch {
          return 0;
        }
      };
      const first = spawn(process.execPath, args, { stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
      while (copiedSoFar() < 20 && first.exitCode === null) await new Promise((r) => setTimeout(r, 10));
      first.kill('SIGKILL');
      assert.equal(await exited, null, 'killed before it finished');
      const before = copiedSoFar();
      assert.ok(before >= 20 && before < FILES, `${before} files copied when killed`);

      const second = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
      assert.equal(second.status, 0, second.stderr);
      const m = /Artifacts: \d+ locations copied \((\d+) files, [\d.]+ MB; (\d+) files already there\)/.exec(
        second.stdout,
      );
      assert.ok(m, second.stdout);
      const [copied, skipped] = [Number(m[1]), Number(m[2])];
      // Every file there once; none copied twice; the kill may have landed after a file's rename.
      assert.ok(skipped >= before, `${skipped} skipped, ${before} there before`);
      assert.equal(copied + skipped, FILES);
      assert.equal(copiedSoFar(), FILES);
    } finally {
      store.cleanup();
      dest.cleanup();
      many.cleanup();
    }
  });

  test('a destination or source it cannot use is refused before anything is written', async () => {
    const store = await freshStoreUri('sqlite');
    try {
      await assert.rejects(
        importStore({
          from: `sqlite:///${path.join(FIXTURES, 'mlflow.db')}`,
          to: store.uri,
          copyArtifacts: { dest: 'gs://bucket/x' },
        }),
        /--copy-artifacts: 'gs:\/\/bucket\/x' is not an artifact destination/,
      );
      await assert.rejects(
        importStore({
          from: `sqlite:///${path.join(FIXTURES, 'mlflow.db')}`,
          to: store.uri,
          copyArtifacts: { dest: tempDir().dir, sourceArtifacts: 'hdfs://x/y' },
        }),
        /--source-artifacts: 'hdfs:\/\/x\/y' is not a location/,
      );
      const db = new BetterSqlite3(store.uri.slice('sqlite:///'.length), { readonly: true });
      try {
        assert.equal((db.prepare('select count(*) as n from runs').get() as { n: number }).n, 0);
      } finally {
        db.close();
      }
    } finally {
      store.cleanup();
    }
  });
});

for (const name of ['moto', 'radosgw'] as const) {
  const s3 = s3TestTarget(name);
  const skip = s3.url || s3.required ? false : s3.reason;
  describe(`db import --copy-artifacts with S3 on ${name}`, { skip }, () => {
    const src = tempDir('mlflow-ts-copy-src-');
    const artifacts = path.join(src.dir, 'artifacts');
    let expected: Map<string, string>;
    let bucket: { bucket: string; cleanup: () => Promise<void> };
    before(async () => {
      if (!s3.url) throw new Error(s3.reason);
      sourceTree(artifacts);
      expected = digests(artifacts);
      bucket = await freshS3Bucket(s3);
    });
    after(async () => {
      await bucket?.cleanup();
      src.cleanup();
    });

    test('a local source into an s3:// destination, which the server then serves', async () => {
      const from = sourceStore(src.dir, (rel) => path.join(artifacts, rel));
      const store = await freshStoreUri('sqlite');
      const destination = `s3://${bucket.bucket}/dest-${randomBytes(3).toString('hex')}`;
      try {
        await withS3Env(s3, async () => {
          const summary = await importStore({ from, to: store.uri, copyArtifacts: { dest: destination } });
          assertCounts(summary, {
            copied: 3,
            kept: 0,
            missing: EMPTY_RUNS,
            files: RUN_FILES + MODEL_FILES,
            bytes: totalBytes(artifacts),
            filesSkipped: 0,
            versions: 3,
          });
          // The objects, as S3 holds them.
          const direct = new S3ArtifactRepository(destination, { settings: s3TestSettings(s3) });
          const bigInfo = (await direct.list(`1/${RUN_A}/artifacts/data`))[0];
          assert.deepEqual(bigInfo, {
            path: `1/${RUN_A}/artifacts/data/big.bin`,
            is_dir: false,
            file_size: BIG,
          });
          await checkServed(store.uri, destination, expected);
          // Repeated: every batch is done, nothing is read or copied again.
          const again = await importStore({ from, to: store.uri, copyArtifacts: { dest: destination } });
          assertCounts(again, { copied: 0, files: 0, filesSkipped: 0 });
        });
      } finally {
        store.cleanup();
      }
    });

    test('an s3:// source (and mlflow-artifacts:/ URIs over an s3:// --source-artifacts) into a local destination', async () => {
      const prefix = `src-${randomBytes(3).toString('hex')}`;
      const upload = new S3ArtifactRepository(`s3://${bucket.bucket}/${prefix}`, {
        settings: s3TestSettings(s3),
      });
      for (const rel of expected.keys()) await upload.write(rel, createReadStream(path.join(artifacts, rel)));
      for (const proxied of [false, true]) {
        const dir = tempDir('mlflow-ts-copy-store-');
        const from = sourceStore(dir.dir, (rel) =>
          proxied ? `mlflow-artifacts:/${rel}` : `s3://${bucket.bucket}/${prefix}/${rel}`,
        );
        const store = await freshStoreUri('sqlite');
        const dest = tempDir('mlflow-ts-copy-dest-');
        try {
          await withS3Env(s3, async () => {
            const summary = await importStore({
              from,
              to: store.uri,
              copyArtifacts: {
                dest: dest.dir,
                ...(proxied ? { sourceArtifacts: `s3://${bucket.bucket}/${prefix}` } : {}),
              },
            });
            assertCounts(summary, {
              copied: 3,
              missing: EMPTY_RUNS,
              files: RUN_FILES + MODEL_FILES,
              bytes: totalBytes(artifacts),
              versions: proxied ? 0 : 3,
            });
          });
          const copied = digests(dest.dir);
          for (const [rel, digest] of expected) assert.equal(copied.get(rel), digest, rel);
          if (!proxied) await checkServed(store.uri, dest.dir, expected);
        } finally {
          store.cleanup();
          dest.cleanup();
          dir.cleanup();
        }
      }
    });

    if (name === 'moto') {
      test('an interrupted copy resumes: files already there are skipped, model versions still follow their run', async () => {
        const from = sourceStore(src.dir, (rel) => path.join(artifacts, rel));
        const store = await freshStoreUri('sqlite');
        const destination = `s3://${bucket.bucket}/resume-${randomBytes(3).toString('hex')}`;
        try {
          await withS3Env(s3, async () => {
            // Session 1 stops while the logged model's files are being copied: the runs stage has
            // committed (runs moved), the logged model's batch has not.
            let stopped = 0;
            await assert.rejects(
              importStore({
                from,
                to: store.uri,
                batchSize: 1,
                copyArtifacts: { dest: destination },
                progress: {
                  batch() {},
                  stageDone() {},
                  artifacts(counts) {
                    if (counts.files >= RUN_FILES + 3) {
                      stopped = counts.files;
                      throw new Error('interrupted');
                    }
                  },
                },
              }),
              /interrupted/,
            );
            assert.ok(stopped >= RUN_FILES + 3);
            const db = new BetterSqlite3(store.uri.slice('sqlite:///'.length), { readonly: true });
            try {
              const row = db.prepare('select artifact_uri from runs where run_uuid = ?').get(RUN_A) as {
                artifact_uri: string;
              };
              assert.equal(row.artifact_uri, `mlflow-artifacts:/1/${RUN_A}/artifacts`);
              assert.equal(
                (db.prepare('select count(*) as n from model_versions').get() as { n: number }).n,
                0,
                'the registry was not reached',
              );
            } finally {
              db.close();
            }
            const direct = new S3ArtifactRepository(destination, { settings: s3TestSettings(s3) });
            const modelFilesThere = (await direct.list(`1/models/${MODEL}/artifacts`)).length;
            assert.ok(
              modelFilesThere >= 3 && modelFilesThere < MODEL_FILES,
              `${modelFilesThere} model files copied`,
            );

            // Session 2: the logged model's batch again, its files already there skipped; the model
            // versions of run A (moved in session 1) follow it.
            const resumed = await importStore({ from, to: store.uri, copyArtifacts: { dest: destination } });
            assertCounts(resumed, {
              copied: 1,
              filesSkipped: modelFilesThere,
              files: MODEL_FILES - modelFilesThere,
              versions: 3,
            });
            await checkServed(store.uri, destination, expected);
          });
        } finally {
          store.cleanup();
        }
      });
    }
  });
}

const azure = azureTestConnection();
describe('db import --copy-artifacts with Azure Blob Storage (Azurite)', {
  skip: azure.connectionString || azure.required ? false : azure.reason,
}, () => {
  const src = tempDir('mlflow-ts-copy-src-');
  const artifacts = path.join(src.dir, 'artifacts');
  let expected: Map<string, string>;
  let container: { container: string; account: string; cleanup: () => Promise<void> };
  const env = () => ({ AZURE_STORAGE_CONNECTION_STRING: azure.connectionString as string });
  const wasbs = (prefix: string) =>
    `wasbs://${container.container}@${container.account}.blob.core.windows.net/${prefix}`;
  before(async () => {
    if (!azure.connectionString) throw new Error(azure.reason);
    sourceTree(artifacts);
    expected = digests(artifacts);
    container = await freshAzureContainer(azure.connectionString);
  });
  after(async () => {
    await container?.cleanup();
    src.cleanup();
  });

  test('a local source into a wasbs:// destination, served; then that container as a source into a directory', async () => {
    const from = sourceStore(src.dir, (rel) => path.join(artifacts, rel));
    const store = await freshStoreUri('sqlite');
    const destination = wasbs('dest');
    try {
      await withEnv(env(), async () => {
        const summary = await importStore({ from, to: store.uri, copyArtifacts: { dest: destination } });
        assertCounts(summary, {
          copied: 3,
          missing: EMPTY_RUNS,
          files: RUN_FILES + MODEL_FILES,
          bytes: totalBytes(artifacts),
          versions: 3,
        });
        const direct = new AzureBlobArtifactRepository(destination);
        assert.deepEqual((await direct.list(`1/${RUN_A}/artifacts/data`))[0], {
          path: `1/${RUN_A}/artifacts/data/big.bin`,
          is_dir: false,
          file_size: BIG,
        });
        await checkServed(store.uri, destination, expected);

        // What was copied there is the source of another import, into a local directory.
        const other = tempDir('mlflow-ts-copy-store-');
        const back = await freshStoreUri('sqlite');
        const dest = tempDir('mlflow-ts-copy-dest-');
        try {
          const fromAzure = sourceStore(other.dir, (rel) => `${destination}/${rel}`);
          const again = await importStore({
            from: fromAzure,
            to: back.uri,
            copyArtifacts: { dest: dest.dir },
          });
          assertCounts(again, { copied: 3, files: RUN_FILES + MODEL_FILES, versions: 3 });
          const copied = digests(dest.dir);
          for (const [rel, digest] of expected) assert.equal(copied.get(rel), digest, rel);
        } finally {
          back.cleanup();
          dest.cleanup();
          other.cleanup();
        }
      });
    } finally {
      store.cleanup();
    }
  });
});
