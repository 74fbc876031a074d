// The scoring protocol's error answers (status, type, body) for any error a scoring route throws: shared
// by the standalone scoring server and the tracking server's serving endpoints, so both answer alike.
import { MlflowError } from '../entities/errors.js';
import { httpStatusFor } from '../http/error-status.js';
import { ModelFailure, PlainTextRejection } from './scoring-errors.js';

export interface ScoringErrorAnswer {
  status: number;
  contentType: string;
  body: string;
  /** The error code the metrics count (`HTTP_415` for the plain-text refusal). */
  code: string;
  /** True for a failure nobody anticipated (a 500): the caller logs its stack. */
  unexpected: boolean;
}

function errorBody(code: string, message: string, stackTrace?: string): string {
  return JSON.stringify(
    stackTrace ? { error_code: code, message, stack_trace: stackTrace } : { error_code: code, message },
  );
}

const JSON_TYPE = 'application/json';

export function scoringErrorAnswer(
  error: Error & { statusCode?: number; code?: string },
  bodyLimit: number,
): ScoringErrorAnswer {
  if (error instanceof PlainTextRejection) {
    const code = `HTTP_${error.status}`;
    return { status: error.status, contentType: 'text/plain', body: error.message, code, unexpected: false };
  }
  if (error instanceof MlflowError) {
    const stack = error instanceof ModelFailure ? error.stackTrace : undefined;
    return {
      status: httpStatusFor(error.errorCode),
      contentType: JSON_TYPE,
      body: errorBody(error.errorCode, error.message, stack),
      code: error.errorCode,
      unexpected: false,
    };
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const message = `The request body is larger than the server's limit of ${bodyLimit} bytes.`;
    return {
      status: 413,
      contentType: JSON_TYPE,
      body: errorBody('RESOURCE_EXHAUSTED', message),
      code: 'RESOURCE_EXHAUSTED',
      unexpected: false,
    };
  }
  if (error.statusCode && error.statusCode < 500) {
    return {
      status: error.statusCode,
      contentType: JSON_TYPE,
      body: errorBody('BAD_REQUEST', error.message),
      code: 'BAD_REQUEST',
      unexpected: false,
    };
  }
  return {
    status: 500,
    contentType: JSON_TYPE,
    body: errorBody('INTERNAL_ERROR', 'The scoring server failed to answer the request.'),
    code: 'INTERNAL_ERROR',
    unexpected: true,
  };
}
