import type { Worker } from 'node:worker_threads';
import { type ErrorCode, MlflowError, type ParamConflict, ParamConflictError } from '../entities/errors.js';
import type { ResourceLimits } from '../entities/resource-limits.js';
import { ArtifactLocations } from './artifact-locations.js';
import { openSqliteReader } from './database.js';
import type { StoreOptions } from './open-stores.js';
import { Outbox } from './outbox.js';
import { forwardedWrites } from './repository.js';
import { mapStoreWrites, repositoriesOver, type StoreName, type Stores, storesOver } from './store-set.js';
import { startStoreThread } from './store-thread.js';

// The SQLite stores split over two threads: reads run here on their own connection (WAL shows them the
// last commit), writes are messages to the writer thread (sqlite-writer-thread.ts), which owns the only
// writing connection and groups concurrent writes into one transaction.

export interface WriterThreadData {
  file: string;
  artifactRoot: string;
  limits: ResourceLimits;
}

/**
 * A call of write method `method` of repository `repository` of `store`, or the thread's close. Both
 * ways, messages are lists of these (see Outbox).
 */
export type WriterRequest =
  | { id: number; store: StoreName; repository: string; method: string; args: unknown[] }
  | { id: number; store: null; method: 'close'; args: [] };

/** A request without its id, which the sender assigns. */
type WriterCall =
  | Omit<Extract<WriterRequest, { store: StoreName }>, 'id'>
  | Omit<Extract<WriterRequest, { store: null }>, 'id'>;

export type SerializedError =
  | { kind: 'param-conflict'; runId: string; conflicts: ParamConflict[] }
  | { kind: 'mlflow'; code: ErrorCode; message: string }
  | { kind: 'other'; message: string; code?: string };

export type WriterReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError };

function deserializeError(error: SerializedError): Error {
  if (error.kind === 'param-conflict') return new ParamConflictError(error.runId, error.conflicts);
  if (error.kind === 'mlflow') return new MlflowError(error.code, error.message);
  // The driver's or the system's code (SQLITE_FULL, ENOSPC...) travels with the message, so the HTTP
  // layer can tell a full disk from a bug.
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
}

class WriterThread {
  private nextId = 1;
  private readonly outbox: Outbox<WriterRequest>;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly ready: Promise<unknown>;
  /** Set once the thread has died: later calls fail at once rather than wait for a reply that never comes. */
  private failure?: Error;

  constructor(worker: Worker) {
    this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve, reject }));
    this.outbox = new Outbox((requests) => worker.postMessage(requests));
    worker.on('message', (replies: WriterReply[]) => {
      for (const reply of replies) {
        const waiter = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if (reply.ok) waiter?.resolve(reply.value);
        else waiter?.reject(deserializeError(reply.error));
      }
    });
    // A thread that dies fails every call in flight instead of leaving it hanging.
    const failAll = (error: Error) => {
      this.failure ??= error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`the SQLite writer thread stopped (exit code ${code})`)));
  }

  started(): Promise<unknown> {
    return this.ready;
  }

  call(request: WriterCall): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.outbox.send({ id, ...request } satisfies WriterRequest);
    });
  }
}

/**
 * Opens the stores in the SQLite file `file` (created and migrated on the writer thread, which also
 * runs the tracking store's init): reads run here, writes on the thread.
 */
export async function openThreadedSqliteStores(
  file: string,
  artifactRoot: string,
  options: StoreOptions = {},
): Promise<Stores> {
  const worker = startStoreThread('sqlite-writer-thread', import.meta.url, {
    file,
    artifactRoot,
    limits: options.limits ?? {},
  } satisfies WriterThreadData);
  const thread = new WriterThread(worker);
  // An in-process store must not keep a script alive; its user holds the process while calls run.
  // (After the listeners are added: adding a 'message' listener refs the worker's port again.)
  if (options.keepProcessAlive === false) worker.unref();
  try {
    await thread.started();
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  const reader = openSqliteReader(file);
  const locations = new ArtifactLocations(artifactRoot);
  // The repositories over the reader, with every method of their writes sent to the thread instead
  // (where the same repositories run them over the writing connection).
  const repositories = mapStoreWrites(repositoriesOver(reader, locations), (store, repository, writes) =>
    forwardedWrites(writes, (method, args) => thread.call({ store, repository, method, args })),
  );
  return {
    ...storesOver(reader, locations, repositories),
    async close() {
      await thread.call({ store: null, method: 'close', args: [] });
      await worker.terminate();
      await reader.close();
    },
  };
}
