// `mlflow-ts db export`: the MLflow 3.6 fixtures imported, exported (into an MLflow 3.6 database on
// SQLite and PostgreSQL, and into a mlruns/ directory) and read back give the same store; the exported
// SQLite schema matches the one MLflow 3.6's migrations made, table by table and column by column.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { exportStore } from '../src/import/export.js';
import { pythonFloat } from '../src/import/export-mlruns.js';
import { importStore } from '../src/import/importer.js';
import { openSqlConnection } from '../src/import/sql-connection.js';
import { TARGET_TABLE } from '../src/import/target-tables.js';
import { verifyStores } from '../src/import/verify.js';
import { startServer } from '../src/server.js';
import { upgradeDatabase } from '../src/store/database.js';
import { call, DIALECTS, freshPostgresUri, freshStoreUri, rejectsWith, tempDir } from './helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mlflow-3.6');
const FIXTURE_DB = path.join(FIXTURES, 'sqlite', 'mlflow.db');
const SQLITE_FIXTURE = `sqlite:///${FIXTURE_DB}`;
const MLRUNS_FIXTURE = path.join(FIXTURES, 'mlruns');

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

/** A new, initialised mlflow-ts store. */
async function fresh(dialect: (typeof DIALECTS)[number]): Promise<string> {
  const store = await freshStoreUri(dialect);
  cleanups.push(store.cleanup);
  await upgradeDatabase(store.uri);
  return store.uri;
}

function freshDir(): string {
  const dir = tempDir('mlflow-ts-export-');
  cleanups.push(dir.cleanup);
  return dir.dir;
}

/** An empty database of `dialect` to export into. */
async function emptyMlflowDb(dialect: (typeof DIALECTS)[number]): Promise<string> {
  return dialect === 'postgres' ? freshPostgresUri() : `sqlite:///${path.join(freshDir(), 'exported.db')}`;
}

async function assertSame(from: string, to: string): Promise<void> {
  const report = await verifyStores(from, to);
  assert.equal(report.differences, 0, report.lines.join('\n'));
}

/** Serves the store at `uri` while `fn` runs, with the v3 API's base URL. */
async function withApi<T>(uri: string, fn: (v3: string) => Promise<T>): Promise<T> {
  const artifacts = tempDir('mlflow-ts-export-artifacts-');
  const server = await startServer({
    backendStoreUri: uri,
    serveArtifacts: true,
    artifactsDestination: artifacts.dir,
    host: '127.0.0.1',
    port: 0,
  });
  try {
    return await fn(`${server.url}/api/3.0/mlflow`);
  } finally {
    await server.close();
    artifacts.cleanup();
  }
}

/** A trace as the API gives it from the store at `uri`: its info, and the whole trace as raw JSON text. */
async function traceThroughApi(uri: string, traceId: string): Promise<{ info: unknown; whole: string }> {
  const artifacts = tempDir('mlflow-ts-export-artifacts-');
  const server = await startServer({
    backendStoreUri: uri,
    serveArtifacts: true,
    artifactsDestination: artifacts.dir,
    host: '127.0.0.1',
    port: 0,
  });
  try {
    const v3 = `${server.url}/api/3.0/mlflow`;
    const info = await call(v3, 'GET', `traces/${traceId}`);
    assert.equal(info.status, 200, JSON.stringify(info.body));
    const whole = await fetch(`${v3}/traces/get?trace_id=${traceId}`);
    assert.equal(whole.status, 200);
    return { info: info.body, whole: await whole.text() };
  } finally {
    await server.close();
    artifacts.cleanup();
  }
}

for (const dialect of DIALECTS) {
  describe(`db export from ${dialect}`, () => {
    test('into an MLflow 3.6 database: verify is clean, and re-imported it is the same store', async () => {
      const ours = await fresh(dialect);
      await importStore({ from: SQLITE_FIXTURE, to: ours });
      const exported = await emptyMlflowDb(dialect);
      const stages: string[] = [];
      const summary = await exportStore({
        from: ours,
        to: exported,
        batchSize: 50,
        progress: { batch: (stage) => void stages.push(stage), stageDone: () => {} },
      });
      assert.equal(summary.tables.find((t) => t.table === 'metrics')?.rows, 361);
      assert.equal(summary.tables.find((t) => t.table === 'runs')?.rows, 9);
      const traceRows = Object.fromEntries(
        summary.tables.filter((t) => /^(trace|spans|assess)/.test(t.table)).map((t) => [t.table, t.rows]),
      );
      assert.deepEqual(traceRows, {
        trace_info: 1,
        trace_tags: 3,
        trace_request_metadata: 11,
        spans: 1,
        assessments: 0,
      });
      // 361 points in batches of 50: the history is streamed, not written at once.
      assert.equal(stages.filter((s) => s === 'metrics').length, 8);

      // The export holds what our store holds (read by the importer, compared entity by entity)...
      await assertSame(exported, ours);
      // ...and what the original MLflow store holds.
      const again = await fresh(dialect);
      await importStore({ from: exported, to: again });
      await assertSame(SQLITE_FIXTURE, ours);
      await assertSame(exported, again);

      // MLflow's own bookkeeping: the head revision, latest metrics as MLflow computes them.
      const conn = await readRows(exported);
      try {
        assert.deepEqual(await conn.all('select version_num from alembic_version'), [
          { version_num: '1b5f0d9ad7c1' },
        ]);
        const latestSql =
          'select run_uuid, key, value, step, timestamp, is_nan from latest_metrics order by run_uuid, key';
        const fixture = new BetterSqlite3(FIXTURE_DB, { readonly: true });
        const expected = (fixture.prepare(latestSql).all() as Record<string, unknown>[]).map((r) => ({
          ...r,
          is_nan: Boolean(r.is_nan),
        }));
        fixture.close();
        const got = (await conn.all(latestSql)).map((r) => ({ ...r, is_nan: Boolean(r.is_nan) }));
        assert.deepEqual(got, expected);
        const runs = await conn.all('select distinct source_type from runs');
        assert.deepEqual(runs, [{ source_type: 'UNKNOWN' }]);
        // The span document exactly as MLflow wrote it, and the duration MLflow's generated column gives.
        const spanSql = 'select trace_id, span_id, content from spans';
        const fixtureSpans = new BetterSqlite3(FIXTURE_DB, { readonly: true });
        const expectedSpans = fixtureSpans.prepare(spanSql).all();
        fixtureSpans.close();
        assert.deepEqual(await conn.all(spanSql), expectedSpans);
        const [duration] = await conn.all('select cast(duration_ns as text) as d from spans');
        assert.equal(duration.d, String(1796665326618291201n - 1796665326617291173n));
      } finally {
        await conn.close();
      }
      // Re-imported, the trace reads the same through the API as from the store it was exported from.
      const traceId = 'tr-c228b2bff95b1506f1eb321948c656ef';
      const before = await traceThroughApi(ours, traceId);
      assert.match(before.whole, /1796665326617291173/);
      assert.deepEqual(await traceThroughApi(again, traceId), before);
    });

    test('into a mlruns/ directory: verify is clean, and re-imported it is the same store', async () => {
      const ours = await fresh(dialect);
      await importStore({ from: MLRUNS_FIXTURE, to: ours });
      const dir = path.join(freshDir(), 'mlruns');
      await exportStore({ from: ours, to: dir, batchSize: 40 });
      await assertSame(dir, ours);
      const again = await fresh(dialect);
      await importStore({ from: dir, to: again });
      await assertSame(dir, again);
      await assertSame(MLRUNS_FIXTURE, ours);
      // The trace went out and came back (verify above compared its rows; the API reads it the same).
      const traceId = 'tr-314104b4f6dbf99e3a5e485c9b51ae9f';
      const before = await traceThroughApi(ours, traceId);
      assert.match(before.whole, /1796665331748224318/);
      assert.deepEqual(await traceThroughApi(again, traceId), before);

      // The files read as MLflow's own: the same meta.yaml fields and values (the 18-digit experiment
      // ids included), the same key files.
      const meta = (file: string) => parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
      const run = '37b365e3394c4a30b0565bfbee5f3533';
      const fixtureRun = meta(path.join(MLRUNS_FIXTURE, '939596759433125838', run, 'meta.yaml'));
      const exportedExp = readdirSync(dir).find((d) => existsSync(path.join(dir, d, run, 'meta.yaml')));
      assert.equal(exportedExp, '939596759433125838', 'the run is under its experiment, with its id');
      const exportedRun = meta(path.join(dir, exportedExp, run, 'meta.yaml'));
      assert.deepEqual(exportedRun, fixtureRun);
      for (const folder of ['params', 'tags', 'metrics']) {
        const files = (base: string) => readdirSync(path.join(base, folder)).sort();
        const fixtureDir = path.join(MLRUNS_FIXTURE, '939596759433125838', run);
        const exportedDir = path.join(dir, exportedExp, run);
        assert.deepEqual(files(exportedDir), files(fixtureDir), folder);
        for (const f of files(fixtureDir)) {
          if (folder === 'metrics') continue; // point order within a file may differ; verify compared them
          assert.equal(
            readFileSync(path.join(exportedDir, folder, f), 'utf8'),
            readFileSync(path.join(fixtureDir, folder, f), 'utf8'),
            `${folder}/${f}`,
          );
        }
      }
      for (const file of ['meta.yaml', 'version-1/meta.yaml', 'aliases/champion']) {
        const read = (base: string) => readFileSync(path.join(base, 'models', 'fixture-model', file), 'utf8');
        if (file.endsWith('.yaml'))
          assert.deepEqual(parseYaml(read(dir)), parseYaml(read(MLRUNS_FIXTURE)), file);
        else assert.equal(read(dir), read(MLRUNS_FIXTURE), file);
      }
      // The trace's folder as MLflow's file store lays it out: the same files, trace_info.yaml's fields.
      const traceDir = (base: string) => path.join(base, '0', 'traces', traceId);
      const listing = (base: string) =>
        readdirSync(traceDir(base), { recursive: true, encoding: 'utf8' }).sort();
      assert.deepEqual(listing(dir), listing(MLRUNS_FIXTURE));
      assert.deepEqual(
        meta(path.join(traceDir(dir), 'trace_info.yaml')),
        meta(path.join(traceDir(MLRUNS_FIXTURE), 'trace_info.yaml')),
      );
      for (const key of ['tags/mlflow.traceName', 'request_metadata/mlflow.user']) {
        const read = (base: string) => readFileSync(path.join(traceDir(base), key), 'utf8');
        assert.equal(read(dir), read(MLRUNS_FIXTURE), key);
      }
      const spans = JSON.parse(readFileSync(path.join(traceDir(dir), 'artifacts', 'traces.json'), 'utf8'));
      assert.equal(spans.spans.length, 1);
      assert.equal(spans.spans[0].name, 'fixture-span');
    });

    test("a trace's assessments go into MLflow's table, validity as its boolean", async () => {
      const ours = await fresh(dialect);
      await importStore({ from: SQLITE_FIXTURE, to: ours });
      const columns = TARGET_TABLE.get('assessments')?.columns ?? [];
      const trace = 'tr-c228b2bff95b1506f1eb321948c656ef';
      const row = (id: string, valid: number, overrides: string | null) => [
        trace,
        id,
        'relevance',
        'feedback',
        '{"value": 0.75}',
        null,
        1796665326700,
        1796665326800,
        'HUMAN',
        'alice',
        null,
        '1fd5f41c436d620c',
        'looks right',
        overrides,
        valid,
        '{"k": "v"}',
      ];
      const conn = await openSqlConnection(ours);
      try {
        for (const values of [row('a-1', 0, null), row('a-2', 1, 'a-1')])
          await conn.run(
            `insert into assessments (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`,
            values,
          );
      } finally {
        await conn.close();
      }
      const exported = await emptyMlflowDb(dialect);
      const summary = await exportStore({ from: ours, to: exported });
      assert.equal(summary.tables.find((t) => t.table === 'assessments')?.rows, 2);
      const read = await readRows(exported);
      try {
        const got = await read.all(
          'select assessment_id, trace_id, valid, overrides, span_id, value from assessments order by assessment_id',
        );
        assert.deepEqual(
          got.map((r) => ({ ...r, valid: Boolean(r.valid) })),
          [
            {
              assessment_id: 'a-1',
              trace_id: trace,
              valid: false,
              overrides: null,
              span_id: '1fd5f41c436d620c',
              value: '{"value": 0.75}',
            },
            {
              assessment_id: 'a-2',
              trace_id: trace,
              valid: true,
              overrides: 'a-1',
              span_id: '1fd5f41c436d620c',
              value: '{"value": 0.75}',
            },
          ],
        );
      } finally {
        await read.close();
      }
      await assertSame(exported, ours);
      const again = await fresh(dialect);
      await importStore({ from: exported, to: again });
      await assertSame(exported, again);
    });

    test("registered scorers go into MLflow's scorer tables and come back through the API", async () => {
      const ours = await fresh(dialect);
      await importStore({ from: SQLITE_FIXTURE, to: ours });
      const scorersThroughApi = async (uri: string) => {
        const artifacts = tempDir('mlflow-ts-export-artifacts-');
        const server = await startServer({
          backendStoreUri: uri,
          serveArtifacts: true,
          artifactsDestination: artifacts.dir,
          host: '127.0.0.1',
          port: 0,
        });
        try {
          const v3 = `${server.url}/api/3.0/mlflow`;
          const register = async (name: string, body: string) =>
            assert.equal(
              (
                await call(v3, 'POST', 'scorers/register', {
                  experiment_id: '0',
                  name,
                  serialized_scorer: body,
                })
              ).status,
              200,
            );
          if (uri === ours) {
            await register('tone', '{"v": 1}');
            await register('tone', '{"v": 2}');
            await register('length', '{"v": 1}');
          }
          const versions = await call(v3, 'GET', 'scorers/versions', { experiment_id: '0', name: 'tone' });
          const list = await call(v3, 'GET', 'scorers/list', { experiment_id: '0' });
          return { versions: versions.body, list: list.body };
        } finally {
          await server.close();
          artifacts.cleanup();
        }
      };
      const before = await scorersThroughApi(ours);
      assert.equal(before.versions.scorers.length, 2);
      const exported = await emptyMlflowDb(dialect);
      const summary = await exportStore({ from: ours, to: exported });
      assert.equal(summary.tables.find((t) => t.table === 'scorers')?.rows, 2);
      assert.equal(summary.tables.find((t) => t.table === 'scorer_versions')?.rows, 3);
      const read = await readRows(exported);
      try {
        const got = await read.all(
          'select s.experiment_id, s.scorer_name, v.scorer_version, v.serialized_scorer from scorers s join scorer_versions v on v.scorer_id = s.scorer_id order by s.scorer_name, v.scorer_version',
        );
        assert.deepEqual(
          got.map((r) => [
            Number(r.experiment_id),
            r.scorer_name,
            Number(r.scorer_version),
            r.serialized_scorer,
          ]),
          [
            [0, 'length', 1, '{"v": 1}'],
            [0, 'tone', 1, '{"v": 1}'],
            [0, 'tone', 2, '{"v": 2}'],
          ],
        );
      } finally {
        await read.close();
      }
      await assertSame(exported, ours);
      const again = await fresh(dialect);
      await importStore({ from: exported, to: again });
      await assertSame(exported, again);
      assert.deepEqual(await scorersThroughApi(again), before);
    });

    test("trace-run links: imported from MLflow's entity_associations, found by run, verified, exported and back", async () => {
      const trace = 'tr-c228b2bff95b1506f1eb321948c656ef';
      const run = 'f3cff73b41d646a5938ed3cfdf6c12f7';
      // The fixture with LinkTracesToRun's row, an evaluation dataset's association to a dataset the
      // fixture does not hold, and a link whose trace does not exist (MLflow's SQLite does not enforce the pair).
      const linked = path.join(freshDir(), 'linked.db');
      copyFileSync(FIXTURE_DB, linked);
      const db = new BetterSqlite3(linked);
      const insertLink = db.prepare('insert into entity_associations values (?, ?, ?, ?, ?, ?)');
      insertLink.run('a1b2c3d4-0000-0000-0000-000000000001', 'trace', trace, 'run', run, 1796665327000);
      insertLink.run(
        'a1b2c3d4-0000-0000-0000-000000000002',
        'evaluation_dataset',
        'd-1',
        'experiment',
        '0',
        1,
      );
      insertLink.run('a1b2c3d4-0000-0000-0000-000000000003', 'trace', 'tr-gone', 'run', run, 2);
      db.close();
      const from = `sqlite:///${linked}`;

      const ours = await fresh(dialect);
      const summary = await importStore({ from, to: ours });
      // The dataset link's dataset and the second link's trace do not exist: both are skipped.
      const stage = summary.stages.find((s) => s.stage === 'entity associations');
      assert.deepEqual([stage?.written, stage?.skipped], [1, 2]);
      assert.deepEqual(summary.leftBehind, []);
      // Verify counts the orphans the import left out as differences; without them the stores agree.
      const orphan = new BetterSqlite3(linked);
      orphan.prepare("delete from entity_associations where source_id in ('tr-gone', 'd-1')").run();
      orphan.close();
      await assertSame(from, ours);
      const byRun = async (uri: string, runId: string): Promise<string[]> =>
        withApi(uri, async (v3) => {
          const res = await call(v3, 'POST', 'traces/search', {
            locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: '0' } }],
            filter: `run_id = '${runId}'`,
          });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          return (res.body.traces ?? []).map((t: { trace_id: string }) => t.trace_id);
        });
      assert.deepEqual(await byRun(ours, run), [trace]);
      assert.deepEqual(await byRun(ours, 'a25b546d56c1452b8ca03bac1b809ee8'), []);

      // Exported into MLflow's table as it was, and back.
      const exported = await emptyMlflowDb(dialect);
      const out = await exportStore({ from: ours, to: exported });
      assert.equal(out.tables.find((t) => t.table === 'entity_associations')?.rows, 1);
      const conn = await readRows(exported);
      try {
        const rows = await conn.all('select * from entity_associations');
        assert.deepEqual(
          rows.map((r) => ({ ...r, created_time: Number(r.created_time) })),
          [
            {
              association_id: 'a1b2c3d4-0000-0000-0000-000000000001',
              source_type: 'trace',
              source_id: trace,
              destination_type: 'run',
              destination_id: run,
              created_time: 1796665327000,
            },
          ],
        );
      } finally {
        await conn.close();
      }
      const again = await fresh(dialect);
      await importStore({ from: exported, to: again });
      await assertSame(exported, again);
      assert.deepEqual(await byRun(again, run), [trace]);

      // Verify sees a missing link.
      const target = await openSqlConnection(again);
      try {
        await target.run('delete from entity_associations');
      } finally {
        await target.close();
      }
      const report = await verifyStores(exported, again);
      assert.ok(report.differences > 0);
      assert.match(report.lines.join('\n'), /DIFFERENT +entity_associations: source 1 rows, target 0 rows/);
    });

    test('refuses a target that is not empty, and a source that is not an mlflow-ts store', async () => {
      const ours = await fresh(dialect);
      await rejectsWith(
        exportStore({ from: ours, to: ours }),
        'INVALID_PARAMETER_VALUE',
        /already has tables \(.*experiments/,
      );
      const dir = freshDir();
      writeFileSync(path.join(dir, 'something'), 'x');
      await rejectsWith(exportStore({ from: ours, to: dir }), 'INVALID_PARAMETER_VALUE', /not empty/);
      // An MLflow database given as the source by mistake, and one that does not exist.
      const mlflowDb = await emptyMlflowDb(dialect);
      await exportStore({ from: ours, to: mlflowDb });
      await rejectsWith(
        exportStore({ from: mlflowDb, to: path.join(freshDir(), 'out') }),
        'INVALID_PARAMETER_VALUE',
        /not an mlflow-ts store/,
      );
      await rejectsWith(
        exportStore({ from: `sqlite:///${path.join(freshDir(), 'missing.db')}`, to: freshDir() }),
        'INVALID_PARAMETER_VALUE',
        /no such database file/,
      );
      if (dialect === 'postgres') {
        // A value longer than MLflow's column allows (runs.artifact_uri is VARCHAR(200)).
        await importStore({ from: SQLITE_FIXTURE, to: ours });
        const client = new pg.Client({ connectionString: ours });
        await client.connect();
        await client.query(
          `update runs set artifact_uri = repeat('x', 300) where run_uuid = (select min(run_uuid) from runs)`,
        );
        await client.end();
        await rejectsWith(
          exportStore({ from: ours, to: await emptyMlflowDb(dialect) }),
          'INVALID_STATE',
          /Cannot write runs into MLflow's schema: .*too long/,
        );
      }
    });
  });
}

describe('the exported SQLite schema', () => {
  test('has the tables, columns, keys, indexes and revision MLflow 3.6 made', async () => {
    const ours = await fresh('sqlite');
    const file = path.join(freshDir(), 'exported.db');
    await exportStore({ from: ours, to: `sqlite:///${file}` });
    const fixture = new BetterSqlite3(FIXTURE_DB, { readonly: true });
    const exported = new BetterSqlite3(file, { readonly: true });
    try {
      const tables = (db: BetterSqlite3.Database) =>
        (
          db.prepare("select name from sqlite_master where type = 'table' order by name").all() as {
            name: string;
          }[]
        ).map((t) => t.name);
      assert.deepEqual(tables(exported), tables(fixture));
      for (const table of tables(fixture)) {
        for (const pragma of ['table_xinfo', 'foreign_key_list']) {
          const read = (db: BetterSqlite3.Database) =>
            db.prepare(`select * from pragma_${pragma}(?)`).all(table);
          assert.deepEqual(read(exported), read(fixture), `${pragma} of ${table}`);
        }
        const indexes = (db: BetterSqlite3.Database) =>
          (
            db
              .prepare('select name, "unique", origin, partial from pragma_index_list(?) order by name')
              .all(table) as { name: string }[]
          ).map((index) => ({
            ...index,
            columns: db.prepare('select name from pragma_index_info(?) order by seqno').all(index.name),
          }));
        assert.deepEqual(indexes(exported), indexes(fixture), `indexes of ${table}`);
      }
      // The CHECK constraints: the same set per table (the text MLflow's batch migrations left varies
      // in layout, so the clauses are compared, not the whole statement).
      const checks = (db: BetterSqlite3.Database, table: string) => {
        const sql = (
          db.prepare("select sql from sqlite_master where type = 'table' and name = ?").get(table) as {
            sql: string;
          }
        ).sql;
        return (sql.match(/CHECK \([^\n]*\)/g) ?? []).map((c) => c.replace(/,\s*$/, '')).sort();
      };
      for (const table of tables(fixture))
        assert.deepEqual(checks(exported, table), checks(fixture, table), table);
      const revision = (db: BetterSqlite3.Database) =>
        db.prepare('select version_num from alembic_version').all();
      assert.deepEqual(revision(exported), revision(fixture));
    } finally {
      fixture.close();
      exported.close();
    }
  });

  test('metric values are written as Python writes floats', () => {
    assert.deepEqual(
      [1, 0.5, -3, 1e-7, 1e16, 1.7976931348623157e308, Number.NaN, Number.POSITIVE_INFINITY, -Infinity].map(
        pythonFloat,
      ),
      ['1.0', '0.5', '-3.0', '1e-07', '1e+16', '1.7976931348623157e+308', 'nan', 'inf', '-inf'],
    );
  });
});

/** A plain reader of an exported database of either dialect. */
async function readRows(
  uri: string,
): Promise<{ all(sql: string): Promise<Record<string, unknown>[]>; close(): Promise<void> }> {
  if (uri.startsWith('sqlite:')) {
    const db = new BetterSqlite3(uri.replace(/^sqlite:\/\//, ''), { readonly: true });
    return {
      all: async (sql) => db.prepare(sql).all() as Record<string, unknown>[],
      close: async () => {
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: uri });
  await client.connect();
  return { all: async (sql) => (await client.query(sql)).rows, close: () => client.end() };
}
