import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';

// A Kysely dialect whose single SQLite connection is owned by a worker thread (sqlite-writer-thread):
// each query is a message to that thread and its answer a message back.

export interface ThreadRequest {
  id: number;
  sql: string;
  parameters: readonly unknown[];
  close?: boolean;
}

export type ThreadReply =
  | { id: number; rows: Record<string, unknown>[]; changes?: number; lastInsertRowid?: number }
  | { id: number; error: { message: string; code?: string } };

/** An error raised by SQLite in the writer thread, with better-sqlite3's error code. */
export class SqliteThreadError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'SqliteError';
  }
}

class ThreadConnection implements DatabaseConnection {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: ThreadReply) => void; reject: (e: Error) => void }
  >();

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: ThreadReply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      waiter?.resolve(reply);
    });
    // A crashed thread fails every query in flight instead of leaving it hanging.
    const failAll = (error: Error) => {
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`the SQLite writer thread exited (code ${code})`)));
  }

  send(request: Omit<ThreadRequest, 'id'>): Promise<ThreadReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const reply = await this.send({ sql: compiledQuery.sql, parameters: compiledQuery.parameters });
    if ('error' in reply) throw new SqliteThreadError(reply.error.message, reply.error.code);
    return {
      rows: reply.rows as R[],
      numAffectedRows: reply.changes === undefined ? undefined : BigInt(reply.changes),
      insertId: reply.lastInsertRowid === undefined ? undefined : BigInt(reply.lastInsertRowid),
    };
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered by this driver
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the SQLite writer thread does not stream query results');
  }
}

class ThreadDriver implements Driver {
  private worker?: Worker;
  private connection?: ThreadConnection;
  // One connection: callers queue for it, as Kysely's own SQLite driver makes them.
  private lock: Promise<void> = Promise.resolve();
  private unlock?: () => void;

  constructor(private readonly file: string) {}

  async init(): Promise<void> {
    const script = new URL(
      `./sqlite-writer-thread.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
      import.meta.url,
    );
    const workerData = { file: this.file };
    this.worker = script.pathname.endsWith('.ts')
      ? // Run from TypeScript source (the tests, under tsx): the thread loads its module through tsx.
        new Worker(
          `import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(script.href)}, ${JSON.stringify(import.meta.url)}))`,
          { eval: true, workerData },
        )
      : new Worker(script, { workerData });
    this.connection = new ThreadConnection(this.worker);
    // Opening the database happens on the thread; a first query surfaces any error in doing so.
    await this.connection.executeQuery(CompiledQuery.raw('select 1'));
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.lock;
    let release!: () => void;
    this.lock = new Promise((resolve) => {
      release = resolve;
    });
    await previous;
    this.unlock = release;
    return this.connection as ThreadConnection;
  }

  async releaseConnection(): Promise<void> {
    this.unlock?.();
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    // IMMEDIATE takes the write lock up front (see sqlite-connection.ts).
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint "${name}"`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to "${name}"`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release "${name}"`));
  }

  async destroy(): Promise<void> {
    if (!this.connection || !this.worker) return;
    await this.connection.send({ sql: '', parameters: [], close: true });
    await this.worker.terminate();
  }
}

/** SQLite with its connection on a worker thread; SQL and results are Kysely's SQLite ones. */
export class SqliteThreadDialect implements Dialect {
  constructor(private readonly file: string) {}

  createAdapter() {
    return new SqliteAdapter();
  }

  createDriver(): Driver {
    return new ThreadDriver(this.file);
  }

  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>) {
    return new SqliteIntrospector(db);
  }
}
