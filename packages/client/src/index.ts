/**
 * @mlflow-ts/client: a dependency-free client for MLflow-compatible tracking servers.
 * This first cut exposes the raw REST call; typed methods per endpoint arrive with the SDK work.
 */

/** An error answered by the server, carrying MLflow's error code and the HTTP status. */
export class MlflowRestError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'MlflowRestError';
  }
}

export interface RestClientOptions {
  /** The tracking server's base URL, e.g. http://127.0.0.1:5000 */
  trackingUri: string;
  fetch?: typeof fetch;
}

/** Calls MLflow REST endpoints (paths relative to /api/2.0/mlflow) and decodes MLflow's errors. */
export class RestClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(options: RestClientOptions) {
    this.base = options.trackingUri.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? fetch;
  }

  async call<T = unknown>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    endpoint: string,
    body?: unknown,
  ): Promise<T> {
    let url = `${this.base}/api/2.0/mlflow/${endpoint.replace(/^\/+/, '')}`;
    const init: RequestInit = { method, headers: {} };
    if (method === 'GET' && body && typeof body === 'object') {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
        if (value === undefined) continue;
        for (const item of Array.isArray(value) ? value : [value]) query.append(key, String(item));
      }
      url += `?${query}`;
    } else if (body !== undefined) {
      init.headers = { 'Content-Type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const response = await this.fetchImpl(url, init);
    const text = await response.text();
    const payload = text ? safeJson(text) : {};
    if (!response.ok) {
      const err = (payload ?? {}) as { error_code?: string; message?: string };
      throw new MlflowRestError(err.error_code ?? 'INTERNAL_ERROR', err.message ?? text, response.status);
    }
    return payload as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
