// The fluent API, in the spirit of Python's `mlflow` module: one process-wide tracking URI, active
// experiment and stack of active runs, with metrics buffered and sent in the background.

import { type ArtifactData, joinArtifactPath, RunArtifacts } from './artifacts.js';
import { type LogMetricOptions, MlflowClient, type SearchRunsOptions } from './client.js';
import { resolveTrackingUri } from './config.js';
import type { Dataset, Experiment, Metric, Run, RunStatus, Tag } from './entities.js';
import { MlflowError } from './errors.js';
import { MetricBuffer } from './metric-buffer.js';
import { environment, platform } from './platform.js';
import { type RunTable, runsToTable } from './run-table.js';
import { currentUserName } from './user-name.js';

let trackingUri: string | undefined;
let client: MlflowClient | undefined;
let buffer: MetricBuffer | undefined;
// Buffers of earlier tracking URIs: still flushed, so changing the URI loses nothing already logged.
const retired: MetricBuffer[] = [];
let experimentId: string | undefined;
let removeExitHook: (() => void) | undefined;
const runStack: ActiveRun[] = [];

/** Sets the tracking server for the fluent API (overrides MLFLOW_TRACKING_URI). */
export function setTrackingUri(uri: string): void {
  trackingUri = resolveTrackingUri(uri);
  client = undefined;
  if (buffer) retired.push(buffer);
  buffer = undefined;
}

/** The tracking URI the fluent API uses. */
export function getTrackingUri(): string {
  return trackingUri ?? resolveTrackingUri(undefined);
}

/** The MlflowClient behind the fluent API. */
export function getClient(): MlflowClient {
  if (!client) client = new MlflowClient({ trackingUri: getTrackingUri() });
  return client;
}

function getBuffer(): MetricBuffer {
  if (!buffer) buffer = new MetricBuffer(getClient());
  if (!removeExitHook && platform().onExit) {
    // Flush what is buffered and end open runs when a Node process runs out of work, as MLflow's atexit does.
    removeExitHook = platform().onExit?.(async () => {
      removeExitHook = undefined;
      while (runStack.length > 0) await endRun('FINISHED');
      await flush();
    });
  }
  return buffer;
}

/**
 * Makes an experiment active for startRun: by name (created when missing) or by id. Returns it.
 */
export async function setExperiment(
  nameOrOptions: string | { name?: string; id?: string },
): Promise<Experiment> {
  const opts = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions;
  const c = getClient();
  let experiment: Experiment | undefined;
  if (opts.id) experiment = await c.getExperiment(opts.id);
  else if (opts.name) {
    experiment = await c.getExperimentByName(opts.name);
    if (!experiment) {
      try {
        experiment = await c.getExperiment(await c.createExperiment(opts.name));
      } catch (error) {
        // Another process created it in between.
        if (!(error instanceof MlflowError && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
        experiment = await c.getExperimentByName(opts.name);
      }
    }
  } else throw new MlflowError('INVALID_PARAMETER_VALUE', 'setExperiment needs a name or an id.', 0);
  if (!experiment)
    throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Experiment '${opts.name}' not found.`, 404);
  if (experiment.lifecycle_stage === 'deleted') {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Cannot set a deleted experiment '${experiment.name}' as the active experiment. Restore it with \`mlflow-ts experiments restore --experiment-id ${experiment.experiment_id}\` or pick another name.`,
      0,
    );
  }
  experimentId = experiment.experiment_id;
  return experiment;
}

/**
 * The experiment the fluent API logs to: `explicit`, else the one setExperiment chose, else
 * MLFLOW_EXPERIMENT_ID or MLFLOW_EXPERIMENT_NAME, else the default experiment '0'.
 */
export async function resolveExperimentId(explicit?: string): Promise<string> {
  if (explicit) return explicit;
  if (experimentId) return experimentId;
  const env = environment();
  if (env.MLFLOW_EXPERIMENT_ID) return env.MLFLOW_EXPERIMENT_ID;
  if (env.MLFLOW_EXPERIMENT_NAME) return (await setExperiment(env.MLFLOW_EXPERIMENT_NAME)).experiment_id;
  return '0';
}

export interface StartRunOptions {
  /** Resume this existing run instead of creating one (MLFLOW_RUN_ID is used the same way). */
  runId?: string;
  experimentId?: string;
  runName?: string;
  /** Start under the active run (tagged mlflow.parentRunId); without it a second startRun fails. */
  nested?: boolean;
  tags?: Record<string, string>;
  /** Stored as the mlflow.note.content tag, as MLflow does. */
  description?: string;
}

/** The MLflow 3 fields that link a metric to a logged model and a dataset, when given. */
function modelFields(options: LogMetricOptions): Partial<Metric> {
  const fields: Partial<Metric> = {};
  if (options.modelId !== undefined) fields.model_id = options.modelId;
  if (options.datasetName !== undefined) fields.dataset_name = options.datasetName;
  if (options.datasetDigest !== undefined) fields.dataset_digest = options.datasetDigest;
  return fields;
}

/** A run started by the fluent API; its methods log to this run whichever run is active. */
export class ActiveRun {
  constructor(
    readonly info: Run['info'],
    readonly parentRunId?: string,
  ) {}

  get runId(): string {
    return this.info.run_id;
  }

  logParam(key: string, value: unknown): Promise<void> {
    return getClient().logParam(this.runId, key, value);
  }

  async logParams(params: Record<string, unknown>): Promise<void> {
    const list = Object.entries(params).map(([key, value]) => ({ key, value: String(value) }));
    await getClient().logBatch(this.runId, { params: list });
  }

  /** Buffers a metric value; it is sent in the background (see flush). */
  logMetric(key: string, value: number, options: LogMetricOptions = {}): Promise<void> {
    const metric: Metric = {
      key,
      value,
      step: options.step ?? 0,
      timestamp: options.timestamp ?? Date.now(),
      ...modelFields(options),
    };
    return getBuffer().add(this.runId, { metrics: [metric] });
  }

  logMetrics(metrics: Record<string, number>, options: LogMetricOptions = {}): Promise<void> {
    const timestamp = options.timestamp ?? Date.now();
    const linked = modelFields(options);
    const list = Object.entries(metrics).map(([key, value]) => ({
      key,
      value,
      step: options.step ?? 0,
      timestamp,
      ...linked,
    }));
    return getBuffer().add(this.runId, { metrics: list });
  }

  setTag(key: string, value: unknown): Promise<void> {
    return getClient().setTag(this.runId, key, value);
  }

  async setTags(tags: Record<string, unknown>): Promise<void> {
    const list = Object.entries(tags).map(([key, value]) => ({ key, value: String(value) }));
    await getClient().logBatch(this.runId, { tags: list });
  }

  /** Node: uploads a local file below `artifactPath`. */
  async logArtifact(localPath: string, artifactPath?: string): Promise<void> {
    await (await this.artifacts()).uploadLocal(localPath, artifactPath);
  }

  /** Node: uploads a local directory's contents below `artifactPath`. */
  async logArtifacts(localDir: string, artifactPath?: string): Promise<void> {
    await (await this.artifacts()).uploadLocal(localDir, artifactPath);
  }

  /** Uploads bytes, text or a Blob as the artifact file `artifactFile`. */
  async logArtifactData(artifactFile: string, data: ArtifactData): Promise<void> {
    await (await this.artifacts()).upload(artifactFile, data);
  }

  /** Writes `text` as the artifact file `artifactFile` (e.g. "notes/summary.txt"). */
  logText(text: string, artifactFile: string): Promise<void> {
    return this.logArtifactData(artifactFile, text);
  }

  /** Writes a dictionary as JSON, or YAML when `artifactFile` ends in .yaml/.yml. */
  async logDict(dict: unknown, artifactFile: string): Promise<void> {
    let text: string;
    if (/\.ya?ml$/i.test(artifactFile)) {
      const { stringify } = await import('yaml');
      text = stringify(dict);
    } else text = `${JSON.stringify(dict, null, 2)}\n`;
    await this.logArtifactData(artifactFile, text);
  }

  /** Uploads PNG or JPEG bytes as `artifactFile`; the bytes must match the file's extension. */
  async logImage(image: Uint8Array | ArrayBuffer, artifactFile: string): Promise<void> {
    const bytes = image instanceof Uint8Array ? image : new Uint8Array(image);
    const png =
      bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
    const jpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
    const ext = artifactFile.toLowerCase().split('.').pop();
    const wanted = ext === 'png' ? png : ext === 'jpg' || ext === 'jpeg' ? jpeg : undefined;
    if (wanted === undefined) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `logImage writes .png, .jpg or .jpeg files, not '${artifactFile}'.`,
        0,
      );
    }
    if (!wanted) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `The image bytes are not ${ext === 'png' ? 'PNG' : 'JPEG'} data, as '${artifactFile}' promises.`,
        0,
      );
    }
    await this.logArtifactData(artifactFile, bytes);
  }

  /** Records a dataset the run used; `context` (e.g. "training") becomes the mlflow.data.context tag. */
  async logInput(
    dataset: Dataset,
    options: { context?: string; tags?: Record<string, string> } = {},
  ): Promise<void> {
    const tags: Tag[] = Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value }));
    if (options.context) tags.push({ key: 'mlflow.data.context', value: options.context });
    await getClient().logInputs(this.runId, [{ dataset, tags }]);
  }

  /** Sends this process's buffered metrics now; throws if a background send failed. */
  flush(): Promise<void> {
    return flush();
  }

  private async artifacts(): Promise<RunArtifacts> {
    return new RunArtifacts(getClient().transport, this.info.artifact_uri);
  }
}

/** The innermost active run, if any. */
export function activeRun(): ActiveRun | undefined {
  return runStack[runStack.length - 1];
}

function requireRun(): ActiveRun {
  const run = activeRun();
  if (!run) {
    throw new MlflowError('INVALID_STATE', 'No active run: call startRun() or withRun() first.', 0);
  }
  return run;
}

function sourceTags(): Record<string, string> {
  const tags: Record<string, string> = {};
  const proc = (globalThis as { process?: { argv?: string[] } }).process;
  const user = currentUserName();
  if (user) tags['mlflow.user'] = user;
  const script = proc?.argv?.[1];
  if (script) tags['mlflow.source.name'] = script;
  tags['mlflow.source.type'] = 'LOCAL';
  return tags;
}

/**
 * Starts a run (or resumes `runId` / MLFLOW_RUN_ID) and makes it active. A second run while one is
 * active needs `nested: true`; it is then tagged with its parent's id.
 */
export async function startRun(options: StartRunOptions = {}): Promise<ActiveRun> {
  const c = getClient();
  const parent = activeRun();
  if (parent && !options.nested) {
    throw new MlflowError(
      'INVALID_STATE',
      `Run with UUID ${parent.runId} is already active. To start a nested run, call startRun({ nested: true }); to start a new run, call endRun() first.`,
      0,
    );
  }
  const resumeId = options.runId ?? (runStack.length === 0 ? environment().MLFLOW_RUN_ID : undefined);
  let info: Run['info'];
  if (resumeId) {
    const existing = await c.getRun(resumeId);
    if (existing.info.lifecycle_stage === 'deleted') {
      throw new MlflowError('INVALID_PARAMETER_VALUE', `Cannot resume run ${resumeId}: it is deleted.`, 0);
    }
    info =
      existing.info.status === 'RUNNING' ? existing.info : await c.updateRun(resumeId, { status: 'RUNNING' });
    if (options.tags) await new ActiveRun(info).setTags(options.tags);
  } else {
    const tags: Record<string, string> = { ...sourceTags(), ...options.tags };
    if (parent) tags['mlflow.parentRunId'] = parent.runId;
    if (options.description) tags['mlflow.note.content'] = options.description;
    const run = await c.createRun(await resolveExperimentId(options.experimentId), {
      runName: options.runName,
      tags,
    });
    info = run.info;
  }
  const run = new ActiveRun(info, parent?.runId);
  runStack.push(run);
  // Installs the exit hook, which ends runs left active, as MLflow's atexit does.
  getBuffer();
  return run;
}

/**
 * Ends the active run: sends its buffered metrics, then sets its status (FINISHED by default). The run
 * is ended even when the flush fails; the flush error is thrown afterwards.
 */
export async function endRun(status: RunStatus = 'FINISHED'): Promise<void> {
  const run = runStack.pop();
  if (!run) return;
  let flushError: unknown;
  try {
    await flush();
  } catch (error) {
    flushError = error;
  }
  await getClient().setTerminated(run.runId, status);
  if (flushError) throw flushError;
}

/** Runs `fn` inside a new run that ends FINISHED when `fn` resolves and FAILED when it throws. */
export async function withRun<T>(
  fn: (run: ActiveRun) => Promise<T> | T,
  options: StartRunOptions = {},
): Promise<T> {
  const run = await startRun(options);
  let result: T;
  try {
    result = await fn(run);
  } catch (error) {
    // The error of `fn` is what the caller needs; a failure to end the run must not hide it.
    if (activeRun() === run) await endRun('FAILED').catch(() => {});
    throw error;
  }
  if (activeRun() === run) await endRun('FINISHED');
  return result;
}

export const logParam = (key: string, value: unknown) => requireRun().logParam(key, value);
export const logParams = (params: Record<string, unknown>) => requireRun().logParams(params);
export const logMetric = (key: string, value: number, options?: LogMetricOptions) =>
  requireRun().logMetric(key, value, options);
export const logMetrics = (metrics: Record<string, number>, options?: LogMetricOptions) =>
  requireRun().logMetrics(metrics, options);
export const setTag = (key: string, value: unknown) => requireRun().setTag(key, value);
export const setTags = (tags: Record<string, unknown>) => requireRun().setTags(tags);
export const logArtifact = (localPath: string, artifactPath?: string) =>
  requireRun().logArtifact(localPath, artifactPath);
export const logArtifacts = (localDir: string, artifactPath?: string) =>
  requireRun().logArtifacts(localDir, artifactPath);
export const logText = (text: string, artifactFile: string) => requireRun().logText(text, artifactFile);
export const logDict = (dict: unknown, artifactFile: string) => requireRun().logDict(dict, artifactFile);
export const logImage = (image: Uint8Array | ArrayBuffer, artifactFile: string) =>
  requireRun().logImage(image, artifactFile);
export const logInput = (dataset: Dataset, options?: { context?: string; tags?: Record<string, string> }) =>
  requireRun().logInput(dataset, options);

/** Sends every buffered metric now; throws if a background send failed. */
export async function flush(): Promise<void> {
  const errors: unknown[] = [];
  for (const b of [...retired.splice(0), buffer]) {
    await b?.flush().catch((error: unknown) => errors.push(error));
  }
  if (errors.length > 0) throw errors[0];
}

export interface FluentSearchOptions extends Omit<SearchRunsOptions, 'pageToken' | 'maxResults'> {
  /** Experiments to search; the active experiment by default. */
  experimentIds?: string[];
  /** Experiments to search, by name. */
  experimentNames?: string[];
  /** Most runs to return (all by default). */
  maxResults?: number;
}

async function searchIds(options: FluentSearchOptions): Promise<string[]> {
  const ids = [...(options.experimentIds ?? [])];
  for (const name of options.experimentNames ?? []) {
    const e = await getClient().getExperimentByName(name);
    if (!e) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No experiment named '${name}'.`, 404);
    ids.push(e.experiment_id);
  }
  if (ids.length === 0) ids.push(await resolveExperimentId());
  return ids;
}

/** Runs matching a search, as a flat table like MLflow's search_runs DataFrame (see runsToTable). */
export async function searchRuns(options: FluentSearchOptions = {}): Promise<RunTable> {
  return runsToTable(await searchRunList(options));
}

/** Runs matching a search, as Run objects. */
export async function searchRunList(options: FluentSearchOptions = {}): Promise<Run[]> {
  const ids = await searchIds(options);
  const limit = options.maxResults;
  const runs: Run[] = [];
  let pageToken: string | undefined;
  do {
    const page = await getClient().searchRuns(ids, {
      filter: options.filter,
      orderBy: options.orderBy,
      viewType: options.viewType,
      maxResults: limit === undefined ? 1000 : Math.min(1000, limit - runs.length),
      pageToken,
    });
    runs.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken && (limit === undefined || runs.length < limit));
  return runs;
}

/** A metric's full history for a run (the active run by default), after sending buffered values. */
export async function getMetricHistory(key: string, runId?: string): Promise<Metric[]> {
  const id = runId ?? requireRun().runId;
  await flush();
  return getClient().getMetricHistory(id, key);
}

/** The artifact path helper the fluent API uses, exported for callers building paths. */
export { joinArtifactPath };

/** Forgets all fluent state (active runs, experiment, URI); for tests and long-lived processes. */
export function resetFluentState(): void {
  runStack.length = 0;
  experimentId = undefined;
  trackingUri = undefined;
  client = undefined;
  buffer = undefined;
  retired.length = 0;
  removeExitHook?.();
  removeExitHook = undefined;
}
