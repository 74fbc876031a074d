import { type Kysely, type RawBuilder, sql } from 'kysely';
import { EncodedList } from '../entities/encoded-list.js';
import type { Metric, Param } from '../entities/tracking.js';
import type { Dialect } from './database.js';
import type { Database } from './schema.js';

// The database writes the JSON of each run's params, tags and latest metrics (one string per run)
// instead of returning a row per item: reading 10,000 rows into objects costs several times more than the
// whole query. Numbers are cast to text, which round-trips doubles exactly on both dialects (SQLite's JSON
// functions print only 15 significant digits). Items come in byte order of their keys: PostgreSQL is
// told so; SQLite reads each run's rows off the (run_uuid, key) primary key and aggregates them in that
// order, which is cheaper than asking it to sort again (the REST tests check the order).

type Reader = Pick<Kysely<Database>, 'selectFrom'>;

function jsonArray(dialect: Dialect, object: RawBuilder<unknown>): RawBuilder<string> {
  return dialect === 'sqlite'
    ? sql<string>`json_group_array(${object})`
    : sql<string>`'[' || string_agg(${object}, ',' order by key collate "C") || ']'`;
}

/**
 * One JSON object per row. On PostgreSQL the text is concatenated from to_json() of each value:
 * json_build_object pads its output with spaces, which made search answers 12% larger.
 */
function jsonObject(dialect: Dialect, fields: [string, RawBuilder<unknown> | string][]): RawBuilder<unknown> {
  if (dialect === 'sqlite') {
    const parts = fields.flatMap(([name, value]) => [
      sql.lit(name),
      typeof value === 'string' ? sql.ref(value) : value,
    ]);
    return sql`json_object(${sql.join(parts)})`;
  }
  const members = fields.map(([name, value], i) => {
    const json = typeof value === 'string' ? sql`to_json(${sql.ref(value)})::text` : sql`(${value})::text`;
    return sql`${sql.lit(`${i === 0 ? '{' : ','}${JSON.stringify(name)}:`)} || ${json}`;
  });
  return sql`(${sql.join(members, sql` || `)} || '}')`;
}

function byRun(rows: { run_uuid: string; items: string }[]): Map<string, string> {
  return new Map(rows.map((r) => [r.run_uuid, r.items]));
}

/** Params or tags of the given runs as a JSON array per run id. */
export async function encodedKeyValues(
  db: Reader,
  dialect: Dialect,
  table: 'params' | 'tags',
  runIds: string[],
): Promise<Map<string, string>> {
  const item = jsonObject(dialect, [
    ['key', 'key'],
    ['value', 'value'],
  ]);
  const rows = await db
    .selectFrom(table)
    .select(['run_uuid', jsonArray(dialect, item).as('items')])
    .where('run_uuid', 'in', runIds)
    .groupBy('run_uuid')
    .execute();
  return byRun(rows);
}

/** Latest metrics of the given runs as a JSON array per run id; NaN is written "NaN", as MLflow does. */
export async function encodedLatestMetrics(
  db: Reader,
  dialect: Dialect,
  runIds: string[],
): Promise<Map<string, string>> {
  // The value is parsed back from its exact text (json() in SQLite; PostgreSQL prints doubles exactly).
  const value =
    dialect === 'sqlite'
      ? sql`case when is_nan = 1 then 'NaN' else json(cast(value as text)) end`
      : sql`case when is_nan = 1 then to_json('NaN'::text) else to_json(value) end`;
  const item = jsonObject(dialect, [
    ['key', 'key'],
    ['value', value],
    ['timestamp', 'timestamp'],
    ['step', 'step'],
  ]);
  const rows = await db
    .selectFrom('latest_metrics')
    .select(['run_uuid', jsonArray(dialect, item).as('items')])
    .where('run_uuid', 'in', runIds)
    .groupBy('run_uuid')
    .execute();
  return byRun(rows);
}
function reviveMetric(m: Metric): Metric {
  return (m.value as unknown) === 'NaN' ? { ...m, value: Number.NaN } : m;
}

export function keyValueList(itemsJson: string | undefined): EncodedList<Param> {
  return new EncodedList<Param>(itemsJson ?? '');
}

export function metricList(itemsJson: string | undefined): EncodedList<Metric> {
  return new EncodedList<Metric>(itemsJson ?? '', reviveMetric);
}
