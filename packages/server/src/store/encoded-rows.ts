import { type Expression, type Kysely, type RawBuilder, sql } from 'kysely';
import { EncodedList } from '../entities/encoded-list.js';
import type { Metric, Param } from '../entities/tracking.js';
import type { Dialect } from './database.js';
import type { Database } from './schema.js';

// The database writes the JSON of each run's params, tags and latest metrics (one string per run)
// instead of returning a row per item: reading 10,000 rows into objects costs several times more than the
// whole query. Both dialects build the same text; only JSON string quoting differs between them.
// Numbers are cast to text, which round-trips doubles exactly in both (SQLite's JSON functions would
// print only 15 significant digits).

type Reader = Pick<Kysely<Database>, 'selectFrom'>;

function quoted(dialect: Dialect, column: string): RawBuilder<string> {
  return dialect === 'sqlite' ? sql`json_quote(${sql.ref(column)})` : sql`to_json(${sql.ref(column)})::text`;
}

/** Joins the items in byte order of their keys, the same on both dialects whatever PostgreSQL's locale. */
function aggregate(dialect: Dialect, item: Expression<string>): RawBuilder<string> {
  // string_agg with ORDER BY: PostgreSQL, and SQLite since 3.44.
  return dialect === 'sqlite'
    ? sql<string>`string_agg(${item}, ',' order by key)`
    : sql<string>`string_agg(${item}, ',' order by key collate "C")`;
}

function byRun(rows: { run_uuid: string; items: string }[]): Map<string, string> {
  return new Map(rows.map((r) => [r.run_uuid, r.items]));
}

/** Params or tags of the given runs, ordered by key, as JSON text per run id. */
export async function encodedKeyValues(
  db: Reader,
  dialect: Dialect,
  table: 'params' | 'tags',
  runIds: string[],
): Promise<Map<string, string>> {
  const item = sql<string>`'{"key":' || ${quoted(dialect, 'key')} || ',"value":' || ${quoted(dialect, 'value')} || '}'`;
  const rows = await db
    .selectFrom(table)
    .select(['run_uuid', aggregate(dialect, item).as('items')])
    .where('run_uuid', 'in', runIds)
    .groupBy('run_uuid')
    .execute();
  return byRun(rows);
}

/** Latest metrics of the given runs, ordered by key, as JSON text per run id; NaN is written "NaN". */
export async function encodedLatestMetrics(
  db: Reader,
  dialect: Dialect,
  runIds: string[],
): Promise<Map<string, string>> {
  const item = sql<string>`'{"key":' || ${quoted(dialect, 'key')}
    || ',"value":' || (case when is_nan = 1 then '"NaN"' else cast(value as text) end)
    || ',"timestamp":' || cast(timestamp as text) || ',"step":' || cast(step as text) || '}'`;
  const rows = await db
    .selectFrom('latest_metrics')
    .select(['run_uuid', aggregate(dialect, item).as('items')])
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
