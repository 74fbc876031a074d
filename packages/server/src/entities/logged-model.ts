// MLflow 3's logged models in the JSON shape of MLflow's protos (LoggedModel, LoggedModelInfo,
// LoggedModelData).

import type { Tag } from './tracking.js';

/** LoggedModelStatus as MLflow's JSON writes it. */
export type LoggedModelStatus =
  | 'LOGGED_MODEL_STATUS_UNSPECIFIED'
  | 'LOGGED_MODEL_PENDING'
  | 'LOGGED_MODEL_READY'
  | 'LOGGED_MODEL_UPLOAD_FAILED';

/** The statuses in proto order: the index is the number MLflow stores and accepts. */
export const LOGGED_MODEL_STATUSES: readonly LoggedModelStatus[] = [
  'LOGGED_MODEL_STATUS_UNSPECIFIED',
  'LOGGED_MODEL_PENDING',
  'LOGGED_MODEL_READY',
  'LOGGED_MODEL_UPLOAD_FAILED',
];

/** A metric logged against a model: the run it came from and, when given, the dataset. */
export interface LoggedModelMetric {
  key: string;
  /** NaN when the logged value was NaN. */
  value: number;
  timestamp: number;
  step: number;
  dataset_name?: string;
  dataset_digest?: string;
  model_id: string;
  run_id: string;
}

export interface LoggedModelInfo {
  model_id: string;
  experiment_id: string;
  name: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  artifact_uri: string;
  status: LoggedModelStatus;
  model_type?: string;
  source_run_id?: string;
  status_message?: string;
  tags: Tag[];
}

export interface LoggedModel {
  info: LoggedModelInfo;
  data: { params: Tag[]; metrics: LoggedModelMetric[] };
}
