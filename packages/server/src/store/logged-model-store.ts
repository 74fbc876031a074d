import type { LoggedModel } from '../entities/logged-model.js';
import type { Tag } from '../entities/tracking.js';
import type { FilterNode } from '../search/filter-ast.js';

export interface CreateLoggedModelInput {
  experimentId: string;
  name: string;
  modelType?: string;
  sourceRunId?: string;
  params: Tag[];
  tags: Tag[];
}

/** One ordering of a logged-model search: an attribute column, or a metric's latest value. */
export type LoggedModelOrder =
  | { kind: 'attribute'; column: string; ascending: boolean }
  | { kind: 'metric'; key: string; ascending: boolean; datasetName?: string; datasetDigest?: string };

/** A dataset a search's metric clauses are restricted to (MLflow's SearchLoggedModels.Dataset). */
export interface DatasetFilter {
  name: string;
  digest?: string;
}

export interface SearchLoggedModelsQuery {
  experimentIds: string[];
  /** Checked by search/logged-model-rules.ts: keys are columns, values have the right types. */
  filter?: FilterNode;
  datasets: DatasetFilter[];
  orderBy: LoggedModelOrder[];
  maxResults: number;
  offset: number;
}

/**
 * Persistence of MLflow 3's logged models. As with TrackingStore, existence and state are checked in
 * the transaction of the write they guard; input validation is the service's job.
 */
export interface LoggedModelStore {
  createLoggedModel(input: CreateLoggedModelInput): Promise<LoggedModel>;
  /** A model that exists and is not deleted, or undefined. */
  getLoggedModel(modelId: string): Promise<LoggedModel | undefined>;
  /** Sets the status (a LoggedModelStatus number) and returns the model. */
  finalizeLoggedModel(modelId: string, status: number): Promise<LoggedModel>;
  deleteLoggedModel(modelId: string): Promise<void>;
  setLoggedModelTags(modelId: string, tags: Tag[]): Promise<void>;
  deleteLoggedModelTag(modelId: string, key: string): Promise<void>;
  /**
   * Sets tag `key` to `value` only while its value is still `expected` (null: the tag is absent) and
   * answers whether it did, so a service can derive a tag from its old value without losing a
   * concurrent change (from another request or another server process).
   */
  replaceLoggedModelTag(
    modelId: string,
    key: string,
    expected: string | null,
    value: string,
  ): Promise<boolean>;
  logLoggedModelParams(modelId: string, params: Tag[]): Promise<void>;
  /** Records that a run produced the models (MLflow's LogOutputs); the run must be active. */
  logOutputs(runId: string, models: { modelId: string; step: number }[]): Promise<void>;
  /** One page (and whether more follow) of live models of the experiments, in the requested order. */
  searchLoggedModels(query: SearchLoggedModelsQuery): Promise<{ items: LoggedModel[]; more: boolean }>;
}
