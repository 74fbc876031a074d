import { readableIds } from '../entities/access.js';
import { MlflowError } from '../entities/errors.js';
import { LOGGED_MODEL_STATUSES, type LoggedModel, type LoggedModelStatus } from '../entities/logged-model.js';
import { pythonJson } from '../entities/python-json.js';
import type { Metric, Tag } from '../entities/tracking.js';
import {
  checkLoggedModelFilter,
  checkLoggedModelOrder,
  type OrderByRequest,
} from '../search/logged-model-rules.js';
import type { DatasetFilter, LoggedModelStore } from '../store/logged-model-store.js';
import { currentReadAccess } from './access-scope.js';
import { randomRunName } from './run-names.js';
import { exceedsMaximumLength, LIMITS, validateMaxResults } from './validation.js';

// The rules of MLflow 3's logged models (mlflow/store/tracking/sqlalchemy_store.py and
// mlflow/utils/validation.py), in front of a LoggedModelStore.

/** MLflow's SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT. */
const SEARCH_DEFAULT_MAX_RESULTS = 100;

/** Column widths of MLflow's logged-model tables; longer values are refused before they reach SQL. */
const WIDTHS = {
  name: 500,
  modelType: 500,
  runId: 32,
  key: 255,
  datasetName: LIMITS.datasetNameLength,
  datasetDigest: LIMITS.datasetDigestLength,
  modelId: 36,
};

const BAD_NAME_CHARACTERS = ['/', ':', '.', '%', '"', "'"];

/** MLflow's _validate_logged_model_name. */
function validateModelName(name: string): void {
  if (name === '' || BAD_NAME_CHARACTERS.some((c) => name.includes(c))) {
    throw MlflowError.invalidParameter(
      `Invalid model name ('${name}') provided. Model name must be a non-empty string and cannot contain the following characters: ('/', ':', '.', '%', '"', "'")`,
    );
  }
  if (name.length > WIDTHS.name) throw exceedsMaximumLength('name', WIDTHS.name);
}

function validateKeyValues(items: Tag[], field: string): Tag[] {
  items.forEach((t, i) => {
    if (t.key.length > WIDTHS.key) throw exceedsMaximumLength(`${field}[${i}].key`, WIDTHS.key);
  });
  return items;
}

/** Two values for one param key in one request cannot both be kept. */
function rejectConflictingParams(params: Tag[]): void {
  const seen = new Map<string, string>();
  for (const p of params) {
    const previous = seen.get(p.key);
    if (previous !== undefined && previous !== p.value) {
      throw MlflowError.invalidParameter(
        `Duplicate parameter keys have been submitted: ['${p.key}']. Please ensure the request contains only one param value per param key.`,
      );
    }
    seen.set(p.key, p.value);
  }
}

/**
 * The model, dataset name and digest a metric may carry (MLflow 3); checked only when present, so that
 * plain metrics cost nothing here.
 */
export function validateModelMetricFields(metric: Metric, field = ''): void {
  const at = (name: string) => (field ? `${field}.${name}` : name);
  if (metric.model_id !== undefined && metric.model_id.length > WIDTHS.modelId)
    throw exceedsMaximumLength(at('model_id'), WIDTHS.modelId);
  if (metric.dataset_name !== undefined && metric.dataset_name.length > WIDTHS.datasetName)
    throw exceedsMaximumLength(at('dataset_name'), WIDTHS.datasetName);
  if (metric.dataset_digest !== undefined && metric.dataset_digest.length > WIDTHS.datasetDigest)
    throw exceedsMaximumLength(at('dataset_digest'), WIDTHS.datasetDigest);
}

export interface SearchLoggedModelsRequest {
  experimentIds: string[];
  filter?: string;
  datasets: { dataset_name?: string; dataset_digest?: string }[];
  maxResults?: number;
  orderBy: OrderByRequest[];
  pageToken?: string;
}

/** MLflow's page token for this search: the request it belongs to and an offset, base64 JSON. */
interface SearchToken {
  experiment_ids: string[];
  filter_string: string | null;
  order_by: OrderByRequest[] | null;
  offset: number;
}

function normalizedOrder(orderBy: OrderByRequest[]): OrderByRequest[] | null {
  if (orderBy.length === 0) return null;
  return orderBy.map((o) => ({
    field_name: o.field_name,
    ascending: o.ascending,
    dataset_name: o.dataset_name ?? null,
    dataset_digest: o.dataset_digest ?? null,
  })) as unknown as OrderByRequest[];
}

function decodeToken(token: string): SearchToken {
  const fail = (why: string) => MlflowError.invalidParameter(`Invalid page token: ${token}. ${why}`);
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(token)) throw fail('It is not base64.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch (error) {
    throw fail((error as Error).message);
  }
  const t = parsed as Partial<SearchToken> | null;
  if (
    typeof t !== 'object' ||
    t === null ||
    !Array.isArray(t.experiment_ids) ||
    (t.offset !== undefined && (!Number.isInteger(t.offset) || (t.offset as number) < 0))
  ) {
    throw fail('It is not a logged-model search token.');
  }
  return {
    experiment_ids: t.experiment_ids,
    filter_string: t.filter_string || null,
    order_by: t.order_by && t.order_by.length > 0 ? t.order_by : null,
    offset: t.offset ?? 0,
  };
}

/** The tag listing the registry versions made from a logged model (MLflow's MLFLOW_MODEL_VERSIONS). */
export const MODEL_VERSIONS_TAG = 'mlflow.modelVersions';

/** Tries at recording a version on a tag that other writers keep changing, before giving up. */
const TAG_UPDATE_ATTEMPTS = 20;

/**
 * The mlflow.modelVersions value with the version added. A version already listed (its number written
 * as a number or, by older clients, as text) leaves the value as it is. A value that is not a JSON list
 * cannot be added to; it is replaced by a new list (MLflow fails after creating the version).
 */
export function withModelVersion(current: string | undefined, name: string, version: number): string {
  let entries: unknown[] = [];
  if (current !== undefined) {
    try {
      const parsed: unknown = JSON.parse(current);
      if (Array.isArray(parsed)) entries = parsed;
    } catch {
      // Not JSON: start a new list.
    }
  }
  const listed = entries.some((e) => {
    const entry = e as { name?: unknown; version?: unknown } | null;
    return entry?.name === name && String(entry.version) === String(version);
  });
  if (listed && current !== undefined) return current;
  return pythonJson([...entries, { name, version }]);
}

/** The logged-model rules: validation, defaults and statuses, in front of a LoggedModelStore. */
export class LoggedModelService {
  constructor(private readonly store: LoggedModelStore) {}

  async createLoggedModel(input: {
    experimentId: string;
    name?: string;
    modelType?: string;
    sourceRunId?: string;
    params: Tag[];
    tags: Tag[];
  }): Promise<LoggedModel> {
    // An empty name is no name, as MLflow's handler reads it.
    if (input.name) validateModelName(input.name);
    if (input.modelType !== undefined && input.modelType.length > WIDTHS.modelType)
      throw exceedsMaximumLength('model_type', WIDTHS.modelType);
    if (input.sourceRunId !== undefined && input.sourceRunId.length > WIDTHS.runId)
      throw exceedsMaximumLength('source_run_id', WIDTHS.runId);
    const params = validateKeyValues(input.params, 'params');
    rejectConflictingParams(params);
    return this.store.createLoggedModel({
      experimentId: input.experimentId,
      name: input.name || randomRunName(),
      modelType: input.modelType || undefined,
      sourceRunId: input.sourceRunId || undefined,
      params,
      tags: validateKeyValues(input.tags, 'tags'),
    });
  }

  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    const model = await this.store.getLoggedModel(modelId);
    if (!model) throw MlflowError.notFound(`Logged model with ID '${modelId}' not found.`);
    return model;
  }

  /** MLflow accepts any known status here, PENDING and UNSPECIFIED included. */
  async finalizeLoggedModel(modelId: string, status: LoggedModelStatus): Promise<LoggedModel> {
    return this.store.finalizeLoggedModel(modelId, LOGGED_MODEL_STATUSES.indexOf(status));
  }

  async deleteLoggedModel(modelId: string): Promise<void> {
    return this.store.deleteLoggedModel(modelId);
  }

  async setLoggedModelTags(modelId: string, tags: Tag[]): Promise<void> {
    return this.store.setLoggedModelTags(modelId, validateKeyValues(tags, 'tags'));
  }

  async deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    return this.store.deleteLoggedModelTag(modelId, key);
  }

  /**
   * MLflow's set_model_versions_tags: a registry version was made from the model, so the model's
   * `mlflow.modelVersions` tag lists it ({"name", "version"} objects in a JSON list, as Python's
   * json.dumps writes them). The tag is replaced only if nobody changed it meanwhile; on a clash
   * the list is read again and the version added to the newer one.
   */
  async recordModelVersion(modelId: string, name: string, version: number): Promise<void> {
    for (let attempt = 0; attempt < TAG_UPDATE_ATTEMPTS; attempt++) {
      const model = await this.getLoggedModel(modelId);
      const current = model.info.tags.find((t) => t.key === MODEL_VERSIONS_TAG)?.value;
      const next = withModelVersion(current, name, version);
      if (next === current) return;
      if (await this.store.replaceLoggedModelTag(modelId, MODEL_VERSIONS_TAG, current ?? null, next)) return;
    }
    throw new MlflowError(
      'ABORTED',
      `Version ${version} of model '${name}' was created, but the '${MODEL_VERSIONS_TAG}' tag of logged model '${modelId}' kept changing while it was being updated. Add the version to the tag again.`,
    );
  }

  async logLoggedModelParams(modelId: string, params: Tag[]): Promise<void> {
    const valid = validateKeyValues(params, 'params');
    rejectConflictingParams(valid);
    return this.store.logLoggedModelParams(modelId, valid);
  }

  /** MLflow's LogOutputs: a run produced these models (at these steps). */
  async logOutputs(runId: string, models: { modelId: string; step: number }[]): Promise<void> {
    models.forEach((m, i) => {
      if (m.modelId.length > WIDTHS.modelId)
        throw exceedsMaximumLength(`models[${i}].model_id`, WIDTHS.modelId);
    });
    return this.store.logOutputs(runId, models);
  }

  async searchLoggedModels(
    q: SearchLoggedModelsRequest,
  ): Promise<{ models: LoggedModel[]; nextPageToken?: string }> {
    if (q.experimentIds.length === 0) {
      throw MlflowError.invalidParameter("Missing value for required parameter 'experiment_ids'.");
    }
    const datasets: DatasetFilter[] = q.datasets.map((d) => {
      if (!d.dataset_name) {
        throw MlflowError.invalidParameter('`dataset_name` in the `datasets` clause must be specified.');
      }
      return d.dataset_digest ? { name: d.dataset_name, digest: d.dataset_digest } : { name: d.dataset_name };
    });
    // 0 or absent is the default, as MLflow's handler reads it.
    const maxResults = q.maxResults || SEARCH_DEFAULT_MAX_RESULTS;
    validateMaxResults(maxResults, LIMITS.searchMaxResults);
    const filterString = q.filter || null;
    const order = normalizedOrder(q.orderBy);
    let offset = 0;
    if (q.pageToken) {
      const token = decodeToken(q.pageToken);
      if (JSON.stringify(token.experiment_ids) !== JSON.stringify(q.experimentIds)) {
        throw MlflowError.invalidParameter(
          `Experiment IDs in the page token do not match the requested experiment IDs. Expected: ${JSON.stringify(q.experimentIds)}. Found: ${JSON.stringify(token.experiment_ids)}`,
        );
      }
      if (token.filter_string !== filterString) {
        throw MlflowError.invalidParameter(
          `Filter string in the page token does not match the requested filter string. Expected: ${filterString}. Found: ${token.filter_string}`,
        );
      }
      if (JSON.stringify(token.order_by) !== JSON.stringify(order)) {
        throw MlflowError.invalidParameter(
          `Order by in the page token does not match the requested order by. Expected: ${JSON.stringify(order)}. Found: ${JSON.stringify(token.order_by)}`,
        );
      }
      offset = token.offset;
    }
    // Only the models of experiments the caller may read; the token keeps the requested ids, so it
    // stays valid for the same request.
    const experimentIds = readableIds(q.experimentIds, currentReadAccess()?.experiments);
    if (experimentIds.length === 0) return { models: [] };
    const page = await this.store.searchLoggedModels({
      experimentIds,
      filter: checkLoggedModelFilter(q.filter),
      datasets,
      orderBy: checkLoggedModelOrder(q.orderBy),
      maxResults,
      offset,
    });
    if (!page.more) return { models: page.items };
    const next: SearchToken = {
      experiment_ids: q.experimentIds,
      filter_string: filterString,
      order_by: order,
      offset: offset + maxResults,
    };
    return { models: page.items, nextPageToken: Buffer.from(JSON.stringify(next)).toString('base64') };
  }
}
