import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { RegistryService } from '../src/services/registry-service.js';
import { TrackingService } from '../src/services/tracking-service.js';
import { ArtifactLocations } from '../src/store/artifact-locations.js';
import { openDatabase } from '../src/store/database.js';
import { migrateToLatest, schemaMigrations } from '../src/store/migrations.js';
import { SqlRegistryStore } from '../src/store/sql-registry-store.js';
import { SqlTrackingStore } from '../src/store/sql-tracking-store.js';
import { DIALECTS, freshPostgresUri, tempDir } from './helpers.js';

// Upgrades must carry existing data across: a store written by the first schema version is opened by
// the current code and everything logged before is still there.
test('an SQLite store created by schema 0001 keeps its data through every later migration', async () => {
  const tmp = tempDir('mlflow-ts-migrate-');
  const file = `${tmp.dir}/old.db`;
  const old = new Kysely<any>({ dialect: new SqliteDialect({ database: new BetterSqlite3(file) }) });
  assert.deepEqual(await migrateToLatest(old, 'sqlite', '0001_initial_schema'), ['0001_initial_schema']);
  await sql`insert into runs values ('r1', 0, 'old-run', 'u', 'FINISHED', 1, 2, null, 'active', '/a')`.execute(
    old,
  );
  await sql`insert into params values ('r1', 'lr', '0.1'), ('r1', 'batch', '32')`.execute(old);
  await sql`insert into tags values ('r1', 'mlflow.runName', 'old-run')`.execute(old);
  await sql`insert into metrics values ('r1', 'loss', 0.5, 10, 0, 0), ('r1', 'loss', 0.25, 20, 1, 0)`.execute(
    old,
  );
  await sql`insert into latest_metrics values ('r1', 'loss', 0.25, 20, 1, 0)`.execute(old);
  await old.destroy();

  const database = await openDatabase(`sqlite:///${file}`);
  const tracking = new TrackingService(new SqlTrackingStore(database, new ArtifactLocations('/artifacts')));
  try {
    const run = await tracking.getRun('r1');
    assert.deepEqual(run.data.params, [
      { key: 'batch', value: '32' },
      { key: 'lr', value: '0.1' },
    ]);
    assert.deepEqual(run.data.metrics, [{ key: 'loss', value: 0.25, timestamp: 20, step: 1 }]);
    assert.deepEqual(run.data.tags, [{ key: 'mlflow.runName', value: 'old-run' }]);
    const history = await tracking.getMetricHistory({ runId: 'r1', key: 'loss' });
    assert.deepEqual(
      history.items.map((m) => m.value),
      [0.5, 0.25],
    );
    // The clustered tables keep their rules: a param is still write-once, a point is still logged once.
    await assert.rejects(
      tracking.logParam('r1', { key: 'lr', value: '0.2' }),
      /Changing param values is not allowed/,
    );
  } finally {
    await database.close();
    tmp.cleanup();
  }
});

// Migrations are written on branches and may land out of name order: the registry's 0004 reaches a
// store that already ran 0005. The runner must apply it then, not refuse the store as corrupted.
describe('a migration that lands after a later-numbered one', () => {
  for (const dialect of DIALECTS) {
    test(`is applied on ${dialect}`, async () => {
      const tmp = tempDir('mlflow-ts-migrate-');
      const db =
        dialect === 'sqlite'
          ? new Kysely<any>({
              dialect: new SqliteDialect({ database: new BetterSqlite3(`${tmp.dir}/s.db`) }),
            })
          : new Kysely<any>({
              dialect: new PostgresDialect({
                pool: new pg.Pool({ connectionString: await freshPostgresUri() }),
              }),
            });
      try {
        // A store migrated by a build that had 0005 and 0006 but not yet 0004, as happened here.
        const { '0004_model_registry': registry, ...earlier } = schemaMigrations(dialect);
        const applied = await migrateToLatest(db, dialect, undefined, earlier);
        assert.ok(applied.includes('0005_logged_models'));
        const later = { ...earlier, '0004_model_registry': registry };
        assert.deepEqual(await migrateToLatest(db, dialect, undefined, later), ['0004_model_registry']);
        await sql`insert into registered_models (name, creation_time, last_updated_time) values ('m', 1, 1)`.execute(
          db,
        );
        // And nothing runs twice.
        assert.deepEqual(await migrateToLatest(db, dialect, undefined, later), []);
      } finally {
        await db.destroy();
        tmp.cleanup();
      }
    });
  }
});

test('a store at schema 0003 gains the model registry (0004) and keeps its runs', async () => {
  const tmp = tempDir('mlflow-ts-migrate-');
  const file = `${tmp.dir}/old.db`;
  const old = new Kysely<any>({ dialect: new SqliteDialect({ database: new BetterSqlite3(file) }) });
  await migrateToLatest(old, 'sqlite', '0003_search_indexes');
  await sql`insert into runs values ('r1', 0, 'old-run', 'u', 'FINISHED', 1, 2, null, 'active', '/a')`.execute(
    old,
  );
  await old.destroy();

  const database = await openDatabase(`sqlite:///${file}`);
  const tracking = new TrackingService(new SqlTrackingStore(database, new ArtifactLocations('/artifacts')));
  const registry = new RegistryService(new SqlRegistryStore(database), {
    runArtifactUri: async (runId) => (await tracking.getRun(runId)).info.artifact_uri,
  });
  try {
    assert.equal((await tracking.getRun('r1')).info.run_name, 'old-run');
    await registry.createRegisteredModel('m', [{ key: 'k', value: 'v' }]);
    // A local source inside the run's artifact directory is accepted, one outside is not.
    const mv = await registry.createModelVersion({ name: 'm', source: '/a/model', runId: 'r1', tags: [] });
    assert.equal(mv.version, '1');
    await assert.rejects(
      registry.createModelVersion({ name: 'm', source: '/b/model', runId: 'r1', tags: [] }),
      /Invalid model version source: '\/b\/model'/,
    );
    assert.equal(await registry.resolveModelUri('models:/m/latest'), '/a/model');
  } finally {
    await database.close();
    tmp.cleanup();
  }
});
