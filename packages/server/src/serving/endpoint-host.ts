// Keeps the tracking server's serving endpoints loaded: each endpoint's model version resolved from its
// models:/ URI, a new version loaded beside the serving one and switched to atomically, the old one
// unloaded once its in-flight requests are answered. What to host is the service's business.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { MlflowError } from '../entities/errors.js';
import type { ServingEndpoint, ServingEndpointDefinition } from '../entities/serving-endpoints.js';
import type { RuntimeOptions, RuntimeRegistry } from './model-runtime.js';
import type { ScoringPipeline } from './scoring-pipeline.js';

/** Where the host finds versions and their files (the registry and artifact stores, in the server). */
export interface EndpointModelSource {
  /** The version a models:/ URI names now; MlflowError when it names none. */
  resolveVersion(modelUri: string): Promise<number>;
  /** A local directory holding the version's files, copied into `scratch` when they are remote. */
  fetchVersion(registeredModelName: string, version: number, scratch: string): Promise<string>;
}

export interface EndpointHostOptions {
  source: EndpointModelSource;
  /** How models run; `workers` comes from each endpoint. */
  runtime: Omit<RuntimeOptions, 'workers'>;
  runtimes?: RuntimeRegistry;
  /** Where remote model files are copied (one folder per load, removed with its version). */
  workDir: string;
}

/** A loaded version and the requests it is answering. */
class ServedVersion {
  private inFlight = 0;
  private retired = false;
  private closed: Promise<void> | undefined;

  constructor(
    readonly version: number,
    private readonly pipeline: ScoringPipeline,
    private readonly scratch: string,
  ) {}

  async score(contentType: string | undefined, body: string): Promise<string> {
    this.inFlight++;
    try {
      return await this.pipeline.score(contentType, body);
    } finally {
      this.inFlight--;
      if (this.retired && this.inFlight === 0) void this.close();
    }
  }

  /** No new requests come here; it unloads once the last in-flight one is answered. */
  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) void this.close();
  }

  close(): Promise<void> {
    this.closed ??= this.pipeline.runtime
      .close()
      .finally(() => rm(this.scratch, { recursive: true, force: true }));
    return this.closed;
  }
}

interface HostedEndpoint {
  definition: ServingEndpointDefinition;
  serving?: ServedVersion;
  loadingVersion?: number;
  error?: string;
  /** A version that failed to load is not tried again until the URI names another one. */
  failedVersion?: number;
  removed: boolean;
  /** Refreshes run one after another; at most one waits behind the running one. */
  running?: Promise<void>;
  queued?: Promise<void>;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class EndpointHost {
  private readonly endpoints = new Map<string, HostedEndpoint>();
  private runtimes?: RuntimeRegistry;
  private closing = false;

  constructor(private readonly options: EndpointHostOptions) {
    this.runtimes = options.runtimes;
  }

  /** The names of the endpoints hosted here. */
  hostedNames(): string[] {
    return [...this.endpoints.keys()];
  }

  isHosted(name: string): boolean {
    return this.endpoints.has(name);
  }

  definitionOf(name: string): ServingEndpointDefinition | undefined {
    return this.endpoints.get(name)?.definition;
  }

  /** Starts hosting `definition` and begins loading its model (without waiting for it). */
  add(definition: ServingEndpointDefinition): void {
    if (this.closing || this.endpoints.has(definition.name)) return;
    this.endpoints.set(definition.name, { definition, removed: false });
    void this.refresh(definition.name);
  }

  /** Stops hosting an endpoint: its requests in flight finish, then its model is unloaded. */
  remove(name: string): void {
    const endpoint = this.endpoints.get(name);
    if (!endpoint) return;
    endpoint.removed = true;
    this.endpoints.delete(name);
    endpoint.serving?.retire();
    endpoint.serving = undefined;
  }

  /** The definition with its live state (LOADING for an endpoint this process does not host yet). */
  stateOf(definition: ServingEndpointDefinition): ServingEndpoint {
    const endpoint = this.endpoints.get(definition.name);
    const serving = endpoint?.serving?.version;
    const loading = endpoint?.loadingVersion;
    const state = serving !== undefined ? 'READY' : endpoint?.error !== undefined ? 'FAILED' : 'LOADING';
    return {
      ...definition,
      state,
      ...(serving !== undefined ? { serving_version: String(serving) } : {}),
      ...(loading !== undefined ? { loading_version: String(loading) } : {}),
      ...(endpoint?.error !== undefined ? { error: endpoint.error } : {}),
    };
  }

  /**
   * Scores one request on the version serving now. `answeredBy` hears the version before scoring, so
   * an error answer (a signature error, the model raising) names its version too.
   */
  async invoke(
    name: string,
    contentType: string | undefined,
    body: string,
    answeredBy: (version: number) => void,
  ): Promise<string> {
    const endpoint = this.endpoints.get(name);
    if (!endpoint) throw MlflowError.notFound(`Serving endpoint '${name}' does not exist.`);
    // Taken once, before any await: a switch-over during this request leaves it on the version it began on.
    const served = endpoint.serving;
    if (!served) {
      throw new MlflowError(
        'TEMPORARILY_UNAVAILABLE',
        endpoint.error !== undefined
          ? `Serving endpoint '${name}' has no model loaded: ${endpoint.error}`
          : `Serving endpoint '${name}' is still loading its model.`,
      );
    }
    answeredBy(served.version);
    return served.score(contentType, body);
  }

  /** Resolves an endpoint's URI again and loads the version it names when that one is new. */
  refresh(name: string): Promise<void> {
    const endpoint = this.endpoints.get(name);
    if (!endpoint) return Promise.resolve();
    if (endpoint.queued) return endpoint.queued;
    const after = endpoint.running ?? Promise.resolve();
    const next = after.then(async () => {
      endpoint.queued = undefined;
      endpoint.running = next;
      try {
        await this.load(endpoint);
      } catch (error) {
        // Only the scratch folder's creation can get here; the next refresh tries again.
        endpoint.error = messageOf(error);
      } finally {
        if (endpoint.running === next) endpoint.running = undefined;
      }
    });
    endpoint.queued = next;
    return next;
  }

  /** Refreshes the endpoints serving one registered model (after an alias of it was written). */
  refreshModel(registeredModelName: string): Promise<void> {
    const names = [...this.endpoints.values()]
      .filter((e) => e.definition.registered_model_name === registeredModelName)
      .map((e) => e.definition.name);
    return Promise.all(names.map((n) => this.refresh(n))).then(() => {});
  }

  refreshAll(): Promise<void> {
    return Promise.all([...this.endpoints.keys()].map((n) => this.refresh(n))).then(() => {});
  }

  /** Unloads every endpoint (after the HTTP server has drained); loads under way unload when done. */
  async close(): Promise<void> {
    this.closing = true;
    const hosted = [...this.endpoints.values()];
    const served = hosted.map((e) => e.serving).filter((s) => s !== undefined);
    const pending = hosted.map((e) => e.queued ?? e.running).filter((p) => p !== undefined);
    for (const endpoint of hosted) this.remove(endpoint.definition.name);
    await Promise.allSettled([...pending, ...served.map((s) => s.close())]);
    await rm(this.options.workDir, { recursive: true, force: true });
  }

  private async load(endpoint: HostedEndpoint): Promise<void> {
    if (endpoint.removed || this.closing) return;
    const { definition } = endpoint;
    let version: number;
    try {
      version = await this.options.source.resolveVersion(definition.model_uri);
    } catch (error) {
      // The alias was deleted, or the registry is unreachable: the version serving now goes on.
      endpoint.error = `Cannot resolve ${definition.model_uri}: ${messageOf(error)}`;
      return;
    }
    if (endpoint.serving?.version === version) {
      // Back on the serving version (an alias moved to a broken one and back): nothing is wrong now.
      endpoint.error = undefined;
      endpoint.failedVersion = undefined;
      return;
    }
    if (endpoint.failedVersion === version) return;
    endpoint.loadingVersion = version;
    await mkdir(this.options.workDir, { recursive: true });
    const scratch = await mkdtemp(path.join(this.options.workDir, 'endpoint-'));
    let served: ServedVersion | undefined;
    try {
      const dir = await this.options.source.fetchVersion(definition.registered_model_name, version, scratch);
      // The runtimes (and the MLmodel reader, CSV parsing...) load with the first model, not on every
      // server start.
      const { defaultRuntimes, loadPipeline } = await import('./load-model.js');
      this.runtimes ??= defaultRuntimes();
      const pipeline = await loadPipeline(
        dir,
        { ...this.options.runtime, workers: definition.workers },
        this.runtimes,
      );
      served = new ServedVersion(version, pipeline, scratch);
    } catch (error) {
      await rm(scratch, { recursive: true, force: true });
      // The scratch folder is the server's business, not the client's: name the version instead.
      const reason = messageOf(error).replaceAll(scratch, `the files of version ${version}`);
      endpoint.error = `Version ${version} of '${definition.registered_model_name}' failed to load: ${reason}`;
      endpoint.failedVersion = version;
      this.options.runtime.log(`serving endpoint '${definition.name}': ${endpoint.error}`);
      return;
    } finally {
      endpoint.loadingVersion = undefined;
    }
    if (endpoint.removed || this.closing) {
      await served.close();
      return;
    }
    // The switch-over: one assignment, so every request sees either the old version or the new one.
    const previous = endpoint.serving;
    endpoint.serving = served;
    endpoint.error = undefined;
    endpoint.failedVersion = undefined;
    previous?.retire();
    this.options.runtime.log(
      `serving endpoint '${definition.name}': now serving version ${version} of '${definition.registered_model_name}'`,
    );
  }
}
