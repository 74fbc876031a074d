import { resolveLocalUri } from '../artifacts/artifact-uri.js';
import { readableIds } from '../entities/access.js';
import { MlflowError, ParamConflictError } from '../entities/errors.js';
import type {
  DatasetInput,
  DatasetSummary,
  EncodedRun,
  Experiment,
  HistorySampling,
  Metric,
  MetricSeries,
  MetricWithRunId,
  Run,
  RunInfo,
  RunStatus,
  Tag,
  ViewType,
} from '../entities/tracking.js';
import { checkExperimentSearch, checkRunSearch } from '../search/search-rules.js';
import type { Page, PageStart, TrackingStore } from '../store/tracking-store.js';
import { currentReadAccess } from './access-scope.js';
import { validateModelMetricFields } from './logged-model-service.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { randomRunName } from './run-names.js';
import {
  exceedsMaximumLength,
  invalidValue,
  LIMITS,
  validateBatchLimits,
  validateExperimentName,
  validateExperimentTag,
  validateMaxResults,
  validateMetric,
  validateParam,
  validateRunId,
  validateRunName,
  validateRunTag,
  validateUserId,
} from './validation.js';

const RUN_NAME_TAG = 'mlflow.runName';
/** MLflow stores infinities as the largest finite doubles and returns them that way. */
const MAX_DOUBLE = 1.7976931348623157e308;

export interface PagedResult<T> {
  items: T[];
  nextPageToken?: string;
}

function clampInfinity(metric: Metric): Metric {
  if (metric.value === Number.POSITIVE_INFINITY) return { ...metric, value: MAX_DOUBLE };
  if (metric.value === Number.NEGATIVE_INFINITY) return { ...metric, value: -MAX_DOUBLE };
  return metric;
}

function pageResult<T>(page: Page<T>): PagedResult<T> {
  return page.next === undefined
    ? { items: page.items }
    : { items: page.items, nextPageToken: encodePageToken(page.next) };
}

/** max_results is a protobuf int32. */
const INT32_MAX = 2 ** 31 - 1;

/** A metric history read a batch at a time, so that even a long one never sits in memory whole. */
export interface MetricHistoryStream {
  /**
   * The points in MLflow's order as JSON: each batch is Metric objects joined by commas; text, or
   * UTF-8 bytes that begin with the comma that joins them to the batches before (never the first).
   */
  batches: AsyncIterable<string | Uint8Array>;
  /** The token of the next page: known once `batches` has been read to the end. */
  nextPageToken(): string | undefined;
}

/**
 * The longest experiment artifact location: the store's artifact URI columns hold 1000 characters, and
 * a logged model's URI adds `/models/m-<32 hex>/artifacts` (52 characters) to it, a run's less.
 */
const MAX_ARTIFACT_LOCATION_LENGTH = 1000 - 52;

/** The tracking rules: validation, limits and defaults, in front of a TrackingStore. */
export class TrackingService {
  constructor(private readonly store: TrackingStore) {}

  // ---------------------------------------------------------------- experiments

  async createExperiment(name: string, artifactLocation: string | undefined, tags: Tag[]): Promise<string> {
    validateExperimentName(name);
    if (artifactLocation !== undefined && artifactLocation !== '') {
      // A fragment anywhere, or ;params before the query string, as MLflow rejects them.
      if (artifactLocation.includes('#') || artifactLocation.split('?')[0].includes(';')) {
        throw MlflowError.invalidParameter("'artifact_location' URL can't include fragments or params.");
      }
      if (artifactLocation.startsWith('runs:')) {
        throw MlflowError.invalidParameter(
          `Artifact location cannot be a runs:/ URI. Given: '${artifactLocation}'`,
        );
      }
    }
    for (const tag of tags) validateExperimentTag(tag);
    // The store keeps one value per key; two in one request would fail its unique key as a 500.
    const keys = tags.map((t) => t.key);
    const repeated = [...new Set(keys.filter((k, i) => keys.indexOf(k) !== i))];
    if (repeated.length > 0) {
      throw MlflowError.invalidParameter(
        `Duplicate tag keys have been submitted: [${repeated.map((k) => `'${k}'`).join(', ')}]. Please ensure the request contains only one value per tag key.`,
      );
    }
    // A relative local path would move with the working directory of whoever reads it later.
    const location = artifactLocation ? resolveLocalUri(artifactLocation, process.cwd()) : undefined;
    if (location !== undefined && [...location].length > MAX_ARTIFACT_LOCATION_LENGTH) {
      throw MlflowError.invalidParameter(
        `'artifact_location' is ${[...location].length} characters long (as stored); at most ${MAX_ARTIFACT_LOCATION_LENGTH} are taken, so that the artifact URIs of its runs and logged models fit the store's 1000.`,
      );
    }
    return this.store.createExperiment({ name, artifactLocation: location, tags });
  }

  async getExperiment(id: string): Promise<Experiment> {
    const experiment = await this.store.getExperiment(id);
    if (!experiment) throw MlflowError.notFound(`No Experiment with id=${id} exists`);
    return experiment;
  }

  async getExperimentByName(name: string): Promise<Experiment> {
    const experiment = await this.store.getExperimentByName(name);
    if (!experiment) throw MlflowError.notFound(`Could not find experiment with name '${name}'`);
    return experiment;
  }

  async searchExperiments(q: {
    filter?: string;
    orderBy: string[];
    viewType: ViewType;
    maxResults: number;
    pageToken?: string;
  }): Promise<PagedResult<Experiment>> {
    validateMaxResults(q.maxResults, LIMITS.searchMaxResults);
    const page = await this.store.searchExperiments({
      ...checkExperimentSearch(q.filter, q.orderBy),
      access: currentReadAccess()?.experiments,
      viewType: q.viewType,
      maxResults: q.maxResults,
      start: decodePageToken(q.pageToken),
    });
    return pageResult(page);
  }

  async renameExperiment(id: string, newName: string): Promise<void> {
    validateExperimentName(newName);
    return this.store.renameExperiment(id, newName);
  }

  async deleteExperiment(id: string): Promise<void> {
    return this.store.deleteExperiment(id);
  }

  async restoreExperiment(id: string): Promise<void> {
    return this.store.restoreExperiment(id);
  }

  async setExperimentTag(id: string, tag: Tag): Promise<void> {
    validateExperimentTag(tag);
    return this.store.setExperimentTag(id, tag);
  }

  async deleteExperimentTag(id: string, key: string): Promise<void> {
    return this.store.deleteExperimentTag(id, key);
  }

  // ---------------------------------------------------------------- runs

  async createRun(input: {
    experimentId?: string;
    userId?: string;
    runName?: string;
    startTime?: number;
    tags: Tag[];
  }): Promise<Run> {
    const tagName = input.tags.findLast((t) => t.key === RUN_NAME_TAG)?.value;
    if (input.runName && tagName !== undefined && tagName !== input.runName) {
      throw MlflowError.invalidParameter(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${input.runName}', mlflow.runName='${tagName}').`,
      );
    }
    const tags = input.tags.map((t) => validateRunTag(t));
    if (input.runName) validateRunName(input.runName);
    if (input.userId) validateUserId(input.userId);
    return this.store.createRun({
      experimentId: input.experimentId || '0',
      userId: input.userId ?? '',
      startTime: input.startTime ?? 0,
      runName: input.runName || tagName || randomRunName(),
      tags,
    });
  }

  async getRun(runId: string): Promise<Run> {
    const run = await this.store.getRun(runId);
    if (!run) throw MlflowError.notFound(`Run with id=${runId} not found`);
    return run;
  }

  async updateRun(
    runId: string,
    update: { status?: RunStatus; endTime?: number; runName?: string },
  ): Promise<RunInfo> {
    if (update.runName) validateRunName(update.runName);
    return this.store.updateRun(runId, update);
  }

  async deleteRun(runId: string): Promise<void> {
    return this.store.deleteRun(runId);
  }

  async restoreRun(runId: string): Promise<void> {
    return this.store.restoreRun(runId);
  }

  async logMetric(runId: string, metric: Metric): Promise<void> {
    validateMetric(metric);
    validateModelMetricFields(metric);
    return this.store.logBatch(runId, [clampInfinity(metric)], [], []);
  }

  async logParam(runId: string, param: Tag): Promise<void> {
    const valid = validateParam(param);
    try {
      await this.store.logBatch(runId, [], [valid], []);
    } catch (error) {
      throw error instanceof ParamConflictError ? error.singleParamMessage() : error;
    }
  }

  async setTag(runId: string, tag: Tag): Promise<void> {
    return this.store.logBatch(runId, [], [], [validateRunTag(tag)]);
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    return this.store.deleteTag(runId, key);
  }

  /** Validates the whole batch before anything is written, so a bad batch writes nothing. */
  async logBatch(runId: string, metrics: Metric[], params: Tag[], tags: Tag[]): Promise<void> {
    validateRunId(runId);
    for (const [i, m] of metrics.entries()) {
      validateMetric(m, `metrics[${i}]`);
      validateModelMetricFields(m, `metrics[${i}]`);
    }
    const validParams = params.map((p, i) => validateParam(p, `params[${i}]`));
    const validTags = tags.map((t, i) => validateRunTag(t, `tags[${i}]`));
    validateBatchLimits(metrics.length, params.length, tags.length);
    const seen = new Map<string, string>();
    const duplicates = new Set<string>();
    for (const p of validParams) {
      const previous = seen.get(p.key);
      if (previous !== undefined && previous !== p.value) duplicates.add(p.key);
      seen.set(p.key, p.value);
    }
    if (duplicates.size > 0) {
      throw MlflowError.invalidParameter(
        `Duplicate parameter keys have been submitted: [${[...duplicates].map((k) => `'${k}'`).join(', ')}]. Please ensure the request contains only one param value per param key.`,
      );
    }
    return this.store.logBatch(runId, metrics.map(clampInfinity), validParams, validTags);
  }

  async logInputs(runId: string, datasets: DatasetInput[], modelIds: string[] = []): Promise<void> {
    validateRunId(runId);
    const seen = new Set<string>();
    const unique: DatasetInput[] = [];
    for (const input of datasets) {
      const d = input.dataset;
      const checks: [string, string | undefined, number][] = [
        ['name', d.name, LIMITS.datasetNameLength],
        ['digest', d.digest, LIMITS.datasetDigestLength],
        ['source', d.source, LIMITS.datasetSourceLength],
        ['schema', d.schema, LIMITS.datasetSchemaLength],
        ['profile', d.profile, LIMITS.datasetProfileLength],
      ];
      for (const [field, value, limit] of checks) {
        if (value !== undefined && value.length > limit)
          throw exceedsMaximumLength(`dataset.${field}`, limit);
      }
      for (const tag of input.tags) {
        if (tag.key.length > LIMITS.inputTagKeyLength)
          throw exceedsMaximumLength('key', LIMITS.inputTagKeyLength);
        if (tag.value.length > LIMITS.inputTagValueLength)
          throw exceedsMaximumLength('value', LIMITS.inputTagValueLength);
      }
      // Within one request the first occurrence of a dataset wins, as in MLflow.
      const identity = `${d.name}\u0000${d.digest}`;
      if (!seen.has(identity)) {
        seen.add(identity);
        unique.push(input);
      }
    }
    modelIds.forEach((id, i) => {
      if (id.length > 36) throw exceedsMaximumLength(`models[${i}].model_id`, 36);
    });
    return this.store.logInputs(runId, unique, modelIds);
  }

  async searchRuns(q: {
    experimentIds: string[];
    filter?: string;
    orderBy: string[];
    viewType: ViewType;
    maxResults: number;
    pageToken?: string;
  }): Promise<PagedResult<EncodedRun>> {
    // MLflow's request schema caps runs max_results with its generic message; experiments get the
    // store's wording (validateMaxResults).
    if (q.maxResults > LIMITS.searchMaxResults) {
      throw invalidValue(
        'max_results',
        q.maxResults,
        " Hint: Value was of type 'int'. See the API docs for more information about request parameters.",
      );
    }
    validateMaxResults(q.maxResults, LIMITS.searchMaxResults);
    const checked = checkRunSearch(q.filter, q.orderBy);
    const start = decodePageToken(q.pageToken);
    // The caller sees the runs of the experiments it may read; the same narrowing on every page keeps
    // page tokens valid.
    const experimentIds = readableIds(q.experimentIds, currentReadAccess()?.experiments);
    if (experimentIds.length === 0 && q.experimentIds.length > 0) return { items: [] };
    const page = await this.store.searchRuns({
      experimentIds,
      ...checked,
      viewType: q.viewType,
      maxResults: q.maxResults,
      start,
    });
    return pageResult(page);
  }

  /** MLflow's SearchDatasets: what datasets the runs of 1 to 20 experiments used, and in which context. */
  async searchDatasets(experimentIds: string[]): Promise<DatasetSummary[]> {
    if (experimentIds.length === 0) {
      throw MlflowError.invalidParameter('SearchDatasets request must specify at least one experiment_id.');
    }
    if (experimentIds.length > LIMITS.searchDatasetsExperimentIds) {
      throw MlflowError.invalidParameter(
        `SearchDatasets request cannot specify more than ${LIMITS.searchDatasetsExperimentIds} experiment_ids. Received ${experimentIds.length} experiment_ids.`,
      );
    }
    return this.store.searchDatasets(experimentIds);
  }

  // ---------------------------------------------------------------- metric history

  /**
   * A metric's history. Without max_results it is the whole history in one response, as MLflow's
   * API documents; with it, pages of at most max_results points and a next_page_token. MLflow sets no
   * upper limit on max_results and neither do we: the points are streamed either way. The first
   * batch is read before this returns, so a bad token or store error is reported as usual.
   */
  async streamMetricHistory(q: {
    runId: string;
    key: string;
    maxResults?: number;
    pageToken?: string;
  }): Promise<MetricHistoryStream> {
    if (q.maxResults !== undefined) validateMaxResults(q.maxResults, INT32_MAX);
    let remaining = q.maxResults ?? Number.POSITIVE_INFINITY;
    const read = (start: PageStart | undefined) =>
      this.store.getMetricHistoryJson({
        runId: q.runId,
        key: q.key,
        maxResults: Math.min(this.store.historyBatchSize, remaining),
        start,
      });
    let page = await read(decodePageToken(q.pageToken));
    // More points wanted than the first batch held: the store may have a faster way to read them.
    const wanted = q.maxResults === undefined ? undefined : q.maxResults - page.count;
    const rest =
      page.next && (wanted === undefined || wanted > 0)
        ? await this.store.streamMetricHistoryAfter?.(q.runId, q.key, page.next, wanted)
        : undefined;
    let token: string | undefined;
    async function* batches(): AsyncGenerator<string | Uint8Array> {
      if (rest) {
        yield page.json;
        yield* rest.batches;
        const next = rest.next();
        if (next) token = encodePageToken(next);
        return;
      }
      for (;;) {
        remaining -= page.count;
        // Ask for the next batch before handing this one over, so the database prepares it while
        // this one is sent. The catch only keeps an abandoned read (client gone) from being an
        // unhandled rejection; awaiting it below still throws.
        const next = page.next && remaining > 0 ? read({ after: page.next }) : undefined;
        next?.catch(() => {});
        if (page.count > 0) yield page.json;
        if (!page.next) return;
        if (!next) {
          token = encodePageToken(page.next);
          return;
        }
        page = await next;
      }
    }
    return { batches: batches(), nextPageToken: () => token };
  }

  /** A page of a metric's history as objects (the whole history without max_results). */
  async getMetricHistory(q: {
    runId: string;
    key: string;
    maxResults?: number;
    pageToken?: string;
  }): Promise<PagedResult<Metric>> {
    if (q.maxResults !== undefined) validateMaxResults(q.maxResults, INT32_MAX);
    let remaining = q.maxResults ?? Number.POSITIVE_INFINITY;
    let start = decodePageToken(q.pageToken);
    const items: Metric[] = [];
    for (;;) {
      const page = await this.store.getMetricHistory({
        runId: q.runId,
        key: q.key,
        maxResults: Math.min(this.store.historyBatchSize, remaining),
        start,
      });
      for (const m of page.items) items.push(m);
      remaining -= page.items.length;
      if (!page.next) return { items };
      if (remaining <= 0) return { items, nextPageToken: encodePageToken(page.next) };
      start = { after: page.next };
    }
  }

  async getMetricHistoryBulk(
    runIds: string[],
    key: string | undefined,
    maxResults: number | undefined,
  ): Promise<MetricWithRunId[]> {
    if (runIds.length === 0) {
      throw MlflowError.invalidParameter('GetMetricHistoryBulk request must specify at least one run_id.');
    }
    if (runIds.length > LIMITS.bulkRunIds) {
      throw MlflowError.invalidParameter(
        `GetMetricHistoryBulk request cannot specify more than ${LIMITS.bulkRunIds} run_ids. Received ${runIds.length} run_ids.`,
      );
    }
    if (!key) throw MlflowError.invalidParameter('GetMetricHistoryBulk request must specify a metric_key.');
    const limit = Math.min(maxResults ?? LIMITS.metricHistoryPage, LIMITS.metricHistoryPage);
    if (limit <= 0) validateMaxResults(limit, LIMITS.metricHistoryPage);
    return this.store.getMetricHistoryForRuns(runIds, key, limit);
  }

  async getMetricHistoryBulkInterval(q: {
    runIds: string[];
    key: string;
    startStep?: number;
    endStep?: number;
    maxResults?: number;
    /** STEPS (MLflow's, the default) or MIN_MAX (our extension: each bucket's extremes are kept). */
    sampling?: HistorySampling;
  }): Promise<MetricWithRunId[]> {
    const suffix = ' See the API docs for more information about request parameters.';
    if (q.runIds.length > LIMITS.bulkRunIds) {
      throw MlflowError.invalidParameter(
        `GetMetricHistoryBulkInterval request must specify at most ${LIMITS.bulkRunIds} run_ids. Received ${q.runIds.length} run_ids.${suffix}`,
      );
    }
    const maxResults = q.maxResults ?? LIMITS.bulkIntervalMaxResults;
    if (maxResults < 1 || maxResults > LIMITS.bulkIntervalMaxResults) {
      throw MlflowError.invalidParameter(
        `max_results must be between 1 and ${LIMITS.bulkIntervalMaxResults}.${suffix}`,
      );
    }
    // MIN_MAX keeps up to four points per bucket, so it needs room for one bucket at least.
    if (q.sampling === 'MIN_MAX' && maxResults < 4) {
      throw MlflowError.invalidParameter(
        `max_results must be between 4 and ${LIMITS.bulkIntervalMaxResults} when sampling is MIN_MAX.${suffix}`,
      );
    }
    if ((q.startStep === undefined) !== (q.endStep === undefined)) {
      throw MlflowError.invalidParameter(
        'If either start step or end step are specified, both must be specified.',
      );
    }
    if (q.startStep !== undefined && q.endStep !== undefined && q.startStep > q.endStep) {
      throw MlflowError.invalidParameter(
        `end_step must be greater than start_step. Found start_step=${q.startStep} and end_step=${q.endStep}.`,
      );
    }
    const range = { startStep: q.startStep, endStep: q.endStep };
    return q.sampling === 'MIN_MAX'
      ? this.store.getExtremesSampledMetricHistory(q.runIds, q.key, range, maxResults)
      : this.store.getSampledMetricHistory(q.runIds, q.key, range, maxResults);
  }

  /**
   * Our extension for chart grids: the sampled histories of several metrics of the same runs in one
   * request, each run's answered as parallel step and value lists (a point object repeating the run id
   * and key is most of a bulk-interval answer's bytes). Each key is checked and sampled exactly as
   * get-history-bulk-interval would.
   */
  async getMetricHistoriesBulkInterval(q: {
    runIds: string[];
    keys: string[];
    maxResults?: number;
    sampling?: HistorySampling;
  }): Promise<MetricSeries[]> {
    if (q.keys.length === 0)
      throw MlflowError.invalidParameter("Missing value for required parameter 'metric_keys'.");
    if (q.keys.length > LIMITS.bulkIntervalMetricKeys) {
      throw MlflowError.invalidParameter(
        `At most ${LIMITS.bulkIntervalMetricKeys} metric_keys may be asked for at once. Received ${q.keys.length} metric_keys.`,
      );
    }
    const out: MetricSeries[] = [];
    for (const key of new Set(q.keys)) {
      const points = await this.getMetricHistoryBulkInterval({ ...q, key });
      let current: MetricSeries | undefined;
      for (const m of points) {
        if (current?.run_id !== m.run_id) {
          current = { metric_key: key, run_id: m.run_id, steps: [], values: [] };
          out.push(current);
        }
        current.steps.push(m.step);
        current.values.push(m.value);
      }
    }
    return out;
  }
}
