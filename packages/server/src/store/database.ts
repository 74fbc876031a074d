import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import type pg from 'pg';
import { pgDriver } from './drivers.js';
import { ExactIdsPlugin, exactInt8Types } from './exact-ids.js';
import { GroupCommitQueue, WriteLanes, type Writer } from './group-commit.js';
import { HistoryReaderPool } from './history-readers.js';
import { migrateToLatest } from './migrations.js';
import { watchLostConnections } from './pg-pool-errors.js';
import type { Database } from './schema.js';
import { openSqliteConnection, withStatementCache } from './sqlite-connection.js';
import { parseStoreUri, type StoreLocation } from './store-uri.js';

export type Dialect = StoreLocation['dialect'];

/** An open backend store: a reader for queries and a group-commit writer. */
export interface StoreDatabase {
  readonly dialect: Dialect;
  readonly reader: Kysely<Database>;
  readonly writer: Writer;
  /** SQLite files only: threads that read long metric histories (see history-readers.ts). */
  readonly historyReaders?: HistoryReaderPool;
  close(): Promise<void>;
}

/** What a repository's reads get (see repository.ts): queries only, no way to write. */
export type ReadOnlyDatabase = Pick<StoreDatabase, 'dialect' | 'reader' | 'historyReaders'>;

/** What a repository's writes get: write transactions only, so a write reads inside its own transaction. */
export type WriteOnlyDatabase = Pick<StoreDatabase, 'dialect' | 'writer'>;

/** How a store holds the process: by default its connections keep Node running while it is open. */
export interface OpenOptions {
  /** False for a store used in-process by a script: idle connections then let the process exit. */
  keepProcessAlive?: boolean;
}

/** Opens (creating if needed) the store at `uri` and brings its schema up to date. */
export async function openDatabase(uri: string, options: OpenOptions = {}): Promise<StoreDatabase> {
  const location = parseStoreUri(uri);
  return location.dialect === 'sqlite'
    ? openSqlite(location.file)
    : openPostgres(location.connectionString, options.keepProcessAlive ?? true);
}

/** Upgrades the schema of the store at `uri` without keeping it open; returns the migrations applied. */
export async function upgradeDatabase(uri: string): Promise<string[]> {
  const location = parseStoreUri(uri);
  const db =
    location.dialect === 'sqlite'
      ? new Kysely<Database>({
          dialect: new SqliteDialect({ database: openSqliteConnection(location.file) }),
        })
      : new Kysely<Database>({
          dialect: new PostgresDialect({
            pool: new (pgDriver().Pool)({ connectionString: location.connectionString, max: 1 }),
          }),
        });
  try {
    return await migrateToLatest(db as Kysely<unknown>, location.dialect);
  } finally {
    await db.destroy();
  }
}

/** A connection for reads, with a page cache sized for searches over large stores. */
function openSqliteReadConnection(file: string) {
  const conn = openSqliteConnection(file);
  // SQLite's default page cache is 2 MiB. Searches on a large store look up runs, params and metrics
  // all over their indexes; with 64 MiB those pages stay cached between queries (measured: a
  // filtered, metric-ordered search of 100,000 runs took 55 ms with the default, 37 ms with this).
  conn.pragma(`cache_size = -${64 * 1024}`);
  return conn;
}

export async function openSqlite(file: string): Promise<StoreDatabase> {
  const writerDb = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(openSqliteConnection(file), 500, true) }),
  });
  await migrateToLatest(writerDb as Kysely<unknown>, 'sqlite');
  // WAL lets a second connection read the last committed state while the writer is mid-transaction.
  // An in-memory database exists only on its own connection, so there the reader is the writer.
  const readerDb =
    file === ':memory:'
      ? writerDb
      : new Kysely<Database>({
          dialect: new SqliteDialect({ database: withStatementCache(openSqliteReadConnection(file)) }),
        });
  const writer = new GroupCommitQueue(writerDb);
  return withHistoryReaders(file, {
    dialect: 'sqlite',
    reader: readerDb,
    writer,
    async close() {
      await writer.drained();
      if (readerDb !== writerDb) await readerDb.destroy();
      await writerDb.destroy();
    },
  });
}

/** `database` (an SQLite file's) with history reader threads, stopped when it closes. */
function withHistoryReaders(file: string, database: StoreDatabase): StoreDatabase {
  const historyReaders = file === ':memory:' ? undefined : HistoryReaderPool.forFile(file);
  if (!historyReaders) return database;
  return {
    ...database,
    historyReaders,
    async close() {
      await historyReaders.close();
      await database.close();
    },
  };
}

/**
 * A read-only view of an SQLite store whose writes happen elsewhere (the writer thread, see
 * threaded-sqlite-store.ts); its schema must already be up to date.
 */
export function openSqliteReader(file: string): StoreDatabase {
  const readerDb = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(openSqliteReadConnection(file)) }),
  });
  const writer: Writer = {
    run: () => Promise.reject(new Error('this connection only reads; writes go to the writer thread')),
    drained: () => Promise.resolve(),
  };
  return withHistoryReaders(file, {
    dialect: 'sqlite',
    reader: readerDb,
    writer,
    close: () => readerDb.destroy(),
  });
}

/** Concurrent write transactions on PostgreSQL (see WriteLanes); the rest of the pool serves reads. */
const WRITE_LANES = 4;

async function openPostgres(connectionString: string, keepProcessAlive: boolean): Promise<StoreDatabase> {
  const pool: pg.Pool = new (pgDriver().Pool)({
    connectionString,
    max: WRITE_LANES + 6,
    allowExitOnIdle: !keepProcessAlive,
    types: exactInt8Types,
  });
  watchLostConnections(pool);
  // Doubles travel as text: PostgreSQL 12+ writes the shortest exact form when extra_float_digits is
  // positive (its default, 1), but a server may be configured otherwise. Search results and the metric
  // history are written as JSON by PostgreSQL itself, so the setting is pinned per connection.
  pool.on('connect', (client) => {
    client.query('SET extra_float_digits = 1').catch(() => {});
  });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    plugins: [new ExactIdsPlugin()],
  });
  await migrateToLatest(db as Kysely<unknown>, 'postgres');
  const writer = new WriteLanes(db, WRITE_LANES);
  return {
    dialect: 'postgres',
    reader: db,
    writer,
    async close() {
      await writer.drained();
      await db.destroy();
    },
  };
}
