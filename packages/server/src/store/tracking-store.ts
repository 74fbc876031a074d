import type {
  DatasetInput,
  EncodedRun,
  Experiment,
  Metric,
  MetricWithRunId,
  Param,
  Run,
  RunInfo,
  RunStatus,
  Tag,
  ViewType,
} from '../entities/tracking.js';
import type { FilterNode, OrderByClause } from '../search/filter-ast.js';

export interface CreateExperimentInput {
  name: string;
  /** When absent the store derives it from the server's artifact root and the new id. */
  artifactLocation?: string;
  tags: Tag[];
}

export interface CreateRunInput {
  experimentId: string;
  userId: string;
  startTime: number;
  runName: string;
  tags: Tag[];
}

export interface UpdateRunInput {
  status?: RunStatus;
  endTime?: number;
  runName?: string;
}

export interface SearchExperimentsQuery {
  viewType: ViewType;
  filter?: FilterNode;
  orderBy: OrderByClause[];
  maxResults: number;
  offset: number;
}

export interface SearchRunsQuery {
  experimentIds: string[];
  filter?: FilterNode;
  orderBy: OrderByClause[];
  viewType: ViewType;
  maxResults: number;
  offset: number;
}

export interface Page<T> {
  items: T[];
  /** Offset of the next page, absent on the last page. */
  nextOffset?: number;
}

export interface MetricHistoryQuery {
  runId: string;
  key: string;
  maxResults: number;
  offset: number;
}

/**
 * Persistence for experiments and runs. Implementations check existence and lifecycle state inside
 * the same transaction as the write they guard, and throw MlflowError for those failures; input
 * validation (names, lengths, limits) is the service layer's job and happens before a call.
 */
export interface TrackingStore {
  createExperiment(input: CreateExperimentInput): Promise<string>;
  getExperiment(id: string): Promise<Experiment | undefined>;
  getExperimentByName(name: string): Promise<Experiment | undefined>;
  searchExperiments(query: SearchExperimentsQuery): Promise<Page<Experiment>>;
  renameExperiment(id: string, newName: string): Promise<void>;
  deleteExperiment(id: string): Promise<void>;
  restoreExperiment(id: string): Promise<void>;
  setExperimentTag(id: string, tag: Tag): Promise<void>;
  deleteExperimentTag(id: string, key: string): Promise<void>;

  createRun(input: CreateRunInput): Promise<Run>;
  getRun(runId: string): Promise<Run | undefined>;
  updateRun(runId: string, update: UpdateRunInput): Promise<RunInfo>;
  deleteRun(runId: string): Promise<void>;
  restoreRun(runId: string): Promise<void>;
  logBatch(runId: string, metrics: Metric[], params: Param[], tags: Tag[]): Promise<void>;
  deleteTag(runId: string, key: string): Promise<void>;
  logInputs(runId: string, datasets: DatasetInput[]): Promise<void>;
  searchRuns(query: SearchRunsQuery): Promise<Page<EncodedRun>>;

  getMetricHistory(query: MetricHistoryQuery): Promise<Page<Metric>>;
  /** Every point of `key` for each run, ordered by run then step; used by the bulk endpoints. */
  getMetricHistoryForRuns(runIds: string[], key: string, maxResults: number): Promise<MetricWithRunId[]>;
  /** Sampled history for charts: at most `maxResults` points per run between the step bounds. */
  getSampledMetricHistory(
    runIds: string[],
    key: string,
    range: { startStep?: number; endStep?: number },
    maxResults: number,
  ): Promise<MetricWithRunId[]>;

  close(): Promise<void>;
}
