/**
 * An error answered by an MLflow tracking server (or raised by the client for a failure it can name):
 * `errorCode` is MLflow's error code (INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, ...) and `status`
 * the HTTP status; status 0 means no HTTP answer was received (network failure or timeout).
 */
export class MlflowError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MlflowError';
  }
}

/** The name of the first release of this package; kept so code written against it still compiles. */
export { MlflowError as MlflowRestError };

/** Several failures gathered while flushing buffered data; each keeps its own code and status. */
export class MlflowFlushError extends MlflowError {
  constructor(readonly errors: MlflowError[]) {
    const first = errors[0];
    super(
      first?.errorCode ?? 'INTERNAL_ERROR',
      `${errors.length} buffered log-batch call(s) failed; first: ${first?.message}`,
      first?.status ?? 0,
    );
    this.name = 'MlflowFlushError';
  }
}
