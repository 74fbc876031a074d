// The UI's calls to the tracking server, made with @mlflow-ts/client (its browser entry) under
// /ajax-api/2.0/mlflow as MLflow's own UI does, and typed with the SDK's wire types. A server's error
// answer arrives as the SDK's MlflowError, carrying MLflow's error_code and message.

import {
  type ExperimentTag,
  type HttpMethod,
  type MetricWithRunId,
  MlflowClient,
  MlflowError,
  normalizeExperiment,
  normalizeMetric,
  normalizeModelVersion,
  normalizeRegisteredModel,
  normalizeRun,
  RestTransport,
  resolveConfig,
} from '@mlflow-ts/client/browser';
import type {
  Experiment,
  FileInfo,
  LoggedModel,
  ModelVersion,
  ModelVersionStage,
  RegisteredModel,
  Run,
  ServingEndpoint,
  ViewType,
} from '@mlflow-ts/client/wire';

export type {
  Dataset,
  DatasetInput,
  Experiment,
  FileInfo,
  LoggedModel,
  Metric,
  MetricWithRunId,
  ModelVersion,
  RegisteredModel,
  Run,
  RunInfo,
  ServingEndpoint,
  ViewType,
} from '@mlflow-ts/client/wire';
export { MlflowError };

export const API = '/ajax-api/2.0/mlflow';

/** One run's sampled history of one metric (get-histories-bulk-interval, our extension). */
export interface MetricSeries {
  metric_key: string;
  run_id: string;
  steps: number[];
  values: number[];
}

type WireSeries = Omit<MetricSeries, 'values'> & { values: (number | string)[] };

/** A double as the wire carries it: JSON has no NaN or infinities, so those come as strings. */
function wireNumber(v: number | string): number {
  return typeof v === 'number' ? v : Number(v);
}

/** A key/value pair (tag or param) as the wire carries it. */
export type KeyValue = ExperimentTag;

export const STAGES: readonly ModelVersionStage[] = ['None', 'Staging', 'Production', 'Archived'];
export type Stage = ModelVersionStage;

let transport: RestTransport | undefined;

// Made on first use: the page's origin is only there in a browser (the unit tests load this module in Node).
// A person is waiting, so no retries and no time limit; each page cancels its own stale requests.
function server(): RestTransport {
  transport ??= new RestTransport(
    resolveConfig({
      trackingUri: globalThis.location.origin,
      apiPrefix: API,
      maxRetries: 0,
      timeout: Number.POSITIVE_INFINITY,
      // Tells a server with sign-in not to send a Basic challenge: the UI shows its own sign-in page.
      headers: { 'X-MLflow-TS-UI': '1' },
    }),
  );
  return transport;
}

/** Called when the server says the caller is not signed in (set by session.ts). */
let onUnauthenticated: () => void = () => {};
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

export async function request<T>(
  method: HttpMethod,
  endpoint: string,
  body?: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<T> {
  try {
    return await server().call<T>(method, endpoint, body, { signal });
  } catch (error) {
    if (error instanceof MlflowError && error.status === 401) onUnauthenticated();
    // No answer at all: say so in words rather than with the browser's bare "Failed to fetch".
    if (error instanceof MlflowError && error.status === 0 && error.cause instanceof Error) {
      throw new Error(
        `Cannot reach the server (${error.cause.message}). Check that it is running, then retry.`,
      );
    }
    throw error;
  }
}

/** mlflow-ts's serving endpoints, beside MLflow's API (/ajax-api/2.0/serving-endpoints). */
async function listServingEndpoints(
  registeredModelName: string,
  signal?: AbortSignal,
): Promise<ServingEndpoint[]> {
  const response = await server().request('/ajax-api/2.0/serving-endpoints', {
    method: 'GET',
    query: { registered_model_name: registeredModelName },
    signal,
  });
  const body = (await response.json()) as { endpoints?: ServingEndpoint[] };
  return body.endpoints ?? [];
}

export const api = {
  listServingEndpoints,
  searchExperiments: (q: {
    filter?: string;
    view_type?: ViewType;
    max_results?: number;
    page_token?: string;
    order_by?: string[];
  }) =>
    request<{ experiments?: Experiment[]; next_page_token?: string }>('POST', 'experiments/search', q).then(
      (r) => ({ ...r, experiments: r.experiments?.map(normalizeExperiment) }),
    ),
  getExperiment: (id: string) =>
    request<{ experiment: Experiment }>('GET', 'experiments/get', { experiment_id: id }).then((r) => ({
      experiment: normalizeExperiment(r.experiment),
    })),
  createExperiment: (name: string) =>
    request<{ experiment_id: string }>('POST', 'experiments/create', { name }),
  renameExperiment: (id: string, name: string) =>
    request<object>('POST', 'experiments/update', { experiment_id: id, new_name: name }),
  deleteExperiment: (id: string) => request<object>('POST', 'experiments/delete', { experiment_id: id }),
  restoreExperiment: (id: string) => request<object>('POST', 'experiments/restore', { experiment_id: id }),

  searchRuns: (
    q: {
      experiment_ids: string[];
      filter?: string;
      order_by?: string[];
      run_view_type?: ViewType;
      max_results?: number;
      page_token?: string;
    },
    signal?: AbortSignal,
  ) =>
    request<{ runs?: Run[]; next_page_token?: string }>('POST', 'runs/search', q, signal).then((r) => ({
      ...r,
      runs: r.runs?.map(normalizeRun),
    })),
  getRun: (id: string) =>
    request<{ run: Run }>('GET', 'runs/get', { run_id: id }).then((r) => ({ run: normalizeRun(r.run) })),
  deleteRun: (id: string) => request<object>('POST', 'runs/delete', { run_id: id }),
  restoreRun: (id: string) => request<object>('POST', 'runs/restore', { run_id: id }),
  setTag: (runId: string, key: string, value: string) =>
    request<object>('POST', 'runs/set-tag', { run_id: runId, key, value }),
  deleteTag: (runId: string, key: string) =>
    request<object>('POST', 'runs/delete-tag', { run_id: runId, key }),

  metricHistoryInterval: (
    q: {
      run_ids: string[];
      metric_key: string;
      start_step?: number;
      end_step?: number;
      max_results?: number;
      /** Our extension: MIN_MAX keeps each step bucket's extremes; STEPS (the default) is MLflow's. */
      sampling?: 'STEPS' | 'MIN_MAX';
    },
    signal?: AbortSignal,
  ) =>
    request<{ metrics?: MetricWithRunId[] }>('GET', 'metrics/get-history-bulk-interval', q, signal).then(
      (r) => ({ metrics: r.metrics?.map(normalizeMetric) }),
    ),
  /** Our extension: several metrics' sampled histories of the same runs, as per-run step/value lists. */
  metricHistories: (
    q: { run_ids: string[]; metric_keys: string[]; max_results?: number; sampling?: 'STEPS' | 'MIN_MAX' },
    signal?: AbortSignal,
  ) =>
    request<{ series?: WireSeries[] }>('GET', 'metrics/get-histories-bulk-interval', q, signal).then((r) => ({
      series: (r.series ?? []).map((s) => ({ ...s, values: s.values.map(wireNumber) })),
    })),

  searchModels: (
    q: { filter?: string; max_results?: number; order_by?: string[]; page_token?: string },
    signal?: AbortSignal,
  ) =>
    request<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(
      'GET',
      'registered-models/search',
      q,
      signal,
    ).then((r) => ({ ...r, registered_models: r.registered_models?.map(normalizeRegisteredModel) })),
  getModel: (name: string) =>
    request<{ registered_model: RegisteredModel }>('GET', 'registered-models/get', { name }).then((r) => ({
      registered_model: normalizeRegisteredModel(r.registered_model),
    })),
  createModel: (name: string, description?: string) =>
    request<{ registered_model: RegisteredModel }>('POST', 'registered-models/create', { name, description }),
  updateModel: (name: string, description: string) =>
    request<object>('PATCH', 'registered-models/update', { name, description }),
  setModelTag: (name: string, key: string, value: string) =>
    request<object>('POST', 'registered-models/set-tag', { name, key, value }),
  deleteModelTag: (name: string, key: string) =>
    request<object>('DELETE', 'registered-models/delete-tag', { name, key }),
  setAlias: (name: string, alias: string, version: string) =>
    request<object>('POST', 'registered-models/alias', { name, alias, version }),
  deleteAlias: (name: string, alias: string) =>
    request<object>('DELETE', 'registered-models/alias', { name, alias }),
  /** MLflow 3's logged models of the experiments (the raw wire form; the UI shows names and ids). */
  searchLoggedModels: (q: { experiment_ids: string[]; filter?: string; max_results?: number }) =>
    request<{ models?: LoggedModel[] }>('POST', 'logged-models/search', q),
  searchVersions: (q: { filter?: string; max_results?: number; order_by?: string[]; page_token?: string }) =>
    request<{ model_versions?: ModelVersion[]; next_page_token?: string }>(
      'GET',
      'model-versions/search',
      q,
    ).then((r) => ({ ...r, model_versions: r.model_versions?.map(normalizeModelVersion) })),
  getVersion: (name: string, version: string) =>
    request<{ model_version: ModelVersion }>('GET', 'model-versions/get', { name, version }).then((r) => ({
      model_version: normalizeModelVersion(r.model_version),
    })),
  updateVersion: (name: string, version: string, description: string) =>
    request<object>('PATCH', 'model-versions/update', { name, version, description }),
  transitionStage: (name: string, version: string, stage: Stage, archiveExisting: boolean) =>
    request<{ model_version: ModelVersion }>('POST', 'model-versions/transition-stage', {
      name,
      version,
      stage,
      archive_existing_versions: archiveExisting,
    }),
  deleteVersion: (name: string, version: string) =>
    request<object>('DELETE', 'model-versions/delete', { name, version }),
  setVersionTag: (name: string, version: string, key: string, value: string) =>
    request<object>('POST', 'model-versions/set-tag', { name, version, key, value }),
  deleteVersionTag: (name: string, version: string, key: string) =>
    request<object>('DELETE', 'model-versions/delete-tag', { name, version, key }),
  versionDownloadUri: (name: string, version: string) =>
    request<{ artifact_uri: string }>('GET', 'model-versions/get-download-uri', { name, version }),

  listArtifacts: (runId: string, path?: string) =>
    request<{ root_uri?: string; files?: FileInfo[] }>('GET', 'artifacts/list', { run_id: runId, path }),
};

/** The URL that downloads one artifact of a run. */
export function artifactUrl(runId: string, path: string): string {
  return `/get-artifact?${new URLSearchParams({ run_uuid: runId, path })}`;
}

/** The URL that downloads one file of a model version (read from its storage location). */
export function modelVersionArtifactUrl(name: string, version: string, path: string): string {
  return `/model-versions/get-artifact?${new URLSearchParams({ name, version, path })}`;
}

/** Where the registry pages live: model names may hold any character, so they are URI-encoded. */
export function modelHref(name: string): string {
  return `/models/${encodeURIComponent(name)}`;
}
export function versionHref(name: string, version: string): string {
  return `${modelHref(name)}/versions/${encodeURIComponent(version)}`;
}

export function tagValue(run: Run, key: string): string | undefined {
  return run.data.tags?.find((t) => t.key === key)?.value;
}

let traceCalls: MlflowClient | undefined;
/** MLflow 3's trace and assessment calls (the SDK's; they go to /ajax-api/3.0/mlflow), as the pages use them. */
export function traceApi(): MlflowClient {
  traceCalls ??= new MlflowClient({
    trackingUri: globalThis.location.origin,
    apiPrefix: API,
    maxRetries: 0,
    timeout: Number.POSITIVE_INFINITY,
  });
  return traceCalls;
}
