import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { ArtifactRepository } from '../src/artifacts/artifact-repository.js';
import { LocalArtifactRepository } from '../src/artifacts/local-artifact-repository.js';
import { openArtifactRepository } from '../src/artifacts/open-artifact-repository.js';
import {
  type GcOutput,
  garbageCollect,
  idList,
  parseOlderThan,
  splitArtifactUri,
} from '../src/services/gc.js';
import { ArtifactLocations } from '../src/store/artifact-locations.js';
import { openDatabase, type StoreDatabase } from '../src/store/database.js';
import { SqlEvaluationDatasetStore } from '../src/store/evaluation-dataset-store.js';
import { SqlTrackingStore } from '../src/store/sql-tracking-store.js';
import {
  azureTestConnection,
  DIALECTS,
  freshAzureContainer,
  freshS3Bucket,
  freshStoreUri,
  REPO_ROOT,
  rejectsWith,
  s3TestEnv,
  s3TestTargets,
  tempDir,
} from './helpers.js';

const DAY = 86_400_000;

test('--older-than is parsed as MLflow does', () => {
  assert.equal(parseOlderThan('1d2h3m4s'), DAY + 2 * 3_600_000 + 3 * 60_000 + 4_000);
  assert.equal(parseOlderThan('1.5d'), 1.5 * DAY);
  assert.equal(parseOlderThan('30m'), 30 * 60_000);
  assert.equal(parseOlderThan(''), 0);
  for (const bad of ['1w', '2h1d', 'abc', '1..2d', '5']) {
    assert.throws(() => parseOlderThan(bad), /Could not parse any time information/);
  }
  assert.deepEqual(idList('a, b,,a'), ['a', 'b']);
});

for (const dialect of DIALECTS) {
  describe(`gc on ${dialect}`, () => {
    let database: StoreDatabase;
    let store: SqlTrackingStore;
    let cleanupStore: () => void;
    let files: { dir: string; cleanup: () => void };
    let destination: LocalArtifactRepository;
    let lines: { info: string[]; warn: string[] };
    const output: GcOutput = {
      info: (line) => lines.info.push(line),
      warn: (line) => lines.warn.push(line),
    };

    before(async () => {
      const fresh = await freshStoreUri(dialect);
      cleanupStore = fresh.cleanup;
      database = await openDatabase(fresh.uri);
      store = new SqlTrackingStore(database, new ArtifactLocations('mlflow-artifacts:'));
      await store.init();
      files = tempDir('mlflow-ts-gc-');
      destination = new LocalArtifactRepository(path.join(files.dir, 'mlartifacts'));
    });
    after(async () => {
      await store.close();
      cleanupStore();
      files.cleanup();
    });
    beforeEach(() => {
      lines = { info: [], warn: [] };
    });

    let counter = 0;
    /** An experiment whose runs keep artifacts in a local folder, or behind mlflow-artifacts: when proxied. */
    async function experiment(proxied = false): Promise<string> {
      const name = `gc-${++counter}`;
      return store.createExperiment({
        name,
        artifactLocation: proxied ? undefined : path.join(files.dir, 'local', name),
        tags: [{ key: 'team', value: 'x' }],
      });
    }

    /** A run with a param, tag, metric, dataset input and one artifact file; returns its id and the file. */
    async function run(experimentId: string): Promise<{ id: string; file: string }> {
      const r = await store.createRun({
        experimentId,
        userId: 'u',
        startTime: Date.now(),
        runName: 'r',
        tags: [{ key: 't', value: 'v' }],
      });
      const id = r.info.run_id;
      await store.logBatch(
        id,
        [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
        [{ key: 'p', value: '1' }],
        [{ key: 'k', value: 'v' }],
      );
      await store.logInputs(id, [
        {
          tags: [{ key: 'mlflow.data.context', value: 'train' }],
          dataset: { name: 'd', digest: 'abc', source_type: 'local', source: '{}' },
        },
      ]);
      const uri = r.info.artifact_uri;
      const dir = uri.startsWith('mlflow-artifacts:')
        ? path.join(destination.root, uri.replace(/^mlflow-artifacts:\/*/, ''))
        : uri;
      mkdirSync(path.join(dir, 'model'), { recursive: true });
      const file = path.join(dir, 'model', 'weights.bin');
      writeFileSync(file, 'data');
      return { id, file };
    }

    /** Rows left in each table for a run. */
    async function rowsOf(runId: string): Promise<number> {
      let total = 0;
      for (const table of ['runs', 'params', 'tags', 'metrics', 'latest_metrics'] as const) {
        const rows = await database.reader
          .selectFrom(table)
          .select('run_uuid')
          .where('run_uuid', '=', runId)
          .execute();
        total += rows.length;
      }
      const inputs = await database.reader
        .selectFrom('inputs')
        .select('input_uuid')
        .where('destination_id', '=', runId)
        .execute();
      return total + inputs.length;
    }

    async function ageDeletion(runId: string, ms: number): Promise<void> {
      await database.writer.run((trx) =>
        trx
          .updateTable('runs')
          .set({ deleted_time: Date.now() - ms })
          .where('run_uuid', '=', runId)
          .execute(),
      );
    }

    test('deleted runs lose their artifacts and rows; active runs stay', async () => {
      const exp = await experiment();
      const proxiedExp = await experiment(true);
      const gone = await run(exp);
      const goneProxied = await run(proxiedExp);
      const kept = await run(exp);
      await store.deleteRun(gone.id);
      await store.deleteRun(goneProxied.id);
      assert.ok(await rowsOf(gone.id));

      const report = await garbageCollect(store, destination, {}, output);
      assert.deepEqual(report.runs.sort(), [gone.id, goneProxied.id].sort());
      assert.deepEqual(report.experiments, []);
      assert.ok(lines.info.includes(`Run with ID ${gone.id} has been permanently deleted.`));
      assert.deepEqual(lines.warn, []);
      for (const r of [gone, goneProxied]) {
        assert.equal(existsSync(r.file), false);
        assert.equal(existsSync(path.dirname(path.dirname(r.file))), false);
        // No empty <experiment>/<run id> folder is left; the experiment's folder (still live) stays.
        const runFolder = path.dirname(path.dirname(path.dirname(r.file)));
        assert.equal(path.basename(runFolder), r.id);
        assert.equal(existsSync(runFolder), false);
        assert.equal(existsSync(path.dirname(runFolder)), true);
        assert.equal(await rowsOf(r.id), 0);
        assert.equal(await store.getRun(r.id), undefined);
      }
      assert.equal(existsSync(kept.file), true);
      assert.equal(await rowsOf(kept.id), 8); // run, param, 3 tags (runName too), metric, latest, input
      const input_tags = await database.reader.selectFrom('input_tags').select('input_uuid').execute();
      assert.equal(input_tags.length, 1, 'only the active run keeps its dataset link tags');
    });

    test('--older-than keeps runs deleted more recently', async () => {
      const exp = await experiment();
      const old = await run(exp);
      const recent = await run(exp);
      await store.deleteRun(old.id);
      await store.deleteRun(recent.id);
      await ageDeletion(old.id, 2 * DAY);

      const report = await garbageCollect(store, destination, { olderThan: '1d' }, output);
      assert.deepEqual(report.runs, [old.id]);
      assert.equal(existsSync(old.file), false);
      assert.equal(existsSync(recent.file), true);
      assert.equal((await store.getRun(recent.id))?.info.lifecycle_stage, 'deleted');

      await rejectsWith(
        garbageCollect(store, destination, { olderThan: '1d', runIds: [recent.id] }, output),
        'INVALID_PARAMETER_VALUE',
        /is not older than the required age\. Only runs older than 1d can be deleted/,
      );
      await garbageCollect(store, destination, { runIds: [recent.id] }, output);
      assert.equal(await store.getRun(recent.id), undefined);
    });

    test('--run-ids deletes only those runs and refuses a run that is not deleted', async () => {
      const exp = await experiment();
      const a = await run(exp);
      const b = await run(exp);
      const active = await run(exp);
      await store.deleteRun(a.id);
      await store.deleteRun(b.id);

      await rejectsWith(
        garbageCollect(store, destination, { runIds: [a.id, active.id] }, output),
        'INVALID_PARAMETER_VALUE',
        new RegExp(`Run ${active.id} is not in \`deleted\` lifecycle stage`),
      );
      // Checked before anything is deleted.
      assert.ok(await store.getRun(a.id));
      assert.equal(existsSync(a.file), true);
      await rejectsWith(
        garbageCollect(store, destination, { runIds: ['nosuchrun'] }, output),
        'RESOURCE_DOES_NOT_EXIST',
        /Run with id=nosuchrun not found/,
      );

      const report = await garbageCollect(store, destination, { runIds: [a.id] }, output);
      assert.deepEqual(report.runs, [a.id]);
      assert.equal(await store.getRun(a.id), undefined);
      assert.equal((await store.getRun(b.id))?.info.lifecycle_stage, 'deleted');
      assert.equal(existsSync(b.file), true);
      assert.equal((await store.getRun(active.id))?.info.lifecycle_stage, 'active');
      await rejectsWith(store.hardDeleteRun(active.id), 'INVALID_PARAMETER_VALUE');
      await garbageCollect(store, destination, { runIds: [b.id] }, output);
    });

    test('missing artifacts and unsupported artifact URIs are tolerated', async () => {
      const exp = await experiment();
      const missing = await run(exp);
      await store.deleteRun(missing.id);
      const s3Exp = await store.createExperiment({
        name: `gc-gs-${++counter}`,
        artifactLocation: 'gs://bucket/path',
        tags: [],
      });
      const s3Run = await store.createRun({
        experimentId: s3Exp,
        userId: 'u',
        startTime: 1,
        runName: 's3',
        tags: [],
      });
      await store.deleteRun(s3Run.info.run_id);
      // The artifacts are already gone.
      const runDir = path.dirname(path.dirname(missing.file));
      assert.ok(runDir.endsWith('artifacts'));
      rmSync(runDir, { recursive: true });

      const report = await garbageCollect(
        store,
        destination,
        { runIds: [missing.id, s3Run.info.run_id] },
        output,
      );
      assert.deepEqual(report.runs.sort(), [missing.id, s3Run.info.run_id].sort());
      assert.equal(lines.warn.length, 1);
      assert.match(
        lines.warn[0],
        /run .* at 'gs:\/\/bucket\/path\/.*\/artifacts'.*'gs' scheme is not supported/,
      );
      assert.equal(await store.getRun(s3Run.info.run_id), undefined);
    });

    test('--experiment-ids removes deleted experiments with their runs', async () => {
      const doomed = await experiment(true);
      const doomedName = (await store.getExperiment(doomed))?.name as string;
      const other = await experiment();
      const r1 = await run(doomed);
      const r2 = await run(doomed);
      const otherRun = await run(other);
      await store.deleteRun(otherRun.id);

      await rejectsWith(
        garbageCollect(store, destination, { experimentIds: [doomed] }, output),
        'INVALID_PARAMETER_VALUE',
        new RegExp(`Experiments ${doomed} are not in the deleted lifecycle stage`),
      );
      await rejectsWith(
        garbageCollect(store, destination, { experimentIds: ['999999'] }, output),
        'RESOURCE_DOES_NOT_EXIST',
      );
      await store.deleteExperiment(doomed);
      await rejectsWith(
        garbageCollect(store, destination, { experimentIds: [doomed], olderThan: '1h' }, output),
        'INVALID_PARAMETER_VALUE',
        /not older than the required age/,
      );

      const report = await garbageCollect(store, destination, { experimentIds: [doomed] }, output);
      assert.deepEqual(report.runs.sort(), [r1.id, r2.id].sort());
      assert.deepEqual(report.experiments, [doomed]);
      assert.equal(lines.info.at(-1), `Experiment with ID ${doomed} has been permanently deleted.`);
      assert.equal(await store.getExperiment(doomed), undefined);
      for (const r of [r1, r2]) {
        assert.equal(existsSync(r.file), false);
        assert.equal(await rowsOf(r.id), 0);
      }
      for (const table of ['experiment_tags', 'datasets'] as const) {
        const rows = await database.reader
          .selectFrom(table)
          .select('experiment_id')
          .where('experiment_id', '=', String(doomed))
          .execute();
        assert.equal(rows.length, 0, table);
      }
      // Runs of other experiments were not named, so they stay.
      assert.equal((await store.getRun(otherRun.id))?.info.lifecycle_stage, 'deleted');
      // The name is free again.
      assert.ok(await store.createExperiment({ name: doomedName, tags: [] }));

      // Without ids: every deleted experiment and deleted run.
      const last = await experiment();
      const lastRun = await run(last);
      await store.deleteExperiment(last);
      const all = await garbageCollect(store, destination, {}, output);
      assert.ok(all.runs.includes(otherRun.id) && all.runs.includes(lastRun.id));
      assert.deepEqual(all.experiments, [last]);
      // Deleted experiments leave no empty folders: local, and proxied below the destination.
      const experimentFolder = (file: string) => path.resolve(file, '../../../..');
      assert.equal(existsSync(experimentFolder(lastRun.file)), false);
      assert.equal(existsSync(experimentFolder(r1.file)), false);
      assert.equal(existsSync(destination.root), true);
      // The live experiment keeps its folder, though its only run is gone.
      assert.equal(existsSync(experimentFolder(otherRun.file)), true);
      assert.deepEqual(await store.deletedRunIds(), []);
      assert.deepEqual(await store.deletedExperimentIds(), []);
      await rejectsWith(store.hardDeleteExperiment(other), 'INVALID_PARAMETER_VALUE');
      assert.ok(await store.getExperiment(other));
    });

    test('a removed experiment loses its evaluation-dataset links; the datasets stay', async () => {
      const datasets = new SqlEvaluationDatasetStore(database);
      const doomed = await experiment();
      const kept = await experiment();
      const shared = await datasets.createDataset({
        name: 'shared',
        tags: {},
        experimentIds: [doomed, kept],
        createdBy: null,
        time: Date.now(),
      });
      await store.deleteExperiment(doomed);
      await garbageCollect(store, destination, { experimentIds: [doomed] }, output);
      assert.deepEqual((await datasets.getDataset(shared.datasetId))?.experimentIds, [kept]);
    });
  });
}

/** A bucket or container for gc's object-store tests, with the environment that reaches it. */
interface ObjectStore {
  /** URI of the fresh bucket or container (no prefix). */
  root: string;
  /** URI of a bucket or container that does not exist. */
  missingRoot: string;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/**
 * gc against an object store, reached the way the CLI reaches it: through openArtifactRepository and
 * MLflow's environment variables.
 */
function objectStoreGc(
  name: string,
  skip: string | false,
  available: boolean,
  reason: string | undefined,
  make: () => Promise<ObjectStore>,
): void {
  describe(`gc of run artifacts on ${name}`, { skip }, () => {
    if (!available) {
      test(`the ${name} test service is available`, () => {
        throw new Error(reason);
      });
      return;
    }
    let os: ObjectStore;
    let store: SqlTrackingStore;
    let storeUri: string;
    let cleanupStore: () => void;
    const saved: Record<string, string | undefined> = {};
    const lines = { info: [] as string[], warn: [] as string[] };
    const output: GcOutput = { info: (l) => lines.info.push(l), warn: (l) => lines.warn.push(l) };
    before(async () => {
      os = await make();
      for (const [k, v] of Object.entries(os.env)) {
        saved[k] = process.env[k];
        process.env[k] = v;
      }
      const fresh = await freshStoreUri('sqlite');
      cleanupStore = fresh.cleanup;
      storeUri = fresh.uri;
      store = new SqlTrackingStore(await openDatabase(fresh.uri), new ArtifactLocations('mlflow-artifacts:'));
      await store.init();
    });
    after(async () => {
      await store?.close();
      cleanupStore?.();
      await os?.cleanup();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });

    async function runWithArtifacts(
      experimentId: string,
      files: string[],
    ): Promise<{ id: string; uri: string }> {
      const r = await store.createRun({ experimentId, userId: 'u', startTime: 1, runName: 'r', tags: [] });
      const repo = openArtifactRepository(r.info.artifact_uri) as ArtifactRepository;
      for (const f of files) await repo.write(f, Readable.from([Buffer.from(`content of ${f}`)]));
      return { id: r.info.run_id, uri: r.info.artifact_uri };
    }

    test('deleted runs lose their objects, missing ones and missing buckets are fine, others stay', async () => {
      const exp = await store.createExperiment({ name: 'os', artifactLocation: `${os.root}/exp`, tags: [] });
      const gone = await runWithArtifacts(exp, ['model/MLmodel', 'model/w.bin', 'notes.txt']);
      const kept = await runWithArtifacts(exp, ['notes.txt']);
      const never = await runWithArtifacts(exp, []);
      const lost = await store.createExperiment({
        name: 'lost',
        artifactLocation: `${os.missingRoot}/exp`,
        tags: [],
      });
      const lostRun = await store.createRun({
        experimentId: lost,
        userId: 'u',
        startTime: 1,
        runName: 'l',
        tags: [],
      });
      // A neighbour of the run's artifacts folder in the same run folder: not the run's artifacts.
      const runFolder = openArtifactRepository(`${os.root}/exp/${gone.id}`) as ArtifactRepository;
      await runFolder.write('artifacts.bak', Readable.from([Buffer.from('keep me')]));
      for (const id of [gone.id, never.id, lostRun.info.run_id]) await store.deleteRun(id);

      const report = await garbageCollect(
        store,
        new LocalArtifactRepository('/nonexistent-gc-dest'),
        {},
        output,
      );
      assert.deepEqual(report.runs.sort(), [gone.id, never.id, lostRun.info.run_id].sort());
      assert.deepEqual(lines.warn, []);
      const expRepo = openArtifactRepository(`${os.root}/exp`) as ArtifactRepository;
      assert.deepEqual(await expRepo.list(`${gone.id}/artifacts`), []);
      assert.deepEqual(
        (await expRepo.list(gone.id)).map((f) => f.path),
        [`${gone.id}/artifacts.bak`],
      );
      assert.deepEqual(
        (await expRepo.list(`${kept.id}/artifacts`)).map((f) => f.path),
        [`${kept.id}/artifacts/notes.txt`],
      );
      assert.equal(await store.getRun(gone.id), undefined);
      assert.equal((await store.getRun(kept.id))?.info.lifecycle_stage, 'active');
    });

    test('an experiment at the top of a bucket or container: its run folders are deleted below it', async () => {
      const exp = await store.createExperiment({ name: 'top', artifactLocation: os.root, tags: [] });
      const r = await store.createRun({
        experimentId: exp,
        userId: 'u',
        startTime: 1,
        runName: 't',
        tags: [],
      });
      await store.deleteRun(r.info.run_id);
      lines.warn.length = 0;
      // The run's URI is <root>/<run id>/artifacts, below the top: it is deleted normally.
      await garbageCollect(
        store,
        new LocalArtifactRepository('/nonexistent-gc-dest'),
        { runIds: [r.info.run_id] },
        output,
      );
      assert.deepEqual(lines.warn, []);
      assert.equal(await store.getRun(r.info.run_id), undefined);
    });

    test('the built CLI reaches the store through the same environment variables', async () => {
      const exp = await store.createExperiment({ name: 'cli', artifactLocation: `${os.root}/cli`, tags: [] });
      const gone = await runWithArtifacts(exp, ['model/MLmodel']);
      await store.deleteRun(gone.id);
      const cli = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');
      const result = spawnSync(
        process.execPath,
        [cli, 'gc', '--backend-store-uri', storeUri, '--run-ids', gone.id],
        {
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, ...os.env },
        },
      );
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`Run with ID ${gone.id} has been permanently deleted`));
      const expRepo = openArtifactRepository(`${os.root}/cli`) as ArtifactRepository;
      assert.deepEqual(await expRepo.list(gone.id), []);
      assert.equal(await store.getRun(gone.id), undefined);
    });
  });
}

for (const target of s3TestTargets()) {
  objectStoreGc(
    `s3 (${target.name})`,
    target.url || target.required ? false : (target.reason as string),
    Boolean(target.url),
    target.reason,
    async () => {
      const { bucket, cleanup } = await freshS3Bucket(target);
      return {
        root: `s3://${bucket}`,
        missingRoot: `s3://${bucket}-missing`,
        env: s3TestEnv(target),
        cleanup,
      };
    },
  );
}

const azure = azureTestConnection();
objectStoreGc(
  'azure',
  azure.connectionString || azure.required ? false : (azure.reason as string),
  Boolean(azure.connectionString),
  azure.reason,
  async () => {
    const connectionString = azure.connectionString as string;
    const { container, account, cleanup } = await freshAzureContainer(connectionString);
    return {
      root: `wasbs://${container}@${account}.blob.core.windows.net`,
      missingRoot: `wasbs://${container}-missing@${account}.blob.core.windows.net`,
      env: { AZURE_STORAGE_CONNECTION_STRING: connectionString },
      cleanup,
    };
  },
);

test('splitArtifactUri: parent folder and last segment of object-store URIs', () => {
  assert.deepEqual(splitArtifactUri('s3://b/p/1/r/artifacts'), { parent: 's3://b/p/1/r', name: 'artifacts' });
  assert.deepEqual(splitArtifactUri('s3://b/artifacts/'), { parent: 's3://b', name: 'artifacts' });
  assert.deepEqual(splitArtifactUri('wasbs://c@a.blob.core.windows.net/x/y'), {
    parent: 'wasbs://c@a.blob.core.windows.net/x',
    name: 'y',
  });
  assert.equal(splitArtifactUri('s3://b'), undefined);
  assert.equal(splitArtifactUri('s3://b/'), undefined);
  assert.equal(splitArtifactUri('not a uri'), undefined);
});

describe('mlflow-ts gc (built CLI)', () => {
  const CLI = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');
  const gc = (args: string[]) =>
    spawnSync(process.execPath, [CLI, 'gc', ...args], { encoding: 'utf8', timeout: 30_000 });

  test('deletes a deleted run and its proxied artifacts; errors are one line', async () => {
    const tmp = tempDir('mlflow-ts-gc-cli-');
    try {
      const uri = `sqlite:///${path.join(tmp.dir, 'mlflow.db')}`;
      const dest = path.join(tmp.dir, 'mlartifacts');
      const store = new SqlTrackingStore(await openDatabase(uri), new ArtifactLocations('mlflow-artifacts:'));
      await store.init();
      const r = await store.createRun({
        experimentId: '0',
        userId: 'u',
        startTime: 1,
        runName: 'x',
        tags: [],
      });
      const active = await store.createRun({
        experimentId: '0',
        userId: 'u',
        startTime: 1,
        runName: 'y',
        tags: [],
      });
      await store.deleteRun(r.info.run_id);
      await store.close();
      const dir = path.join(dest, '0', r.info.run_id, 'artifacts');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'f.txt'), 'x');

      const refused = gc(['--backend-store-uri', uri, '--run-ids', active.info.run_id]);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /^Error: Run \w+ is not in `deleted` lifecycle stage/);
      assert.doesNotMatch(refused.stderr, /\n\s+at /);

      const badAge = gc(['--backend-store-uri', uri, '--older-than', '3w']);
      assert.equal(badAge.status, 1);
      assert.match(badAge.stderr, /^Error: Could not parse any time information from '3w'/);

      const ok = gc(['--backend-store-uri', uri, '--artifacts-destination', dest]);
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(
        ok.stdout,
        `Run with ID ${r.info.run_id} has been permanently deleted.\nPermanently deleted 1 run and 0 experiments.\n`,
      );
      assert.equal(existsSync(dir), false);

      const again = gc(['--backend-store-uri', uri, '--artifacts-destination', dest]);
      assert.equal(again.stdout, 'Permanently deleted 0 runs and 0 experiments.\n');
    } finally {
      tmp.cleanup();
    }
  });
});
