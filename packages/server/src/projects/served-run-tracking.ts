// A local tracking store served over HTTP on a loopback port for one project run, so the run's
// command gets an http:// tracking URI that any MLflow client speaks (REST code, Python mlflow without
// SQLAlchemy), and this process stays the store's only writer.

import { mkdirSync } from 'node:fs';
import { isLocalTrackingUri } from '@mlflow-ts/client';
import { localStoreLocation } from '../in-process.js';
import { startServer } from '../server.js';
import { RestRunTracking } from './run-tracking.js';

/** RestRunTracking on a server this process started; closing it stops the server. */
export class ServedRunTracking extends RestRunTracking {
  private constructor(
    url: string,
    /** The local store URI being served (what the user gave). */
    readonly storeUri: string,
    private readonly stop: () => Promise<void>,
  ) {
    super(url);
  }

  /**
   * Serves `storeUri` (sqlite:///, postgresql://, or a directory as the SDK reads it) on 127.0.0.1 at a
   * free port, with proxied artifacts under ./mlruns, exactly as the SDK's in-process server does.
   */
  static async start(storeUri: string): Promise<ServedRunTracking> {
    const location = localStoreLocation(storeUri);
    // A directory URI keeps its SQLite file inside the artifact directory: it must exist first.
    mkdirSync(location.artifactsDestination, { recursive: true });
    const server = await startServer({
      ...location,
      serveArtifacts: true,
      host: '127.0.0.1',
      port: 0,
      logger: false,
    });
    return new ServedRunTracking(server.url, storeUri, () => server.close());
  }

  override async close(): Promise<void> {
    await this.stop();
  }
}

/** Whether a tracking URI names a store to serve rather than a server to call. */
export function needsServing(trackingUri: string): boolean {
  // 'databricks' has no scheme but is no path: openRunTracking refuses it with its own message.
  return trackingUri !== 'databricks' && isLocalTrackingUri(trackingUri);
}
