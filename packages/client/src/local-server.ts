// Local tracking URIs in Node: the mlflow-ts package (the server) runs the tracking app inside this
// process and answers the client's requests without a socket. It is imported on first use and by a
// computed name, so neither bundlers nor the browser entry ever see server code.

import { DEFAULT_TRACKING_URI } from './config.js';

/** What this module uses of the mlflow-ts package's in-process server (see its in-process.ts). */
interface InProcessServer {
  fetch: typeof fetch;
  readonly inFlight: number;
  close(): Promise<void>;
}

interface ServerPackage {
  startInProcessServer(trackingUri: string): Promise<InProcessServer>;
}

const SERVER_PACKAGE = 'mlflow-ts';

// One server per local URI, shared by every client of this process, so one store has one writer.
const servers = new Map<string, Promise<InProcessServer>>();
let exitHookInstalled = false;

async function loadServerPackage(trackingUri: string): Promise<ServerPackage> {
  let loaded: Partial<ServerPackage>;
  try {
    loaded = (await import(SERVER_PACKAGE)) as Partial<ServerPackage>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    const implicit =
      trackingUri === DEFAULT_TRACKING_URI ? ' (the default when MLFLOW_TRACKING_URI is not set)' : '';
    throw new Error(
      `Tracking URI '${trackingUri}'${implicit} is a local store, which needs the mlflow-ts package to serve it in this process: npm install mlflow-ts. Or start a server (npx mlflow-ts server --backend-store-uri ...) and set MLFLOW_TRACKING_URI to its http:// URL.`,
    );
  }
  if (typeof loaded.startInProcessServer !== 'function') {
    throw new Error(
      `The installed mlflow-ts package cannot serve local tracking URIs (no startInProcessServer); update it to the version of @mlflow-ts/client.`,
    );
  }
  return loaded as ServerPackage;
}

/** Closes the servers with no request under way; a closed URI opens again on its next request. */
function closeIdle(): void {
  for (const [uri, pending] of servers) {
    pending
      .then((server) => {
        if (server.inFlight > 0 || servers.get(uri) !== pending) return;
        servers.delete(uri);
        return server.close();
      })
      .catch((error: unknown) => {
        servers.delete(uri);
        console.error(
          `mlflow-ts: closing the local store ${uri} failed: ${(error as Error)?.message ?? error}`,
        );
        process.exitCode = 1;
      });
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // When the script runs out of work: after the other exit hooks (the fluent API's flush and endRun)
  // have started their requests, close each idle store. Their requests hold the process, so the loop
  // empties again after them and this runs once more for the stores they used.
  // (Only while a store is open: scheduling work in beforeExit would otherwise repeat it forever.)
  process.on('beforeExit', () => {
    if (servers.size > 0) setImmediate(closeIdle);
  });
}

/** A fetch answered in-process by the tracking app on the local store of `trackingUri`. */
export async function localFetch(trackingUri: string): Promise<typeof fetch> {
  const server = (uri: string) => {
    let pending = servers.get(uri);
    if (!pending) {
      pending = loadServerPackage(uri).then((pkg) => pkg.startInProcessServer(uri));
      pending.catch(() => servers.delete(uri));
      servers.set(uri, pending);
      installExitHook();
    }
    return pending;
  };
  await server(trackingUri);
  // Each request finds the current server, so one closed at a lull is reopened when work resumes.
  return (async (input: RequestInfo | URL, init?: RequestInit) =>
    (await server(trackingUri)).fetch(input, init)) as typeof fetch;
}

/**
 * Commits and closes the stores of local tracking URIs that this process opened. The Node entry does
 * this by itself when the process runs out of work; call it to release a store earlier (a later request
 * opens it again).
 */
export async function closeLocalServers(): Promise<void> {
  const open = [...servers.values()];
  servers.clear();
  const results = await Promise.allSettled(open.map(async (p) => (await p).close()));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
