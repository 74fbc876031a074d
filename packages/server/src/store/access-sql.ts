// A search's access filter (entities/access.ts) as an SQL condition on the resource's key column.
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { IdFilter } from '../entities/access.js';
import { experimentIdValues } from '../entities/experiment-id.js';

/**
 * `column in (...)` or `column not in (...)`. Experiment ids are integer columns, so their ids are
 * bound as 64-bit integers and an id that is not one (it names no experiment) is left out.
 */
export function accessSql(
  column: string,
  filter: IdFilter,
  numeric: boolean,
): RawBuilder<SqlBool> | undefined {
  const raw = 'only' in filter ? filter.only : filter.except;
  const ids = numeric ? experimentIdValues(raw) : [...raw];
  const ref = sql.ref(column);
  if ('only' in filter) {
    return ids.length ? sql<SqlBool>`${ref} in (${sql.join(ids)})` : sql<SqlBool>`1 = 0`;
  }
  return ids.length ? sql<SqlBool>`${ref} not in (${sql.join(ids)})` : undefined;
}
