// The rules of the server's serving endpoints: names, model URIs and worker counts; definitions kept
// in the store and handed to the host that loads them, which this process keeps in step with the store
// (another server process may have created, deleted or re-pointed one): at each request for the
// endpoint itself, and by a periodic re-check for aliases moved elsewhere.
import { isReadable } from '../entities/access.js';
import { MlflowError } from '../entities/errors.js';
import type { ServingEndpoint, ServingEndpointDefinition } from '../entities/serving-endpoints.js';
import type { ServingEndpointStore } from '../store/serving-endpoint-store.js';
import { currentReadAccess } from './access-scope.js';
import { parseModelUri } from './model-uri.js';

/** What loads and serves endpoints (serving/endpoint-host.ts). */
export interface EndpointHosting {
  add(definition: ServingEndpointDefinition): void;
  remove(name: string): void;
  isHosted(name: string): boolean;
  /** The definition of a hosted endpoint. */
  definitionOf(name: string): ServingEndpointDefinition | undefined;
  hostedNames(): string[];
  stateOf(definition: ServingEndpointDefinition): ServingEndpoint;
  invoke(
    name: string,
    contentType: string | undefined,
    body: string,
    answeredBy: (version: number) => void,
  ): Promise<string>;
  refreshModel(registeredModelName: string): Promise<void>;
  refreshAll(): Promise<void>;
  close(): Promise<void>;
}

/** The registry checks a new endpoint's model URI against. */
export interface EndpointRegistry {
  /** The version the URI names now; RESOURCE_DOES_NOT_EXIST when it names none. */
  resolveVersion(modelUri: string): Promise<number>;
}

export interface CreateEndpointRequest {
  name: string;
  modelUri: string;
  workers?: number;
}

export const ENDPOINT_LIMITS = { nameLength: 63, maxWorkers: 64 } as const;

const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

function validateEndpointName(name: string): void {
  if (name.length > ENDPOINT_LIMITS.nameLength || !NAME_PATTERN.test(name)) {
    throw MlflowError.invalidParameter(
      `Invalid serving endpoint name '${name}'. Names are 1 to ${ENDPOINT_LIMITS.nameLength} letters, digits, underscores (_) and dashes (-).`,
    );
  }
}

/** The registered model a serving URI names; only models:/<name>@<alias> and models:/<name>/<version>. */
export function endpointModelName(modelUri: string): string {
  const parsed = parseModelUri(modelUri);
  if (parsed.kind !== 'alias' && parsed.kind !== 'version') {
    throw MlflowError.invalidParameter(
      `Invalid model URI '${modelUri}' for a serving endpoint: give models:/<name>@<alias> or models:/<name>/<version>.`,
    );
  }
  return parsed.name;
}

export class ServingEndpointService {
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly store: ServingEndpointStore,
    private readonly host: EndpointHosting,
    private readonly registry: EndpointRegistry,
  ) {}

  /**
   * Hosts the stored endpoints and, every `recheckMs` (0: never), takes in what other server processes
   * changed: endpoints created or deleted there, aliases moved there.
   */
  async start(recheckMs: number): Promise<void> {
    await this.sync();
    if (recheckMs > 0) {
      this.timer = setInterval(() => void this.sync().catch(() => {}), recheckMs);
      this.timer.unref();
    }
  }

  /** One pass of the re-check (it starts the loads it finds needed); overlapping calls share a pass. */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        // Only endpoints hosted before the listing began may be dropped: one created meanwhile in this
        // process can be missing from a listing that started before its row was committed.
        const hostedBefore = this.host.hostedNames();
        const stored = await this.store.listEndpoints();
        const names = new Set(stored.map((d) => d.name));
        for (const name of hostedBefore) if (!names.has(name)) this.host.remove(name);
        for (const definition of stored) {
          // Deleted and made again elsewhere under the same name: host the new one.
          const hosted = this.host.definitionOf(definition.name);
          if (hosted && hosted.creation_timestamp !== definition.creation_timestamp) {
            this.host.remove(definition.name);
          }
          this.host.add(definition);
        }
        // Loads run in the background: the server answers (endpoints say LOADING) while models load.
        void this.host.refreshAll().catch(() => {});
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  async createEndpoint(request: CreateEndpointRequest): Promise<ServingEndpoint> {
    validateEndpointName(request.name);
    const registeredModelName = endpointModelName(request.modelUri);
    const workers = request.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1 || workers > ENDPOINT_LIMITS.maxWorkers) {
      throw MlflowError.invalidParameter(
        `Invalid value ${workers} for parameter 'workers': give a whole number from 1 to ${ENDPOINT_LIMITS.maxWorkers}.`,
      );
    }
    // The URI must name a version now: an endpoint that can never load is a mistake to report at once.
    await this.registry.resolveVersion(request.modelUri);
    const definition = await this.store.createEndpoint({
      name: request.name,
      model_uri: request.modelUri,
      registered_model_name: registeredModelName,
      workers,
    });
    this.host.add(definition);
    return this.host.stateOf(definition);
  }

  async getEndpoint(name: string): Promise<ServingEndpoint> {
    return this.host.stateOf(await this.hostedAsStored(name));
  }

  /**
   * The endpoint's stored definition, with this process hosting exactly that: one created through
   * another server process is hosted here too, one deleted there is dropped here (and is not found),
   * one deleted and made again there replaces the old one. Read at every request rather than left to
   * the re-check, so no request is served by an endpoint another process has deleted.
   */
  private async hostedAsStored(name: string): Promise<ServingEndpointDefinition> {
    let definition: ServingEndpointDefinition;
    try {
      definition = await this.store.getEndpoint(name);
    } catch (error) {
      if (error instanceof MlflowError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST')
        this.host.remove(name);
      throw error;
    }
    const hosted = this.host.definitionOf(name);
    if (hosted && hosted.creation_timestamp !== definition.creation_timestamp) this.host.remove(name);
    this.host.add(definition);
    return definition;
  }

  /** The endpoints the caller may read (those of registered models it may read), by name. */
  async listEndpoints(registeredModelName?: string): Promise<ServingEndpoint[]> {
    const access = currentReadAccess()?.registeredModels;
    const stored = await this.store.listEndpoints(registeredModelName);
    return stored.filter((d) => isReadable(d.registered_model_name, access)).map((d) => this.host.stateOf(d));
  }

  async deleteEndpoint(name: string): Promise<void> {
    await this.store.deleteEndpoint(name);
    this.host.remove(name);
  }

  /** The registered model an endpoint serves (its permissions decide who may use the endpoint). */
  async registeredModelOf(name: string): Promise<string> {
    // Asked on every invocation under basic auth: the hosted definition saves a query.
    const hosted = this.host.definitionOf(name);
    if (hosted) return hosted.registered_model_name;
    return (await this.store.getEndpoint(name)).registered_model_name;
  }

  /** Scores a request on the endpoint's serving version, which `answeredBy` hears first. */
  async invoke(
    name: string,
    contentType: string | undefined,
    body: string,
    answeredBy: (version: number) => void,
  ): Promise<string> {
    await this.hostedAsStored(name);
    return this.host.invoke(name, contentType, body, answeredBy);
  }

  /** Called after an alias of `registeredModelName` was set or deleted in this process. */
  aliasWritten(registeredModelName: string): void {
    void this.host.refreshModel(registeredModelName).catch(() => {});
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.syncing?.catch(() => {});
    await this.host.close();
  }
}
