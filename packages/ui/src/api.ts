// The UI's client for the tracking server: MLflow's REST API under /ajax-api/2.0/mlflow, as MLflow's
// own UI uses it. Every failure becomes an ApiError carrying the server's error_code and message.

export const API = '/ajax-api/2.0/mlflow';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface KeyValue {
  key: string;
  value: string;
}
export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}
export interface MetricWithRunId extends Metric {
  run_id: string;
}
export interface RunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage: 'active' | 'deleted';
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
  tags?: KeyValue[];
  dataset: Dataset;
}
export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: DatasetInput[] };
}
export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: 'active' | 'deleted';
  last_update_time?: number;
  creation_time?: number;
  tags?: KeyValue[];
}
export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];
export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  current_stage?: Stage;
  description?: string;
  source?: string;
  run_id?: string;
  run_link?: string;
  status?: string;
  tags?: KeyValue[];
  aliases?: string[];
}
export interface RegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  tags?: KeyValue[];
  aliases?: { alias: string; version: string }[];
  latest_versions?: ModelVersion[];
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

async function request<T>(method: Method, path: string, body?: unknown, signal?: AbortSignal) {
  let url = `${API}/${path}`;
  const init: RequestInit = { method, signal };
  if (method === 'GET' && body) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
    }
    url += `?${q}`;
  } else if (body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    // fetch rejects without a response only when the request was cancelled or the server could not be
    // reached; say the latter in words, not the browser's bare "Failed to fetch".
    if (signal?.aborted) throw error;
    throw new Error(
      `Cannot reach the server (${(error as Error).message}). Check that it is running, then retry.`,
    );
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(response.status, 'BAD_RESPONSE', text.slice(0, 300) || response.statusText);
  }
  if (!response.ok) {
    const e = json as { error_code?: string; message?: string };
    throw new ApiError(response.status, e.error_code ?? 'ERROR', e.message ?? response.statusText);
  }
  return json as T;
}

export const api = {
  searchExperiments: (q: {
    filter?: string;
    view_type?: ViewType;
    max_results?: number;
    page_token?: string;
    order_by?: string[];
  }) => request<{ experiments?: Experiment[]; next_page_token?: string }>('POST', 'experiments/search', q),
  getExperiment: (id: string) =>
    request<{ experiment: Experiment }>('GET', 'experiments/get', { experiment_id: id }),
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
  ) => request<{ runs?: Run[]; next_page_token?: string }>('POST', 'runs/search', q, signal),
  getRun: (id: string) => request<{ run: Run }>('GET', 'runs/get', { run_id: id }),
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
  ) => request<{ metrics?: MetricWithRunId[] }>('GET', 'metrics/get-history-bulk-interval', q, signal),

  searchModels: (
    q: { filter?: string; max_results?: number; order_by?: string[]; page_token?: string },
    signal?: AbortSignal,
  ) =>
    request<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(
      'GET',
      'registered-models/search',
      q,
      signal,
    ),
  getModel: (name: string) =>
    request<{ registered_model: RegisteredModel }>('GET', 'registered-models/get', { name }),
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
  searchVersions: (q: { filter?: string; max_results?: number; order_by?: string[]; page_token?: string }) =>
    request<{ model_versions?: ModelVersion[]; next_page_token?: string }>('GET', 'model-versions/search', q),
  getVersion: (name: string, version: string) =>
    request<{ model_version: ModelVersion }>('GET', 'model-versions/get', { name, version }),
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
