import { RunArtifacts } from './artifacts.js';
import { type FileInfo, metricValue, type Page, type Tag } from './entities.js';
import { EvaluationDatasetMethods } from './evaluation-datasets.js';
import type { LoggedModel, LoggedModelStatus } from './wire.js';

// MLflow 3's logged models: the client methods of the logged-models endpoints (types in wire.ts).

/** The tag on a logged model listing the registry versions made from it (MLflow's value). */
export const MODEL_VERSIONS_TAG = 'mlflow.modelVersions';

export interface CreateLoggedModelOptions {
  /** Generated (adjective-animal-123) when omitted. */
  name?: string;
  sourceRunId?: string;
  modelType?: string;
  tags?: Record<string, string> | Tag[];
  params?: Record<string, unknown> | Tag[];
}

/** One key of a logged-model search's order: an attribute or `metrics.<key>` (latest value). */
export interface LoggedModelOrderBy {
  fieldName: string;
  /** Default true. */
  ascending?: boolean;
  /** For a metric key: order by its value on this dataset. */
  datasetName?: string;
  datasetDigest?: string;
}

export interface SearchLoggedModelsOptions {
  /** e.g. "metrics.accuracy > 0.9 AND params.lr = '0.01' AND status = 'READY'". */
  filter?: string;
  /** Restricts metric clauses (and metric order keys) to points logged on these datasets. */
  datasets?: { datasetName: string; datasetDigest?: string }[];
  orderBy?: LoggedModelOrderBy[];
  /** Default 100 (the server's default), at most 50000. */
  maxResults?: number;
  pageToken?: string;
}

function keyValues(items: Record<string, unknown> | Tag[] | undefined): Tag[] {
  if (!items) return [];
  return Array.isArray(items)
    ? items
    : Object.entries(items).map(([key, value]) => ({ key, value: String(value) }));
}

/** Fills in the lists the server leaves out when empty and reads metric values as numbers. */
export function normalizeLoggedModel(model: LoggedModel): LoggedModel {
  const data = (model.data ?? {}) as Partial<LoggedModel['data']>;
  return {
    info: { ...model.info, tags: model.info.tags ?? [] },
    data: {
      params: data.params ?? [],
      metrics: (data.metrics ?? []).map((m) => ({
        ...m,
        value: metricValue(m.value),
        step: Number(m.step ?? 0),
        timestamp: Number(m.timestamp),
      })),
    },
  };
}

function modelPath(modelId: string, ...rest: string[]): string {
  return ['logged-models', encodeURIComponent(modelId), ...rest].join('/');
}

/**
 * MLflow 3's logged-model endpoints as methods MlflowClient inherits (named as Python's MlflowClient
 * names them). Every method throws MlflowError with the server's code and status.
 */
export abstract class LoggedModelMethods extends EvaluationDatasetMethods {
  /** Creates a model in `experimentId`, PENDING until finalizeLoggedModel. */
  async createLoggedModel(
    experimentId: string,
    options: CreateLoggedModelOptions = {},
  ): Promise<LoggedModel> {
    const r = await this.transport.call<{ model: LoggedModel }>('POST', 'logged-models', {
      experiment_id: experimentId,
      name: options.name,
      source_run_id: options.sourceRunId,
      model_type: options.modelType,
      tags: keyValues(options.tags),
      params: keyValues(options.params),
    });
    return normalizeLoggedModel(r.model);
  }

  /** A model that exists and is not deleted. */
  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    const r = await this.transport.call<{ model: LoggedModel }>('GET', modelPath(modelId));
    return normalizeLoggedModel(r.model);
  }

  /** Marks the upload done: LOGGED_MODEL_READY, or LOGGED_MODEL_UPLOAD_FAILED. */
  async finalizeLoggedModel(modelId: string, status: LoggedModelStatus): Promise<LoggedModel> {
    const r = await this.transport.call<{ model: LoggedModel }>('PATCH', modelPath(modelId), {
      model_id: modelId,
      status,
    });
    return normalizeLoggedModel(r.model);
  }

  /** Deletes the model: it disappears from get and search (the server keeps the row, marked deleted). */
  async deleteLoggedModel(modelId: string): Promise<void> {
    await this.transport.call('DELETE', modelPath(modelId));
  }

  /** One page of the experiments' models matching the filter, in the given order. */
  async searchLoggedModels(
    experimentIds: string[],
    options: SearchLoggedModelsOptions = {},
  ): Promise<Page<LoggedModel>> {
    const r = await this.transport.call<{ models?: LoggedModel[]; next_page_token?: string }>(
      'POST',
      'logged-models/search',
      {
        experiment_ids: experimentIds,
        filter: options.filter,
        datasets: options.datasets?.map((d) => ({
          dataset_name: d.datasetName,
          dataset_digest: d.datasetDigest,
        })),
        order_by: options.orderBy?.map((o) => ({
          field_name: o.fieldName,
          ascending: o.ascending ?? true,
          dataset_name: o.datasetName,
          dataset_digest: o.datasetDigest,
        })),
        max_results: options.maxResults,
        page_token: options.pageToken,
      },
    );
    return {
      items: (r.models ?? []).map(normalizeLoggedModel),
      nextPageToken: r.next_page_token || undefined,
    };
  }

  /** Every matching model, following page tokens. */
  async searchAllLoggedModels(
    experimentIds: string[],
    options: Omit<SearchLoggedModelsOptions, 'pageToken'> = {},
  ): Promise<LoggedModel[]> {
    const all: LoggedModel[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.searchLoggedModels(experimentIds, { ...options, pageToken });
      all.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }

  /** Sets tags on the model; an existing key gets the new value. */
  async setLoggedModelTags(modelId: string, tags: Record<string, string> | Tag[]): Promise<void> {
    await this.transport.call('PATCH', modelPath(modelId, 'tags'), { tags: keyValues(tags) });
  }

  async deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    // The server reads the key as the rest of the path, so its slashes stay slashes.
    const encodedKey = key.split('/').map(encodeURIComponent).join('/');
    await this.transport.call('DELETE', modelPath(modelId, 'tags', encodedKey));
  }

  /** Logs params on the model; params are write-once (another value fails with INVALID_PARAMETER_VALUE). */
  async logModelParams(modelId: string, params: Record<string, unknown> | Tag[]): Promise<void> {
    await this.transport.call('POST', modelPath(modelId, 'params'), {
      model_id: modelId,
      params: keyValues(params),
    });
  }

  /** Records that a run produced these models, each at a step (MLflow's log_outputs; runs/outputs). */
  async logOutputs(runId: string, models: { modelId: string; step?: number }[]): Promise<void> {
    await this.transport.call('POST', 'runs/outputs', {
      run_id: runId,
      models: models.map((m) => ({ model_id: m.modelId, step: m.step ?? 0 })),
    });
  }

  /** Lists one directory of the model's artifacts (`path` relative to its artifact root). */
  async listLoggedModelArtifacts(modelId: string, path?: string): Promise<FileInfo[]> {
    const r = await this.transport.call<{ files?: FileInfo[] }>(
      'GET',
      modelPath(modelId, 'artifacts', 'directories'),
      { artifact_directory_path: path || undefined },
    );
    return r.files ?? [];
  }

  /** The model's artifact root through the server's artifact proxy (upload, list, open, download). */
  async loggedModelArtifacts(modelId: string): Promise<RunArtifacts> {
    const model = await this.getLoggedModel(modelId);
    return new RunArtifacts(this.transport, model.info.artifact_uri);
  }

  /** Node: uploads a local file into the model's artifacts (below `artifactPath`). */
  async logModelArtifact(modelId: string, localPath: string, artifactPath?: string): Promise<string[]> {
    return (await this.loggedModelArtifacts(modelId)).uploadLocal(localPath, artifactPath);
  }

  /** Node: uploads a local directory's contents into the model's artifacts (below `artifactPath`). */
  async logModelArtifacts(modelId: string, localDir: string, artifactPath?: string): Promise<string[]> {
    return (await this.loggedModelArtifacts(modelId)).uploadLocal(localDir, artifactPath);
  }
}
