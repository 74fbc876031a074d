import { MlflowError } from './errors.js';
import { environment, platform } from './platform.js';

/** How to reach a tracking server; every field has an MLflow environment variable as its default. */
export interface ClientOptions {
  /** The server's base URL (MLFLOW_TRACKING_URI), e.g. http://127.0.0.1:5000. */
  trackingUri?: string;
  /** HTTP basic credentials (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD). */
  username?: string;
  password?: string;
  /** A bearer token (MLFLOW_TRACKING_TOKEN, else DATABRICKS_TOKEN); used when no username/password is set. */
  token?: string;
  /** Skip TLS certificate verification (MLFLOW_TRACKING_INSECURE_TLS=true); Node only. */
  insecureTls?: boolean;
  /** Retries after the first attempt on 408, 429, 5xx and network errors (MLFLOW_HTTP_REQUEST_MAX_RETRIES, default 7). */
  maxRetries?: number;
  /** Seconds; the n-th retry waits factor * 2^(n-1), the first one not at all (MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, default 2). */
  backoffFactor?: number;
  /** Up to this many random seconds added to each wait (MLFLOW_HTTP_REQUEST_BACKOFF_JITTER, default 1). */
  backoffJitter?: number;
  /** Seconds one attempt may take (MLFLOW_HTTP_REQUEST_TIMEOUT, default 120); Infinity for no limit. */
  timeout?: number;
  /**
   * The path the tracking endpoints live under, default /api/2.0/mlflow. A web page served by the
   * tracking server may use /ajax-api/2.0/mlflow, as MLflow's own UI does.
   */
  apiPrefix?: string;
  /** A fetch implementation to use instead of the global one. */
  fetch?: typeof fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

export interface ClientConfig {
  trackingUri: string;
  username?: string;
  password?: string;
  token?: string;
  insecureTls: boolean;
  maxRetries: number;
  backoffFactor: number;
  backoffJitter: number;
  timeoutMs: number;
  apiPrefix: string;
  fetch?: typeof fetch;
  headers: Record<string, string>;
}

/** urllib3's ceiling on one backoff wait, which MLflow's client inherits. */
export const MAX_BACKOFF_SECONDS = 120;

function envNumber(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `${name} must be a non-negative number, got '${raw}'.`,
      0,
    );
  }
  return n;
}

function envBool(raw: string | undefined): boolean {
  return raw !== undefined && ['true', '1', 'yes'].includes(raw.trim().toLowerCase());
}

/**
 * Whether a tracking URI names a local store rather than a server: `sqlite:`, `postgresql:` (or
 * `postgres:`), `file:`, or a plain path with no scheme.
 */
export function isLocalTrackingUri(uri: string): boolean {
  if (/^(sqlite|postgres|postgresql)(\+\w+)?:|^file:/i.test(uri)) return true;
  // A Windows drive letter (C:\runs) is a path, not a scheme.
  return !/^[a-z][a-z0-9+.-]*:/i.test(uri) || /^[a-z]:[\\/]/i.test(uri);
}

/** The origin requests to an in-process (local URI) server are addressed to; only their paths count. */
export const LOCAL_ORIGIN = 'http://mlflow-ts.local';

/**
 * Where runs go when no tracking URI is given (MLflow 3's default): an SQLite file in the working
 * directory. mlflow-ts has no file store, so MLflow's ./mlruns fallback for old file-store data does not apply.
 */
export const DEFAULT_TRACKING_URI = 'sqlite:///mlflow.db';

/**
 * The tracking URI to use: the explicit one, MLFLOW_TRACKING_URI, else in a browser the page's origin
 * and in Node DEFAULT_TRACKING_URI. http(s) URLs name a server; in Node a local store URI (see
 * isLocalTrackingUri) is served in-process.
 */
export function resolveTrackingUri(explicit: string | undefined, env = environment()): string {
  const uri = explicit || env.MLFLOW_TRACKING_URI;
  if (!uri) {
    const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
    if (origin?.startsWith('http')) return origin;
    if (platform().localFetch) return DEFAULT_TRACKING_URI;
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      'No tracking URI: set MLFLOW_TRACKING_URI (e.g. http://127.0.0.1:5000) or call setTrackingUri().',
      0,
    );
  }
  if (/^https?:\/\//i.test(uri)) return uri.replace(/\/+$/, '');
  if (isLocalTrackingUri(uri)) {
    if (platform().localFetch) return uri;
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Tracking URI '${uri}' is a local store, which this client can open only in Node (with the mlflow-ts package installed). Here, start a server with \`mlflow-ts server --backend-store-uri ${uri}\` and use its URL.`,
      0,
    );
  }
  throw new MlflowError(
    'INVALID_PARAMETER_VALUE',
    `Tracking URI '${uri}' is not supported: use an http(s) URL of a tracking server, or in Node a local store (sqlite:///<file>.db, postgresql://..., or a directory path).`,
    0,
  );
}

/** Merges explicit options over MLflow's environment variables and defaults. */
export function resolveConfig(options: ClientOptions = {}, env = environment()): ClientConfig {
  return {
    trackingUri: resolveTrackingUri(options.trackingUri, env),
    username: options.username ?? env.MLFLOW_TRACKING_USERNAME,
    password: options.password ?? env.MLFLOW_TRACKING_PASSWORD,
    // MLflow's Databricks clients send DATABRICKS_TOKEN when no MLflow token is set.
    token: options.token ?? env.MLFLOW_TRACKING_TOKEN ?? env.DATABRICKS_TOKEN,
    insecureTls: options.insecureTls ?? envBool(env.MLFLOW_TRACKING_INSECURE_TLS),
    maxRetries: options.maxRetries ?? envNumber(env, 'MLFLOW_HTTP_REQUEST_MAX_RETRIES', 7),
    backoffFactor: options.backoffFactor ?? envNumber(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', 2),
    backoffJitter: options.backoffJitter ?? envNumber(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', 1),
    timeoutMs: (options.timeout ?? envNumber(env, 'MLFLOW_HTTP_REQUEST_TIMEOUT', 120)) * 1000,
    apiPrefix: (options.apiPrefix ?? '/api/2.0/mlflow').replace(/\/+$/, ''),
    fetch: options.fetch,
    headers: options.headers ?? {},
  };
}

/** Base64 of a UTF-8 string, without Node's Buffer so it runs in browsers too. */
function base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The Authorization header MLflow's client would send: basic credentials win over a token. */
export function authorizationHeader(config: ClientConfig): string | undefined {
  if (config.username !== undefined && config.password !== undefined) {
    return `Basic ${base64(`${config.username}:${config.password}`)}`;
  }
  if (config.token) return `Bearer ${config.token}`;
  return undefined;
}
