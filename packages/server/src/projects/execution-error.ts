import { MlflowError } from '../entities/errors.js';

/**
 * A project cannot be loaded or run as asked (MLflow's ExecutionException): a bad MLproject, a missing
 * parameter, an unreachable source, a missing tool. The message says what to fix; the CLI prints it
 * without a stack trace.
 */
export class ExecutionError extends MlflowError {
  constructor(message: string) {
    super('INVALID_PARAMETER_VALUE', message);
    this.name = 'ExecutionError';
  }
}
