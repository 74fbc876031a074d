// The tracking server without a socket, for the client SDK's local tracking URIs: a script that sets
// MLFLOW_TRACKING_URI=sqlite:///mlflow.db (or a directory) logs through the same REST app a server runs,
// reached with Fastify's inject, so every client method behaves exactly as it does over HTTP.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlflowError } from './entities/errors.js';
import { assembleServer } from './server.js';

/** The file a plain directory tracking URI keeps its SQLite store in. */
export const LOCAL_DIRECTORY_DATABASE = 'mlflow.db';

/** Where a local tracking URI keeps runs and artifacts. */
export interface LocalStoreLocation {
  /** A backend store URI (sqlite:/// or postgresql://). */
  backendStoreUri: string;
  /** An absolute directory for the runs' artifacts (served through the artifact proxy). */
  artifactsDestination: string;
}

/**
 * Maps a local tracking URI to a store and an artifact directory. `sqlite:///` and `postgresql://`
 * URIs are stores as they are, with artifacts under ./mlruns (MLflow's default local artifact root).
 * A plain path or `file:` URI names a directory: MLflow keeps a file store there, which mlflow-ts does
 * not have, so the runs go to an SQLite file `<dir>/mlflow.db` and the artifacts into `<dir>` itself.
 */
export function localStoreLocation(trackingUri: string, cwd = process.cwd()): LocalStoreLocation {
  if (/^(sqlite|postgres|postgresql)(\+\w+)?:/i.test(trackingUri)) {
    return { backendStoreUri: trackingUri, artifactsDestination: path.resolve(cwd, 'mlruns') };
  }
  let dir: string;
  if (/^file:\/\//i.test(trackingUri)) dir = fileURLToPath(trackingUri);
  else if (/^file:/i.test(trackingUri)) dir = trackingUri.slice('file:'.length);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trackingUri)) {
    throw MlflowError.invalidParameter(
      `Tracking URI '${trackingUri}' is neither an http(s) server nor a local store. Use http(s)://, sqlite:///<file>.db, postgresql://... or a directory path.`,
    );
  } else dir = trackingUri;
  const root = path.resolve(cwd, dir);
  return {
    backendStoreUri: `sqlite:///${path.join(root, LOCAL_DIRECTORY_DATABASE)}`,
    artifactsDestination: root,
  };
}

/** A tracking server running inside this process. */
export interface InProcessServer extends LocalStoreLocation {
  /** A fetch that answers requests (any origin; only the path and query count) from the app. */
  fetch: typeof fetch;
  /** Requests (and a close) not yet answered. */
  readonly inFlight: number;
  /** Waits for nothing new, commits pending writes and closes the store. */
  close(): Promise<void>;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * Opens the store of a local tracking URI and the tracking app on it, without listening. The store does
 * not keep the process alive by itself: only unanswered requests do, so a script ends when its work
 * does (close the server then, as the client SDK does before exit).
 */
export async function startInProcessServer(
  trackingUri: string,
  options: { cwd?: string } = {},
): Promise<InProcessServer> {
  const location = localStoreLocation(trackingUri, options.cwd);
  mkdirSync(location.artifactsDestination, { recursive: true });
  const sqliteFile = /^sqlite(\+\w+)?:\/\/\/(.+)$/.exec(location.backendStoreUri)?.[2];
  if (sqliteFile && sqliteFile !== ':memory:') {
    mkdirSync(path.dirname(path.resolve(options.cwd ?? process.cwd(), sqliteFile)), { recursive: true });
  }
  // The store's thread and connections are unref'd; this timer holds the process while work is pending.
  let busy = 0;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  const hold = async <T>(work: () => Promise<T>): Promise<T> => {
    if (busy++ === 0) keepAlive = setInterval(() => {}, 2 ** 30);
    try {
      return await work();
    } finally {
      if (--busy === 0) clearInterval(keepAlive);
    }
  };

  const { app, closeStores } = await hold(() =>
    assembleServer(
      {
        backendStoreUri: location.backendStoreUri,
        serveArtifacts: true,
        artifactsDestination: location.artifactsDestination,
        logger: false,
      },
      { keepProcessAlive: false },
    ),
  );
  await hold(async () => {
    await app.ready();
  });

  const handle = (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> =>
    hold(async () => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      const headers: Record<string, string> = {};
      request.headers.forEach((value, key) => {
        headers[key] = value;
      });
      // The body is read whole: inject takes a buffer, and uploads from a script are files on its disk.
      const payload = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
      const res = await app.inject({
        method: request.method as 'GET',
        url: `${url.pathname}${url.search}`,
        headers,
        payload,
      });
      const out = new Headers();
      for (const [key, value] of Object.entries(res.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) out.append(key, String(v));
      }
      const empty = NULL_BODY_STATUSES.has(res.statusCode) || request.method === 'HEAD';
      const raw = res.rawPayload;
      const body = empty ? null : new Uint8Array(raw.buffer as ArrayBuffer, raw.byteOffset, raw.byteLength);
      return new Response(body, { status: res.statusCode, headers: out });
    });

  let closing: Promise<void> | undefined;
  return {
    ...location,
    fetch: handle as typeof fetch,
    get inFlight() {
      return busy;
    },
    close() {
      closing ??= hold(async () => {
        await app.close();
        await closeStores();
      });
      return closing;
    },
  };
}
