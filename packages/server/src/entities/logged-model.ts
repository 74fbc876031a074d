// MLflow 3's logged models: the wire types shared with the SDK, and the statuses in proto order.

import type { LoggedModelStatus } from '@mlflow-ts/client/wire';

/** The statuses in proto order: the index is the number MLflow stores and accepts. */
export const LOGGED_MODEL_STATUSES: readonly LoggedModelStatus[] = [
  'LOGGED_MODEL_STATUS_UNSPECIFIED',
  'LOGGED_MODEL_PENDING',
  'LOGGED_MODEL_READY',
  'LOGGED_MODEL_UPLOAD_FAILED',
];

export type {
  LoggedModel,
  LoggedModelInfo,
  LoggedModelMetric,
  LoggedModelStatus,
} from '@mlflow-ts/client/wire';
