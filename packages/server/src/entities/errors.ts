/** MLflow's error codes (databricks.ErrorCode in MLflow's protos) that this server produces. */
export type ErrorCode =
  | 'INTERNAL_ERROR'
  | 'INVALID_PARAMETER_VALUE'
  | 'BAD_REQUEST'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'ENDPOINT_NOT_FOUND'
  | 'NOT_FOUND'
  | 'INVALID_STATE'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'ABORTED'
  | 'RESOURCE_CONFLICT'
  | 'ALREADY_EXISTS'
  | 'REQUEST_LIMIT_EXCEEDED'
  | 'RESOURCE_EXHAUSTED'
  | 'RESOURCE_LIMIT_EXCEEDED'
  | 'DATA_LOSS'
  | 'NOT_IMPLEMENTED'
  | 'TEMPORARILY_UNAVAILABLE'
  | 'FEATURE_DISABLED';

/** An error that carries one of MLflow's error codes; every layer throws these for expected failures. */
export class MlflowError extends Error {
  constructor(
    readonly errorCode: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MlflowError';
  }

  static invalidParameter(message: string): MlflowError {
    return new MlflowError('INVALID_PARAMETER_VALUE', message);
  }

  static notFound(message: string): MlflowError {
    return new MlflowError('RESOURCE_DOES_NOT_EXIST', message);
  }
}

export interface ParamConflict {
  key: string;
  oldValue: string;
  newValue: string;
}

/** A param logged again with another value; params are write-once. */
export class ParamConflictError extends MlflowError {
  constructor(
    readonly runId: string,
    readonly conflicts: ParamConflict[],
  ) {
    const listed = conflicts
      .map((c) => `{'key': '${c.key}', 'old_value': '${c.oldValue}', 'new_value': '${c.newValue}'}`)
      .join(', ');
    super(
      'INVALID_PARAMETER_VALUE',
      `Changing param values is not allowed. Params were already logged='[${listed}]' for run ID='${runId}'.`,
    );
  }

  /** The wording MLflow uses when a single param (log-parameter) conflicts. */
  singleParamMessage(): MlflowError {
    const c = this.conflicts[0];
    return MlflowError.invalidParameter(
      `Changing param values is not allowed. Param with key='${c.key}' was already logged with value='${c.oldValue}' for run ID='${this.runId}'. Attempted logging new value '${c.newValue}'.`,
    );
  }
}
