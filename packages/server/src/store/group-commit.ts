import type { ControlledTransaction, Kysely } from 'kysely';
import type { Database } from './schema.js';

export type WriteTransaction = ControlledTransaction<Database>;
export type WriteOp<T> = (trx: WriteTransaction) => Promise<T>;

/** Where the store sends its writes. */
export interface Writer {
  /** Runs `op` in a write transaction; writes with the same `key` are applied in the order sent. */
  run<T>(op: WriteOp<T>, key?: string): Promise<T>;
  /** Resolves once every write sent so far has been committed (or failed). */
  drained(): Promise<void>;
}

interface Pending {
  op: WriteOp<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs write operations through one writer, coalescing every operation queued while the previous
 * commit was in flight into a single transaction. Each caller's promise settles only after the
 * transaction holding its operation has committed, so an acknowledged write is durable. Operations
 * are isolated by savepoints: one failing operation rolls back only its own changes.
 */
export class GroupCommitQueue implements Writer {
  private queue: Pending[] = [];
  private scheduled = false;
  private running = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxBatch = 512,
  ) {}

  run<T>(op: WriteOp<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Resolves once every operation queued so far has been committed (or failed). */
  drained(): Promise<void> {
    if (!this.running && !this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    // Deferring to the check phase lets every request that arrived in this turn of the event loop
    // join the batch; with a synchronous driver (SQLite) nothing else would ever get a chance to.
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.commitBatch(batch);
      }
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
      else for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /**
   * Operations rarely fail, so a batch first runs without savepoints (each costs two more statements per
   * operation, which on PostgreSQL are network round trips). If one fails, the whole transaction is rolled
   * back and the batch runs again with a savepoint around each operation, so only the failing ones fail.
   * Operations only touch the database until they settle, so running one twice is safe.
   */
  private async commitBatch(batch: Pending[]): Promise<void> {
    if (batch.length > 1) {
      const values = await this.inTransaction(async (trx) => {
        const out: unknown[] = [];
        for (const item of batch) out.push(await item.op(trx));
        return out;
      }).catch(() => undefined);
      if (values) {
        for (const [i, item] of batch.entries()) item.resolve(values[i]);
        return;
      }
    }
    try {
      const outcomes = await this.inTransaction(async (trx) => {
        // A lone operation needs no savepoint: if it fails the whole transaction is rolled back.
        if (batch.length === 1) return [{ ok: true, value: await batch[0].op(trx) }];
        const out: { ok: boolean; value: unknown }[] = [];
        for (const item of batch) out.push(await runIsolated(trx, item.op));
        return out;
      });
      batch.forEach((item, i) => {
        const outcome = outcomes[i];
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.value);
      });
    } catch (error) {
      // A lone operation's own error is reported as is; a failed commit fails every operation in it.
      for (const item of batch) item.reject(error);
    }
  }

  /** Runs `body` in a transaction and commits it; rolls back and rethrows if anything fails. */
  private async inTransaction<T>(body: (trx: WriteTransaction) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(body);
      } catch (error) {
        // PostgreSQL may abort one of two transactions that wait on each other (lanes, or another
        // server process); the batch is simply run again.
        const code = (error as { code?: unknown }).code;
        if (attempt >= 3 || (code !== '40P01' && code !== '40001')) throw error;
      }
    }
  }

  private async attempt<T>(body: (trx: WriteTransaction) => Promise<T>): Promise<T> {
    const trx = await this.db.startTransaction().execute();
    try {
      const value = await body(trx);
      await trx.commit().execute();
      return value;
    } catch (error) {
      if (!trx.isCommitted && !trx.isRolledBack)
        await trx
          .rollback()
          .execute()
          .catch(() => {});
      throw error;
    }
  }
}

async function runIsolated(
  trx: WriteTransaction,
  op: WriteOp<unknown>,
): Promise<{ ok: boolean; value: unknown }> {
  const sp = await trx.savepoint('op').execute();
  try {
    const value = await op(sp as unknown as WriteTransaction);
    await sp.releaseSavepoint('op').execute();
    return { ok: true, value };
  } catch (error) {
    await sp.rollbackToSavepoint('op').execute();
    return { ok: false, value: error };
  }
}

/**
 * Several group-commit queues side by side, each on its own connection, for a database that runs
 * transactions concurrently (PostgreSQL): one queue would leave the server idle while it waits on
 * network round trips. Writes with the same key (a run id, or "experiments" for experiment changes) always
 * take the same lane, so they stay in order and never race each other's read-then-write logic.
 */
export class WriteLanes implements Writer {
  private readonly lanes: GroupCommitQueue[];
  private next = 0;

  constructor(db: Kysely<Database>, count: number) {
    this.lanes = Array.from({ length: count }, () => new GroupCommitQueue(db));
  }

  run<T>(op: WriteOp<T>, key?: string): Promise<T> {
    const lane = key === undefined ? this.next++ % this.lanes.length : hash(key) % this.lanes.length;
    return this.lanes[lane].run(op);
  }

  async drained(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.drained()));
  }
}

function hash(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return h;
}
