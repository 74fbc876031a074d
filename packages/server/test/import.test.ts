// `mlflow-ts db import` / `db verify`: MLflow 3.6's own stores (test/fixtures/mlflow-3.6) and an old
// revision built here from MLflow's migration history, imported into both dialects and read back
// through the REST API; repeated, interrupted and conflicting imports.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { importStore } from '../src/import/importer.js';
import { verifyStores } from '../src/import/verify.js';
import { startServer } from '../src/server.js';
import { call, DIALECTS, freshStoreUri, rejectsWith, tempDir } from './helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mlflow-3.6');
const SQLITE_FIXTURE = `sqlite:///${path.join(FIXTURES, 'sqlite', 'mlflow.db')}`;
const MLRUNS_FIXTURE = path.join(FIXTURES, 'mlruns');

const source = new BetterSqlite3(path.join(FIXTURES, 'sqlite', 'mlflow.db'), { readonly: true });
after(() => source.close());

/** Serves the store at `uri` while `fn` runs. */
async function withServer<T>(uri: string, fn: (api: string) => Promise<T>): Promise<T> {
  const artifacts = tempDir('mlflow-ts-import-artifacts-');
  const server = await startServer({
    backendStoreUri: uri,
    serveArtifacts: true,
    artifactsDestination: artifacts.dir,
    host: '127.0.0.1',
    port: 0,
  });
  try {
    return await fn(`${server.url}/api/2.0/mlflow`);
  } finally {
    await server.close();
    artifacts.cleanup();
  }
}

for (const dialect of DIALECTS) {
  describe(`db import into ${dialect}`, () => {
    test('the MLflow 3.6 SQLite store imports and the API answers what it holds', async () => {
      const store = await freshStoreUri(dialect);
      try {
        const summary = await importStore({ from: SQLITE_FIXTURE, to: store.uri });
        assert.equal(summary.stages.find((s) => s.stage === 'metrics')?.written, 361);
        assert.deepEqual(summary.leftBehind, []);
        assert.equal(summary.stages.find((s) => s.stage === 'spans')?.written, 1);

        await withServer(store.uri, async (api) => {
          const exps = await call(api, 'POST', 'experiments/search', { view_type: 'ALL', max_results: 100 });
          const expected = source
            .prepare('select experiment_id, name, lifecycle_stage from experiments order by experiment_id')
            .all() as {
            experiment_id: number;
            name: string;
            lifecycle_stage: string;
          }[];
          assert.deepEqual(
            exps.body.experiments
              .map((e: Record<string, string>) => [e.experiment_id, e.name, e.lifecycle_stage])
              .sort(),
            expected.map((e) => [String(e.experiment_id), e.name, e.lifecycle_stage]).sort(),
          );

          // Every run (active and deleted), with names, statuses and times as the source holds them.
          const runs = await call(api, 'POST', 'runs/search', {
            experiment_ids: ['0', '1', '2', '3'],
            run_view_type: 'ALL',
            max_results: 100,
          });
          const sourceRuns = source
            .prepare('select run_uuid, name, status, start_time from runs order by start_time desc, run_uuid')
            .all() as { run_uuid: string; name: string; status: string; start_time: number }[];
          assert.deepEqual(
            runs.body.runs.map((r: { info: Record<string, unknown> }) => [
              r.info.run_id,
              r.info.run_name,
              r.info.status,
              r.info.start_time,
            ]),
            sourceRuns.map((r) => [r.run_uuid, r.name, r.status, r.start_time]),
          );

          // A search by metric answers the same runs in the same order as the source's latest values.
          const byAcc = await call(api, 'POST', 'runs/search', {
            experiment_ids: ['1', '2'],
            filter: 'metrics.acc > 0',
            order_by: ['metrics.acc DESC'],
          });
          const sourceByAcc = source
            .prepare(
              `select l.run_uuid from latest_metrics l join runs r on r.run_uuid = l.run_uuid
               where l.key = 'acc' and l.value > 0 and r.lifecycle_stage = 'active' and r.experiment_id in (1, 2)
               order by l.value desc, r.start_time desc, r.run_uuid`,
            )
            .all() as { run_uuid: string }[];
          assert.deepEqual(
            byAcc.body.runs.map((r: { info: { run_id: string } }) => r.info.run_id),
            sourceByAcc.map((r) => r.run_uuid),
          );

          // The odd history: NaN, the largest doubles MLflow stores for ±Inf, a negative step, equal timestamps.
          const run = source.prepare("select run_uuid from metrics where key = 'odd' limit 1").get() as {
            run_uuid: string;
          };
          const history = await call(api, 'GET', 'metrics/get-history', {
            run_id: run.run_uuid,
            metric_key: 'odd',
          });
          const points = source
            .prepare(
              "select value, step, timestamp, is_nan from metrics where run_uuid = ? and key = 'odd' order by timestamp, step, value",
            )
            .all(run.run_uuid) as { value: number; step: number; timestamp: number; is_nan: number }[];
          assert.equal(history.body.metrics.length, points.length);
          for (const [i, p] of points.entries()) {
            const got = history.body.metrics[i];
            assert.equal(got.step, p.step);
            assert.equal(got.timestamp, p.timestamp);
            assert.equal(String(got.value), p.is_nan ? 'NaN' : String(p.value));
          }
          const got = await call(api, 'GET', 'runs/get', { run_id: run.run_uuid });
          const latest = source
            .prepare("select value, step from latest_metrics where run_uuid = ? and key = 'odd'")
            .get(run.run_uuid) as { value: number; step: number };
          const odd = got.body.run.data.metrics.find((m: { key: string }) => m.key === 'odd');
          assert.deepEqual([odd.value, odd.step], [latest.value, latest.step]);

          // The registry: versions, stages, tags and the alias.
          const model = await call(api, 'GET', 'registered-models/get', { name: 'fixture-model' });
          assert.equal(model.body.registered_model.description, 'desc ✓');
          const alias = await call(api, 'GET', 'registered-models/alias', {
            name: 'fixture-model',
            alias: 'champion',
          });
          const sourceAlias = source
            .prepare("select version from registered_model_aliases where alias = 'champion'")
            .get() as { version: number };
          assert.equal(alias.body.model_version.version, String(sourceAlias.version));
          const versions = await call(api, 'GET', 'model-versions/search', {
            filter: "name = 'fixture-model'",
          });
          assert.equal(versions.body.model_versions.length, 3);

          // Logged models and dataset inputs.
          const lm = source.prepare('select model_id, name from logged_models').get() as {
            model_id: string;
            name: string;
          };
          const gotModel = await call(api, 'GET', `logged-models/${lm.model_id}`);
          assert.equal(gotModel.body.model.info.name, lm.name);

          const traceId = 'tr-c228b2bff95b1506f1eb321948c656ef';
          const v3 = api.replace('/2.0/', '/3.0/');
          const info = await call(v3, 'GET', `traces/${traceId}`);
          assert.equal(info.status, 200, JSON.stringify(info.body));
          assert.equal(info.body.trace.trace_info.trace_id, traceId);
          assert.equal(info.body.trace.trace_info.state, 'OK');
          assert.equal(info.body.trace.trace_info.request_preview, '{"q": "hi"}');
          assert.equal(info.body.trace.trace_info.tags['mlflow.traceName'], 'fixture-span');
          assert.equal(info.body.trace.trace_info.trace_metadata['mlflow.user'], 'root');
          const whole = await call(v3, 'GET', 'traces/get', { trace_id: traceId });
          assert.equal(whole.status, 200, JSON.stringify(whole.body));
          const spans = whole.body.trace.spans;
          assert.equal(spans.length, 1);
          assert.equal(spans[0].name, 'fixture-span');
          // The nanosecond start time survives exactly (beyond a JavaScript number's precision).
          const raw = await (await fetch(`${v3}/traces/get?trace_id=${traceId}`)).text();
          assert.match(raw, /1796665326617291173/);
        });

        const report = await verifyStores(SQLITE_FIXTURE, store.uri);
        assert.equal(report.differences, 0, report.lines.join('\n'));

        // A second import of the same source writes nothing.
        const again = await importStore({ from: SQLITE_FIXTURE, to: store.uri });
        assert.equal(
          again.stages.reduce((n, s) => n + s.written, 0),
          0,
        );
      } finally {
        store.cleanup();
      }
    });

    test('the MLflow 3.6 mlruns/ store imports with its ids, 18-digit experiment ids included', async () => {
      const store = await freshStoreUri(dialect);
      try {
        await importStore({ from: MLRUNS_FIXTURE, to: store.uri });
        const report = await verifyStores(MLRUNS_FIXTURE, store.uri);
        assert.equal(report.differences, 0, report.lines.join('\n'));
        await withServer(store.uri, async (api) => {
          const exp = await call(api, 'GET', 'experiments/get-by-name', { experiment_name: 'fixture-main' });
          assert.equal(exp.body.experiment.experiment_id, '390161824234890863');
          assert.equal(
            exp.body.experiment.artifact_location,
            'file:///srv/mlflow-fixtures/mlruns/390161824234890863',
          );
          const run = await call(api, 'GET', 'runs/get', { run_id: 'eb117f52130c43fa9a398206ffddd37f' });
          assert.equal(run.body.run.info.experiment_id, exp.body.experiment.experiment_id);
          assert.equal(run.body.run.info.status, 'FINISHED');
          assert.equal(run.body.run.inputs.dataset_inputs[0].dataset.name, 'train-df');

          const traceId = 'tr-314104b4f6dbf99e3a5e485c9b51ae9f';
          const v3 = api.replace('/2.0/', '/3.0/');
          const info = await call(v3, 'GET', `traces/${traceId}`);
          assert.equal(info.status, 200, JSON.stringify(info.body));
          assert.equal(info.body.trace.trace_info.request_time, '2026-12-07T17:42:11.748Z');
          assert.equal(info.body.trace.trace_info.tags['mlflow.traceName'], 'fixture-span');
          assert.equal(info.body.trace.trace_info.trace_metadata['mlflow.trace_schema.version'], '3');
          const whole = await call(v3, 'GET', 'traces/get', { trace_id: traceId });
          assert.equal(whole.status, 200, JSON.stringify(whole.body));
          assert.equal(whole.body.trace.spans.length, 1);
          const raw = await (await fetch(`${v3}/traces/get?trace_id=${traceId}`)).text();
          assert.match(raw, /1796665331748224318/);
        });
      } finally {
        store.cleanup();
      }
    });

    test('conflicting ids are an error listing them, or skipped with --on-conflict skip', async () => {
      const store = await freshStoreUri(dialect);
      try {
        await importStore({ from: MLRUNS_FIXTURE, to: store.uri });
        // The SQL fixture was written by the same script: same experiment names, other ids.
        await rejectsWith(
          importStore({ from: SQLITE_FIXTURE, to: store.uri }),
          'RESOURCE_ALREADY_EXISTS',
          /experiment 1.*Nothing was imported/,
        );
        const skipped = await importStore({ from: SQLITE_FIXTURE, to: store.uri, onConflict: 'skip' });
        assert.ok(skipped.conflicts >= 3);
        const runs = skipped.stages.find((s) => s.stage === 'runs');
        assert.ok(runs && runs.skipped > 0, 'runs of skipped experiments are left out');
        // The mlruns import is untouched.
        const report = await verifyStores(MLRUNS_FIXTURE, store.uri);
        assert.equal(report.differences, 0, report.lines.join('\n'));
      } finally {
        store.cleanup();
      }
    });

    test('an interrupted import resumes where it stopped and ends with the same store', async () => {
      const store = await freshStoreUri(dialect);
      try {
        let batches = 0;
        const stop = new Error('interrupted');
        await assert.rejects(
          importStore({
            from: SQLITE_FIXTURE,
            to: store.uri,
            batchSize: 7,
            progress: {
              batch() {
                if (++batches === 12) throw stop;
              },
              stageDone() {},
            },
          }),
          stop,
        );
        const resumed = await importStore({ from: SQLITE_FIXTURE, to: store.uri, batchSize: 7 });
        assert.ok(
          resumed.stages.find((s) => s.stage === 'experiments')?.read === 0,
          'finished stages are not read again',
        );
        const report = await verifyStores(SQLITE_FIXTURE, store.uri);
        assert.equal(report.differences, 0, report.lines.join('\n'));
      } finally {
        store.cleanup();
      }
    });

    test("interrupted inside the metric history, it resumes and the latest metrics are the source's", async () => {
      // Into SQLite the history is copied inside SQLite and latest values derived at its end; into
      // PostgreSQL batch by batch. Either way, stopped halfway, the resumed import must finish both.
      const store = await freshStoreUri(dialect);
      try {
        const stop = new Error('interrupted');
        let metricBatches = 0;
        await assert.rejects(
          importStore({
            from: SQLITE_FIXTURE,
            to: store.uri,
            batchSize: 50,
            progress: {
              batch(stage) {
                if (stage === 'metrics' && ++metricBatches === 3) throw stop;
              },
              stageDone() {},
            },
          }),
          stop,
        );
        const resumed = await importStore({ from: SQLITE_FIXTURE, to: store.uri, batchSize: 50 });
        const metrics = resumed.stages.find((s) => s.stage === 'metrics');
        // 361 points, 150 written before the stop: the rest is read after the checkpoint.
        assert.deepEqual([metrics?.read, metrics?.written], [211, 211]);
        const report = await verifyStores(SQLITE_FIXTURE, store.uri);
        assert.equal(report.differences, 0, report.lines.join('\n'));
        const latestSql =
          'select run_uuid, key, value, step, timestamp, is_nan from latest_metrics order by run_uuid, key';
        const expected = (source.prepare(latestSql).all() as Record<string, unknown>[]).map((r) => ({
          ...r,
          is_nan: Number(r.is_nan),
        }));
        let got: Record<string, unknown>[];
        if (dialect === 'sqlite') {
          const db = new BetterSqlite3(store.uri.replace(/^sqlite:\/\//, ''), { readonly: true });
          got = db.prepare(latestSql).all() as Record<string, unknown>[];
          db.close();
        } else {
          const client = new pg.Client({ connectionString: store.uri });
          await client.connect();
          got = (await client.query(latestSql)).rows;
          await client.end();
        }
        assert.deepEqual(
          got.map((r) => ({ ...r, is_nan: Number(r.is_nan) })),
          expected,
        );
      } finally {
        store.cleanup();
      }
    });
  });
}

/** An MLflow 1.x database at revision 7ac759974ad8 (before latest_metrics and is_nan), from its migrations' facts. */
function oldRevisionDatabase(file: string, revision = '7ac759974ad8'): void {
  const db = new BetterSqlite3(file);
  db.exec(`
    create table alembic_version (version_num varchar(32) not null primary key);
    insert into alembic_version values ('${revision}');
    create table experiments (experiment_id integer primary key, name varchar(256) not null unique,
      artifact_location varchar(256), lifecycle_stage varchar(32));
    create table experiment_tags (key varchar(250) not null, value varchar(5000), experiment_id integer not null,
      primary key (key, experiment_id));
    create table runs (run_uuid varchar(32) primary key, name varchar(250), source_type varchar(20),
      source_name varchar(500), entry_point_name varchar(50), user_id varchar(256), status varchar(20),
      start_time bigint, end_time bigint, source_version varchar(50), lifecycle_stage varchar(20),
      artifact_uri varchar(200), experiment_id integer);
    create table metrics (key varchar(250) not null, value float, timestamp bigint not null,
      run_uuid varchar(32) not null, step bigint not null default 0, primary key (key, timestamp, step, run_uuid, value));
    create table params (key varchar(250) not null, value varchar(250) not null, run_uuid varchar(32) not null,
      primary key (key, run_uuid));
    create table tags (key varchar(250) not null, value varchar(5000), run_uuid varchar(32) not null,
      primary key (key, run_uuid));
    insert into experiments values (0, 'Renamed default', '/old/0', 'deleted'), (4, 'old', '/old/4', 'active');
    insert into runs values ('a1', null, 'LOCAL', 'x.py', null, 'ann', 'FINISHED', 1000, 2000, null, 'active', '/old/4/a1/artifacts', 4);
    insert into runs values ('b2', null, 'LOCAL', 'x.py', null, null, null, null, null, null, null, null, 0);
    insert into tags values ('mlflow.runName', 'named by tag', 'a1');
    insert into params values ('p', 'v', 'a1');
    insert into metrics values ('m', 1.5, 10, 'a1', -5), ('m', 2.5, 10, 'a1', 9007199254740991),
      ('m', null, 11, 'a1', 3), ('m', 0.5, 10, 'a1', 3), ('m', 0.75, 10, 'a1', 3);
    insert into metrics values ('orphan', 1, 1, 'no-such-run', 0);
  `);
  db.close();
}

describe('db import of odd and old databases', () => {
  test('an MLflow 1.x database: NULL names and values, experiment 0 renamed and deleted, orphan rows', async () => {
    const { dir, cleanup } = tempDir();
    const store = await freshStoreUri('sqlite');
    try {
      const file = path.join(dir, 'old.db');
      oldRevisionDatabase(file);
      const summary = await importStore({ from: `sqlite:///${file}`, to: store.uri });
      assert.equal(
        summary.stages.find((s) => s.stage === 'metrics')?.skipped,
        1,
        'the orphan point is left out',
      );
      await withServer(store.uri, async (api) => {
        const zero = await call(api, 'GET', 'experiments/get', { experiment_id: '0' });
        assert.deepEqual(
          [zero.body.experiment.name, zero.body.experiment.lifecycle_stage],
          ['Renamed default', 'deleted'],
        );
        const a1 = await call(api, 'GET', 'runs/get', { run_id: 'a1' });
        assert.equal(a1.body.run.info.run_name, 'named by tag');
        const m = a1.body.run.data.metrics.find((x: { key: string }) => x.key === 'm');
        // Highest step wins; the huge step is kept exactly.
        assert.deepEqual([m.value, m.step], [2.5, 9007199254740991]);
        const history = await call(api, 'GET', 'metrics/get-history', { run_id: 'a1', metric_key: 'm' });
        assert.equal(history.body.metrics.length, 5);
        assert.ok(
          history.body.metrics.some((p: { value: unknown }) => String(p.value) === 'NaN'),
          'a NULL value reads as NaN',
        );
        const b2 = await call(api, 'GET', 'runs/get', { run_id: 'b2' });
        assert.equal(b2.body.run.info.experiment_id, '0');
      });
      const report = await verifyStores(`sqlite:///${file}`, store.uri);
      assert.ok(
        report.lines.some((l) => l.startsWith('DIFFERENT  metrics')),
        'verify reports the orphan point',
      );
    } finally {
      store.cleanup();
      cleanup();
    }
  });

  test('an unknown (newer) revision is refused with a clear message; a non-MLflow database too', async () => {
    const { dir, cleanup } = tempDir();
    const store = await freshStoreUri('sqlite');
    try {
      const file = path.join(dir, 'new.db');
      oldRevisionDatabase(file, 'ffffffffffff');
      await rejectsWith(
        importStore({ from: `sqlite:///${file}`, to: store.uri }),
        'INVALID_PARAMETER_VALUE',
        /revision 'ffffffffffff'.*nothing was imported/,
      );
      const other = new BetterSqlite3(path.join(dir, 'other.db'));
      other.exec('create table t (x)');
      other.close();
      await rejectsWith(
        importStore({ from: `sqlite:///${path.join(dir, 'other.db')}`, to: store.uri }),
        'INVALID_PARAMETER_VALUE',
        /not an MLflow tracking store/,
      );
      // Nothing listens on port 1: the driver's refusal, without the password.
      const refused = importStore({ from: 'mysql+pymysql://u:s3cret@127.0.0.1:1/db', to: store.uri });
      await rejectsWith(
        refused,
        'INVALID_PARAMETER_VALUE',
        /Cannot connect to the MySQL database .*:\*\*\*@/,
      );
      await refused.catch((error: Error) => assert.doesNotMatch(error.message, /s3cret/));
      await rejectsWith(
        importStore({ from: path.join(dir, 'missing'), to: store.uri }),
        'INVALID_PARAMETER_VALUE',
        /not an MLflow database URI/,
      );
    } finally {
      store.cleanup();
      cleanup();
    }
  });
});

describe('db import --copy-artifacts', () => {
  test("copies the runs' and logged models' artifacts into the server's destination, which serves them", async () => {
    const store = await freshStoreUri('sqlite');
    const dest = tempDir('mlflow-ts-import-dest-');
    try {
      // The fixture's MLflow server proxied artifacts from sqlite/mlartifacts (mlflow-artifacts:/ URIs).
      const summary = await importStore({
        from: SQLITE_FIXTURE,
        to: store.uri,
        copyArtifacts: { dest: dest.dir, sourceArtifacts: path.join(FIXTURES, 'sqlite', 'mlartifacts') },
      });
      // One run (one file) and the logged model (7 files) logged artifacts; the other 8 runs have no
      // folder and keep theirs. The model versions' runs:/ sources need no rewriting.
      assert.deepEqual(summary.artifacts, {
        copied: 2,
        kept: 0,
        missing: 8,
        files: 8,
        bytes: 2418,
        filesSkipped: 0,
        versions: 0,
      });
      assert.ok(
        existsSync(
          path.join(dest.dir, '1', 'models', 'm-2ba6c111700649538f3a009e689aa33a', 'artifacts', 'MLmodel'),
        ),
        "the logged model's files are under the destination",
      );
      const server = await startServer({
        backendStoreUri: store.uri,
        serveArtifacts: true,
        artifactsDestination: dest.dir,
        host: '127.0.0.1',
        port: 0,
      });
      try {
        const api = `${server.url}/api/2.0/mlflow`;
        const run = await call(api, 'GET', 'runs/get', { run_id: 'f3cff73b41d646a5938ed3cfdf6c12f7' });
        assert.equal(
          run.body.run.info.artifact_uri,
          'mlflow-artifacts:/1/f3cff73b41d646a5938ed3cfdf6c12f7/artifacts',
        );
        const listed = await call(api, 'GET', 'artifacts/list', {
          run_id: 'f3cff73b41d646a5938ed3cfdf6c12f7',
          path: 'notes',
        });
        assert.deepEqual(
          listed.body.files.map((f: { path: string }) => f.path),
          ['notes/tmp-artifact.txt'],
        );
      } finally {
        await server.close();
      }
      // Without the MLflow server's destination, mlflow-artifacts:/ locations cannot be read: all kept.
      const other = await freshStoreUri('sqlite');
      try {
        const kept = await importStore({
          from: SQLITE_FIXTURE,
          to: other.uri,
          copyArtifacts: { dest: dest.dir },
        });
        assert.deepEqual(kept.artifacts, {
          copied: 0,
          kept: 10,
          missing: 0,
          files: 0,
          bytes: 0,
          filesSkipped: 0,
          versions: 0,
        });
      } finally {
        other.cleanup();
      }
    } finally {
      store.cleanup();
      dest.cleanup();
    }
  });
});
