import cluster from 'node:cluster';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ArtifactRepository } from './artifacts/artifact-repository.js';
import { DeferredArtifactRepository } from './artifacts/deferred-artifact-repository.js';
import { LocalArtifactRepository } from './artifacts/local-artifact-repository.js';
import { UPLOAD_TEMP_DIR } from './artifacts/safe-path.js';
import type { AuthConfig } from './auth/auth-config.js';
import type { AuthService } from './auth/auth-service.js';
import type { Authorizer, ResourceLookup } from './auth/authorizer.js';
import type { ResourceLimits } from './entities/resource-limits.js';
import type { RegistryEventSink } from './entities/webhook-payloads.js';
import { buildApp } from './http/app.js';
import type { ConnectionLimits } from './http/connection-limits.js';
import { installDrain } from './http/drain.js';
import { ArtifactService, openArtifactDestination } from './services/artifact-service.js';
import { EvaluationDatasetService } from './services/evaluation-dataset-service.js';
import { LoggedModelService } from './services/logged-model-service.js';
import { RegistryService } from './services/registry-service.js';
import { ScorerService } from './services/scorer-service.js';
import { ServingEndpointService } from './services/serving-endpoint-service.js';
import { TraceService } from './services/trace-service.js';
import { TrackingService } from './services/tracking-service.js';
import { deliverySettingsFromEnv, WebhookSender } from './services/webhook-delivery.js';
import { WebhookSecrets } from './services/webhook-secrets.js';
import { allowedSchemesFromEnv, WebhookService } from './services/webhook-service.js';
import { EndpointHost } from './serving/endpoint-host.js';
import { registryModelSource } from './serving/endpoint-model-source.js';
import { openStores } from './store/open-stores.js';
import type { Stores } from './store/store-set.js';
import { parseStoreUri } from './store/store-uri.js';

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
  /** MLflow's basic-auth app (--app-name basic-auth); absent: no access control. */
  auth?: AuthConfig;
  /** Quotas (--limits, MLFLOW_TS_LIMIT_*); absent or empty: none. */
  limits?: ResourceLimits;
  /** Header/request timeouts and the connection cap; default DEFAULT_CONNECTION_LIMITS. */
  connectionLimits?: ConnectionLimits;
  /** The serving endpoints' settings; absent: from the environment (servingSettingsFromEnv). */
  serving?: ServingSettings;
}

/** How the server's serving endpoints run (docs/serving.md#serving-endpoints). */
export interface ServingSettings {
  /** Every endpoint's model URI is resolved again this often (another process may move an alias); 0: never. */
  recheckMs: number;
  /** The Python interpreter of python_function models' workers. */
  python: string;
  /** A prediction running longer fails with 503 and its worker is replaced. */
  timeoutMs: number;
}

function nonNegativeNumber(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** MLFLOW_TS_SERVING_RECHECK_SECONDS (10), MLFLOW_TS_PYTHON, MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT (60). */
export function servingSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ServingSettings {
  return {
    recheckMs: nonNegativeNumber(env.MLFLOW_TS_SERVING_RECHECK_SECONDS, 10) * 1000,
    python: env.MLFLOW_TS_PYTHON || 'python3',
    timeoutMs: nonNegativeNumber(env.MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT, 60) * 1000,
  };
}

/** Sends each registry event to every sink. */
function fanOut(...sinks: (RegistryEventSink | undefined)[]): RegistryEventSink {
  const present = sinks.filter((s) => s !== undefined);
  return {
    publish(name, data) {
      for (const sink of present) sink.publish(name, data);
    },
  };
}

export interface RunningServer {
  app: FastifyInstance;
  /** The base URL the server listens on, e.g. http://127.0.0.1:5000 */
  url: string;
  /** Stops accepting requests, waits for in-flight ones, commits pending writes, closes the store. */
  close(): Promise<void>;
  /**
   * close() within a bound: when in-flight requests are not done after `graceMs`, their connections
   * are cut and pending writes still get a short while to commit. Resolves to whether the shutdown
   * was clean (every request answered, the store closed in time).
   */
  shutdown(graceMs: number): Promise<ShutdownOutcome>;
}

/** 'clean': every request finished and the store closed; 'timed-out': connections were cut at the bound. */
export type ShutdownOutcome = 'clean' | 'timed-out';

/** How long the store may take to commit and close once the grace period has run out. */
const STORE_CLOSE_AFTER_CUT_MS = 2000;

/** MLflow's default --artifacts-destination. */
export const DEFAULT_ARTIFACTS_DESTINATION = './mlartifacts';

/** MLflow's default: proxied artifacts when the server serves them, else a local ./mlruns folder. */
export function resolveArtifactRoot(
  config: Pick<ServerConfig, 'defaultArtifactRoot' | 'serveArtifacts'>,
): string {
  if (config.defaultArtifactRoot) return config.defaultArtifactRoot;
  return config.serveArtifacts ? 'mlflow-artifacts:/' : path.resolve('mlruns');
}

/**
 * Registry webhooks, configured by MLflow's MLFLOW_WEBHOOK_* environment variables. `shared`: other
 * processes write the same store (PostgreSQL, --workers), whose webhook changes this process cannot
 * hear of; then the webhooks are looked up at each event unless MLFLOW_WEBHOOK_CACHE_TTL says otherwise.
 */
function webhookService(stores: Stores, shared: boolean): WebhookService {
  const ttl = Number(process.env.MLFLOW_WEBHOOK_CACHE_TTL ?? (shared ? 0 : 60));
  return new WebhookService({
    store: stores.webhooks,
    secrets: new WebhookSecrets(process.env.MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY),
    sender: new WebhookSender(deliverySettingsFromEnv()),
    allowedSchemes: allowedSchemesFromEnv(),
    cacheTtlMs: (Number.isFinite(ttl) && ttl >= 0 ? ttl : 60) * 1000,
    log: (message) => console.error(`webhooks: ${message}`),
  });
}

/** The serving endpoints over the registry, their files read from the server's own artifact stores. */
function servingEndpoints(
  stores: Stores,
  registry: RegistryService,
  tracking: TrackingService,
  proxy: ArtifactRepository | undefined,
  settings: ServingSettings,
): ServingEndpointService {
  const modelSource = registryModelSource(
    {
      resolveModelVersion: (uri) => registry.resolveModelVersion(uri),
      getModelVersion: (name, version) => registry.getModelVersion(name, version),
      getModelVersionDownloadUri: (name, version) => registry.getModelVersionDownloadUri(name, version),
      resolveModelUri: (uri) => registry.resolveModelUri(uri),
      runArtifactUri: async (runId) => (await tracking.getRun(runId)).info.artifact_uri,
    },
    proxy,
  );
  const host = new EndpointHost({
    source: modelSource,
    runtime: { python: settings.python, timeoutMs: settings.timeoutMs, log: (line) => console.error(line) },
    workDir: path.join(tmpdir(), `mlflow-ts-endpoints-${process.pid}`),
  });
  return new ServingEndpointService(stores.servingEndpoints, host, {
    resolveVersion: (uri) => modelSource.resolveVersion(uri),
  });
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

/** The app over its opened stores, not yet listening; `closeStores` commits and closes them. */
export interface AssembledServer {
  app: FastifyInstance;
  closeStores(): Promise<void>;
}

/** Opens the stores and builds the app on them (what startServer and the in-process server share). */
export async function assembleServer(
  config: Omit<ServerConfig, 'host' | 'port'>,
  options: { keepProcessAlive?: boolean } = {},
): Promise<AssembledServer> {
  const proxy = config.serveArtifacts
    ? openArtifactDestination(config.artifactsDestination ?? DEFAULT_ARTIFACTS_DESTINATION)
    : undefined;
  if (proxy instanceof LocalArtifactRepository) await sweepAbandonedUploads(proxy);
  // An object-store destination loads its SDK now: a bad URI or configuration stops the start.
  if (proxy instanceof DeferredArtifactRepository) await proxy.open();
  const stores = config.artifactsOnly
    ? undefined
    : await openStores(config.backendStoreUri, resolveArtifactRoot(config), {
        ...options,
        limits: config.limits,
      });
  const tracking = stores ? new TrackingService(stores.tracking) : undefined;
  const webhooks =
    stores &&
    webhookService(stores, cluster.isWorker || parseStoreUri(config.backendStoreUri).dialect === 'postgres');
  const loggedModels = stores ? new LoggedModelService(stores.tracking) : undefined;
  const artifacts = new ArtifactService({
    proxy,
    getRun: tracking && ((runId) => tracking.getRun(runId)),
    artifactBytesPerRun: config.limits?.artifact_bytes_per_run,
    reservations: stores?.tracking,
  });
  const traces = stores
    ? new TraceService(stores.traces, (uri, file) => artifacts.openAt(uri, file))
    : undefined;
  const scorers = stores ? new ScorerService(stores.scorers) : undefined;
  const evaluationDatasets = stores ? new EvaluationDatasetService(stores.evaluationDatasets) : undefined;
  // Endpoints hear of alias writes through the registry's events (the webhooks' hook), in this process.
  let endpoints: ServingEndpointService | undefined;
  const aliasListener: RegistryEventSink = {
    publish(name, data) {
      if (name === 'model_version_alias.created' || name === 'model_version_alias.deleted') {
        endpoints?.aliasWritten((data as { name: string }).name);
      }
    },
  };
  const registry =
    stores && tracking && loggedModels
      ? new RegistryService(stores.registry, {
          runArtifactUri: async (runId) => (await tracking.getRun(runId)).info.artifact_uri,
          loggedModel: async (modelId) => {
            const { info } = await loggedModels.getLoggedModel(modelId);
            return { artifactLocation: info.artifact_uri, sourceRunId: info.source_run_id };
          },
          recordModelVersion: (modelId, name, version) =>
            loggedModels.recordModelVersion(modelId, name, version),
          events: fanOut(webhooks, aliasListener),
        })
      : undefined;
  if (stores && registry && tracking) {
    const settings = config.serving ?? servingSettingsFromEnv();
    endpoints = servingEndpoints(stores, registry, tracking, proxy, settings);
    await endpoints.start(settings.recheckMs);
  }
  let auth: AuthService | undefined;
  let authorizer: typeof Authorizer | undefined;
  try {
    if (config.auth) {
      // Users, permissions and OIDC (openid-client, graphql's access checks) load only for basic-auth.
      const [authModule, authorizerModule] = await Promise.all([
        import('./auth/auth-service.js'),
        import('./auth/authorizer.js'),
      ]);
      authorizer = authorizerModule.Authorizer;
      auth = await authModule.AuthService.start(config.auth);
    }
  } catch (error) {
    // A refused auth configuration (or a provider that is down) must not leave the stores open.
    await stores?.close();
    throw error;
  }
  const lookup: ResourceLookup = {
    experimentOfRun: async (runId) => (await requireTracking().getRun(runId)).info.experiment_id,
    experimentOfLoggedModel: async (id) =>
      (await requireLoggedModels().getLoggedModel(id)).info.experiment_id,
    experimentIdByName: async (name) => (await requireTracking().getExperimentByName(name)).experiment_id,
    experimentOfTrace: async (traceId) => (await requireTraces().getTraceInfo(traceId)).experimentId,
    experimentsOfDataset: (datasetId) => requireEvaluationDatasets().experimentIds(datasetId),
    registeredModelOfEndpoint: async (name) => {
      if (!endpoints) throw new Error('tracking is disabled on an artifacts-only server');
      return endpoints.registeredModelOf(name);
    },
  };
  function requireEvaluationDatasets(): EvaluationDatasetService {
    if (!evaluationDatasets) throw new Error('tracking is disabled on an artifacts-only server');
    return evaluationDatasets;
  }
  function requireTraces(): TraceService {
    if (!traces) throw new Error('tracking is disabled on an artifacts-only server');
    return traces;
  }
  function requireTracking(): TrackingService {
    if (!tracking) throw new Error('tracking is disabled on an artifacts-only server');
    return tracking;
  }
  function requireLoggedModels(): LoggedModelService {
    if (!loggedModels) throw new Error('tracking is disabled on an artifacts-only server');
    return loggedModels;
  }
  const app = buildApp({
    tracking,
    loggedModels,
    registry,
    webhooks,
    traces,
    scorers,
    evaluationDatasets,
    artifacts,
    logger: config.logger,
    uiDir: config.uiDir,
    auth: auth && authorizer && { auth, authorizer: new authorizer(auth, lookup) },
    limits: config.limits ?? {},
    servingEndpoints: endpoints,
    connectionLimits: config.connectionLimits,
  });
  return {
    app,
    closeStores: async () => {
      // The endpoints' worker processes stop first: the HTTP server has drained by now.
      await endpoints?.close();
      await Promise.all([stores?.close(), auth?.close()]);
    },
  };
}

/** Opens the store and starts the HTTP server. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const { app, closeStores } = await assembleServer(config);
  const drain = installDrain(app);
  const address = await app.listen({ host: config.host, port: config.port });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      drain.begin();
      // Resolves when the listener is closed and every connection has ended.
      await app.close();
      await closeStores();
    })();
    return closing;
  };
  return {
    app,
    url: address.replace('[::1]', '127.0.0.1'),
    close,
    async shutdown(graceMs) {
      const closed = close();
      if (await settlesWithin(closed, graceMs)) {
        await closed; // a store that failed to close fails the shutdown
        return 'clean';
      }
      drain.cutAll();
      await settlesWithin(closed, STORE_CLOSE_AFTER_CUT_MS);
      return 'timed-out';
    },
  };
}

/** Waits for `promise` at most `ms`; true when it settled (either way) in time. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = promise.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
