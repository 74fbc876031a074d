// MLflow MySQL databases for the import tests: the test MariaDB (scripts/services/mariadb.sh), a fresh
// database on it, and an MLflow SQLite database's schema and rows copied into it with MySQL's types.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { REPO_ROOT } from './helpers.js';

export interface MysqlTestServer {
  /** mysql://user:password@host:port/ of a user that may create databases. */
  uri?: string;
  reason?: string;
  /** Under CI (CI=true) the MySQL tests must fail rather than be skipped. */
  required: boolean;
}

let server: MysqlTestServer | undefined;

/** The test MariaDB: MLFLOW_TS_TEST_MYSQL_URI, or started by scripts/services/mariadb.sh. */
export function mysqlTestServer(): MysqlTestServer {
  if (server) return server;
  const required = process.env.CI === 'true';
  if (process.env.MLFLOW_TS_TEST_MYSQL_URI) {
    server = { uri: process.env.MLFLOW_TS_TEST_MYSQL_URI, required };
    return server;
  }
  try {
    const uri = execFileSync('bash', [path.join(REPO_ROOT, 'scripts/services/mariadb.sh'), 'start'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    server = { uri, required };
  } catch (error) {
    server = {
      reason: `MariaDB could not be started (scripts/services/mariadb.sh start): ${error}`,
      required,
    };
  }
  return server;
}

function connectionOf(uri: string, database?: string): mysql.ConnectionOptions {
  const url = new URL(uri);
  return {
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    multipleStatements: false,
    // As MLflow's engine writes; the import must not depend on the session's mode.
    charset: 'utf8mb4',
  };
}

/** Creates an empty database on the test server; returns its URI and a connection to it. */
export async function freshMysqlDatabase(admin: string): Promise<{ uri: string; conn: mysql.Connection }> {
  const name = `mlflow_ts_test_${randomBytes(6).toString('hex')}`;
  const root = await mysql.createConnection(connectionOf(admin));
  try {
    await root.query(`create database \`${name}\` character set utf8mb4 collate utf8mb4_general_ci`);
  } finally {
    await root.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { uri: url.toString(), conn: await mysql.createConnection(connectionOf(admin, name)) };
}

/** Drops a database freshMysqlDatabase made (closing its connection first). */
export async function dropMysqlDatabase(
  admin: string,
  db: { uri: string; conn: mysql.Connection },
): Promise<void> {
  await db.conn.end();
  const root = await mysql.createConnection(connectionOf(admin));
  try {
    await root.query(`drop database if exists \`${new URL(db.uri).pathname.slice(1)}\``);
  } finally {
    await root.end();
  }
}

/**
 * MySQL's spelling of the SQLite column types MLflow's migrations produce: `sa.Float(precision=53)` is
 * DOUBLE there (MySQL's FLOAT is single precision), `sa.Boolean` TINYINT(1), `sa.Text` a TEXT type (LONGTEXT
 * here, which holds what any of them holds).
 */
function mysqlType(sqliteType: string): string {
  const t = sqliteType.toUpperCase();
  if (t === 'FLOAT') return 'DOUBLE';
  if (t === 'BOOLEAN') return 'TINYINT(1)';
  if (t === 'INTEGER') return 'INT';
  if (t === 'TEXT') return 'LONGTEXT';
  if (t === 'JSON') return 'JSON';
  return t; // VARCHAR(n), BIGINT
}

interface ColumnInfo {
  name: string;
  type: string;
  // BigInts: the source is read with safe integers.
  notnull: bigint;
  pk: bigint;
  hidden: bigint;
}

/**
 * Copies every table of the MLflow SQLite database `file` (its columns, types, primary keys and rows)
 * into the MySQL database on `conn`, as MLflow's migrations would have left a MySQL database holding
 * the same data. Generated columns (spans.duration_ns) are left out: MySQL computes its own.
 */
export async function copySqliteIntoMysql(file: string, conn: mysql.Connection): Promise<void> {
  const source = new BetterSqlite3(file, { readonly: true });
  // Nanosecond times and other BIGINTs exactly.
  source.defaultSafeIntegers(true);
  try {
    const tables = source
      .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
      .pluck()
      .all() as string[];
    for (const table of tables) {
      const columns = (
        source.prepare(`select * from pragma_table_xinfo(?)`).all(table) as ColumnInfo[]
      ).filter((c) => Number(c.hidden) === 0);
      const key = columns
        .filter((c) => Number(c.pk) > 0)
        .sort((a, b) => Number(a.pk) - Number(b.pk))
        .map((c) => `\`${c.name}\``);
      const defs = columns.map(
        (c) => `\`${c.name}\` ${mysqlType(c.type)}${Number(c.notnull) ? ' NOT NULL' : ''}`,
      );
      if (key.length) defs.push(`PRIMARY KEY (${key.join(', ')})`);
      await conn.query(`create table \`${table}\` (${defs.join(', ')}) engine=InnoDB`);
      const names = columns.map((c) => `\`${c.name}\``).join(', ');
      const rows = source
        .prepare(`select ${columns.map((c) => `"${c.name}"`).join(', ')} from "${table}"`)
        .raw()
        .all();
      for (const row of rows as unknown[][]) {
        await conn.query(`insert into \`${table}\` (${names}) values (?)`, [
          row.map((v) => (typeof v === 'bigint' ? v.toString() : v)),
        ]);
      }
    }
  } finally {
    source.close();
  }
}
