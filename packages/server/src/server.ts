import path from 'node:path';
import type { FastifyInstance } from 'fastify';
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
  /** The built web UI's folder; default: MLFLOW_TS_UI_DIR or the @mlflow-ts/ui package's dist/. */
  uiDir?: string;
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

/** Opens the store and starts the HTTP server. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const proxy = config.serveArtifacts
    ? openArtifactDestination(config.artifactsDestination ?? DEFAULT_ARTIFACTS_DESTINATION)
    : undefined;
  const store = config.artifactsOnly
    ? undefined
    : await openTrackingStore(config.backendStoreUri, resolveArtifactRoot(config));
  const tracking = store ? new TrackingService(store) : undefined;
  const artifacts = new ArtifactService({ proxy, getRun: tracking && ((runId) => tracking.getRun(runId)) });
  const app = buildApp({ tracking, artifacts, logger: config.logger, uiDir: config.uiDir });
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
