// The tracking store the services see: one facade over the tracking repositories (experiments, runs,
// run data, inputs, metric history, gc, logged models, the artifact quota's reservations), shared by
// the SQLite and PostgreSQL dialects.
// Which methods write is declared by the repositories themselves (repository.ts), not here.
import type { LoggedModel } from '../entities/logged-model.js';
import type { ResourceLimits } from '../entities/resource-limits.js';
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
  Tag,
} from '../entities/tracking.js';
import type { ArtifactLocations } from './artifact-locations.js';
import {
  type ArtifactReservationLedger,
  ArtifactReservationReads,
  ArtifactReservationWrites,
  type Reservation,
  type ReservationRequest,
} from './artifact-reservation-repository.js';
import type { StoreDatabase } from './database.js';
import { ExperimentReads, ExperimentWrites } from './experiment-repository.js';
import { GcReads, GcWrites } from './gc-repository.js';
import { InputReads, InputWrites } from './input-repository.js';
import { LoggedModelReads, LoggedModelWrites } from './logged-model-repository.js';
import type {
  CreateLoggedModelInput,
  LoggedModelStore,
  SearchLoggedModelsQuery,
} from './logged-model-store.js';
import { MetricHistoryReads } from './metric-history-repository.js';
import { type Repository, readView, writeView } from './repository.js';
import { RunDataWrites } from './run-data-repository.js';
import { RunReads, RunWrites } from './run-repository.js';
import { SampledHistoryReads } from './sampled-history-repository.js';
import type {
  CreateExperimentInput,
  CreateRunInput,
  MetricHistoryQuery,
  MetricHistoryRest,
  Page,
  SearchExperimentsQuery,
  SearchRunsQuery,
  TrackingStore,
  UpdateRunInput,
} from './tracking-store.js';

export { sampleSteps } from './sampled-history-repository.js';

/** Nothing to write: a repository that only reads (its data is written by another's writes). */
const NO_WRITES = {};

/** The tracking store's repositories; a new one is a line here and in trackingRepositories. */
export type TrackingRepositories = {
  experiments: Repository<ExperimentReads, ExperimentWrites>;
  runs: Repository<RunReads, RunWrites>;
  runData: Repository<object, RunDataWrites>;
  inputs: Repository<InputReads, InputWrites>;
  history: Repository<MetricHistoryReads>;
  sampledHistory: Repository<SampledHistoryReads>;
  gc: Repository<GcReads, GcWrites>;
  loggedModels: Repository<LoggedModelReads, LoggedModelWrites>;
  artifactReservations: Repository<ArtifactReservationReads, ArtifactReservationWrites>;
};

/** The tracking repositories over `database`: reads over its reader, writes over its writer. */
export function trackingRepositories(
  database: StoreDatabase,
  locations: ArtifactLocations,
  limits: ResourceLimits = {},
): TrackingRepositories {
  const read = readView(database);
  const write = writeView(database);
  return {
    experiments: {
      reads: new ExperimentReads(read, locations),
      writes: new ExperimentWrites(write, locations, limits),
    },
    runs: { reads: new RunReads(read), writes: new RunWrites(write, locations, limits) },
    runData: { reads: {}, writes: new RunDataWrites(write, limits) },
    inputs: { reads: new InputReads(read), writes: new InputWrites(write) },
    history: { reads: new MetricHistoryReads(read), writes: NO_WRITES },
    sampledHistory: { reads: new SampledHistoryReads(read), writes: NO_WRITES },
    gc: { reads: new GcReads(read), writes: new GcWrites(write) },
    loggedModels: { reads: new LoggedModelReads(read), writes: new LoggedModelWrites(write, locations) },
    artifactReservations: {
      reads: new ArtifactReservationReads(read),
      writes: new ArtifactReservationWrites(write),
    },
  };
}

/**
 * TrackingStore and LoggedModelStore (and gc's queries) as one object, each method handed to the
 * repository that owns it. `repositories` are by default over `database`; the SQLite writer-thread
 * set-up passes them with their writes sent to the thread (threaded-sqlite-store.ts).
 */
export class SqlTrackingStore implements TrackingStore, LoggedModelStore, ArtifactReservationLedger {
  private readonly experiments: TrackingRepositories['experiments'];
  private readonly runs: TrackingRepositories['runs'];
  private readonly runData: RunDataWrites;
  private readonly inputs: TrackingRepositories['inputs'];
  private readonly history: MetricHistoryReads;
  private readonly sampled: SampledHistoryReads;
  private readonly gc: TrackingRepositories['gc'];
  private readonly models: TrackingRepositories['loggedModels'];
  private readonly reservations: TrackingRepositories['artifactReservations'];
  readonly historyBatchSize: number;
  /**
   * Unused here: test/logged-models-gc.test.ts reads the tables through this field of the store it
   * opened. Kept so that test runs unchanged; it should open its own connection instead.
   */
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by a test, see above.
  private readonly db: StoreDatabase['reader'];

  constructor(
    private readonly database: StoreDatabase,
    locations: ArtifactLocations,
    repositories: TrackingRepositories = trackingRepositories(database, locations),
  ) {
    this.experiments = repositories.experiments;
    this.runs = repositories.runs;
    this.runData = repositories.runData.writes;
    this.inputs = repositories.inputs;
    this.history = repositories.history.reads;
    this.sampled = repositories.sampledHistory.reads;
    this.gc = repositories.gc;
    this.models = repositories.loggedModels;
    this.reservations = repositories.artifactReservations;
    this.historyBatchSize = this.history.historyBatchSize;
    this.db = database.reader;
  }

  // ---------------------------------------------------------------- the artifact quota's reservations

  landedArtifactBytes(runId: string): Promise<number> {
    return this.reservations.reads.landedArtifactBytes(runId);
  }
  reserveArtifactBytes(request: ReservationRequest): Promise<Reservation | undefined> {
    return this.reservations.writes.reserveArtifactBytes(request);
  }
  renewArtifactReservation(reservationId: string, expiresAt: number): Promise<void> {
    return this.reservations.writes.renewArtifactReservation(reservationId, expiresAt);
  }
  releaseArtifactReservation(
    runId: string,
    reservationId: string,
    landed: number | undefined,
  ): Promise<void> {
    return this.reservations.writes.releaseArtifactReservation(runId, reservationId, landed);
  }

  /** Gives the Default experiment its artifact location once the server's artifact root is known. */
  init(): Promise<void> {
    return this.experiments.writes.init();
  }

  close(): Promise<void> {
    return this.database.close();
  }

  // ---------------------------------------------------------------- experiments

  createExperiment(input: CreateExperimentInput): Promise<string> {
    return this.experiments.writes.createExperiment(input);
  }
  getExperiment(id: string): Promise<Experiment | undefined> {
    return this.experiments.reads.getExperiment(id);
  }
  getExperimentByName(name: string): Promise<Experiment | undefined> {
    return this.experiments.reads.getExperimentByName(name);
  }
  searchExperiments(query: SearchExperimentsQuery): Promise<Page<Experiment>> {
    return this.experiments.reads.searchExperiments(query);
  }
  renameExperiment(id: string, newName: string): Promise<void> {
    return this.experiments.writes.renameExperiment(id, newName);
  }
  deleteExperiment(id: string): Promise<void> {
    return this.experiments.writes.deleteExperiment(id);
  }
  restoreExperiment(id: string): Promise<void> {
    return this.experiments.writes.restoreExperiment(id);
  }
  setExperimentTag(id: string, tag: Tag): Promise<void> {
    return this.experiments.writes.setExperimentTag(id, tag);
  }
  deleteExperimentTag(id: string, key: string): Promise<void> {
    return this.experiments.writes.deleteExperimentTag(id, key);
  }

  // ---------------------------------------------------------------- runs, their data and inputs

  createRun(input: CreateRunInput): Promise<Run> {
    return this.runs.writes.createRun(input);
  }
  getRun(runId: string): Promise<Run | undefined> {
    return this.runs.reads.getRun(runId);
  }
  updateRun(runId: string, update: UpdateRunInput): Promise<RunInfo> {
    return this.runs.writes.updateRun(runId, update);
  }
  deleteRun(runId: string): Promise<void> {
    return this.runs.writes.deleteRun(runId);
  }
  restoreRun(runId: string): Promise<void> {
    return this.runs.writes.restoreRun(runId);
  }
  searchRuns(query: SearchRunsQuery): Promise<Page<EncodedRun>> {
    return this.runs.reads.searchRuns(query);
  }
  logBatch(runId: string, metrics: Metric[], params: Param[], tags: Tag[]): Promise<void> {
    return this.runData.logBatch(runId, metrics, params, tags);
  }
  deleteTag(runId: string, key: string): Promise<void> {
    return this.runData.deleteTag(runId, key);
  }
  logInputs(runId: string, datasets: DatasetInput[], modelIds?: string[]): Promise<void> {
    return this.inputs.writes.logInputs(runId, datasets, modelIds);
  }

  searchDatasets(experimentIds: string[]): Promise<DatasetSummary[]> {
    return this.inputs.reads.searchDatasets(experimentIds);
  }

  // ---------------------------------------------------------------- metric history

  getMetricHistory(query: MetricHistoryQuery): Promise<Page<Metric>> {
    return this.history.getMetricHistory(query);
  }
  getMetricHistoryJson(query: MetricHistoryQuery): Promise<{ json: string; count: number; next?: object }> {
    return this.history.getMetricHistoryJson(query);
  }
  streamMetricHistoryAfter(
    runId: string,
    key: string,
    next: object,
    limit?: number,
  ): Promise<MetricHistoryRest | undefined> {
    return this.history.streamMetricHistoryAfter(runId, key, next, limit);
  }
  getMetricHistoryForRuns(runIds: string[], key: string, maxResults: number): Promise<MetricWithRunId[]> {
    return this.sampled.getMetricHistoryForRuns(runIds, key, maxResults);
  }
  getSampledMetricHistory(
    runIds: string[],
    key: string,
    range: { startStep?: number; endStep?: number },
    maxResults: number,
  ): Promise<MetricWithRunId[]> {
    return this.sampled.getSampledMetricHistory(runIds, key, range, maxResults);
  }
  getExtremesSampledMetricHistory(
    runIds: string[],
    key: string,
    range: { startStep?: number; endStep?: number },
    maxResults: number,
  ): Promise<MetricWithRunId[]> {
    return this.sampled.getExtremesSampledMetricHistory(runIds, key, range, maxResults);
  }

  // ---------------------------------------------------------------- permanent deletion (gc)

  deletedRunIds(olderThanMs?: number): Promise<string[]> {
    return this.gc.reads.deletedRunIds(olderThanMs);
  }
  deletedExperimentIds(lastUpdatedBefore?: number): Promise<string[]> {
    return this.gc.reads.deletedExperimentIds(lastUpdatedBefore);
  }
  deletedRunIdsOfExperiment(experimentId: string): Promise<string[]> {
    return this.gc.reads.deletedRunIdsOfExperiment(experimentId);
  }
  hardDeleteRun(runId: string): Promise<void> {
    return this.gc.writes.hardDeleteRun(runId);
  }
  hardDeleteExperiment(id: string): Promise<void> {
    return this.gc.writes.hardDeleteExperiment(id);
  }

  // ---------------------------------------------------------------- logged models (MLflow 3)

  createLoggedModel(input: CreateLoggedModelInput): Promise<LoggedModel> {
    return this.models.writes.createLoggedModel(input);
  }
  getLoggedModel(modelId: string): Promise<LoggedModel | undefined> {
    return this.models.reads.getLoggedModel(modelId);
  }
  finalizeLoggedModel(modelId: string, status: number): Promise<LoggedModel> {
    return this.models.writes.finalizeLoggedModel(modelId, status);
  }
  deleteLoggedModel(modelId: string): Promise<void> {
    return this.models.writes.deleteLoggedModel(modelId);
  }
  setLoggedModelTags(modelId: string, tags: Tag[]): Promise<void> {
    return this.models.writes.setLoggedModelTags(modelId, tags);
  }
  deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    return this.models.writes.deleteLoggedModelTag(modelId, key);
  }
  replaceLoggedModelTag(
    modelId: string,
    key: string,
    expected: string | null,
    value: string,
  ): Promise<boolean> {
    return this.models.writes.replaceLoggedModelTag(modelId, key, expected, value);
  }
  logLoggedModelParams(modelId: string, params: Tag[]): Promise<void> {
    return this.models.writes.logLoggedModelParams(modelId, params);
  }
  logOutputs(runId: string, models: { modelId: string; step: number }[]): Promise<void> {
    return this.models.writes.logOutputs(runId, models);
  }
  searchLoggedModels(query: SearchLoggedModelsQuery): Promise<{ items: LoggedModel[]; more: boolean }> {
    return this.models.reads.searchLoggedModels(query);
  }
}
