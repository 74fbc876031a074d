import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { LocalArtifactRepository } from './artifacts/local-artifact-repository.js';
import { UPLOAD_TEMP_DIR } from './artifacts/safe-path.js';
import { buildApp } from './http/app.js';
import { ArtifactService, openArtifactDestination } from './services/artifact-service.js';
import { TrackingService } from './services/tracking-service.js';
import { openTrackingStore } from './store/open-tracking-store.js';

export interface ServerConfig {
  backendStoreUri: string;
  /** Root under which experiments get their artifact locations; derived from serveArtifacts when absent. */
  defaultArtifactRoot?: string;
  serveArtifacts: boolean;
  /** Where the artifact proxy stores files (MLflow's --artifacts-destination); default ./mlartifacts. */
  artifactsDestination?: string;
  /** Serve only the artifact proxy: no backend store is opened and tracking endpoints answer 503. */
  artifactsOnly?: boolean;
  host: string;
  port: number;
  logger?: boolean;
}

export interface RunningServer {
  app: FastifyInstance;
  /** The base URL the server listens on, e.g. http://127.0.0.1:5000 */
  url: string;
  /** Stops accepting requests, waits for in-flight ones, commits pending writes, closes the store. */
  close(): Promise<void>;
}

/** MLflow's default --artifacts-destination. */
export const DEFAULT_ARTIFACTS_DESTINATION = './mlartifacts';

/** MLflow's default: proxied artifacts when the server serves them, else a local ./mlruns folder. */
export function resolveArtifactRoot(
  config: Pick<ServerConfig, 'defaultArtifactRoot' | 'serveArtifacts'>,
): string {
  if (config.defaultArtifactRoot) return config.defaultArtifactRoot;
  return config.serveArtifacts ? 'mlflow-artifacts:/' : path.resolve('mlruns');
}

/** How long an upload's temporary file may go unwritten before start-up treats it as abandoned. */
export const ABANDONED_UPLOAD_AGE_MS = 60 * 60 * 1000;

/**
 * Deletes the temporary files of uploads a killed server left in a local destination. A failure is
 * reported and start-up goes on: the files are invisible to clients, only wasted space.
 */
async function sweepAbandonedUploads(destination: LocalArtifactRepository): Promise<void> {
  try {
    const removed = await destination.sweepAbandonedUploads(ABANDONED_UPLOAD_AGE_MS);
    if (removed > 0) {
      console.error(
        `mlflow-ts: removed ${removed} abandoned upload file(s) from ${destination.root}/${UPLOAD_TEMP_DIR}`,
      );
    }
  } catch (error) {
    console.error(
      `mlflow-ts: warning: could not clean ${destination.root}/${UPLOAD_TEMP_DIR} of abandoned uploads: ${(error as Error).message}`,
    );
  }
}

/** Opens the store and starts the HTTP server. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const proxy = config.serveArtifacts
    ? openArtifactDestination(config.artifactsDestination ?? DEFAULT_ARTIFACTS_DESTINATION)
    : undefined;
  if (proxy instanceof LocalArtifactRepository) await sweepAbandonedUploads(proxy);
  const store = config.artifactsOnly
    ? undefined
    : await openTrackingStore(config.backendStoreUri, resolveArtifactRoot(config));
  const tracking = store ? new TrackingService(store) : undefined;
  const artifacts = new ArtifactService({ proxy, getRun: tracking && ((runId) => tracking.getRun(runId)) });
  const app = buildApp({ tracking, artifacts, logger: config.logger });
  const address = await app.listen({ host: config.host, port: config.port });
  let closing: Promise<void> | undefined;
  return {
    app,
    url: address.replace('[::1]', '127.0.0.1'),
    close() {
      closing ??= (async () => {
        await app.close();
        await store?.close();
      })();
      return closing;
    },
  };
}
