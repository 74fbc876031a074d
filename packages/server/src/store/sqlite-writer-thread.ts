import { parentPort, workerData } from 'node:worker_threads';
import { MlflowError, ParamConflictError } from '../entities/errors.js';
import { ArtifactLocations } from './artifact-locations.js';
import { openSqlite } from './database.js';
import { SqlRegistryStore } from './sql-registry-store.js';
import { SqlTrackingStore } from './sql-tracking-store.js';
import type {
  SerializedError,
  WriterReply,
  WriterRequest,
  WriterThreadData,
} from './threaded-sqlite-store.js';

// The write half of an SQLite tracking store, on its own thread. better-sqlite3 is synchronous, so on the
// main thread every insert and every commit (with its fsync) would stall all other requests. Here the
// store's write methods, group commit included, run beside the HTTP event loop, one message per call.

function serializeError(error: unknown): SerializedError {
  if (error instanceof ParamConflictError) {
    return { kind: 'param-conflict', runId: error.runId, conflicts: error.conflicts };
  }
  if (error instanceof MlflowError) return { kind: 'mlflow', code: error.errorCode, message: error.message };
  return { kind: 'other', message: error instanceof Error ? error.message : String(error) };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('sqlite-writer-thread must run as a worker thread');
  const { file, artifactRoot } = workerData as WriterThreadData;
  let store: SqlTrackingStore;
  let registry: SqlRegistryStore;
  try {
    const database = await openSqlite(file);
    store = new SqlTrackingStore(database, new ArtifactLocations(artifactRoot));
    registry = new SqlRegistryStore(database);
    await store.init();
  } catch (error) {
    port.postMessage({ id: 0, ok: false, error: serializeError(error) } satisfies WriterReply);
    return;
  }
  port.on('message', (request: WriterRequest) => {
    if (request.method === 'close') {
      void store.close().then(() => {
        port.postMessage({ id: request.id, ok: true, value: undefined } satisfies WriterReply);
        port.close();
      });
      return;
    }
    const target = request.store === 'registry' ? registry : store;
    const method = (target as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[
      request.method
    ];
    method.apply(target, request.args).then(
      (value) => port.postMessage({ id: request.id, ok: true, value } satisfies WriterReply),
      (error) =>
        port.postMessage({ id: request.id, ok: false, error: serializeError(error) } satisfies WriterReply),
    );
  });
  port.postMessage({ id: 0, ok: true, value: 'ready' } satisfies WriterReply);
}

void main();
