import BetterSqlite3 from 'better-sqlite3';

/** Opens an SQLite connection with the settings every mlflow-ts connection uses. */
export function openSqliteConnection(file: string): BetterSqlite3.Database {
  const conn = new BetterSqlite3(file);
  conn.pragma('journal_mode = WAL');
  // FULL makes every commit durable across power loss, not only process death; group commit pays
  // for the extra fsync once per batch.
  conn.pragma('synchronous = FULL');
  conn.pragma('foreign_keys = ON');
  conn.pragma('busy_timeout = 10000');
  // MLflow's LIKE is case-sensitive (ILIKE is the insensitive one); SQLite's is not by default.
  conn.pragma('case_sensitive_like = ON');
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
        const source = writer && raw.trim().toLowerCase() === 'begin' ? 'begin immediate' : raw;
        let stmt = cache.get(source);
        if (!stmt) {
          stmt = prepare(source);
          if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
          cache.set(source, stmt);
        }
        return stmt;
      };
    },
  });
}
