// The repositories' reads/writes split (store/repository.ts): reads cannot reach a writer, every write
// method is what the writer thread is sent, and the thread runs only write methods.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ArtifactLocations } from '../src/store/artifact-locations.js';
import { openDatabase, type StoreDatabase } from '../src/store/database.js';
import { callWrite, methodNames, type Repository, readView, writeView } from '../src/store/repository.js';
import {
  mapStoreWrites,
  repositoriesOver,
  type StoreName,
  type StoreRepositories,
  storesOver,
} from '../src/store/store-set.js';
import { openThreadedSqliteStores } from '../src/store/threaded-sqlite-store.js';
import { DIALECTS, freshStoreUri, rejectsWith, tempDir } from './helpers.js';

const locations = new ArtifactLocations('mlflow-artifacts:');

/** [store, repository name, repository] for every repository of every store. */
function everyRepository(set: StoreRepositories): [StoreName, string, Repository][] {
  const out: [StoreName, string, Repository][] = [];
  for (const store of Object.keys(set) as StoreName[]) {
    for (const [name, repository] of Object.entries(set[store])) out.push([store, name, repository]);
  }
  return out;
}

// Compile-time: a writes object with a member that is not a promise-returning method is refused
// (checked by the type check, `tsc -p tsconfig.json`).
class BadWrites {
  count = 0;
  async ok(): Promise<void> {}
}
// @ts-expect-error count is not a write method
export type Refused = Repository<object, BadWrites>;

for (const dialect of DIALECTS) {
  describe(`repositories on ${dialect}`, () => {
    let database: StoreDatabase;
    let cleanup: () => void;

    before(async () => {
      const fresh = await freshStoreUri(dialect);
      cleanup = fresh.cleanup;
      database = await openDatabase(fresh.uri);
    });
    after(async () => {
      await database.close();
      cleanup();
    });

    test('reads get a database without a writer, writes one without a reader', () => {
      const read = readView(database);
      const write = writeView(database);
      assert.equal('writer' in read, false);
      assert.equal(read.reader, database.reader);
      assert.equal('reader' in write, false);
      assert.equal(write.writer, database.writer);
    });

    test('every method a writes object offers is one of its store facade, so the thread is sent only the store API', () => {
      const repositories = repositoriesOver(database, locations);
      const stores = storesOver(database, locations, repositories);
      for (const [store, name, repository] of everyRepository(repositories)) {
        const facade = new Set(methodNames(stores[store]));
        for (const method of methodNames(repository.writes)) {
          assert.ok(
            facade.has(method),
            `${store}.${name}.writes.${method} is not a method of the ${store} store`,
          );
        }
      }
      // The split holds the writes the services use (a sample of each store).
      assert.ok(methodNames(repositories.tracking.runData.writes).includes('logBatch'));
      assert.ok(methodNames(repositories.registry.registry.writes).includes('createModelVersion'));
      assert.ok(methodNames(repositories.webhooks.webhooks.writes).includes('deleteWebhook'));
      assert.equal(methodNames(repositories.tracking.runs.writes).includes('getRun'), false);
    });

    test('mapStoreWrites sends every write method, with its arguments, and leaves the reads alone', async () => {
      const local = repositoriesOver(database, locations);
      const sent: string[] = [];
      const routed = mapStoreWrites(local, (store, repository, writes) =>
        Object.fromEntries(
          methodNames(writes).map((method) => [
            method,
            async (...args: unknown[]) => sent.push(`${store}.${repository}.${method}(${args.join(',')})`),
          ]),
        ),
      );
      const expected: string[] = [];
      for (const [store, name, repository] of everyRepository(routed)) {
        assert.equal(repository.reads, Reflect.get(local[store], name).reads);
        for (const method of methodNames(Reflect.get(local[store], name).writes)) {
          const fn = Reflect.get(repository.writes, method) as (...args: unknown[]) => Promise<unknown>;
          await fn('a', 1);
          expected.push(`${store}.${name}.${method}(a,1)`);
        }
      }
      assert.deepEqual(sent, expected);
      assert.ok(sent.includes('tracking.experiments.createExperiment(a,1)'));
    });

    test('callWrite runs a write method and refuses any other name', async () => {
      const writes = repositoriesOver(database, locations).tracking.experiments.writes;
      const id = await callWrite(writes, 'createExperiment', [{ name: `split-${dialect}`, tags: [] }]);
      assert.match(String(id), /^\d+$/);
      for (const name of ['constructor', 'toString', 'nope', '__proto__']) {
        await assert.rejects(callWrite(writes, name, []), /no write method/);
      }
    });
  });
}

describe('the threaded SQLite stores', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => {
    ({ dir, cleanup } = tempDir());
  });
  after(() => cleanup());

  test('write through the thread and read what it committed; errors keep their codes', async () => {
    const stores = await openThreadedSqliteStores(`${dir}/mlflow.db`, 'mlflow-artifacts:');
    try {
      const id = await stores.tracking.createExperiment({ name: 'threaded', tags: [] });
      const run = await stores.tracking.createRun({
        experimentId: id,
        userId: 'u',
        startTime: 1,
        runName: 'r',
        tags: [],
      });
      await stores.tracking.logBatch(
        run.info.run_id,
        [{ key: 'm', value: 1, timestamp: 2, step: 0 }],
        [],
        [],
      );
      const read = await stores.tracking.getRun(run.info.run_id);
      assert.deepEqual(
        read?.data.metrics.map((m) => [m.key, m.value]),
        [['m', 1]],
      );
      await rejectsWith(stores.tracking.deleteTag(run.info.run_id, 'absent'), 'RESOURCE_DOES_NOT_EXIST');
      await stores.registry.createRegisteredModel('model', [], undefined);
      assert.equal((await stores.registry.getRegisteredModel('model')).name, 'model');
    } finally {
      await stores.close();
    }
  });
});
