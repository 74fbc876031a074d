import type { ErrorCode } from '../entities/errors.js';

/** HTTP status for each MLflow error code, as MLflow's server maps them. */
const STATUS: Record<ErrorCode, number> = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  NOT_FOUND: 404,
  ABORTED: 409,
  RESOURCE_CONFLICT: 409,
  ALREADY_EXISTS: 409,
  REQUEST_LIMIT_EXCEEDED: 429,
  RESOURCE_EXHAUSTED: 429,
  // MLflow's table has no entry for this code (so its server would answer 500). 400 instead: MLflow's
  // clients retry 429 and 500 for minutes and then lose the message, where a quota needs saying once.
  RESOURCE_LIMIT_EXCEEDED: 400,
  INTERNAL_ERROR: 500,
  INVALID_STATE: 500,
  DATA_LOSS: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
  FEATURE_DISABLED: 501,
};

export function httpStatusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}
