// Tracking entities: the wire types shared with the SDK and the UI (@mlflow-ts/client/wire), the lists
// of their enum values the server validates against, and the shapes only the server has.

import type {
  HistorySampling,
  Metric,
  ModelOutput,
  Param,
  RunInfo,
  RunInputs,
  RunStatus,
  RunTag,
  ViewType,
  Experiment as WireExperiment,
} from '@mlflow-ts/client/wire';
import type { EncodedList } from './encoded-list.js';

export type { HistorySampling, LifecycleStage, RunStatus, ViewType } from '@mlflow-ts/client/wire';
export const RUN_STATUSES: readonly RunStatus[] = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];
export const VIEW_TYPES: readonly ViewType[] = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'];
export const HISTORY_SAMPLINGS: readonly HistorySampling[] = ['STEPS', 'MIN_MAX'];

/** One run's sampled history of one metric as parallel lists (our get-histories-bulk-interval). */
export interface MetricSeries {
  metric_key: string;
  run_id: string;
  steps: number[];
  values: number[];
}

export type {
  Dataset,
  DatasetInput,
  DatasetSummary,
  Metric,
  MetricWithRunId,
  ModelInput,
  ModelOutput,
  Param,
  Run,
  RunData,
  RunInfo,
  RunInputs,
  RunTag,
  Tag,
} from '@mlflow-ts/client/wire';

/** An experiment as the store keeps it: unlike MLflow's proto, both times are always known. */
export interface Experiment extends WireExperiment {
  creation_time: number;
  last_update_time: number;
}

/** A run as search returns it: its lists come encoded by the store (see EncodedList). */
export interface EncodedRun {
  info: RunInfo;
  data: { metrics: EncodedList<Metric>; params: EncodedList<Param>; tags: EncodedList<RunTag> };
  inputs: RunInputs;
  outputs?: { model_outputs: ModelOutput[] };
}
