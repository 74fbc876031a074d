import {
  authorizationHeader,
  type ClientConfig,
  isLocalTrackingUri,
  LOCAL_ORIGIN,
  MAX_BACKOFF_SECONDS,
} from './config.js';
import { MlflowError } from './errors.js';
import { type BodySource, platform } from './platform.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Statuses MLflow's client treats as transient and retries. */
export const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

export interface RequestOptions {
  method: HttpMethod;
  /** Query parameters; arrays become repeated keys. */
  query?: Record<string, unknown>;
  /** A JSON body. */
  json?: unknown;
  /** A raw body, produced afresh for each attempt. */
  body?: BodySource;
  headers?: Record<string, string>;
  /** Cancels the request; a cancelled request is neither retried nor reported as a failure. */
  signal?: AbortSignal;
}

/** JSON for MLflow: NaN and the infinities become the strings the server accepts for doubles. */
export function toWireJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    typeof v === 'number' && !Number.isFinite(v)
      ? Number.isNaN(v)
        ? 'NaN'
        : v > 0
          ? 'Infinity'
          : '-Infinity'
      : v,
  );
}

function parseWireJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Python's json writes bare NaN/Infinity; quote them (outside strings) and parse again.
    try {
      return JSON.parse(
        text.replace(/("(?:[^"\\]|\\.)*")|(-?Infinity|NaN)/g, (m, str) => (str ? m : `"${m}"`)),
      );
    } catch {
      return undefined;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'ENDPOINT_NOT_FOUND',
  408: 'TEMPORARILY_UNAVAILABLE',
  429: 'REQUEST_LIMIT_EXCEEDED',
  503: 'TEMPORARILY_UNAVAILABLE',
};

/**
 * HTTP to one tracking server: adds authentication, retries transient failures with MLflow's exponential
 * backoff, bounds each attempt by the timeout, and turns error answers into MlflowError.
 */
export class RestTransport {
  private fetchPromise?: Promise<typeof fetch>;

  /** Whether requests go to a server inside this process (a local store URI) instead of over HTTP. */
  readonly local: boolean;

  constructor(readonly config: ClientConfig) {
    this.local = !/^https?:\/\//i.test(config.trackingUri) && isLocalTrackingUri(config.trackingUri);
  }

  /** The origin requests are sent to: the server's URL, or a placeholder for an in-process server. */
  get baseUrl(): string {
    return this.local ? LOCAL_ORIGIN : this.config.trackingUri;
  }

  private fetcher(): Promise<typeof fetch> {
    if (!this.fetchPromise) {
      const own = this.config.fetch;
      const { insecureFetch: insecure, localFetch } = platform();
      if (own) this.fetchPromise = Promise.resolve(own);
      else if (this.local && localFetch) this.fetchPromise = localFetch(this.config.trackingUri);
      else if (this.config.insecureTls && insecure) this.fetchPromise = insecure();
      else this.fetchPromise = Promise.resolve(globalThis.fetch.bind(globalThis));
    }
    return this.fetchPromise;
  }

  /** Seconds to wait before retry number `retry` (1-based), following urllib3 as MLflow configures it. */
  backoffSeconds(retry: number, retryAfter?: string | null): number {
    if (retryAfter) {
      const seconds = Number(retryAfter);
      const at = Number.isFinite(seconds) ? seconds : (Date.parse(retryAfter) - Date.now()) / 1000;
      if (Number.isFinite(at) && at >= 0) return Math.min(at, MAX_BACKOFF_SECONDS);
    }
    const base = retry <= 1 ? 0 : this.config.backoffFactor * 2 ** (retry - 1);
    return Math.min(base + Math.random() * this.config.backoffJitter, MAX_BACKOFF_SECONDS);
  }

  /** The URL of `path` (starting with /) on the server, or of an absolute URL, with `query` appended. */
  url(path: string, query?: Record<string, unknown>): string {
    let url = /^https?:\/\//.test(path) ? path : `${this.baseUrl}${path}`;
    if (query) {
      const q = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value === undefined || value === null) continue;
        for (const item of Array.isArray(value) ? value : [value]) q.append(key, String(item));
      }
      const s = q.toString();
      if (s) url += `?${s}`;
    }
    return url;
  }

  /**
   * Sends a request, retrying transient failures; returns the successful response with its body unread
   * and throws MlflowError for an error answer or when every attempt failed.
   */
  async request(path: string, options: RequestOptions): Promise<Response> {
    const url = this.url(path, options.query);
    const fetchImpl = await this.fetcher();
    const headers: Record<string, string> = { ...this.config.headers, ...options.headers };
    const auth = authorizationHeader(this.config);
    if (auth) headers.Authorization = auth;
    if (options.json !== undefined) headers['Content-Type'] = 'application/json';
    const attempts = this.config.maxRetries + 1;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const signals = [options.signal];
      if (Number.isFinite(this.config.timeoutMs)) signals.push(AbortSignal.timeout(this.config.timeoutMs));
      const given = signals.filter((s): s is AbortSignal => s !== undefined);
      const init: RequestInit & { duplex?: 'half' } = {
        method: options.method,
        headers,
        signal: given.length > 1 ? AbortSignal.any(given) : given[0],
      };
      if (options.json !== undefined) init.body = toWireJson(options.json);
      else if (options.body) {
        init.body = await options.body();
        // A streamed request body needs half-duplex mode in fetch.
        if (typeof ReadableStream !== 'undefined' && init.body instanceof ReadableStream)
          init.duplex = 'half';
      }
      let response: Response;
      try {
        response = await fetchImpl(url, init);
      } catch (error) {
        // The caller cancelled: hand back fetch's own AbortError, as a plain fetch would.
        if (options.signal?.aborted) throw error;
        lastError = error;
        if (attempt < attempts) {
          await sleep(this.backoffSeconds(attempt) * 1000);
          continue;
        }
        break;
      }
      if (response.ok) return response;
      if (RETRY_STATUSES.has(response.status) && attempt < attempts) {
        await response.body?.cancel().catch(() => {});
        await sleep(this.backoffSeconds(attempt, response.headers.get('Retry-After')) * 1000);
        continue;
      }
      throw await errorFrom(response, options.method, url);
    }
    const cause = lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError);
    const detail =
      lastError instanceof Error && lastError.cause instanceof Error ? ` (${lastError.cause.message})` : '';
    throw new MlflowError(
      'INTERNAL_ERROR',
      `API request to ${options.method} ${url} failed after ${attempts} attempt(s): ${cause}${detail}. Check that the tracking server is running and reachable at ${this.baseUrl} (MLFLOW_TRACKING_URI); raise MLFLOW_HTTP_REQUEST_TIMEOUT or MLFLOW_HTTP_REQUEST_MAX_RETRIES for slow servers.`,
      0,
      { cause: lastError },
    );
  }

  /**
   * Calls a tracking endpoint below the API prefix (/api/2.0/mlflow unless configured): GET bodies go in
   * the query string, others as JSON. A success whose body is not JSON (a proxy's HTML page, say) fails.
   */
  async call<T = Record<string, unknown>>(
    method: HttpMethod,
    endpoint: string,
    body?: Record<string, unknown>,
    options: { signal?: AbortSignal; since?: 3 } = {},
  ): Promise<T> {
    // MLflow serves its 3.x-only endpoints below /api/3.0/mlflow; `since: 3` moves a 2.0 prefix there.
    const prefix =
      options.since === 3
        ? this.config.apiPrefix.replace(/\/2\.0\/mlflow$/, '/3.0/mlflow')
        : this.config.apiPrefix;
    const path = `${prefix}/${endpoint.replace(/^\/+/, '')}`;
    const { signal } = options;
    const response = await this.request(
      path,
      method === 'GET' ? { method, query: body, signal } : { method, json: body ?? {}, signal },
    );
    const text = await response.text();
    if (!text) return {} as T;
    const json = parseWireJson(text);
    if (json === undefined) {
      const snippet = text.length > 300 ? `${text.slice(0, 300)}...` : text;
      throw new MlflowError(
        'BAD_RESPONSE',
        `API request to ${method} ${path} answered HTTP ${response.status} with a body that is not JSON: ${snippet}`,
        response.status,
      );
    }
    return json as T;
  }
}

/** An MlflowError from an error response: MLflow's JSON error when present, else the status and body. */
export async function errorFrom(response: Response, method: string, url: string): Promise<MlflowError> {
  const text = await response.text().catch(() => '');
  const payload = text ? parseWireJson(text) : undefined;
  if (payload && typeof payload === 'object' && 'error_code' in payload) {
    const p = payload as { error_code: string; message?: string };
    return new MlflowError(p.error_code, p.message ?? text, response.status);
  }
  const code = STATUS_CODES[response.status] ?? (response.status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');
  const snippet = text.length > 500 ? `${text.slice(0, 500)}...` : text;
  return new MlflowError(
    code,
    `API request to ${method} ${url} failed with HTTP ${response.status}${snippet ? `: ${snippet}` : ''}`,
    response.status,
  );
}
