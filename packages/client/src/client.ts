import { type ArtifactData, RunArtifacts } from './artifacts.js';
import { chunkBatch } from './batch-limits.js';
import { type ClientOptions, resolveConfig } from './config.js';
import {
  type Dataset,
  type DatasetInput,
  type Experiment,
  type FileInfo,
  type Metric,
  type MetricWithRunId,
  normalizeExperiment,
  normalizeMetric,
  normalizeRun,
  type Page,
  type Param,
  type Run,
  type RunInfo,
  type RunStatus,
  type RunTag,
  type Tag,
  type ViewType,
} from './entities.js';
import { MlflowError } from './errors.js';
import { RestTransport } from './rest.js';
import { TraceMethods } from './traces.js';

export interface SearchExperimentsOptions {
  filter?: string;
  orderBy?: string[];
  viewType?: ViewType;
  maxResults?: number;
  pageToken?: string;
}

export interface SearchRunsOptions {
  filter?: string;
  orderBy?: string[];
  viewType?: ViewType;
  /** One page's size (MLflow's default 1000; the server caps it at 50000). */
  maxResults?: number;
  pageToken?: string;
}

export interface CreateRunOptions {
  runName?: string;
  startTime?: number;
  tags?: Record<string, string> | Tag[];
  userId?: string;
}

export interface LogMetricOptions {
  step?: number;
  /** Milliseconds since the epoch; now when omitted. */
  timestamp?: number;
  /** MLflow 3: also record the value against this logged model (see getLoggedModel's metrics). */
  modelId?: string;
  /** MLflow 3: the dataset the value was computed on; searchLoggedModels can filter by it. */
  datasetName?: string;
  datasetDigest?: string;
}

function tagList(tags: Record<string, string> | Tag[] | undefined): Tag[] {
  if (!tags) return [];
  return Array.isArray(tags)
    ? tags
    : Object.entries(tags).map(([key, value]) => ({ key, value: String(value) }));
}

/**
 * A typed client for every endpoint of an MLflow tracking server (the lower-level API, like Python's
 * `mlflow.MlflowClient`). Methods throw MlflowError carrying the server's error code and HTTP status.
 */
export class MlflowClient extends TraceMethods {
  readonly transport: RestTransport;

  /** Options default to MLflow's environment variables (MLFLOW_TRACKING_URI and friends). */
  constructor(options: ClientOptions | string = {}) {
    super();
    this.transport = new RestTransport(
      resolveConfig(typeof options === 'string' ? { trackingUri: options } : options),
    );
  }

  /** The server's URL, or the local store URI served in-process. */
  get trackingUri(): string {
    return this.transport.config.trackingUri;
  }

  // --- experiments ---

  /** Creates an experiment and returns its id. */
  async createExperiment(
    name: string,
    options: { artifactLocation?: string; tags?: Record<string, string> | Tag[] } = {},
  ): Promise<string> {
    const r = await this.transport.call<{ experiment_id: string }>('POST', 'experiments/create', {
      name,
      artifact_location: options.artifactLocation,
      tags: tagList(options.tags),
    });
    return r.experiment_id;
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const r = await this.transport.call<{ experiment: Experiment }>('GET', 'experiments/get', {
      experiment_id: experimentId,
    });
    return normalizeExperiment(r.experiment);
  }

  /** The experiment called `name`, or undefined when there is none (as Python's client returns None). */
  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      const r = await this.transport.call<{ experiment: Experiment }>('GET', 'experiments/get-by-name', {
        experiment_name: name,
      });
      return normalizeExperiment(r.experiment);
    } catch (error) {
      if (error instanceof MlflowError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }

  /** One page of experiments matching MLflow's search syntax. */
  async searchExperiments(options: SearchExperimentsOptions = {}): Promise<Page<Experiment>> {
    const r = await this.transport.call<{ experiments?: Experiment[]; next_page_token?: string }>(
      'POST',
      'experiments/search',
      {
        filter: options.filter,
        order_by: options.orderBy,
        view_type: options.viewType,
        max_results: options.maxResults ?? 1000,
        page_token: options.pageToken,
      },
    );
    return {
      items: (r.experiments ?? []).map(normalizeExperiment),
      nextPageToken: r.next_page_token || undefined,
    };
  }

  /** Every matching experiment, following page tokens. */
  async searchAllExperiments(
    options: Omit<SearchExperimentsOptions, 'pageToken'> = {},
  ): Promise<Experiment[]> {
    const all: Experiment[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.searchExperiments({ ...options, pageToken });
      all.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }

  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    await this.transport.call('POST', 'experiments/update', {
      experiment_id: experimentId,
      new_name: newName,
    });
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    await this.transport.call('POST', 'experiments/delete', { experiment_id: experimentId });
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.transport.call('POST', 'experiments/restore', { experiment_id: experimentId });
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.transport.call('POST', 'experiments/set-experiment-tag', {
      experiment_id: experimentId,
      key,
      value,
    });
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    await this.transport.call('POST', 'experiments/delete-experiment-tag', {
      experiment_id: experimentId,
      key,
    });
  }

  // --- runs ---

  async createRun(experimentId: string, options: CreateRunOptions = {}): Promise<Run> {
    const r = await this.transport.call<{ run: Run }>('POST', 'runs/create', {
      experiment_id: experimentId,
      run_name: options.runName,
      start_time: options.startTime ?? Date.now(),
      tags: tagList(options.tags),
      user_id: options.userId,
    });
    return normalizeRun(r.run);
  }

  async getRun(runId: string): Promise<Run> {
    const r = await this.transport.call<{ run: Run }>('GET', 'runs/get', { run_id: runId });
    return normalizeRun(r.run);
  }

  async updateRun(
    runId: string,
    update: { status?: RunStatus; endTime?: number; runName?: string },
  ): Promise<RunInfo> {
    const r = await this.transport.call<{ run_info: RunInfo }>('POST', 'runs/update', {
      run_id: runId,
      status: update.status,
      end_time: update.endTime,
      run_name: update.runName,
    });
    return r.run_info;
  }

  /** Ends a run: sets its status (FINISHED by default) and end time (now by default). */
  setTerminated(runId: string, status: RunStatus = 'FINISHED', endTime = Date.now()): Promise<RunInfo> {
    return this.updateRun(runId, { status, endTime });
  }

  async deleteRun(runId: string): Promise<void> {
    await this.transport.call('POST', 'runs/delete', { run_id: runId });
  }

  async restoreRun(runId: string): Promise<void> {
    await this.transport.call('POST', 'runs/restore', { run_id: runId });
  }

  /** One page of runs of the given experiments matching MLflow's search syntax. */
  async searchRuns(experimentIds: string[], options: SearchRunsOptions = {}): Promise<Page<Run>> {
    const r = await this.transport.call<{ runs?: Run[]; next_page_token?: string }>('POST', 'runs/search', {
      experiment_ids: experimentIds,
      filter: options.filter,
      order_by: options.orderBy,
      run_view_type: options.viewType,
      max_results: options.maxResults ?? 1000,
      page_token: options.pageToken,
    });
    return {
      items: (r.runs ?? []).map((run) => {
        const n = normalizeRun(run);
        n.data.metrics = n.data.metrics.map(normalizeMetric);
        return n;
      }),
      nextPageToken: r.next_page_token || undefined,
    };
  }

  /** Every matching run, following page tokens. */
  async searchAllRuns(
    experimentIds: string[],
    options: Omit<SearchRunsOptions, 'pageToken'> = {},
  ): Promise<Run[]> {
    const all: Run[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.searchRuns(experimentIds, { ...options, pageToken });
      all.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }

  // --- logging ---

  async logMetric(runId: string, key: string, value: number, options: LogMetricOptions = {}): Promise<void> {
    await this.transport.call('POST', 'runs/log-metric', {
      run_id: runId,
      key,
      value,
      timestamp: options.timestamp ?? Date.now(),
      step: options.step ?? 0,
      model_id: options.modelId,
      dataset_name: options.datasetName,
      dataset_digest: options.datasetDigest,
    });
  }

  async logParam(runId: string, key: string, value: unknown): Promise<void> {
    await this.transport.call('POST', 'runs/log-parameter', { run_id: runId, key, value: String(value) });
  }

  async setTag(runId: string, key: string, value: unknown): Promise<void> {
    await this.transport.call('POST', 'runs/set-tag', { run_id: runId, key, value: String(value) });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.transport.call('POST', 'runs/delete-tag', { run_id: runId, key });
  }

  /**
   * Logs metrics, params and tags in log-batch requests, split to MLflow's limits (1000 metrics, 100
   * params, 100 tags, 1000 in all per request) and sent in order.
   */
  async logBatch(
    runId: string,
    batch: { metrics?: Metric[]; params?: Param[]; tags?: RunTag[] },
  ): Promise<void> {
    for (const chunk of chunkBatch(batch)) {
      await this.transport.call('POST', 'runs/log-batch', { run_id: runId, ...chunk });
    }
  }

  /** Records datasets used by a run (MLflow's log-inputs), each with optional tags such as mlflow.data.context. */
  async logInputs(runId: string, datasets: DatasetInput[] | Dataset[]): Promise<void> {
    const inputs = datasets.map((d) =>
      'dataset' in d ? { tags: d.tags ?? [], dataset: d.dataset } : { tags: [], dataset: d },
    );
    await this.transport.call('POST', 'runs/log-inputs', { run_id: runId, datasets: inputs });
  }

  // --- metric history ---

  /** Every value logged for a metric key, in the order the server returns them (step, then timestamp). */
  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const out: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.transport.call<{ metrics?: Metric[]; next_page_token?: string }>(
        'GET',
        'metrics/get-history',
        { run_id: runId, metric_key: key, page_token: pageToken },
      );
      out.push(...(r.metrics ?? []).map(normalizeMetric));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  /**
   * A sample of a metric's history across runs, by step (MLflow's get-history-bulk-interval).
   * `sampling: 'MIN_MAX'` is an mlflow-ts extension (each step bucket's first, last, lowest and
   * highest point, so spikes survive); leave it out against an MLflow server.
   */
  async getMetricHistoryBulkInterval(
    runIds: string[],
    key: string,
    options: {
      startStep?: number;
      endStep?: number;
      maxResults?: number;
      sampling?: 'STEPS' | 'MIN_MAX';
    } = {},
  ): Promise<MetricWithRunId[]> {
    const r = await this.transport.call<{ metrics?: MetricWithRunId[] }>(
      'GET',
      'metrics/get-history-bulk-interval',
      {
        run_ids: runIds,
        metric_key: key,
        start_step: options.startStep,
        end_step: options.endStep,
        max_results: options.maxResults,
        sampling: options.sampling,
      },
    );
    return (r.metrics ?? []).map(normalizeMetric);
  }

  // --- artifacts ---

  /** The artifact root of a run, reachable through the server's artifact proxy. */
  async runArtifacts(runId: string): Promise<RunArtifacts> {
    const run = await this.getRun(runId);
    return new RunArtifacts(this.transport, run.info.artifact_uri);
  }

  /** Lists one directory of a run's artifacts (the tracking API's artifacts/list; any artifact store). */
  async listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    const r = await this.transport.call<{ files?: FileInfo[] }>('GET', 'artifacts/list', {
      run_id: runId,
      path: path || undefined,
    });
    return r.files ?? [];
  }

  /** Uploads bytes, text or a Blob as the artifact file `artifactPath` of a run. */
  async uploadArtifact(runId: string, artifactPath: string, data: ArtifactData): Promise<void> {
    await (await this.runArtifacts(runId)).upload(artifactPath, data);
  }

  /** Node: uploads a local file into the run's artifacts below `artifactPath`. */
  async logArtifact(runId: string, localPath: string, artifactPath?: string): Promise<string[]> {
    return (await this.runArtifacts(runId)).uploadLocal(localPath, artifactPath);
  }

  /** Node: uploads a local directory's contents into the run's artifacts below `artifactPath`. */
  async logArtifacts(runId: string, localDir: string, artifactPath?: string): Promise<string[]> {
    return (await this.runArtifacts(runId)).uploadLocal(localDir, artifactPath);
  }

  /** Node: downloads an artifact file or directory to `dstPath` (a temporary directory by default). */
  async downloadArtifacts(runId: string, path = '', dstPath?: string): Promise<string> {
    return (await this.runArtifacts(runId)).downloadLocal(path, dstPath);
  }

  /** Streams one artifact file: a fetch Response whose body is the file. */
  async openArtifact(runId: string, path: string): Promise<Response> {
    return (await this.runArtifacts(runId)).open(path);
  }

  async readArtifactText(runId: string, path: string): Promise<string> {
    return (await this.runArtifacts(runId)).readText(path);
  }

  async readArtifactBytes(runId: string, path: string): Promise<Uint8Array> {
    return (await this.runArtifacts(runId)).readBytes(path);
  }

  /** What the server supports (its server-features answer). */
  async serverFeatures(): Promise<Record<string, unknown>> {
    const response = await this.transport.request('/api/2.0/mlflow/server-features', { method: 'GET' });
    return (await response.json()) as Record<string, unknown>;
  }
}
