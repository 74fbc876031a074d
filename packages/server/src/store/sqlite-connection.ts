import type BetterSqlite3 from 'better-sqlite3';
import { sqliteDriver } from './drivers.js';
import { exactRow } from './exact-ids.js';
import { registerRegexp } from './sql-regexp.js';

/** Opens an SQLite connection with the settings every mlflow-ts connection uses. */
export function openSqliteConnection(file: string): BetterSqlite3.Database {
  const conn = new (sqliteDriver())(file);
  conn.pragma('journal_mode = WAL');
  // FULL makes every commit durable across power loss, not only process death; group commit pays
  // for the extra fsync once per batch.
  conn.pragma('synchronous = FULL');
  conn.pragma('foreign_keys = ON');
  conn.pragma('busy_timeout = 10000');
  // MLflow's LIKE is case-sensitive (ILIKE is the insensitive one); SQLite's is not by default.
  conn.pragma('case_sensitive_like = ON');
  // RLIKE in trace searches (sql-regexp.ts).
  registerRegexp(conn);
  return conn;
}

/**
 * Kysely prepares every statement anew; better-sqlite3 statements can be reused, so keep the hot ones.
 * The cache is per connection and bounded.
 */
export function withStatementCache(
  conn: BetterSqlite3.Database,
  limit = 500,
  writer = false,
): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = conn.prepare.bind(conn);
  return new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop !== 'prepare') return Reflect.get(target, prop, receiver);
      return (raw: string) => {
        // The writer reads before it writes inside a transaction. A deferred BEGIN would then have to
        // upgrade to a write lock mid-transaction, which SQLite refuses at once (no busy wait) when
        // another process (--workers) committed in between; BEGIN IMMEDIATE waits for the lock up front.
        // (The length test spares every other statement, a many-row insert included, a lower-cased copy.)
        const source =
          writer && raw.length < 16 && raw.trim().toLowerCase() === 'begin' ? 'begin immediate' : raw;
        let stmt = cache.get(source);
        if (!stmt) {
          stmt = exactReads(prepare(source));
          if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
          cache.set(source, stmt);
        }
        return stmt;
      };
    },
  });
}

/** Statements that may read an experiment id: `select *` or a column named so. */
const MAY_READ_EXPERIMENT_ID = /experiment_id|\*/;

/**
 * Makes a reading statement return experiment ids exactly (see exact-ids.ts): it reads integers as
 * BigInts, which `exactRow` turns back into numbers except the experiment id. Other statements are
 * left as they are, so the hot paths that never read an experiment id pay nothing.
 */
export function exactReads(stmt: BetterSqlite3.Statement): BetterSqlite3.Statement {
  if (!stmt.reader || !MAY_READ_EXPERIMENT_ID.test(stmt.source)) return stmt;
  stmt.safeIntegers(true);
  const all = stmt.all.bind(stmt);
  const get = stmt.get.bind(stmt);
  const iterate = stmt.iterate.bind(stmt);
  return Object.assign(stmt, {
    all: (...params: unknown[]) => (all(...params) as Record<string, unknown>[]).map(exactRow),
    get: (...params: unknown[]) => {
      const row = get(...params) as Record<string, unknown> | undefined;
      return row && exactRow(row);
    },
    iterate: function* (...params: unknown[]) {
      for (const row of iterate(...params)) yield exactRow(row as Record<string, unknown>);
    },
  });
}
