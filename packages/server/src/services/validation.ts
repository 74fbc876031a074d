import path from 'node:path';
import { MlflowError } from '../entities/errors.js';
import type { Metric, Tag } from '../entities/tracking.js';

// MLflow's input rules (mlflow/utils/validation.py) with its messages, so clients that match on them
// keep working.

export const LIMITS = {
  keyLength: 250,
  paramValueLength: 6000,
  runTagValueLength: 8000,
  experimentNameLength: 500,
  experimentTagKeyLength: 250,
  experimentTagValueLength: 5000,
  /** The width of the runs table's name and user_id columns (MLflow's schema; its server does not check). */
  runNameLength: 250,
  userIdLength: 256,
  batchMetrics: 1000,
  batchParams: 100,
  batchTags: 100,
  batchTotal: 1000,
  datasetNameLength: 500,
  datasetDigestLength: 36,
  datasetSourceLength: 65535,
  datasetSchemaLength: 1048575,
  datasetProfileLength: 16777215,
  inputTagKeyLength: 255,
  inputTagValueLength: 500,
  searchMaxResults: 50000,
  metricHistoryPage: 25000,
  bulkRunIds: 100,
  /** SearchDatasets' experiment_ids. */
  searchDatasetsExperimentIds: 20,
  bulkIntervalMaxResults: 2500,
  /** Our get-histories-bulk-interval: metric keys per request (a chart grid asks a few at a time). */
  bulkIntervalMetricKeys: 25,
} as const;

// MLflow's pattern is a Python str regex, whose \w is any Unicode letter or digit (a key in Chinese is
// valid there); JavaScript's \w is ASCII only, hence the property classes.
const NAME_PATTERN = /^[/\p{L}\p{N}_.\- :]*$/u;
const RUN_ID_PATTERN = /^[a-zA-Z0-9][\w-]{0,255}$/;

/** MLflow truncates over-long param and tag values unless MLFLOW_TRUNCATE_LONG_VALUES is false. */
function truncateLongValues(): boolean {
  return (process.env.MLFLOW_TRUNCATE_LONG_VALUES ?? 'true').toLowerCase() !== 'false';
}

/** Python's json.dumps(value, separators=(",", ":")), the way MLflow quotes values in messages. */
export function pyJson(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  }
  return JSON.stringify(value);
}

/**
 * Python's repr of a float, which json.dumps writes: `9.0` for an integral value, and exponent form
 * (`1e+16`, `1e-05`) outside 1e-4..1e16.
 */
export function pyFloatRepr(value: number): string {
  if (!Number.isFinite(value)) return pyJson(value);
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  const fixed = String(value);
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

export function invalidValue(field: string, value: unknown, detail?: string): MlflowError {
  return MlflowError.invalidParameter(
    `Invalid value ${pyJson(value)} for parameter '${field}' supplied${detail ? `: ${detail}` : '.'}`,
  );
}

export function exceedsMaximumLength(field: string, limit: number): MlflowError {
  return MlflowError.invalidParameter(`'${field}' exceeds the maximum length of ${limit} characters`);
}

const BAD_CHARACTERS =
  'Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).';

/** Keys become file names in some artifact stores, so they must not be ambiguous as paths. */
function pathIsAmbiguous(name: string): boolean {
  const normalized = path.posix.normalize(name);
  return normalized !== name || normalized === '.' || name.startsWith('..') || name.startsWith('/');
}

/** MLflow's rule for a key that may become a file name (metric, param and tag keys). */
export function validateName(name: string, field: string): void {
  if (!NAME_PATTERN.test(name)) throw invalidValue(field, name, BAD_CHARACTERS);
  if (pathIsAmbiguous(name)) {
    throw invalidValue(
      field,
      name,
      `Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '${path.posix.normalize(name)}'`,
    );
  }
}

export function validateMetric(metric: Metric, fieldPrefix = ''): void {
  validateName(metric.key, fieldPrefix ? `${fieldPrefix}.name` : 'name');
  if (metric.key.length > LIMITS.keyLength) throw exceedsMaximumLength('Metric name', LIMITS.keyLength);
  if (!Number.isInteger(metric.timestamp) || metric.timestamp < 0) {
    throw invalidValue(
      fieldPrefix ? `${fieldPrefix}.timestamp` : 'timestamp',
      metric.timestamp,
      `metric '${metric.key}' (value=${pyJson(metric.value)}). Timestamp must be a nonnegative long (64-bit integer) `,
    );
  }
  if (!Number.isInteger(metric.step)) {
    throw invalidValue(
      fieldPrefix ? `${fieldPrefix}.step` : 'step',
      metric.step,
      `metric '${metric.key}' (value=${pyJson(metric.value)}). Step must be a valid long (64-bit integer).`,
    );
  }
}

/** Validates a param; returns it with its value truncated to MLflow's limit when truncation is on. */
export function validateParam(param: Tag, fieldPrefix = ''): Tag {
  validateName(param.key, fieldPrefix ? `${fieldPrefix}.key` : 'key');
  if (param.key.length > LIMITS.keyLength) throw exceedsMaximumLength('Param key', LIMITS.keyLength);
  if (param.value.length > LIMITS.paramValueLength) {
    if (!truncateLongValues()) throw exceedsMaximumLength('Param value', LIMITS.paramValueLength);
    return { key: param.key, value: param.value.slice(0, LIMITS.paramValueLength) };
  }
  return param;
}

/**
 * A run name (or mlflow.runName tag) the runs table can hold. Counted in code points, as PostgreSQL
 * counts a varchar's characters; a longer one would fail there as a 500 and be kept whole by SQLite.
 */
export function validateRunName(name: string, field = 'run_name'): void {
  if ([...name].length > LIMITS.runNameLength) throw exceedsMaximumLength(field, LIMITS.runNameLength);
}

export function validateUserId(userId: string): void {
  if ([...userId].length > LIMITS.userIdLength) throw exceedsMaximumLength('user_id', LIMITS.userIdLength);
}

/** Validates a run tag; returns it with its value truncated to MLflow's limit when truncation is on. */
export function validateRunTag(tag: Tag, fieldPrefix = ''): Tag {
  const keyField = fieldPrefix ? `${fieldPrefix}.key` : 'key';
  validateName(tag.key, keyField);
  if (tag.key.length > LIMITS.keyLength) throw exceedsMaximumLength(keyField, LIMITS.keyLength);
  // This tag is also the run's name column, which is narrower than a tag value.
  if (tag.key === 'mlflow.runName')
    validateRunName(tag.value, fieldPrefix ? `${fieldPrefix}.value` : 'value');
  if (tag.value.length > LIMITS.runTagValueLength) {
    if (!truncateLongValues()) {
      throw exceedsMaximumLength(fieldPrefix ? `${fieldPrefix}.value` : 'value', LIMITS.runTagValueLength);
    }
    return { key: tag.key, value: tag.value.slice(0, LIMITS.runTagValueLength) };
  }
  return tag;
}

export function validateExperimentTag(tag: Tag): void {
  validateName(tag.key, 'key');
  if (tag.key.length > LIMITS.experimentTagKeyLength)
    throw exceedsMaximumLength('key', LIMITS.experimentTagKeyLength);
  if (tag.value.length > LIMITS.experimentTagValueLength) {
    throw exceedsMaximumLength('value', LIMITS.experimentTagValueLength);
  }
}

export function validateExperimentName(name: string): void {
  if (name.trim() === '') throw MlflowError.invalidParameter(`Invalid experiment name: '${name}'`);
  if (name.length > LIMITS.experimentNameLength)
    throw exceedsMaximumLength('name', LIMITS.experimentNameLength);
}

export function validateRunId(runId: string): void {
  if (!RUN_ID_PATTERN.test(runId)) throw invalidValue('run_id', runId);
}

export function validateBatchLimits(metrics: number, params: number, tags: number): void {
  const check = (count: number, limit: number, entity: string) => {
    if (count > limit) {
      throw MlflowError.invalidParameter(
        `A batch logging request can contain at most ${limit} ${entity}. Got ${count} ${entity}. Please split up ${entity} across multiple requests and try again.`,
      );
    }
  };
  check(metrics, LIMITS.batchMetrics, 'metrics');
  check(params, LIMITS.batchParams, 'params');
  check(tags, LIMITS.batchTags, 'tags');
  check(metrics + params + tags, LIMITS.batchTotal, 'metrics, params, and tags');
}

export function validateMaxResults(maxResults: number, limit: number): void {
  if (!Number.isInteger(maxResults) || maxResults <= 0) {
    throw MlflowError.invalidParameter(
      `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer`,
    );
  }
  if (maxResults > limit) {
    throw MlflowError.invalidParameter(
      `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be at most ${limit}`,
    );
  }
}
