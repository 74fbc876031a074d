import { MlflowError } from '../entities/errors.js';
import type { Metric, Tag } from '../entities/tracking.js';
import { pyFloatRepr, pyJson } from '../services/validation.js';
import { writtenAsFloat } from './wire-json.js';

// Reads request fields the way MLflow's handlers do: GET endpoints from the query string (repeated keys
// for lists, numbers as text), everything else from the JSON body; unknown fields are ignored. Type
// and presence errors carry MLflow's messages.

const DOCS_HINT = ' See the API docs for more information about request parameters.';

/** Python's name for a JSON value's type, as MLflow's messages show it. */
function pyType(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  return 'dict';
}

export function missing(field: string): MlflowError {
  return MlflowError.invalidParameter(`Missing value for required parameter '${field}'.${DOCS_HINT}`);
}

/** `asFloat`: the value is a number the client wrote as a float literal (Python parsed `9.0`, not `9`). */
export function wrongType(field: string, value: unknown, asFloat = false): MlflowError {
  const shown = asFloat && typeof value === 'number' ? pyFloatRepr(value) : pyJson(value);
  const type = asFloat && typeof value === 'number' ? 'float' : pyType(value);
  return MlflowError.invalidParameter(
    `Invalid value ${shown} for parameter '${field}' supplied. Hint: Value was of type '${type}'.${DOCS_HINT}`,
  );
}

const NON_FINITE: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

/**
 * Integers this server takes for an int64 field: those a JavaScript number holds exactly, ±(2^53 - 1).
 * Timestamps in milliseconds and steps sit far inside; a larger one would be stored as a different
 * number (and JSON.parse has already rounded it), so it is refused rather than silently changed.
 */
export const MAX_INT64_MAGNITUDE = Number.MAX_SAFE_INTEGER;

function outOfRange(field: string, value: unknown): MlflowError {
  return MlflowError.invalidParameter(
    `Invalid value ${pyJson(value)} for parameter '${field}' supplied. Hint: Value must be an integer from -${MAX_INT64_MAGNITUDE} to ${MAX_INT64_MAGNITUDE}.${DOCS_HINT}`,
  );
}

/** Coerces a proto int64 given as a JSON number or numeric string; fractions and huge values are refused. */
function toInt(field: string, value: unknown): number {
  let n: number;
  if (typeof value === 'number' && Number.isInteger(value)) n = value;
  else if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) n = Number(value);
  else throw wrongType(field, value);
  if (!Number.isSafeInteger(n)) throw outOfRange(field, value);
  return n;
}

/** Coerces a proto double given as a number, a numeric string, or "NaN"/"Infinity"/"-Infinity". */
function toDouble(field: string, value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (value in NON_FINITE) return NON_FINITE[value];
    if (value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  }
  throw wrongType(field, value);
}

export class RequestFields {
  constructor(
    private readonly data: Record<string, unknown>,
    private readonly fromQuery: boolean,
  ) {}

  private raw(field: string): unknown {
    const value = this.data[field];
    // A query string repeats a key for a list; a scalar takes its first occurrence.
    return this.fromQuery && Array.isArray(value) ? value[0] : value;
  }

  /** The type error for a top-level field, telling a float literal from an int as MLflow does. */
  private wrongType(field: string, value: unknown): MlflowError {
    const asFloat = typeof value === 'number' && Number.isInteger(value) && writtenAsFloat(this.data, field);
    return wrongType(field, value, asFloat);
  }

  has(field: string): boolean {
    const v = this.data[field];
    return v !== undefined && v !== null;
  }

  optionalString(field: string): string | undefined {
    const value = this.raw(field);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw this.wrongType(field, value);
    return value;
  }

  requiredString(field: string): string {
    const value = this.optionalString(field);
    if (value === undefined || value === '') throw missing(field);
    return value;
  }

  /** The run id, which MLflow also accepts under its old name run_uuid. */
  runId(): string {
    const id = this.optionalString('run_id') || this.optionalString('run_uuid');
    if (!id) throw missing('run_id');
    return id;
  }

  /** experiment_id arrives as a string or (from some clients) a number; MLflow stringifies it. */
  optionalExperimentId(): string | undefined {
    const value = this.raw('experiment_id');
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'number') return String(toInt('experiment_id', value));
    if (typeof value !== 'string') throw wrongType('experiment_id', value);
    return value;
  }

  requiredExperimentId(): string {
    const id = this.optionalExperimentId();
    if (id === undefined) throw missing('experiment_id');
    return id;
  }

  optionalInt(field: string): number | undefined {
    const value = this.raw(field);
    if (value === undefined || value === null || (this.fromQuery && value === '')) return undefined;
    return toInt(field, value);
  }

  requiredInt(field: string): number {
    const value = this.optionalInt(field);
    if (value === undefined) throw missing(field);
    return value;
  }

  requiredDouble(field: string): number {
    const value = this.raw(field);
    if (value === undefined || value === null || value === '') throw missing(field);
    return toDouble(field, value);
  }

  /** A proto bool: a JSON boolean, or "true"/"false" in a query string. */
  optionalBool(field: string): boolean | undefined {
    const value = this.raw(field);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
    throw wrongType(field, value);
  }

  /** A proto string that some clients send as a JSON number (version numbers); read as its text. */
  optionalStringOrInt(field: string): string | undefined {
    const value = this.raw(field);
    if (typeof value === 'number') return String(toInt(field, value));
    return this.optionalString(field);
  }

  optionalEnum<T extends string>(field: string, values: readonly T[]): T | undefined {
    const value = this.raw(field);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value as T;
    // Proto enums may also be sent by number (1-based in MLflow's ViewType and RunStatus).
    const n =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && /^\d+$/.test(value)
          ? Number(value)
          : NaN;
    if (Number.isInteger(n) && n >= 1 && n <= values.length) return values[n - 1];
    throw MlflowError.invalidParameter(
      `Invalid value ${pyJson(value)} for parameter '${field}' supplied. It must be one of ${values.join(', ')}.${DOCS_HINT}`,
    );
  }

  stringList(field: string): string[] {
    const value = this.data[field];
    if (value === undefined || value === null) return [];
    const list = Array.isArray(value) ? value : this.fromQuery ? [value] : undefined;
    if (!list) throw wrongType(field, value);
    return list.map((item) => {
      if (typeof item === 'number' && field === 'experiment_ids') return String(toInt(field, item));
      if (typeof item !== 'string') throw wrongType(field, value);
      return item;
    });
  }

  private objectList(field: string): Record<string, unknown>[] {
    const value = this.data[field];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw wrongType(field, value);
    return value.map((item) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) throw wrongType(field, value);
      return item as Record<string, unknown>;
    });
  }

  /** A list of {key, value} pairs; a missing value is the empty string, as proto would read it. */
  tags(field: string): Tag[] {
    return this.objectList(field).map((item, i) => keyValue(item, `${field}[${i}]`));
  }

  metrics(field: string): Metric[] {
    return this.objectList(field).map((item, i) => {
      const f = new RequestFields(item, false);
      const path = `${field}[${i}]`;
      if (!f.has('key') || item.key === '') throw missing(`${path}.key`);
      if (!f.has('value') || item.value === '') throw missing(`${path}.value`);
      if (!f.has('timestamp') || item.timestamp === '') throw missing(`${path}.timestamp`);
      const metric: Metric = {
        key: typedString(item.key, `${path}.key`),
        value: toDouble(`${path}.value`, item.value),
        timestamp: toInt(`${path}.timestamp`, item.timestamp),
        step: f.has('step') ? toInt(`${path}.step`, item.step) : 0,
      };
      // MLflow 3 links a metric to a logged model and a dataset; older clients never send these.
      if (item.model_id !== undefined || item.dataset_name !== undefined || item.dataset_digest !== undefined)
        f.addModelFields(metric, `${path}.`);
      return metric;
    });
  }

  optionalObject(field: string): Record<string, unknown> | undefined {
    const value = this.raw(field);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw wrongType(field, value);
    return value as Record<string, unknown>;
  }

  /** model_id, dataset_name and dataset_digest (MLflow 3) onto `metric` when present and not empty. */
  addModelFields(metric: Metric, prefix = ''): Metric {
    for (const name of ['model_id', 'dataset_name', 'dataset_digest'] as const) {
      const value = this.raw(name);
      if (value === undefined || value === null || value === '') continue;
      metric[name] = typedString(value, `${prefix}${name}`);
    }
    return metric;
  }

  objects(field: string): Record<string, unknown>[] {
    return this.objectList(field);
  }
}

function typedString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw wrongType(field, value);
  return value;
}

export function keyValue(item: Record<string, unknown>, path: string): Tag {
  if (item.key === undefined || item.key === null || item.key === '') throw missing(`${path}.key`);
  const key = typedString(item.key, `${path}.key`);
  const value =
    item.value === undefined || item.value === null ? '' : typedString(item.value, `${path}.value`);
  return { key, value };
}
