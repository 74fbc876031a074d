// The rules of MLflow 3's evaluation-dataset endpoints: what a dataset, its tags and its records may
// hold (MLflow's column widths, JSON shapes and source types), the records' dedup key, and paging.
import { createHash } from 'node:crypto';
import { readableIds } from '../entities/access.js';
import { MlflowError } from '../entities/errors.js';
import {
  DATASET_TAG_LIMITS,
  type DatasetRecordRow,
  type EvaluationDatasetRecord,
  RECORD_SOURCE_TYPES,
  type RecordSourceType,
  type RecordUpsert,
  USER_TAG,
} from '../entities/evaluation-dataset.js';
import { pythonJson } from '../entities/python-json.js';
import { checkDatasetFilter, checkDatasetOrder } from '../search/evaluation-dataset-rules.js';
import { datasetNotFound } from '../store/evaluation-dataset-repository.js';
import type { RecordPageStart, SqlEvaluationDatasetStore } from '../store/evaluation-dataset-store.js';
import { currentReadAccess } from './access-scope.js';
import { decodePageToken, encodePageToken } from './page-token.js';

/** MLflow's defaults for a page of datasets or of records; our ceiling on either. */
export const DATASET_LIMITS = {
  defaultMaxResults: 1000,
  maxResults: 50_000,
  name: 255,
  user: 255,
  sourceId: 36,
} as const;

export interface SearchDatasetsRequest {
  experimentIds: string[];
  filter?: string;
  maxResults?: number;
  orderBy: string[];
  pageToken?: string;
}

function invalid(message: string): never {
  throw MlflowError.invalidParameter(message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The text of a JSON field, parsed; MLflow sends tags and records as JSON inside a string. */
function parseJsonField(field: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return invalid(
      `Invalid JSON in field '${field}': ${text.length > 100 ? `${text.slice(0, 100)}...` : text}`,
    );
  }
}

/** A tag value as Python's str() writes the JSON value MLflow's store receives. */
function tagText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

/** A JSON object of tags: keys and values within MLflow's column widths; null removes a tag. */
function parseTags(text: string): Record<string, string | null> {
  const parsed = parseJsonField('tags', text);
  if (!isObject(parsed)) invalid(`Invalid value for 'tags': expected a JSON object, got ${text}`);
  const tags: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key.length === 0 || key.length > DATASET_TAG_LIMITS.key) {
      invalid(
        `Dataset tag key '${key.slice(0, 20)}' must be 1 to ${DATASET_TAG_LIMITS.key} characters long.`,
      );
    }
    const v = value === null ? null : tagText(value);
    if (v !== null && v.length > DATASET_TAG_LIMITS.value) {
      invalid(
        `Dataset tag value for key '${key}' had length ${v.length}, which exceeded length limit of ${DATASET_TAG_LIMITS.value}`,
      );
    }
    tags[key] = v;
  }
  return tags;
}

function checkUser(user: string | null | undefined): void {
  if (user && user.length > DATASET_LIMITS.user) {
    invalid(
      `The '${USER_TAG}' tag had length ${user.length}, which exceeded length limit of ${DATASET_LIMITS.user}`,
    );
  }
}

/** Python's json.dumps(value, sort_keys=True): MLflow's text for the inputs it hashes. */
function sortedPythonJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (!isObject(v)) return v;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) out[key] = sorted(v[key]);
    return out;
  };
  return pythonJson(sorted(value));
}

export function inputHash(inputs: Record<string, unknown>): string {
  return createHash('sha256').update(sortedPythonJson(inputs)).digest('hex');
}

/** A TRACE source names its trace as the source id, any other its `source_id`, as MLflow's entity does. */
function derivedSourceId(source: RecordUpsert['source']): string | undefined {
  if (!source) return undefined;
  const id = source.source_type === 'TRACE' ? source.source_data.trace_id : source.source_data.source_id;
  return typeof id === 'string' ? id : undefined;
}

function parseRecord(item: unknown, i: number): RecordUpsert {
  const at = `records[${i}]`;
  if (!isObject(item)) invalid(`Invalid record at ${at}: expected a JSON object.`);
  const { inputs, outputs, expectations, tags, source, source_id } = item;
  if (inputs === undefined || inputs === null) invalid(`Invalid record at ${at}: 'inputs' is required.`);
  if (!isObject(inputs)) invalid(`Invalid record at ${at}: 'inputs' must be a JSON object.`);
  if (expectations !== undefined && expectations !== null && !isObject(expectations)) {
    invalid(`Invalid record at ${at}: 'expectations' must be a JSON object.`);
  }
  const record: RecordUpsert = { inputHash: inputHash(inputs), inputs };
  if (outputs !== undefined) record.outputs = outputs;
  if (isObject(expectations)) record.expectations = expectations;
  if (tags !== undefined && tags !== null) {
    if (!isObject(tags)) invalid(`Invalid record at ${at}: 'tags' must be a JSON object.`);
    // Stored as given, as MLflow stores a record's tags (JSON); only a string user names the writer.
    const user = tags[USER_TAG];
    if (typeof user === 'string') checkUser(user);
    record.tags = tags;
  }
  if (source !== undefined && source !== null) {
    if (!isObject(source)) invalid(`Invalid record at ${at}: 'source' must be a JSON object.`);
    const type = source.source_type;
    if (typeof type !== 'string' || !(RECORD_SOURCE_TYPES as readonly string[]).includes(type)) {
      invalid(
        `Invalid record at ${at}: source_type must be one of ${RECORD_SOURCE_TYPES.join(', ')}, got ${JSON.stringify(type ?? null)}.`,
      );
    }
    const data = source.source_data ?? {};
    if (!isObject(data)) invalid(`Invalid record at ${at}: 'source_data' must be a JSON object.`);
    record.source = { source_type: type as RecordSourceType, source_data: data };
  }
  if (source_id !== undefined && source_id !== null && typeof source_id !== 'string') {
    invalid(`Invalid record at ${at}: 'source_id' must be a string.`);
  }
  const sourceId = source_id ?? derivedSourceId(record.source);
  if (sourceId !== undefined) {
    if (sourceId.length > DATASET_LIMITS.sourceId) {
      invalid(
        `Invalid record at ${at}: source id '${sourceId}' is longer than ${DATASET_LIMITS.sourceId} characters.`,
      );
    }
    record.sourceId = sourceId;
  }
  return record;
}

function maxResultsOf(value: number | undefined): number {
  // MLflow reads 0 as "not given".
  if (value === undefined || value === 0) return DATASET_LIMITS.defaultMaxResults;
  if (value < 0 || value > DATASET_LIMITS.maxResults) {
    invalid(
      `Invalid value ${value} for parameter 'max_results': it must be between 1 and ${DATASET_LIMITS.maxResults}.`,
    );
  }
  return value;
}

function recordPageStart(token: string | undefined): RecordPageStart | undefined {
  const start = decodePageToken(token);
  if (!start) return undefined;
  if ('offset' in start) return { offset: start.offset };
  const { t, id } = start.after as { t?: unknown; id?: unknown };
  if (typeof t !== 'number' || typeof id !== 'string')
    invalid(`Invalid page token, parsed value=${JSON.stringify(start.after)}`);
  return { afterTime: t, afterId: id };
}

export class EvaluationDatasetService {
  constructor(
    private readonly store: SqlEvaluationDatasetStore,
    private readonly now: () => number = Date.now,
  ) {}

  async createDataset(
    name: string,
    experimentIds: string[],
    tagsJson?: string,
  ): Promise<EvaluationDatasetRecord> {
    if (name.length > DATASET_LIMITS.name) {
      invalid(
        `Dataset name had length ${name.length}, which exceeded length limit of ${DATASET_LIMITS.name}`,
      );
    }
    const tags: Record<string, string> = {};
    for (const [key, value] of Object.entries(tagsJson ? parseTags(tagsJson) : {})) {
      if (value !== null) tags[key] = value;
    }
    checkUser(tags[USER_TAG]);
    return this.store.createDataset({
      name,
      tags,
      experimentIds,
      createdBy: tags[USER_TAG] ?? null,
      time: this.now(),
    });
  }

  async getDataset(datasetId: string): Promise<EvaluationDatasetRecord> {
    const dataset = await this.store.getDataset(datasetId);
    if (!dataset) throw datasetNotFound(datasetId);
    return dataset;
  }

  deleteDataset(datasetId: string): Promise<void> {
    return this.store.deleteDataset(datasetId);
  }

  async searchDatasets(
    request: SearchDatasetsRequest,
  ): Promise<{ datasets: EvaluationDatasetRecord[]; nextPageToken?: string }> {
    const maxResults = maxResultsOf(request.maxResults);
    const start = decodePageToken(request.pageToken);
    if (start && !('offset' in start))
      invalid(`Invalid page token, parsed value=${JSON.stringify(start.after)}`);
    const offset = start?.offset ?? 0;
    const filter = checkDatasetFilter(request.filter);
    const orderBy = checkDatasetOrder(request.orderBy);
    // Under access control a search sees the datasets whose linked experiments the caller may all
    // read; experiments named that the caller may not read are dropped from the request.
    const access = currentReadAccess()?.experiments;
    const named = request.experimentIds;
    const experimentIds = readableIds(named, access);
    if (named.length > 0 && experimentIds.length === 0) return { datasets: [] };
    const page = await this.store.searchDatasets({
      experimentIds: experimentIds.length > 0 ? experimentIds : undefined,
      filter,
      orderBy,
      maxResults,
      offset,
      access,
    });
    return {
      datasets: page.items,
      nextPageToken: page.more ? encodePageToken({ offset: offset + maxResults }) : undefined,
    };
  }

  async setDatasetTags(datasetId: string, tagsJson: string): Promise<void> {
    const tags = parseTags(tagsJson);
    checkUser(tags[USER_TAG]);
    await this.store.setDatasetTags(datasetId, tags, this.now());
  }

  deleteDatasetTag(datasetId: string, key: string): Promise<void> {
    return this.store.deleteDatasetTag(datasetId, key);
  }

  async upsertRecords(
    datasetId: string,
    recordsJson: string,
  ): Promise<{ inserted: number; updated: number }> {
    const parsed = parseJsonField('records', recordsJson);
    if (!Array.isArray(parsed)) invalid(`Invalid value for 'records': expected a JSON list of records.`);
    return this.store.upsertRecords(datasetId, parsed.map(parseRecord), this.now());
  }

  async getRecords(
    datasetId: string,
    maxResults: number | undefined,
    pageToken: string | undefined,
  ): Promise<{ records: DatasetRecordRow[]; nextPageToken?: string }> {
    const limit = maxResultsOf(maxResults);
    const page = await this.store.getRecords(datasetId, limit, recordPageStart(pageToken));
    if (!page) throw datasetNotFound(datasetId);
    const last = page.records.at(-1);
    return {
      records: page.records,
      nextPageToken:
        page.more && last ? encodePageToken({ t: last.createdTime, id: last.datasetRecordId }) : undefined,
    };
  }

  deleteRecords(datasetId: string, recordIds: string[]): Promise<number> {
    return this.store.deleteRecords(datasetId, recordIds, this.now());
  }

  async experimentIds(datasetId: string): Promise<string[]> {
    return (await this.getDataset(datasetId)).experimentIds;
  }

  addExperiments(datasetId: string, experimentIds: string[]): Promise<EvaluationDatasetRecord> {
    return this.store.addExperiments(datasetId, experimentIds, this.now());
  }

  removeExperiments(datasetId: string, experimentIds: string[]): Promise<EvaluationDatasetRecord> {
    return this.store.removeExperiments(datasetId, experimentIds);
  }
}
