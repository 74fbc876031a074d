// Failures of the machine rather than of the request, a full disk or a database out of reach, as MLflow's
// 503 TEMPORARILY_UNAVAILABLE: the request was fine, nothing was saved, and sending it again later works.
import { ArtifactStoreUnreachableError } from '../artifacts/store-unreachable.js';
import { MlflowError } from '../entities/errors.js';

/** SQLite's, and the system's, codes for a file system with no room left. */
const STORAGE_FULL = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT']);

/**
 * The database cannot be reached or is going away: the socket's codes, and PostgreSQL's SQLSTATEs for an
 * administrator's shutdown (57P01-57P03), lost connections (class 08) and too many clients (53300).
 */
const DATABASE_GONE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
]);

/** node-postgres reports a connection that died under it by message only, without a code. */
const DATABASE_GONE_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'timeout exceeded when trying to connect',
];

/** The 503 for an error of the machine, or undefined for any other error. */
export function faultError(error: Error): MlflowError | undefined {
  if (error instanceof ArtifactStoreUnreachableError) {
    return new MlflowError(
      'TEMPORARILY_UNAVAILABLE',
      'The artifact store cannot be reached; nothing was read or saved. Send the request again shortly.',
    );
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && STORAGE_FULL.has(code)) {
    return new MlflowError(
      'TEMPORARILY_UNAVAILABLE',
      'The server has no storage space left; nothing was saved. Send the request again once space is freed.',
    );
  }
  if (
    (typeof code === 'string' && DATABASE_GONE.has(code)) ||
    DATABASE_GONE_MESSAGES.some((m) => error.message?.startsWith(m))
  ) {
    return new MlflowError(
      'TEMPORARILY_UNAVAILABLE',
      'The tracking database cannot be reached; nothing was saved. Send the request again shortly.',
    );
  }
  return undefined;
}
