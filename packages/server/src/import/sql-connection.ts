// One plain connection to an SQL database (an SQLite file or PostgreSQL; MySQL as a source only, see
// mysql-connection.ts) for moving whole stores in and out: SQL text with `?` placeholders, rows as
// objects, explicit transactions. The server's stores go through Kysely and group commit; a bulk copy
// wants neither.
import BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import { MlflowError } from '../entities/errors.js';
import { pgDriver } from '../store/drivers.js';
import { exactInt8Types, exactRow } from '../store/exact-ids.js';
import { exactReads, openSqliteConnection } from '../store/sqlite-connection.js';
import { parseStoreUri } from '../store/store-uri.js';
import { MYSQL_URI, openMysqlConnection, withoutPassword } from './mysql-connection.js';

export type SqlRow = Record<string, unknown>;

export interface SqlConnection {
  readonly dialect: 'sqlite' | 'postgres' | 'mysql';
  all(text: string, values?: readonly unknown[]): Promise<SqlRow[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(text: string, values?: readonly unknown[]): Promise<number>;
  /** Runs `fn` in one transaction (not re-entrant). */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Opens `uri` (sqlite:///, postgresql://, or mysql:// read-only); `readonly` opens an SQLite file without
 * writing to it.
 */
export async function openSqlConnection(
  uri: string,
  options: { readonly?: boolean } = {},
): Promise<SqlConnection> {
  if (MYSQL_URI.test(uri)) {
    // mlflow-ts stores are SQLite or PostgreSQL; a MySQL database is only ever an MLflow store read from.
    if (!options.readonly) {
      throw MlflowError.invalidParameter(
        `Cannot write to '${withoutPassword(uri)}': MySQL databases are read as import sources only; mlflow-ts stores and exports are SQLite or PostgreSQL.`,
      );
    }
    return openMysqlConnection(uri);
  }
  const location = parseStoreUri(uri);
  if (location.dialect === 'sqlite') {
    if (location.file === ':memory:')
      throw MlflowError.invalidParameter('An in-memory SQLite store cannot be imported.');
    const conn = options.readonly
      ? new BetterSqlite3(location.file, { readonly: true, fileMustExist: true })
      : openSqliteConnection(location.file);
    // A bulk copy commits per batch and resumes from its checkpoint after a crash, so it needs no
    // fsync per commit (WAL keeps the file consistent either way).
    if (!options.readonly) conn.pragma('synchronous = NORMAL');
    return new SqliteConnection(conn);
  }
  // pgDriver: node-postgres with its type parsers set (bigint columns as numbers).
  const client = new (pgDriver().Client)({
    connectionString: location.connectionString,
    types: exactInt8Types,
  });
  await client.connect();
  await client.query('SET extra_float_digits = 1');
  return new PostgresConnection(client);
}

class SqliteConnection implements SqlConnection {
  readonly dialect = 'sqlite';
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(private readonly db: BetterSqlite3.Database) {}

  private statement(text: string): BetterSqlite3.Statement {
    let stmt = this.statements.get(text);
    if (!stmt) {
      stmt = exactReads(this.db.prepare(text));
      if (this.statements.size >= 200) this.statements.clear();
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  async all(text: string, values: readonly unknown[] = []): Promise<SqlRow[]> {
    const stmt = this.statement(text);
    if (!stmt.reader) {
      stmt.run(...values);
      return [];
    }
    return stmt.all(...values) as SqlRow[];
  }

  async run(text: string, values: readonly unknown[] = []): Promise<number> {
    return this.statement(text).run(...values).changes;
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    this.db.exec('begin immediate');
    try {
      const result = await fn();
      this.db.exec('commit');
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('rollback');
      throw error;
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

class PostgresConnection implements SqlConnection {
  readonly dialect = 'postgres';
  private readonly texts = new Map<string, string>();

  constructor(private readonly client: pg.Client) {}

  private text(withMarks: string): string {
    let text = this.texts.get(withMarks);
    if (text === undefined) {
      let n = 0;
      text = withMarks.replace(/\?/g, () => `$${++n}`);
      if (this.texts.size >= 200) this.texts.clear();
      this.texts.set(withMarks, text);
    }
    return text;
  }

  async all(text: string, values: readonly unknown[] = []): Promise<SqlRow[]> {
    return ((await this.client.query(this.text(text), values as unknown[])).rows as SqlRow[]).map(exactRow);
  }

  async run(text: string, values: readonly unknown[] = []): Promise<number> {
    return (await this.client.query(this.text(text), values as unknown[])).rowCount ?? 0;
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.client.query('begin');
    try {
      const result = await fn();
      await this.client.query('commit');
      return result;
    } catch (error) {
      await this.client.query('rollback').catch(() => {});
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
