import { Worker } from 'node:worker_threads';
import { type ErrorCode, MlflowError, type ParamConflict, ParamConflictError } from '../entities/errors.js';
import { ArtifactLocations } from './artifact-locations.js';
import { openSqliteReader } from './database.js';
import type { RegistryStore } from './registry-store.js';
import { SqlRegistryStore } from './sql-registry-store.js';
import { SqlTrackingStore } from './sql-tracking-store.js';

// An SQLite tracking store split over two threads: reads run here on their own connection (WAL shows them
// the last commit), writes are messages to the writer thread (sqlite-writer-thread.ts), which owns the
// only writing connection and groups concurrent writes into one transaction.

/** The store methods that write; every other method reads. */
const WRITE_METHODS = [
  'createExperiment',
  'renameExperiment',
  'deleteExperiment',
  'restoreExperiment',
  'setExperimentTag',
  'deleteExperimentTag',
  'createRun',
  'updateRun',
  'deleteRun',
  'restoreRun',
  'logBatch',
  'deleteTag',
  'logInputs',
  'hardDeleteRun',
  'hardDeleteExperiment',
] as const satisfies readonly (keyof SqlTrackingStore)[];
type WriteMethod = (typeof WRITE_METHODS)[number];

/** The registry store's methods that write; they run on the same thread, in the same connection. */
const REGISTRY_WRITE_METHODS = [
  'createRegisteredModel',
  'updateRegisteredModel',
  'renameRegisteredModel',
  'deleteRegisteredModel',
  'setRegisteredModelTag',
  'deleteRegisteredModelTag',
  'createModelVersion',
  'updateModelVersion',
  'transitionModelVersionStage',
  'deleteModelVersion',
  'setModelVersionTag',
  'deleteModelVersionTag',
  'setRegisteredModelAlias',
  'deleteRegisteredModelAlias',
] as const satisfies readonly (keyof SqlRegistryStore)[];
type RegistryWriteMethod = (typeof REGISTRY_WRITE_METHODS)[number];

export interface WriterThreadData {
  file: string;
  artifactRoot: string;
}

export type WriterRequest =
  | { id: number; store: 'tracking'; method: WriteMethod; args: unknown[] }
  | { id: number; store: 'registry'; method: RegistryWriteMethod; args: unknown[] }
  | { id: number; store: 'tracking'; method: 'close'; args: [] };

export type SerializedError =
  | { kind: 'param-conflict'; runId: string; conflicts: ParamConflict[] }
  | { kind: 'mlflow'; code: ErrorCode; message: string }
  | { kind: 'other'; message: string };

export type WriterReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError };

function deserializeError(error: SerializedError): Error {
  if (error.kind === 'param-conflict') return new ParamConflictError(error.runId, error.conflicts);
  if (error.kind === 'mlflow') return new MlflowError(error.code, error.message);
  return new Error(error.message);
}

class WriterThread {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly ready: Promise<unknown>;
  /** Set once the thread has died: later calls fail at once rather than wait for a reply that never comes. */
  private failure?: Error;

  constructor(private readonly worker: Worker) {
    this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve, reject }));
    worker.on('message', (reply: WriterReply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.value);
      else waiter?.reject(deserializeError(reply.error));
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

  call(store: WriterRequest['store'], method: WriterRequest['method'], args: unknown[]): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, store, method, args });
    });
  }
}

function startWorker(data: WriterThreadData): Worker {
  // Run from TypeScript source (the tests, under tsx), the thread loads its module through tsx too.
  if (import.meta.url.endsWith('.ts')) {
    const script = new URL('./sqlite-writer-thread.ts', import.meta.url).href;
    return new Worker(
      `import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(script)}, ${JSON.stringify(import.meta.url)}))`,
      { eval: true, workerData: data },
    );
  }
  return new Worker(new URL('./sqlite-writer-thread.js', import.meta.url), { workerData: data });
}

/**
 * Opens the SQLite store in `file` (creating and migrating it on the writer thread) and returns a store
 * with the same methods as SqlTrackingStore.
 */
export async function openThreadedSqliteStore(file: string, artifactRoot: string): Promise<SqlTrackingStore> {
  return (await openThreadedSqliteStores(file, artifactRoot)).tracking;
}

/**
 * Opens the SQLite store in `file` as openThreadedSqliteStore does, with the model registry beside it:
 * registry writes go to the same writer thread (one writing connection per file), registry reads use
 * this thread's reading connection. Closing the tracking store closes both.
 */
export async function openThreadedSqliteStores(
  file: string,
  artifactRoot: string,
): Promise<{ tracking: SqlTrackingStore; registry: RegistryStore }> {
  const worker = startWorker({ file, artifactRoot });
  const thread = new WriterThread(worker);
  try {
    await thread.started();
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  const reader = openSqliteReader(file);
  const local = new SqlTrackingStore(reader, new ArtifactLocations(artifactRoot));
  const writes = new Set<string>(WRITE_METHODS);
  const registryWrites = new Set<string>(REGISTRY_WRITE_METHODS);
  const registry = new Proxy(new SqlRegistryStore(reader), {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && registryWrites.has(prop)) {
        return (...args: unknown[]) => thread.call('registry', prop as RegistryWriteMethod, args);
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  const tracking = new Proxy(local, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && writes.has(prop)) {
        return (...args: unknown[]) => thread.call('tracking', prop as WriteMethod, args);
      }
      // The writer thread already set up the store (init) when it started.
      if (prop === 'init') return () => Promise.resolve();
      if (prop === 'close') {
        return async () => {
          await thread.call('tracking', 'close', []);
          await worker.terminate();
          await target.close();
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  return { tracking, registry };
}
