// The machine-readable description of every REST endpoint's request fields, read off the route tables
// by running each handler once against a recording RequestFields (so the list is never written twice).

import { artifactEndpoints } from '../src/http/artifact-routes.js';
import type { Endpoint, HttpMethod } from '../src/http/endpoint.js';
import { loggedModelEndpoints } from '../src/http/logged-model-routes.js';
import { registryEndpoints } from '../src/http/registry-routes.js';
import { RequestFields } from '../src/http/request-fields.js';
import { trackingEndpoints } from '../src/http/tracking-routes.js';
import { webhookEndpoints } from '../src/http/webhook-routes.js';
import type { ArtifactService } from '../src/services/artifact-service.js';

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
  /** Below /api/2.0/mlflow, with `:param` and `*` placeholders. */
  path: string;
  ajaxOnly: boolean;
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

async function describe<S>(endpoint: Endpoint<S>): Promise<RouteSpec> {
  const fields = new RecordingFields();
  const params = paramsOf(endpoint.path);
  try {
    await endpoint.handle(standIn() as S, fields, Object.fromEntries(params.map((p) => [p, 'x'])));
  } catch {
    // A handler may check what the stand-in service gave back; the fields it read so far are enough.
  }
  return {
    method: endpoint.method,
    path: endpoint.path,
    ajaxOnly: endpoint.ajaxOnly ?? false,
    fields: [...fields.seen.values()],
    params,
  };
}

/** Every endpoint of the tracking, artifact, logged-model, registry and webhook route groups. */
export async function describeRoutes(): Promise<RouteSpec[]> {
  const endpoints: Endpoint<unknown>[] = [
    ...(trackingEndpoints() as Endpoint<unknown>[]),
    ...(artifactEndpoints() as Endpoint<unknown>[]),
    ...(loggedModelEndpoints(standIn() as ArtifactService) as Endpoint<unknown>[]),
    ...(registryEndpoints() as Endpoint<unknown>[]),
    ...(webhookEndpoints() as Endpoint<unknown>[]),
  ];
  return Promise.all(endpoints.map((e) => describe(e)));
}
