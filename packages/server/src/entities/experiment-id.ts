// The one place an experiment id is parsed: a decimal string on the wire and in the services, a
// 64-bit integer in the database. MLflow's file store draws random 18-digit ids, past what a
// JavaScript number holds exactly, so an id is never turned into a number on its way to SQL.

/** The largest id the experiment_id columns (SQLite INTEGER, PostgreSQL BIGINT) hold. */
export const MAX_EXPERIMENT_ID = 2n ** 63n - 1n;

const DIGITS = /^\d{1,19}$/;

/**
 * The id as the integer to bind in SQL, or undefined when `id` cannot name an experiment (not
 * plain digits, or past 2^63 - 1): such an id is looked up nowhere, so it answers as an unknown one.
 */
export function experimentIdValue(id: string): bigint | undefined {
  if (!DIGITS.test(id)) return undefined;
  const value = BigInt(id);
  return value <= MAX_EXPERIMENT_ID ? value : undefined;
}

/** The canonical spelling of an id that names an experiment ("007" is experiment 7), else undefined. */
export function canonicalExperimentId(id: string): string | undefined {
  return experimentIdValue(id)?.toString();
}

/** The ids of `ids` that can name an experiment, in canonical spelling; the others name none. */
export function canonicalExperimentIds(ids: readonly string[]): string[] {
  return ids.flatMap((id) => {
    const canonical = canonicalExperimentId(id);
    return canonical === undefined ? [] : [canonical];
  });
}

/** New experiments are numbered below this (see the experiment repository and the importer). */
export const SMALL_EXPERIMENT_IDS = 2n ** 53n;

/** The ids of `ids` that can name an experiment, as integers to bind in raw SQL; the others name none. */
export function experimentIdValues(ids: readonly string[]): bigint[] {
  return ids.flatMap((id) => {
    const value = experimentIdValue(id);
    return value === undefined ? [] : [value];
  });
}

/**
 * The id to compare a column with: the canonical id, or -1 (no experiment's: ids are never
 * negative) for one that names no experiment, so the query matches nothing instead of failing.
 */
export function experimentIdOrNone(id: string): string {
  return canonicalExperimentId(id) ?? '-1';
}
