import { parentPort, workerData } from 'node:worker_threads';
import { MlflowError, ParamConflictError } from '../entities/errors.js';
import { ArtifactLocations } from './artifact-locations.js';
import { openSqlite } from './database.js';
import { Outbox } from './outbox.js';
import { callWrite, type RepositorySet } from './repository.js';
import { repositoriesOver, type StoreRepositories } from './store-set.js';
import type {
  SerializedError,
  WriterReply,
  WriterRequest,
  WriterThreadData,
} from './threaded-sqlite-store.js';

// The write half of the SQLite stores (store-set.ts), on their own thread. better-sqlite3 is synchronous, so on the
// main thread every insert and every commit (with its fsync) would stall all other requests. Here the
// repositories' writes (repository.ts), group commit included, run beside the HTTP event loop. The calls
// sent in one turn of either event loop, and their replies, travel as one message (outbox.ts).

function serializeError(error: unknown): SerializedError {
  if (error instanceof ParamConflictError) {
    return { kind: 'param-conflict', runId: error.runId, conflicts: error.conflicts };
  }
  if (error instanceof MlflowError) return { kind: 'mlflow', code: error.errorCode, message: error.message };
  const code = (error as { code?: unknown } | undefined)?.code;
  return {
    kind: 'other',
    message: error instanceof Error ? error.message : String(error),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('sqlite-writer-thread must run as a worker thread');
  const { file, artifactRoot, limits } = workerData as WriterThreadData;
  let repositories: StoreRepositories;
  let close: () => Promise<void>;
  try {
    const database = await openSqlite(file);
    close = () => database.close();
    repositories = repositoriesOver(database, new ArtifactLocations(artifactRoot), limits);
    await repositories.tracking.experiments.writes.init();
  } catch (error) {
    port.postMessage([{ id: 0, ok: false, error: serializeError(error) }] satisfies WriterReply[]);
    return;
  }
  // The replies to a group commit's batch settle together and leave as one message.
  const replies = new Outbox<WriterReply>((list) => port.postMessage(list));
  const handle = (request: WriterRequest) => {
    if (request.store === null) {
      void close().then(() => {
        // Every write has settled (close drains them): their replies go first.
        replies.flush();
        port.postMessage([{ id: request.id, ok: true, value: undefined }] satisfies WriterReply[]);
        port.close();
      });
      return;
    }
    const set: RepositorySet = repositories[request.store];
    const repository = Object.hasOwn(set, request.repository) ? set[request.repository] : undefined;
    const done = repository
      ? callWrite(repository.writes, request.method, request.args)
      : Promise.reject(new Error(`no repository ${request.store}.${request.repository}`));
    done.then(
      (value) => replies.send({ id: request.id, ok: true, value }),
      (error) => replies.send({ id: request.id, ok: false, error: serializeError(error) }),
    );
  };
  port.on('message', (requests: WriterRequest[]) => {
    for (const request of requests) handle(request);
  });
  port.postMessage([{ id: 0, ok: true, value: 'ready' }] satisfies WriterReply[]);
}

void main();
