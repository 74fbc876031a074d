// The machine-readable description of every REST endpoint's request fields, read off the route tables
// by running each handler once against a recording RequestFields (so the list is never written twice).
// The serving endpoints' routes, registered on Fastify directly, are recorded through a stand-in app.

import type { FastifyInstance } from 'fastify';
import { artifactEndpoints } from '../src/http/artifact-routes.js';
import { authEndpoints } from '../src/http/auth-routes.js';
import type { Endpoint, HttpMethod } from '../src/http/endpoint.js';
import { evaluationDatasetEndpoints } from '../src/http/evaluation-dataset-routes.js';
import { loggedModelEndpoints } from '../src/http/logged-model-routes.js';
import { registryEndpoints } from '../src/http/registry-routes.js';
import { RequestFields } from '../src/http/request-fields.js';
import { scorerEndpoints } from '../src/http/scorer-routes.js';
import { SERVING_ENDPOINT_PREFIXES, servingEndpointRoutes } from '../src/http/serving-endpoint-routes.js';
import { traceEndpoints } from '../src/http/trace-routes.js';
import { trackingEndpoints } from '../src/http/tracking-routes.js';
import { webhookEndpoints } from '../src/http/webhook-routes.js';
import type { ArtifactService } from '../src/services/artifact-service.js';
import type { ServingEndpointService } from '../src/services/serving-endpoint-service.js';

/** How a handler reads a field: the RequestFields getter it calls. */
export type FieldKind =
  | 'string'
  | 'requiredString'
  | 'runId'
  | 'experimentId'
  | 'int'
  | 'requiredInt'
  | 'double'
  | 'bool'
  | 'stringOrInt'
  | 'enum'
  | 'stringList'
  | 'tags'
  | 'metrics'
  | 'object'
  | 'objects'
  | 'modelFields';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  /** The accepted values of an enum field. */
  values?: readonly string[];
}

export interface RouteSpec {
  method: HttpMethod;
  /** Below each of `prefixes`, with `:param` and `*` placeholders ('' for a prefix itself). */
  path: string;
  /** The URL prefixes the route is served under: /api/2.0/mlflow and /ajax-api/2.0/mlflow for most. */
  prefixes: string[];
  /** How the figures name the route: `METHOD path`, the path under its first prefix past API 2.0. */
  key: string;
  fields: FieldSpec[];
  /** Path parameters (`model_id`, `*`). */
  params: string[];
}

/**
 * A value that stands in for anything a service returns: any property is another stand-in, calling
 * one gives one, it iterates as empty and prints as ''. `then` is absent so awaiting it ends.
 */
function standIn(): unknown {
  const target = () => undefined;
  const proxy: unknown = new Proxy(target, {
    get(_t, key) {
      if (key === 'then') return undefined;
      if (key === Symbol.iterator) return function* () {};
      if (key === Symbol.asyncIterator) return async function* () {};
      if (key === Symbol.toPrimitive) return () => '';
      return proxy;
    },
    apply: () => proxy,
  });
  return proxy;
}

/** Hands every getter a plausible value and writes down which field it asked for, and how. */
class RecordingFields extends RequestFields {
  readonly seen = new Map<string, FieldSpec>();
  constructor() {
    super({}, false);
  }
  private note(name: string, kind: FieldKind, values?: readonly string[]): void {
    // The strictest reading wins when a handler reads a field twice (has() then requiredString()).
    if (!this.seen.has(name) || kind !== 'string')
      this.seen.set(name, { name, kind, ...(values ? { values } : {}) });
  }
  override has(field: string): boolean {
    if (!this.seen.has(field)) this.note(field, 'string');
    return true;
  }
  override optionalString(field: string): string {
    this.note(field, 'string');
    return 'x';
  }
  override requiredString(field: string): string {
    this.note(field, 'requiredString');
    return 'x';
  }
  override runId(): string {
    this.note('run_id', 'runId');
    return 'x';
  }
  override optionalExperimentId(): string {
    this.note('experiment_id', 'experimentId');
    return '1';
  }
  override requiredExperimentId(): string {
    this.note('experiment_id', 'experimentId');
    return '1';
  }
  override optionalInt(field: string): number {
    this.note(field, 'int');
    return 1;
  }
  override requiredInt(field: string): number {
    this.note(field, 'requiredInt');
    return 1;
  }
  override requiredDouble(field: string): number {
    this.note(field, 'double');
    return 1;
  }
  override optionalBool(field: string): boolean {
    this.note(field, 'bool');
    return true;
  }
  override optionalStringOrInt(field: string): string {
    this.note(field, 'stringOrInt');
    return '1';
  }
  override optionalEnum<T extends string>(field: string, values: readonly T[]): T {
    this.note(field, 'enum', values);
    return values[0];
  }
  override stringList(field: string): string[] {
    this.note(field, 'stringList');
    return [];
  }
  override tags(field: string): [] {
    this.note(field, 'tags');
    return [];
  }
  override metrics(field: string): [] {
    this.note(field, 'metrics');
    return [];
  }
  override optionalObject(field: string): Record<string, unknown> {
    this.note(field, 'object');
    return {};
  }
  override objects(field: string): Record<string, unknown>[] {
    this.note(field, 'objects');
    return [];
  }
  override addModelFields<M>(metric: M): M {
    this.note('model_id', 'string');
    this.note('dataset_name', 'string');
    this.note('dataset_digest', 'string');
    return metric;
  }
}

function paramsOf(path: string): string[] {
  return path
    .split('/')
    .flatMap((segment) => (segment.startsWith(':') ? [segment.slice(1)] : segment === '*' ? ['*'] : []));
}

/** MLflow's prefixes for an endpoint of the route tables (app.ts registers it under the same). */
function prefixesOf(endpoint: Endpoint<unknown>): string[] {
  const version = endpoint.since ?? 2;
  return endpoint.ajaxOnly
    ? [`/ajax-api/${version}.0/mlflow`]
    : [`/api/${version}.0/mlflow`, `/ajax-api/${version}.0/mlflow`];
}

function keyOf(method: string, prefixes: string[], path: string): string {
  if (prefixes[0].endsWith('/2.0/mlflow')) return `${method} ${path}`;
  return `${method} ${prefixes[0]}${path ? `/${path}` : ''}`;
}

async function describe<S>(endpoint: Endpoint<S>): Promise<RouteSpec> {
  const fields = new RecordingFields();
  const params = paramsOf(endpoint.path);
  try {
    await endpoint.handle(standIn() as S, fields, Object.fromEntries(params.map((p) => [p, 'x'])));
  } catch {
    // A handler may check what the stand-in service gave back; the fields it read so far are enough.
  }
  const prefixes = prefixesOf(endpoint as Endpoint<unknown>);
  return {
    method: endpoint.method,
    path: endpoint.path,
    prefixes,
    key: keyOf(endpoint.method, prefixes, endpoint.path),
    fields: [...fields.seen.values()],
    params,
  };
}

type Handler = (request: unknown, reply: unknown) => Promise<unknown>;

/**
 * The serving endpoints' REST routes, as servingEndpointRoutes registers them on a stand-in app: each
 * handler run once with a recording RequestFields. (Their invocations speak the scoring protocol, not
 * MLflow's JSON, and are left out.)
 */
async function describeServingRoutes(): Promise<RouteSpec[]> {
  const routes: { method: HttpMethod; url: string; handler: Handler }[] = [];
  const record =
    (method: HttpMethod) =>
    (url: string, ...rest: unknown[]) => {
      routes.push({ method, url, handler: rest[rest.length - 1] as Handler });
    };
  const app = { post: record('POST'), get: record('GET'), delete: record('DELETE'), register: () => {} };
  let fields = new RecordingFields();
  servingEndpointRoutes(app as unknown as FastifyInstance, standIn() as ServingEndpointService, {
    checkContentType: () => {},
    requestFields: () => fields,
  });
  const [prefix] = SERVING_ENDPOINT_PREFIXES;
  const specs: RouteSpec[] = [];
  for (const route of routes.filter((r) => r.url.startsWith(prefix))) {
    const path = route.url.slice(prefix.length).replace(/^\//, '');
    const params = paramsOf(path);
    fields = new RecordingFields();
    try {
      await route.handler({ params: Object.fromEntries(params.map((p) => [p, 'x'])) }, standIn());
    } catch {
      // as in describe()
    }
    const prefixes = [...SERVING_ENDPOINT_PREFIXES];
    specs.push({
      method: route.method,
      path,
      prefixes,
      key: keyOf(route.method, prefixes, path),
      fields: [...fields.seen.values()],
      params,
    });
  }
  return specs;
}

/**
 * Every REST endpoint of a server without --app-name: the tracking, artifact, logged-model, registry,
 * webhook, trace, scorer and evaluation-dataset route tables, and the serving endpoints.
 */
export async function describeRoutes(): Promise<RouteSpec[]> {
  const endpoints: Endpoint<unknown>[] = [
    ...(trackingEndpoints() as Endpoint<unknown>[]),
    ...(artifactEndpoints() as Endpoint<unknown>[]),
    ...(loggedModelEndpoints(standIn() as ArtifactService) as Endpoint<unknown>[]),
    ...(registryEndpoints() as Endpoint<unknown>[]),
    ...(webhookEndpoints() as Endpoint<unknown>[]),
    ...(traceEndpoints() as Endpoint<unknown>[]),
    ...(scorerEndpoints() as Endpoint<unknown>[]),
    ...(evaluationDatasetEndpoints() as Endpoint<unknown>[]),
  ];
  return [...(await Promise.all(endpoints.map((e) => describe(e)))), ...(await describeServingRoutes())];
}

/** The users and permissions endpoints, served only with --app-name basic-auth. */
export async function describeAuthRoutes(): Promise<RouteSpec[]> {
  return Promise.all((authEndpoints() as Endpoint<unknown>[]).map((e) => describe(e)));
}
