// A read-only connection to an MLflow MySQL or MariaDB database (an import source), behind the same
// SqlConnection the importer uses for SQLite and PostgreSQL: identifiers in double quotes (the session
// runs with ANSI_QUOTES), `?` placeholders, BIT booleans as 0/1 and BIGINTs past 2^53 as exact strings.
import mysql from 'mysql2/promise';
import { MlflowError } from '../entities/errors.js';
import type { SqlConnection, SqlRow } from './sql-connection.js';

/** The URI forms MLflow users write: mysql://, mysql+pymysql://, mysql+mysqldb://, ... */
export const MYSQL_URI = /^mysql(\+\w+)?:\/\//i;

/** `uri` with its password masked, for messages (which may reach logs and terminals). */
export function withoutPassword(uri: string): string {
  return uri.replace(/^([^:/]+:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

/** Connection options from `mysql[+driver]://user:password@host:port/database?unix_socket=...`. */
export function mysqlOptions(uri: string): mysql.ConnectionOptions {
  let url: URL;
  try {
    url = new URL(uri.replace(MYSQL_URI, 'mysql://'));
  } catch {
    throw MlflowError.invalidParameter(
      `Invalid MySQL URI '${withoutPassword(uri)}': expected mysql://<user>:<password>@<host>/<db>.`,
    );
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) {
    throw MlflowError.invalidParameter(`Invalid MySQL URI '${withoutPassword(uri)}': it names no database.`);
  }
  const socketPath = url.searchParams.get('unix_socket') ?? undefined;
  return {
    host: url.hostname || 'localhost',
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    ...(socketPath ? { socketPath } : {}),
    charset: 'utf8mb4',
    // Exact where a number cannot be: a BIGINT past 2^53 (an 18-digit experiment id, nanosecond
    // times) comes back as its decimal string.
    supportBigNumbers: true,
    bigNumberStrings: false,
    // MLflow's booleans are TINYINT(1) (read as numbers already); a database altered to BIT(1) gives
    // bytes, read here as the same 0/1.
    typeCast: (field, next) => {
      if (field.type !== 'BIT') return next();
      const bytes = field.buffer();
      return bytes === null ? null : bytes.reduce((n, b) => n * 256 + b, 0);
    },
  };
}

export async function openMysqlConnection(uri: string): Promise<SqlConnection> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection(mysqlOptions(uri));
  } catch (error) {
    if (error instanceof MlflowError) throw error;
    // The driver's message (access denied, unknown database, refused) without the password.
    throw MlflowError.invalidParameter(
      `Cannot connect to the MySQL database '${withoutPassword(uri)}': ${(error as Error).message}`,
    );
  }
  try {
    await conn.query(
      "set session sql_mode = concat(@@session.sql_mode, if(@@session.sql_mode = '', '', ','), 'ANSI_QUOTES')",
    );
    // A source is only read: the server refuses any write by mistake.
    await conn.query('set session transaction read only');
  } catch (error) {
    await conn.end();
    throw error;
  }
  return new MysqlConnection(conn);
}

class MysqlConnection implements SqlConnection {
  readonly dialect = 'mysql';

  constructor(private readonly conn: mysql.Connection) {}

  async all(text: string, values: readonly unknown[] = []): Promise<SqlRow[]> {
    const [rows] = await this.conn.query(text, values as unknown[]);
    return Array.isArray(rows) ? (rows as SqlRow[]) : [];
  }

  async run(text: string, values: readonly unknown[] = []): Promise<number> {
    const [result] = await this.conn.query(text, values as unknown[]);
    return Array.isArray(result) ? 0 : (result as mysql.ResultSetHeader).affectedRows;
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.conn.beginTransaction();
    try {
      const result = await fn();
      await this.conn.commit();
      return result;
    } catch (error) {
      await this.conn.rollback().catch(() => {});
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.conn.end();
  }
}
