// An object store that cannot be reached (stopped, restarting, the network down) told apart from other
// failures, so that the HTTP layer answers MLflow's 503 TEMPORARILY_UNAVAILABLE (http/fault-errors.ts):
// the request was fine, nothing was done, and sending it again later works.

/** Socket-level codes (Node's, and the Azure SDK's REQUEST_SEND_ERROR) of a store that did not answer. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'REQUEST_SEND_ERROR',
]);

export class ArtifactStoreUnreachableError extends Error {
  constructor(root: string, cause: Error) {
    super(`the artifact store ${root} cannot be reached: ${cause.message}`, { cause });
    this.name = 'ArtifactStoreUnreachableError';
  }
}

/**
 * `error` as an ArtifactStoreUnreachableError when the store did not answer (a socket error, an SDK
 * time-out) or answered that it is unavailable (5xx other than 501, after the SDK's own retries);
 * any other error as it is.
 */
export function unreachableStoreError(error: unknown, root: string): unknown {
  if (!(error instanceof Error)) return error;
  const e = error as Error & { code?: unknown; $metadata?: { httpStatusCode?: number }; statusCode?: number };
  const status = e.$metadata?.httpStatusCode ?? e.statusCode;
  const unreachable =
    (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) ||
    e.name === 'TimeoutError' ||
    (typeof status === 'number' && status >= 500 && status !== 501);
  return unreachable ? new ArtifactStoreUnreachableError(root, e) : error;
}
