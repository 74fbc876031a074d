// The scoring protocol's failures: MLflow error JSON (an MlflowError) or, for content types, a plain-text
// 415 as MLflow's scoring server answers before it reads the body.
import { MlflowError } from '../entities/errors.js';

export { MlflowError };

/** MLflow's hint, appended to messages about request shapes that MLflow 1.x accepted and 2.x does not. */
export const SCORING_PROTOCOL_CHANGE_INFO =
  'IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are seeing ' +
  'this error, you are likely using an outdated scoring request format. To resolve the error, either ' +
  "update your request format or adjust your MLflow Model's requirements file to specify an older " +
  "version of MLflow (for example, change the 'mlflow' requirement specifier to 'mlflow==1.30.0'). " +
  'If you are making a request using the MLflow client (e.g. via `mlflow.pyfunc.spark_udf()`), ' +
  'upgrade your MLflow client to a version >= 2.0 in order to use the new request format. For more ' +
  'information about the updated MLflow Model scoring protocol in MLflow 2.0, see ' +
  'https://mlflow.org/docs/latest/models.html#deploy-mlflow-models.';

/** A refusal answered as text/plain with its own status (MLflow does this for content types). */
export class PlainTextRejection extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'PlainTextRejection';
  }
}

/** MLflow's MlflowInvalidInputException: INVALID_PARAMETER_VALUE with "Invalid input. " in front. */
export function invalidInput(message: string): MlflowError {
  return new MlflowError('INVALID_PARAMETER_VALUE', `Invalid input. ${message}`);
}

export function badRequest(message: string): MlflowError {
  return new MlflowError('BAD_REQUEST', message);
}

/**
 * A signature violation, worded as MLflow's pyfunc predict and scoring server wrap it. MLflow also
 * repeats the whole input frame in the message; we leave the data out (it can be megabytes).
 */
export function schemaViolation(schemaText: string, detail: string): MlflowError {
  return new MlflowError(
    'INVALID_PARAMETER_VALUE',
    `Failed to predict data. \nError: Failed to enforce schema of data with schema '${schemaText}'. Error: ${detail}`,
  );
}

/** The model itself failed: MLflow's BAD_REQUEST, with the model's stack trace in `stack_trace`. */
export class ModelFailure extends MlflowError {
  constructor(readonly stackTrace: string) {
    super(
      'BAD_REQUEST',
      'Encountered an unexpected error while evaluating the model. Verify that the serialized input ' +
        'Dataframe is compatible with the model for inference.',
    );
    this.name = 'ModelFailure';
  }
}

export function modelFailure(stackTrace: string): ModelFailure {
  return new ModelFailure(stackTrace);
}

/** An inner enforcement failure; enforce-schema.ts wraps it with schemaViolation. */
export class EnforcementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnforcementError';
  }
}
