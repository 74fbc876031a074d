// mlflow-ts's serving endpoints (/api/2.0/serving-endpoints beside the tracking API) and their
// invocations (/serving-endpoints/<name>/invocations, MLflow's scoring protocol).
import { MlflowError } from './errors.js';
import type { RestTransport } from './rest.js';
import type { ServingEndpoint } from './wire.js';

export interface CreateServingEndpointOptions {
  /** Python worker processes for python_function models (1). */
  workers?: number;
}

export interface InvokeOptions {
  /** application/json (the default) or text/csv; a string body is sent as it is. */
  contentType?: string;
  signal?: AbortSignal;
}

/** An invocation's answer: the parsed JSON body and the registered model version that gave it. */
export interface Invocation<T = unknown> {
  body: T;
  version: string | undefined;
}

/** The header naming the model version that answered. */
export const MODEL_VERSION_HEADER = 'x-mlflow-model-version';

/**
 * Serving endpoint methods MlflowClient inherits. The REST paths sit beside the configured API prefix
 * (/api/2.0/mlflow gives /api/2.0/serving-endpoints).
 */
export abstract class ServingEndpointMethods {
  abstract readonly transport: RestTransport;

  private endpointsPath(...rest: string[]): string {
    const base = this.transport.config.apiPrefix.replace(/\/mlflow\/?$/, '');
    return [`${base}/serving-endpoints`, ...rest.map(encodeURIComponent)].join('/');
  }

  private async json<T>(response: Response): Promise<T> {
    const text = await response.text();
    try {
      return (text ? JSON.parse(text) : {}) as T;
    } catch {
      throw new MlflowError(
        'BAD_RESPONSE',
        `The server answered with a body that is not JSON: ${text.slice(0, 300)}`,
        response.status,
      );
    }
  }

  /** Creates an endpoint serving `modelUri` (models:/<name>@<alias> or models:/<name>/<version>). */
  async createServingEndpoint(
    name: string,
    modelUri: string,
    options: CreateServingEndpointOptions = {},
  ): Promise<ServingEndpoint> {
    const response = await this.transport.request(this.endpointsPath(), {
      method: 'POST',
      json: { name, model_uri: modelUri, workers: options.workers },
    });
    return (await this.json<{ endpoint: ServingEndpoint }>(response)).endpoint;
  }

  async getServingEndpoint(name: string): Promise<ServingEndpoint> {
    const response = await this.transport.request(this.endpointsPath(name), { method: 'GET' });
    return (await this.json<{ endpoint: ServingEndpoint }>(response)).endpoint;
  }

  /** Every endpoint the caller may read, by name; or those serving one registered model. */
  async listServingEndpoints(options: { registeredModelName?: string; signal?: AbortSignal } = {}) {
    const response = await this.transport.request(this.endpointsPath(), {
      method: 'GET',
      query: { registered_model_name: options.registeredModelName },
      signal: options.signal,
    });
    return (await this.json<{ endpoints?: ServingEndpoint[] }>(response)).endpoints ?? [];
  }

  async deleteServingEndpoint(name: string): Promise<void> {
    await this.transport.request(this.endpointsPath(name), { method: 'DELETE' });
  }

  /**
   * Scores `data` on the endpoint: an object is sent as JSON ({"inputs": ...}, {"dataframe_split": ...}),
   * a string as it is. Throws MlflowError for an error answer (503 while the model loads is retried).
   */
  async invokeServingEndpoint<T = { predictions: unknown }>(
    name: string,
    data: object | string,
    options: InvokeOptions = {},
  ): Promise<Invocation<T>> {
    const contentType = options.contentType ?? 'application/json';
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    const response = await this.transport.request(
      `/serving-endpoints/${encodeURIComponent(name)}/invocations`,
      {
        method: 'POST',
        body: async () => text,
        headers: { 'Content-Type': contentType },
        signal: options.signal,
      },
    );
    return {
      body: await this.json<T>(response),
      version: response.headers.get(MODEL_VERSION_HEADER) ?? undefined,
    };
  }
}
