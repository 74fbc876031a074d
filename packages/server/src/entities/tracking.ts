// Tracking entities in the JSON shape of MLflow's protos (snake_case field names), so that the
// HTTP layer, the SDK and the store share one vocabulary.

import type { EncodedList } from './encoded-list.js';

export type LifecycleStage = 'active' | 'deleted';
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export const RUN_STATUSES: readonly RunStatus[] = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
export const VIEW_TYPES: readonly ViewType[] = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'];
/**
 * How get-history-bulk-interval thins a long history: STEPS is MLflow's rule (evenly spaced steps);
 * MIN_MAX, our extension, keeps each bucket's first, last, smallest and largest point.
 */
export type HistorySampling = 'STEPS' | 'MIN_MAX';
export const HISTORY_SAMPLINGS: readonly HistorySampling[] = ['STEPS', 'MIN_MAX'];

export interface Tag {
  key: string;
  value: string;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  creation_time: number;
  last_update_time: number;
  tags: Tag[];
}

export interface Metric {
  key: string;
  /** May be NaN or +/-Infinity; the HTTP layer writes those as MLflow does. */
  value: number;
  timestamp: number;
  step: number;
  /** MLflow 3: the logged model the metric also belongs to, and the dataset it was computed on. */
  model_id?: string;
  dataset_name?: string;
  dataset_digest?: string;
}

export interface MetricWithRunId extends Metric {
  run_id: string;
}

export type Param = Tag;
export type RunTag = Tag;

export interface RunInfo {
  run_id: string;
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
}

export interface Dataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInput {
  tags: Tag[];
  dataset: Dataset;
}

/** One dataset an experiment's runs used, in one context (MLflow's SearchDatasets). */
export interface DatasetSummary {
  experiment_id: string;
  name: string;
  digest: string;
  /** The input's mlflow.data.context tag (training, evaluation, ...), when it has one. */
  context?: string;
}

export interface RunData {
  metrics: Metric[];
  params: Param[];
  tags: RunTag[];
}

/** MLflow 3: a logged model a run used (LogInputs' models). */
export interface ModelInput {
  model_id: string;
}

/** MLflow 3: a logged model a run produced, at a step (LogOutputs). */
export interface ModelOutput {
  model_id: string;
  step: number;
}

export interface RunInputs {
  dataset_inputs: DatasetInput[];
  /** Present only when the run has some. */
  model_inputs?: ModelInput[];
}

export interface Run {
  info: RunInfo;
  data: RunData;
  inputs: RunInputs;
  /** Present only when the run produced logged models. */
  outputs?: { model_outputs: ModelOutput[] };
}

/** A run as search returns it: its lists come encoded by the store (see EncodedList). */
export interface EncodedRun {
  info: RunInfo;
  data: { metrics: EncodedList<Metric>; params: EncodedList<Param>; tags: EncodedList<RunTag> };
  inputs: RunInputs;
  outputs?: { model_outputs: ModelOutput[] };
}
