// Turns an unexpected failure into a logged line for the operator and a generic answer for the client.
import type { FastifyRequest } from 'fastify';
import { MlflowError } from '../entities/errors.js';
import { httpStatusFor } from './error-status.js';

/** Where a 500's line goes; the server's stderr unless an app is built with another. */
export type ErrorLog = (line: string) => void;

export const stderrLog: ErrorLog = (line) => console.error(line);

/**
 * Logs a request that ends in a 500 with its method, path (no query string, never the body) and the
 * error's stack. An error that is not an MlflowError came from a library or a driver, whose text can
 * name tables, constraints or SQL; the client gets a generic message with the request id to find the
 * line by instead.
 */
export function reportServerError(
  error: Error,
  mlflowError: MlflowError,
  request: FastifyRequest,
  log: ErrorLog,
): MlflowError {
  if (httpStatusFor(mlflowError.errorCode) !== 500) return mlflowError;
  const path = request.url.split('?')[0];
  log(
    `${new Date().toISOString()} ${request.id} ${request.method} ${path} failed: ${error.stack ?? error.message}`,
  );
  if (error instanceof MlflowError) return mlflowError;
  return new MlflowError(
    'INTERNAL_ERROR',
    `Internal server error (request ${request.id}); the server log has the details.`,
  );
}
