// `mlflow-ts db import` from MySQL/MariaDB: MLflow 3.6's fixture database copied into the test MariaDB
// with MySQL's types, imported into both dialects, checked against the SQLite original and read back
// through the REST API; MySQL's own ways (BIT booleans, case-insensitive keys, driver URIs) and refusals.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type mysql from 'mysql2/promise';
import { exportStore } from '../src/import/export.js';
import { importStore } from '../src/import/importer.js';
import { after as seekAfter } from '../src/import/sql-source.js';
import { verifyStores } from '../src/import/verify.js';
import { call, DIALECTS, freshStoreUri, rejectsWith, startTestServer } from './helpers.js';
import {
  copySqliteIntoMysql,
  dropMysqlDatabase,
  freshMysqlDatabase,
  mysqlTestServer,
} from './mysql-source.js';

const FIXTURE_FILE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'fixtures',
  'mlflow-3.6',
  'sqlite',
  'mlflow.db',
);
const SQLITE_FIXTURE = `sqlite:///${FIXTURE_FILE}`;
const TRACE_ID = 'tr-c228b2bff95b1506f1eb321948c656ef';

const server = mysqlTestServer();
const skip = server.uri || server.required ? false : (server.reason ?? 'no test MariaDB');

describe('db import from MySQL', { skip }, () => {
  let source: { uri: string; conn: mysql.Connection };

  before(async () => {
    assert.ok(server.uri, server.reason);
    source = await freshMysqlDatabase(server.uri);
    await copySqliteIntoMysql(FIXTURE_FILE, source.conn);
  });
  after(async () => {
    if (source && server.uri) await dropMysqlDatabase(server.uri, source);
  });

  for (const dialect of DIALECTS) {
    test(`the MLflow 3.6 database on MySQL imports into ${dialect} as the same store its SQLite original gives`, async () => {
      const store = await freshStoreUri(dialect);
      try {
        const summary = await importStore({ from: source.uri, to: store.uri });
        assert.match(summary.source, /MySQL database, schema revision 1b5f0d9ad7c1/);
        assert.equal(summary.stages.find((s) => s.stage === 'metrics')?.written, 361);
        assert.deepEqual(summary.leftBehind, []);

        // Read by the importer from MySQL, the store holds exactly what the SQLite original holds.
        const fromSqlite = await verifyStores(SQLITE_FIXTURE, store.uri);
        assert.equal(fromSqlite.differences, 0, fromSqlite.lines.join('\n'));
        const fromMysql = await verifyStores(source.uri, store.uri);
        assert.equal(fromMysql.differences, 0, fromMysql.lines.join('\n'));

        const srv = await startTestServer('sqlite', { backendStoreUri: store.uri });
        try {
          const [[odd]] = (await source.conn.query(
            "select run_uuid from metrics where `key` = 'odd' limit 1",
          )) as unknown as [{ run_uuid: string }[]];
          const history = await call(srv.api, 'GET', 'metrics/get-history', {
            run_id: odd.run_uuid,
            metric_key: 'odd',
          });
          const [points] = (await source.conn.query(
            "select value, step, timestamp, is_nan from metrics where run_uuid = ? and `key` = 'odd' order by timestamp, step, value",
            [odd.run_uuid],
          )) as unknown as [{ value: number; step: number; timestamp: number; is_nan: number }[]];
          assert.ok(
            points.some((p) => p.is_nan === 1),
            'the fixture holds a NaN point',
          );
          assert.deepEqual(
            history.body.metrics.map((m: Record<string, unknown>) => [String(m.value), m.step, m.timestamp]),
            points.map((p) => [p.is_nan ? 'NaN' : String(p.value), p.step, p.timestamp]),
          );
          const model = await call(srv.api, 'GET', 'registered-models/get', { name: 'fixture-model' });
          assert.equal(model.body.registered_model.description, 'desc ✓');
          // Nanosecond span times beyond a double's precision come through MySQL's BIGINT exactly.
          const raw = await (await fetch(`${srv.url}/api/3.0/mlflow/traces/get?trace_id=${TRACE_ID}`)).text();
          assert.match(raw, /1796665326617291173/);
        } finally {
          await srv.close();
        }

        const again = await importStore({ from: source.uri, to: store.uri });
        assert.equal(
          again.stages.reduce((n, s) => n + s.written, 0),
          0,
        );
      } finally {
        store.cleanup();
      }
    });
  }

  test('BIT(1) booleans, a NULL run name with its tag, mysql+pymysql:// URIs, read in small batches', async () => {
    const odd = await freshMysqlDatabase(server.uri ?? '');
    const store = await freshStoreUri('sqlite');
    try {
      await copySqliteIntoMysql(FIXTURE_FILE, odd.conn);
      // A database whose booleans were altered to BIT(1) (MySQL's other boolean) reads as MLflow's 0/1.
      await odd.conn.query('alter table metrics modify is_nan BIT(1) not null');
      const [[named]] = (await odd.conn.query(
        "select r.run_uuid, t.value from runs r join tags t on t.run_uuid = r.run_uuid and t.`key` = 'mlflow.runName' limit 1",
      )) as unknown as [{ run_uuid: string; value: string }[]];
      await odd.conn.query('update runs set name = null where run_uuid = ?', [named.run_uuid]);
      // Another run holds the tag key in other capitals; MySQL's collation calls it equal, MLflow does not.
      const [[other]] = (await odd.conn.query('select run_uuid from runs where run_uuid <> ? limit 1', [
        named.run_uuid,
      ])) as unknown as [{ run_uuid: string }[]];
      await odd.conn.query("delete from tags where run_uuid = ? and `key` = 'mlflow.runName'", [
        other.run_uuid,
      ]);
      await odd.conn.query(
        "insert into tags (`key`, value, run_uuid) values ('MLFLOW.RUNNAME', 'shouted', ?)",
        [other.run_uuid],
      );
      await odd.conn.query('update runs set name = null where run_uuid = ?', [other.run_uuid]);

      const uri = odd.uri.replace(/^mysql:/, 'mysql+pymysql:');
      const summary = await importStore({ from: uri, to: store.uri, batchSize: 7 });
      assert.equal(summary.stages.find((s) => s.stage === 'metrics')?.written, 361);
      const report = await verifyStores(uri, store.uri);
      assert.equal(report.differences, 0, report.lines.join('\n'));

      const srv = await startTestServer('sqlite', { backendStoreUri: store.uri });
      try {
        const run = await call(srv.api, 'GET', 'runs/get', { run_id: named.run_uuid });
        assert.equal(run.body.run.info.run_name, named.value);
        const shouted = await call(srv.api, 'GET', 'runs/get', { run_id: other.run_uuid });
        assert.equal(shouted.body.run.info.run_name, '');
        // The BIT(1) is_nan read as MLflow's flag: the NaN point is NaN, the others their values.
        const [[oddRun]] = (await odd.conn.query(
          "select run_uuid from metrics where `key` = 'odd' and is_nan = 1 limit 1",
        )) as unknown as [{ run_uuid: string }[]];
        const history = await call(srv.api, 'GET', 'metrics/get-history', {
          run_id: oddRun.run_uuid,
          metric_key: 'odd',
        });
        const values = history.body.metrics.map((m: { value: unknown }) => String(m.value));
        assert.ok(values.includes('NaN'), values.join(' '));
        assert.ok(
          values.some((v: string) => v !== 'NaN' && v !== '0'),
          values.join(' '),
        );
      } finally {
        await srv.close();
      }
    } finally {
      await dropMysqlDatabase(server.uri ?? '', odd);
      store.cleanup();
    }
  });

  test("pages through MySQL's primary key as an index range, not a scan from the start", async () => {
    const key = ['key', 'timestamp', 'step', 'run_uuid', 'value', 'is_nan'];
    const seek = seekAfter(key, ['odd', 1, 2, 'x', 0.5, 0], true);
    await source.conn.query("set session sql_mode = concat(@@session.sql_mode, ',ANSI_QUOTES')");
    const [plan] = (await source.conn.query(
      `explain select * from metrics where ${seek.sql} order by ${key.map((k) => `"${k}"`).join(', ')} limit 5000`,
      seek.values,
    )) as unknown as [{ type: string; key: string }[]];
    assert.deepEqual([plan[0].type, plan[0].key], ['range', 'PRIMARY']);
    // The same rows as the row comparison SQLite and PostgreSQL use.
    const [expanded] = (await source.conn.query(
      `select run_uuid, step from metrics where ${seek.sql} order by ${key.map((k) => `"${k}"`).join(', ')}`,
      seek.values,
    )) as unknown as [unknown[]];
    const plain = seekAfter(key, ['odd', 1, 2, 'x', 0.5, 0], false);
    const [compared] = (await source.conn.query(
      `select run_uuid, step from metrics where ${plain.sql} order by ${key.map((k) => `"${k}"`).join(', ')}`,
      plain.values,
    )) as unknown as [unknown[]];
    assert.ok(expanded.length > 0);
    assert.deepEqual(expanded, compared);
  });

  test('an MLflow 1.x database on MySQL: no is_nan, NULL run names and statuses, a huge step, an orphan', async () => {
    const old = await freshMysqlDatabase(server.uri ?? '');
    const store = await freshStoreUri('sqlite');
    try {
      // Revision 7ac759974ad8 (before latest_metrics and is_nan) in the types MLflow's models give MySQL.
      for (const statement of [
        'create table alembic_version (version_num varchar(32) not null primary key)',
        "insert into alembic_version values ('7ac759974ad8')",
        `create table experiments (experiment_id int not null auto_increment primary key,
          name varchar(256) not null unique, artifact_location varchar(256), lifecycle_stage varchar(32))`,
        `create table runs (run_uuid varchar(32) not null primary key, name varchar(250), source_type varchar(20),
          source_name varchar(500), entry_point_name varchar(50), user_id varchar(256), status varchar(20),
          start_time bigint, end_time bigint, source_version varchar(50), lifecycle_stage varchar(20),
          artifact_uri varchar(200), experiment_id int)`,
        `create table metrics (\`key\` varchar(250) not null, value double not null, timestamp bigint not null,
          run_uuid varchar(32) not null, step bigint not null default 0,
          primary key (\`key\`, timestamp, step, run_uuid, value))`,
        `create table tags (\`key\` varchar(250) not null, value varchar(5000), run_uuid varchar(32) not null,
          primary key (\`key\`, run_uuid))`,
        // MySQL's AUTO_INCREMENT turns an inserted 0 into the next id unless told otherwise.
        "set session sql_mode = concat(@@session.sql_mode, ',NO_AUTO_VALUE_ON_ZERO')",
        "insert into experiments values (0, 'Renamed default', '/old/0', 'deleted'), (4, 'old', '/old/4', 'active')",
        `insert into runs values ('a1', null, 'LOCAL', 'x.py', null, 'ann', 'FINISHED', 1000, 2000, null,
          'active', '/old/4/a1/artifacts', 4), ('b2', null, 'LOCAL', 'x.py', null, null, null, null, null,
          null, null, null, 0)`,
        "insert into tags values ('mlflow.runName', 'named by tag', 'a1')",
        `insert into metrics values ('m', 1.5, 10, 'a1', -5), ('m', 2.5, 10, 'a1', 9007199254740991),
          ('m', 0.5, 10, 'a1', 3), ('m', 1.7976931348623157e308, 11, 'a1', 3), ('orphan', 1, 1, 'no-such-run', 0)`,
      ]) {
        await old.conn.query(statement);
      }
      const summary = await importStore({ from: old.uri, to: store.uri });
      assert.match(summary.source, /MySQL database, schema revision 7ac759974ad8/);
      assert.deepEqual(
        ['experiments', 'runs', 'tags', 'metrics'].map((name) => {
          const s = summary.stages.find((x) => x.stage === name);
          return [name, s?.written, s?.skipped];
        }),
        [
          ['experiments', 2, 0],
          ['runs', 2, 0],
          ['tags', 1, 0],
          ['metrics', 4, 1],
        ],
      );
      const srv = await startTestServer('sqlite', { backendStoreUri: store.uri });
      try {
        const zero = await call(srv.api, 'GET', 'experiments/get', { experiment_id: '0' });
        assert.deepEqual(
          [zero.body.experiment.name, zero.body.experiment.lifecycle_stage],
          ['Renamed default', 'deleted'],
        );
        const a1 = await call(srv.api, 'GET', 'runs/get', { run_id: 'a1' });
        assert.equal(a1.body.run.info.run_name, 'named by tag');
        const m = a1.body.run.data.metrics.find((x: { key: string }) => x.key === 'm');
        assert.deepEqual([m.value, m.step], [2.5, 9007199254740991]);
        const history = await call(srv.api, 'GET', 'metrics/get-history', { run_id: 'a1', metric_key: 'm' });
        assert.deepEqual(
          history.body.metrics.map((p: { value: number; step: number }) => [p.step, p.value]).sort(),
          [
            [-5, 1.5],
            [3, 0.5],
            [3, 1.7976931348623157e308],
            [9007199254740991, 2.5],
          ].sort(),
        );
        const b2 = await call(srv.api, 'GET', 'runs/get', { run_id: 'b2' });
        assert.deepEqual(
          [b2.body.run.info.experiment_id, b2.body.run.info.status, b2.body.run.info.run_name],
          ['0', 'SCHEDULED', ''],
        );
      } finally {
        await srv.close();
      }
    } finally {
      await dropMysqlDatabase(server.uri ?? '', old);
      store.cleanup();
    }
  });

  test('a wrong password, a missing database and MySQL as a target are refused with clear errors', async () => {
    const store = await freshStoreUri('sqlite');
    try {
      const wrong = new URL(source.uri);
      wrong.password = 'not-the-password';
      const refused = importStore({ from: wrong.toString(), to: store.uri });
      await rejectsWith(
        refused,
        'INVALID_PARAMETER_VALUE',
        /Cannot connect to the MySQL database .*Access denied/,
      );
      await refused.catch((error: Error) => assert.doesNotMatch(error.message, /not-the-password/));
      await rejectsWith(
        importStore({ from: server.uri ?? '', to: store.uri }),
        'INVALID_PARAMETER_VALUE',
        /names no database/,
      );
      await rejectsWith(
        importStore({ from: SQLITE_FIXTURE, to: source.uri }),
        'INVALID_PARAMETER_VALUE',
        /Unsupported backend store URI.*sqlite:\/\/\/ and postgresql:\/\//,
      );
      await rejectsWith(
        exportStore({ from: store.uri, to: 'mysql://u:hunter2@127.0.0.1:1/db' }),
        'INVALID_PARAMETER_VALUE',
        /^Cannot export to 'mysql:\/\/u:\*\*\*@127.0.0.1:1\/db': MySQL is read as an import source only/,
      );
    } finally {
      store.cleanup();
    }
  });
});
