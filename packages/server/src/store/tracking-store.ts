import type { IdFilter } from '../entities/access.js';
import type {
  DatasetInput,
  DatasetSummary,
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

/**
 * Where a page starts when it is not the first: after skipping `offset` items (MLflow's own page
 * tokens), or right after a position this store returned as `Page.next` (keyset paging).
 */
export type PageStart = { offset: number } | { after: unknown };

export interface SearchExperimentsQuery {
  viewType: ViewType;
  /** Only experiments the caller may read (access control); absent: all. */
  access?: IdFilter;
  filter?: FilterNode;
  orderBy: OrderByClause[];
  maxResults: number;
  start?: PageStart;
}

export interface SearchRunsQuery {
  experimentIds: string[];
  filter?: FilterNode;
  orderBy: OrderByClause[];
  viewType: ViewType;
  maxResults: number;
  start?: PageStart;
}

export interface Page<T> {
  items: T[];
  /**
   * Absent on the last page. Otherwise the position of the last item, a JSON object the caller
   * hands back as `{ after: next }` for the following page; page tokens carry it.
   */
  next?: object;
}

/** The rest of a metric history (TrackingStore.streamMetricHistoryAfter). */
export interface MetricHistoryRest {
  /** UTF-8 JSON batches like getMetricHistoryJson's, each beginning with a comma (they follow a page's points). */
  batches: AsyncIterable<Uint8Array>;
  /** Once the batches are read: where the next page starts when `limit` points were read and more follow. */
  next(): object | undefined;
}

export interface MetricHistoryQuery {
  runId: string;
  key: string;
  /** At most this many points; fewer only at the end of the history. */
  maxResults: number;
  start?: PageStart;
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
  /** Dataset inputs and (MLflow 3) the ids of logged models the run used. */
  logInputs(runId: string, datasets: DatasetInput[], modelIds?: string[]): Promise<void>;
  searchRuns(query: SearchRunsQuery): Promise<Page<EncodedRun>>;
  /** The datasets the experiments' runs used, at most 1000 (MLflow's SearchDatasets). */
  searchDatasets(experimentIds: string[]): Promise<DatasetSummary[]>;

  /**
   * Points of one metric of a run in MLflow's order: timestamp, then step, then value. Callers read
   * a long history in pages; each page is an index range scan that starts after the previous one.
   */
  getMetricHistory(query: MetricHistoryQuery): Promise<Page<Metric>>;
  /** How many points to read per query when going through a long history. */
  readonly historyBatchSize: number;
  /** The same page as getMetricHistory, as MLflow's JSON: the page's Metric objects joined by commas. */
  getMetricHistoryJson(query: MetricHistoryQuery): Promise<{ json: string; count: number; next?: object }>;
  /**
   * Optional: the rest of a history after a page's `next` (all of it, or the next `limit` points),
   * read faster than batch by batch; undefined when the store would not read it faster (too few
   * points wanted or left, or no way to read in parallel).
   */
  streamMetricHistoryAfter?(
    runId: string,
    key: string,
    next: object,
    limit?: number,
  ): Promise<MetricHistoryRest | undefined>;
  /** Every point of `key` for each run, ordered by run then step; used by the bulk endpoints. */
  getMetricHistoryForRuns(runIds: string[], key: string, maxResults: number): Promise<MetricWithRunId[]>;
  /** Sampled history for charts: at most `maxResults` points per run between the step bounds. */
  getSampledMetricHistory(
    runIds: string[],
    key: string,
    range: { startStep?: number; endStep?: number },
    maxResults: number,
  ): Promise<MetricWithRunId[]>;
  /**
   * Spike-preserving sampled history (an extension of MLflow's API): the step range (by default the
   * runs' whole history) is cut into floor(maxResults / 4) buckets of equal width, and each run keeps
   * the points at each bucket's first and last step and at the steps of its smallest and largest
   * value. A range of at most maxResults steps is returned whole.
   */
  getExtremesSampledMetricHistory(
    runIds: string[],
    key: string,
    range: { startStep?: number; endStep?: number },
    maxResults: number,
  ): Promise<MetricWithRunId[]>;

  close(): Promise<void>;
}
