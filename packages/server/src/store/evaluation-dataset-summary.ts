// What a dataset says about its records: the schema (each inputs/expectations field's JSON type, merged
// over every upsert), the profile (how many records) and the digest, kept current by record writes.
import { createHash } from 'node:crypto';

export const SCHEMA_VERSION = '1.0';

type FieldTypes = Record<string, string>;
interface DatasetSchema {
  inputs: FieldTypes;
  expectations: FieldTypes;
  version: string;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'float';
  if (typeof value === 'object') return 'object';
  return typeof value; // string, boolean
}

function readSchema(text: string | null): DatasetSchema {
  const empty: DatasetSchema = { inputs: {}, expectations: {}, version: SCHEMA_VERSION };
  if (!text) return empty;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return empty;
    const { inputs, expectations } = parsed as Partial<DatasetSchema>;
    return { inputs: { ...inputs }, expectations: { ...expectations }, version: SCHEMA_VERSION };
  } catch {
    // A schema written by another tool in another shape is rebuilt from the records that follow.
    return empty;
  }
}

/** `current` widened with the fields of `records`; a field seen with two types keeps the first. */
export function mergedSchema(
  current: string | null,
  records: { inputs: Record<string, unknown>; expectations?: Record<string, unknown> }[],
): string {
  const schema = readSchema(current);
  for (const r of records) {
    for (const [key, value] of Object.entries(r.inputs)) schema.inputs[key] ??= jsonType(value);
    for (const [key, value] of Object.entries(r.expectations ?? {})) {
      schema.expectations[key] ??= jsonType(value);
    }
  }
  return JSON.stringify(schema);
}

export function datasetProfile(recordCount: number): string {
  return JSON.stringify({ num_records: recordCount });
}

/** Changes with every change of the dataset's records (its name and last update time). */
export function datasetDigest(name: string, lastUpdateTime: number): string {
  return createHash('sha256').update(`${name}:${lastUpdateTime}`).digest('hex').slice(0, 8);
}
