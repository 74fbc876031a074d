import { expressionBuilder, type Kysely, type RawBuilder, type Selectable, type SqlBool, sql } from 'kysely';
import type { LifecycleStage } from '../entities/tracking.js';
import type { FilterNode, OrderByClause } from '../search/filter-ast.js';
import {
  afterSql,
  type CursorEntry,
  cursorColumns,
  cursorOf,
  type KeysetPosition,
  orderBySql,
  parsePosition,
  type SortKey,
} from './keyset.js';
import { ATTRIBUTE_ORDER_COLUMNS, VALUE_PREFIX_CHARS } from './migrations.js';
import type { Database, RunsTable } from './schema.js';
import { attributeColumn, runFilterSql, runSortSource } from './search-sql.js';
import type { PageStart } from './tracking-store.js';

// The runs search query. The ordering is MLflow's: the order_by keys (missing values, and NaN for
// metrics, last in either direction), then start_time DESC, then run_uuid ASC, so it is total and a
// page can start right after the last run of the previous one. On PostgreSQL, param and tag values
// compare in byte order (collate "C"), as SQLite compares them, so both stores page alike.

type RunRow = Selectable<RunsTable> & Record<string, unknown>;

interface RunSortKey extends SortKey {
  /** The child-table row holding the value, joined to the run under `alias`. */
  join?: { alias: string; table: 'latest_metrics' | 'params' | 'tags'; key: string };
  /** The runs column holding the value, for attributes. */
  column?: string;
}

export interface RunSearch {
  /** Bound as integers (see entities/experiment-id.ts). */
  experimentIds: bigint[];
  stages: LifecycleStage[];
  filter?: FilterNode;
  orderBy: OrderByClause[];
  maxResults: number;
  start?: PageStart;
}

const START_TIME = sql.ref('runs.start_time');

type Dialect = 'sqlite' | 'postgres';

/** A param's or tag's value as the (key, value) index of migration 0009 orders it. */
function textValue(dialect: Dialect, value: RawBuilder<unknown>): RawBuilder<unknown> {
  return dialect === 'postgres' ? sql`${value} collate "C"` : value;
}

function sortKeys(orderBy: OrderByClause[], dialect: Dialect): RunSortKey[] {
  const keys: RunSortKey[] = [];
  let hasStart = false;
  let hasId = false;
  orderBy.forEach((o, i) => {
    const source = runSortSource(o);
    if ('table' in source) {
      const alias = `o${i}`;
      const missing = sql`${sql.ref(`${alias}.run_uuid`)} is null`;
      const value = sql`${sql.ref(`${alias}.value`)}`;
      keys.push({
        value: source.table === 'latest_metrics' ? value : textValue(dialect, value),
        rank:
          source.table === 'latest_metrics'
            ? sql`(case when ${missing} then 2 when ${sql.ref(`${alias}.is_nan`)} = 1 then 1 else 0 end)`
            : sql`(case when ${missing} then 2 else 0 end)`,
        ascending: o.ascending,
        type: source.table === 'latest_metrics' ? 'number' : 'string',
        join: { alias, ...source },
      });
    } else {
      const value = source.column === 'start_time' ? START_TIME : sql.ref(`runs.${source.column}`);
      keys.push({
        value,
        rank: source.nullable ? sql`(case when ${value} is null then 2 else 0 end)` : undefined,
        ascending: o.ascending,
        type: source.numeric ? 'number' : 'string',
        column: source.column,
      });
      if (source.column === 'start_time') hasStart = true;
      if (source.column === 'run_uuid') hasId = true;
    }
  });
  if (!hasStart) keys.push({ value: START_TIME, ascending: false, type: 'number' });
  if (!hasId) keys.push({ value: sql.ref('runs.run_uuid'), ascending: true, type: 'string' });
  return keys;
}

function joinsSql(keys: RunSortKey[]): RawBuilder<unknown> {
  return sql.join(
    keys.flatMap((k) =>
      k.join
        ? [
            sql`left join ${sql.table(k.join.table)} ${sql.raw(k.join.alias)} on ${sql.ref(`${k.join.alias}.run_uuid`)} = runs.run_uuid and ${sql.ref(`${k.join.alias}.key`)} = ${k.join.key}`,
          ]
        : [],
    ),
    sql` `,
  );
}

/** True when a top-level conjunct pins the run ids, so looking runs up by id beats any other plan. */
function pinsRunIds(node: FilterNode | undefined): boolean {
  if (!node) return false;
  if (node.kind === 'comparison') {
    return (
      node.entity === 'attribute' &&
      node.key === 'run_id' &&
      (node.comparator === '=' || node.comparator === 'IN')
    );
  }
  return node.kind === 'and' && node.nodes.some(pinsRunIds);
}

/**
 * A condition naming the runs a filter can match, when a top-level `params.k = 'v'`, `tags.k = 'v'`,
 * metric comparison (other than !=), or `=` (on SQLite also a LIKE with a fixed start) on run_name,
 * status, user_id or artifact_uri of it holds for fewer than sortedGroupLimit() / 5 runs (counted through
 * the (key, value) index, over all experiments, or the attribute's index): the search then starts from those runs and sorts them, instead of walking the
 * experiment in the requested order and checking every run (a value on 0.1% of a million runs made
 * a page visit 100,000 runs).
 */
const RANGE = new Set(['=', '<', '<=', '>', '>=']);

async function fewRuns(
  db: Kysely<Database>,
  dialect: Dialect,
  filter: FilterNode | undefined,
  experimentIds: bigint[],
): Promise<RawBuilder<SqlBool> | undefined> {
  if (!filter) return undefined;
  const conjuncts = filter.kind === 'and' ? filter.nodes : [filter];
  // A fifth of the group limit: the count itself reads up to `limit` index entries (heap rows too on
  // PostgreSQL until a vacuum marks the pages all-visible), a cost every search with the filter pays.
  const limit = Math.max(1, Math.floor(sortedGroupLimit() / 5));
  let best: { n: number; rows: RawBuilder<unknown> } | undefined;
  // A few candidates are enough; a filter may hold up to 500 comparisons, each a count.
  let tried = 0;
  for (const c of conjuncts) {
    if (c.kind !== 'comparison' || tried >= 8) continue;
    tried++;
    if (c.entity === 'metric' && RANGE.has(c.comparator) && c.value.kind === 'number') {
      // The same comparison of the stored value (0 for NaN, as MLflow compares it) through the
      // (key, value) index of latest_metrics.
      const op = sql.raw(c.comparator);
      const match = sql`from latest_metrics kv where kv.key = ${c.key} and kv.value ${op} cast(${c.value.value} as double precision)`;
      const counted = await sql<{
        n: number | string;
      }>`select count(*) as n from (select 1 ${match} limit ${limit}) c`.execute(db);
      const n = Number(counted.rows[0]?.n ?? 0);
      if (n < limit && (!best || n < best.n)) best = { n, rows: sql`select kv.run_uuid ${match}` };
      continue;
    }
    if (c.value.kind !== 'string') continue;
    const column = c.entity === 'attribute' ? attributeColumn(c.key) : undefined;
    // A LIKE pattern with a fixed start reads a range of the index (SQLite's case-sensitive LIKE).
    const prefixLike =
      c.comparator === 'LIKE' && dialect === 'sqlite' && !/^[%_]/.test(c.value.value) && c.value.value !== '';
    if (
      column &&
      ATTRIBUTE_ORDER_COLUMNS.includes(column) &&
      column !== 'run_uuid' &&
      (c.comparator === '=' || prefixLike)
    ) {
      // Through the attribute's index of migration 0015.
      const test = c.comparator === '=' ? sql`= ${c.value.value}` : sql`like ${c.value.value} escape '\\'`;
      const match = sql`from runs r where r.experiment_id in (${sql.join(experimentIds)}) and ${sql.ref(`r.${column}`)} ${test}`;
      const counted = await sql<{
        n: number | string;
      }>`select count(*) as n from (select 1 ${match} limit ${limit}) c`.execute(db);
      const n = Number(counted.rows[0]?.n ?? 0);
      if (n < limit && (!best || n < best.n)) best = { n, rows: sql`select r.run_uuid ${match}` };
      continue;
    }
    if (c.comparator !== '=' || (c.entity !== 'param' && c.entity !== 'tag')) continue;
    const table = sql.table(c.entity === 'param' ? 'params' : 'tags');
    const value = c.value.value;
    // PostgreSQL's (key, value) index holds a prefix (migration 0010): the redundant prefix
    // equality is what it can seek to.
    const seek =
      dialect === 'postgres'
        ? sql` and (left(kv.value, ${sql.lit(VALUE_PREFIX_CHARS)})) collate "C" = left(${value}, ${sql.lit(VALUE_PREFIX_CHARS)}) collate "C"`
        : sql``;
    // A value shorter than the prefix is equal exactly when the prefix is: the index alone decides.
    const exact =
      dialect === 'postgres' && value.length < VALUE_PREFIX_CHARS ? sql`` : sql` and kv.value = ${value}`;
    const match = sql`from ${table} kv where kv.key = ${c.key}${seek}${exact}`;
    const counted = await sql<{
      n: number | string;
    }>`select count(*) as n from (select 1 ${match} limit ${limit}) c`.execute(db);
    const n = Number(counted.rows[0]?.n ?? 0);
    if (n < limit && (!best || n < best.n)) best = { n, rows: sql`select kv.run_uuid ${match}` };
  }
  return best ? sql<SqlBool>`runs.run_uuid in (${best.rows})` : undefined;
}

/**
 * Cheap and likely-selective conditions first. Both databases test a run's conditions in the order
 * given once they check them run by run (see walksIndex): an attribute needs no lookup, and an
 * equality usually rejects more runs than a LIKE, which rejects more than a range, the usual planner
 * estimates. The result is the same set of runs in any order.
 */
function cheapestFirst(node: FilterNode): FilterNode {
  if (node.kind !== 'and') return node;
  const rank = (n: FilterNode): number => {
    if (n.kind !== 'comparison') return 4;
    if (n.entity === 'attribute') return 0;
    if (n.comparator === '=' || n.comparator === 'IN') return 1;
    if (n.comparator === 'LIKE' || n.comparator === 'ILIKE') return 2;
    return 3;
  };
  return {
    kind: 'and',
    nodes: node.nodes
      .map((n, i) => ({ n, i }))
      .sort((a, b) => rank(a.n) - rank(b.n) || a.i - b.i)
      .map(({ n }) => n),
  };
}

function orderSignature(orderBy: OrderByClause[]): [string, string, boolean][] {
  return orderBy.map((o) => [o.entity, o.key, o.ascending]);
}

/**
 * Finds one page of runs. Returns the rows (each with its sort-key columns) and, when more runs
 * follow, the position of the last one.
 */
export async function searchRunRows(
  db: Kysely<Database>,
  dialect: Dialect,
  search: RunSearch,
): Promise<{ rows: RunRow[]; next?: KeysetPosition }> {
  const keys = sortKeys(search.orderBy, dialect);
  const start = search.start;
  const cursor =
    start && 'after' in start ? parsePosition(start.after, orderSignature(search.orderBy), keys) : undefined;
  const offset = start && 'offset' in start ? start.offset : 0;
  const wanted = search.maxResults + 1;
  let rows: RunRow[];
  // A metric, param or tag index is over all experiments: one walk serves them together.
  if (search.experimentIds.length > 1 && offset === 0 && !pinsRunIds(search.filter) && !keys[0].join) {
    rows = await acrossExperiments(db, dialect, search, keys, cursor, wanted);
  } else {
    rows = await pageOf(db, dialect, search, keys, cursor, offset, wanted);
  }
  if (rows.length <= search.maxResults) return { rows };
  rows = rows.slice(0, search.maxResults);
  return {
    rows,
    next: { order: orderSignature(search.orderBy), after: cursorOf(rows[rows.length - 1], keys) },
  };
}

/**
 * Several experiments, ordered by a run attribute (start time by default): each one's page is found
 * by its own plan, which reads that experiment's indexes in order and stops after a page; the page across them is then the first `wanted` of those
 * candidates, ordered by the same SQL. A single query would have to merge the experiments' index
 * ranges, which neither database does for a LIMIT: both read every run of every experiment and sort.
 */
async function acrossExperiments(
  db: Kysely<Database>,
  dialect: Dialect,
  search: RunSearch,
  keys: RunSortKey[],
  cursor: CursorEntry[] | undefined,
  wanted: number,
): Promise<RunRow[]> {
  const candidates: string[] = [];
  for (const experimentId of search.experimentIds) {
    const one = { ...search, experimentIds: [experimentId] };
    for (const row of await pageOf(db, dialect, one, keys, cursor, 0, wanted)) candidates.push(row.run_uuid);
  }
  if (candidates.length === 0) return [];
  const where = [
    sql<SqlBool>`runs.run_uuid in (${sql.join(candidates)})`,
    ...(cursor ? [afterSql(keys, cursor)] : []),
  ];
  const result = await sql<RunRow>`select runs.*, ${cursorColumns(keys)} from runs ${joinsSql(keys)}
    where ${sql.join(where, sql` and `)}
    order by ${orderBySql(keys)} limit ${wanted}`.execute(db);
  return result.rows;
}

/** Up to `wanted` runs from the position given, by the plan that suits the ordering. */
async function pageOf(
  db: Kysely<Database>,
  dialect: Dialect,
  search: RunSearch,
  keys: RunSortKey[],
  cursor: CursorEntry[] | undefined,
  offset: number,
  wanted: number,
): Promise<RunRow[]> {
  const eb = expressionBuilder<Database, 'runs'>();
  const few =
    offset === 0 && !pinsRunIds(search.filter)
      ? await fewRuns(db, dialect, search.filter, search.experimentIds)
      : undefined;
  const pinned = pinsRunIds(search.filter) || few !== undefined;
  // When the filter names the runs (or a few of them, `few`), looking them up by id beats scanning
  // the experiment in start time order, but SQLite's planner prefers the scan, which saves it a
  // sort; the unary plus (valid for PostgreSQL's bigint as well) keeps it off the experiment indexes.
  const experiment = pinned ? sql`+runs.experiment_id` : sql`runs.experiment_id`;
  const conditions: RawBuilder<SqlBool>[] = [
    sql<SqlBool>`${experiment} in (${sql.join(search.experimentIds)})`,
    ...(few ? [few] : []),
  ];
  // Every run is either active or deleted: asking for both needs no condition at all.
  if (search.stages.length < 2)
    conditions.push(sql<SqlBool>`runs.lifecycle_stage in (${sql.join(search.stages)})`);
  const single = search.experimentIds.length === 1 && offset === 0 && !pinned;
  const childFirstPlan = keys[0].join !== undefined && offset === 0 && !pinned;
  const attributeFirstPlan = keys[0].column !== undefined && keys[0].value !== START_TIME && single;
  // The plans that read runs in an index's order (by a metric, param, tag or attribute, or by start
  // time, MLflow's default) stop after a page, checking the filter run by run. PostgreSQL would
  // otherwise turn the filter's EXISTS into joins that first read every run matching any one
  // condition: 5x (metric order) and 7x (start time) slower on the bench's searches. A very selective
  // filter is the case that loses (every run is visited), as it always is on SQLite.
  const walksIndex = childFirstPlan || attributeFirstPlan || (keys[0].value === START_TIME && !pinned);
  if (search.filter) {
    // The few runs named by `few` are checked one by one too: as joins, a filter of hundreds of
    // EXISTS takes PostgreSQL's planner minutes.
    const probePerRun = dialect === 'postgres' && (walksIndex || few !== undefined);
    const byRunKeyOnly = dialect === 'sqlite';
    conditions.push(
      sql<SqlBool>`${runFilterSql(eb, cheapestFirst(search.filter), { probePerRun, byRunKeyOnly })}`,
    );
  }
  if (single || childFirstPlan) {
    const experimentId = single ? search.experimentIds[0] : undefined;
    return ordered(
      { db, dialect, stages: search.stages.length, conditions, experimentId },
      keys,
      cursor,
      wanted,
    );
  }
  const where = cursor ? [...conditions, afterSql(keys, cursor)] : conditions;
  const result = await sql<RunRow>`select runs.*, ${cursorColumns(keys)} from runs ${joinsSql(keys)}
    where ${sql.join(where, sql` and `)}
    order by ${orderBySql(keys)} limit ${wanted} offset ${offset}`.execute(db);
  return result.rows;
}

/** One experiment's search: the database, and the conditions every run of the page must meet. */
interface Plan {
  db: Kysely<Database>;
  dialect: Dialect;
  /** How many lifecycle stages the search asks for (2: every run, no condition on the stage). */
  stages: number;
  conditions: RawBuilder<SqlBool>[];
  /** The experiment, when there is one: attributeFirst reads its (experiment_id, ...) indexes. */
  experimentId?: bigint;
}

/**
 * Up to `wanted` runs of one experiment after `cursor` in the order `keys`, meeting `extra` as well,
 * each with its sort-key columns numbered from 0. Starts from the index of the first key.
 */
async function ordered(
  plan: Plan,
  keys: RunSortKey[],
  cursor: CursorEntry[] | undefined,
  wanted: number,
  extra: RawBuilder<SqlBool>[] = [],
): Promise<RunRow[]> {
  if (keys[0].join) return childFirst(plan, keys, cursor, wanted, extra);
  if (keys[0].column !== undefined && keys[0].value !== START_TIME && plan.experimentId !== undefined) {
    return attributeFirst(plan, keys, cursor, wanted, extra);
  }
  const where = [...plan.conditions, ...extra, ...(cursor ? [afterSql(keys, cursor)] : [])];
  // In start-time order, SQLite (without statistics) may prefer an attribute index of migration 0015
  // that a filter's range or LIKE can use, then sort half the experiment: keep it on the walk.
  const from =
    plan.dialect === 'sqlite' && keys[0].value === START_TIME
      ? sql`runs indexed by ${sql.raw(plan.stages < 2 ? 'runs_stage_start_idx' : 'runs_experiment_start_idx')}`
      : sql`runs`;
  const result = await sql<RunRow>`select runs.*, ${cursorColumns(keys)} from ${from} ${joinsSql(keys)}
    where ${sql.join(where, sql` and `)}
    order by ${orderBySql(keys)} limit ${wanted}`.execute(plan.db);
  return result.rows;
}

/**
 * A group of runs sharing the first key's value is read whole and sorted when it has fewer runs than
 * this; a larger one is read in the order of the remaining keys through their own index, checking the
 * value run by run, which visits about (page size) x (runs) / (group size) runs.
 */
const SORTED_GROUP_LIMIT = 10_000;

/** SORTED_GROUP_LIMIT, or MLFLOW_TS_SEARCH_SORTED_GROUP_LIMIT (tests set it low to walk small groups). */
function sortedGroupLimit(): number {
  const set = Number(process.env.MLFLOW_TS_SEARCH_SORTED_GROUP_LIMIT);
  return Number.isInteger(set) && set > 0 ? set : SORTED_GROUP_LIMIT;
}

/** Rows found for the keys after the first, renumbered as rows of the whole ordering. */
function asWholeRows(rows: RunRow[], value: number | string): RunRow[] {
  return rows.map((row) => {
    const out: RunRow = {} as RunRow;
    for (const [name, v] of Object.entries(row)) {
      const m = /^_([kr])(\d+)$/.exec(name);
      (out as Record<string, unknown>)[m ? `_${m[1]}${Number(m[2]) + 1}` : name] = v;
    }
    (out as Record<string, unknown>)._k0 = value;
    (out as Record<string, unknown>)._r0 = 0;
    return out;
  });
}

/** True when a group of runs sharing a value (counted by `countCapped`) is too large to sort whole. */
async function isLarge(
  db: Kysely<Database>,
  countCapped: (limit: number) => RawBuilder<{ n: number | string }>,
): Promise<boolean> {
  const limit = sortedGroupLimit();
  const { rows } = await countCapped(limit).execute(db);
  return Number(rows[0]?.n ?? 0) >= limit;
}

/**
 * The runs whose first key equals `value`, in the order of the other keys: read whole and sorted by
 * `readSorted` when the group is small (`countCapped` below sortedGroupLimit()), otherwise walked
 * through the next key's own plan with `isValue` as one more condition.
 */
async function tieGroup(
  plan: Plan,
  keys: RunSortKey[],
  value: number | string,
  cursor: CursorEntry[] | undefined,
  wanted: number,
  extra: RawBuilder<SqlBool>[],
  parts: {
    countCapped: (limit: number) => RawBuilder<{ n: number | string }>;
    readSorted: (where: RawBuilder<SqlBool>[]) => Promise<RunRow[]>;
    isValue: RawBuilder<SqlBool>;
  },
): Promise<RunRow[]> {
  const rest = keys.slice(1);
  // Without the seek bound on the next key (start time, usually): SQLite would take it to walk the
  // runs by start time instead of looking up the group's few runs.
  const position = cursor ? [afterSql(rest, cursor, false)] : [];
  if (!(await isLarge(plan.db, parts.countCapped))) return parts.readSorted(position);
  const found = await ordered(plan, rest, cursor, wanted, [...extra, parts.isValue]);
  return asWholeRows(found, value);
}

/**
 * Ordering by a metric, param or tag first: the runs that have the key are read in value order
 * straight from the child table's (key, value) index, so a page of 100 visits about 100 runs
 * (divided by the filter's selectivity) instead of looking the key up for every run of the
 * experiment and sorting them all. Runs where a metric is NaN, then runs without the key, come after,
 * each group read only once the previous one is exhausted. The CROSS JOIN keeps SQLite from starting
 * at the runs table. The filter is checked run by run as the walk goes; PostgreSQL would otherwise
 * turn its EXISTS into joins that read every run matching any one condition first (5x slower on the
 * bench's search). PostgreSQL's param and tag index holds a value prefix only: ordering by that
 * prefix first lets it read the index in order and sort just the runs that share a prefix.
 *
 * Runs sharing a value must then be ordered by the next keys (start time DESC, run id ASC at least),
 * and such a group can hold a large part of the experiment (a param with ten values). So the values
 * are read window by window, as in attributeFirst: the values before the `window`-th index entry
 * after the position (at most `window` runs, sorted), then the group of that entry's value on its
 * own (tieGroup), the window doubling each round.
 */
async function childFirst(
  plan: Plan,
  keys: RunSortKey[],
  cursor: CursorEntry[] | undefined,
  wanted: number,
  extra: RawBuilder<SqlBool>[],
): Promise<RunRow[]> {
  const { db, dialect } = plan;
  const [first, ...rest] = keys;
  if (!first.join) throw new Error('childFirst needs a child-table key first');
  const { table, key } = first.join;
  const isMetric = table === 'latest_metrics';
  const prefixed = dialect === 'postgres' && !isMetric;
  const restColumns = rest.length > 0 ? sql`, ${cursorColumns(rest, 1)}` : sql``;
  const conditions = [...plan.conditions, ...extra];
  const raw = sql`o0.value`;
  const valueKey: SortKey = {
    value: isMetric ? raw : textValue(dialect, raw),
    ascending: first.ascending,
    type: first.type,
  };
  // The indexed expression, spelled as in migration 0010 so the planner matches it.
  const prefix = sql`(left(o0.value, ${sql.lit(VALUE_PREFIX_CHARS)})) collate "C"`;
  const prefixOf = (v: unknown) => sql`left(${v}, ${sql.lit(VALUE_PREFIX_CHARS)}) collate "C"`;
  const orderPrefix: SortKey[] = prefixed
    ? [{ value: prefix, ascending: first.ascending, type: 'string' }]
    : [];
  const valueOrder = [...orderPrefix, valueKey, ...rest];
  const nanCondition = isMetric ? [sql<SqlBool>`o0.is_nan = 0`] : [];
  /** `value <op> v`, with the prefix bound PostgreSQL's index can seek to (redundant otherwise). */
  const compare = (op: '<' | '>' | '=', v: number | string): RawBuilder<SqlBool>[] => {
    const exact = sql<SqlBool>`${valueKey.value} ${sql.raw(op)} ${v}`;
    if (!prefixed) return [exact];
    const loose = op === '=' ? '=' : `${op}=`;
    return [sql<SqlBool>`${prefix} ${sql.raw(loose)} ${prefixOf(v)}`, exact];
  };
  const beyond = first.ascending ? '>' : '<';
  const before = first.ascending ? '<' : '>';

  const rows: RunRow[] = [];
  /** Runs with a (non-NaN) value of the key, in the order `order`, up to the rest of the page. */
  const valuesOf = async (where: RawBuilder<SqlBool>[], order: SortKey[]) => {
    const all = [
      sql<SqlBool>`o0.key = ${key}`,
      ...nanCondition,
      sql<SqlBool>`runs.run_uuid = o0.run_uuid`,
      ...conditions,
      ...where,
    ];
    const result = await sql<RunRow>`select runs.*, ${valueKey.value} as _k0, 0 as _r0${restColumns}
      from ${sql.table(table)} o0 cross join runs ${joinsSql(rest)}
      where ${sql.join(all, sql` and `)}
      order by ${orderBySql(order)} limit ${wanted - rows.length}`.execute(db);
    return result.rows;
  };
  const readValues = async (where: RawBuilder<SqlBool>[], order: SortKey[]) => {
    rows.push(...(await valuesOf(where, order)));
  };
  const countOf = (v: number | string) => (limit: number) => {
    // On PostgreSQL a value shorter than the indexed prefix is matched by the prefix alone, so the
    // count reads the index only.
    const short = prefixed && typeof v === 'string' && v.length < VALUE_PREFIX_CHARS;
    const equal = short ? [sql<SqlBool>`${prefix} = ${prefixOf(v)}`] : compare('=', v);
    return sql<{ n: number }>`select count(*) as n from (select 1 from ${sql.table(table)} o0
        where o0.key = ${key} and ${sql.join([...equal, ...nanCondition], sql` and `)} limit ${limit}) g`;
  };
  const group = async (v: number | string, position: CursorEntry[] | undefined) => {
    const equal = compare('=', v);
    const found = await tieGroup(plan, keys, v, position, wanted - rows.length, extra, {
      countCapped: countOf(v),
      readSorted: (where) => valuesOf([...equal, ...where], rest),
      isValue: sql<SqlBool>`exists (select 1 from ${sql.table(table)} o0 where o0.run_uuid = runs.run_uuid
        and o0.key = ${key} and ${sql.join([...equal, ...nanCondition], sql` and `)}${dialect === 'postgres' ? sql` offset 0` : sql``})`,
    });
    rows.push(...found);
  };

  let stage = cursor ? cursor[0][0] : 0;
  if (stage === 0) {
    let lower: number | string | undefined;
    if (cursor) {
      lower = cursor[0][1] as number | string;
      await group(lower, cursor.slice(1));
    }
    let window = wanted;
    while (rows.length < wanted) {
      const after = lower === undefined ? [] : compare(beyond, lower);
      // Any value serves as the boundary (the reads split the values at it), so PostgreSQL takes a
      // prefix from its index alone, strictly past the position's prefix; the values sharing that
      // prefix fall in the read before the boundary.
      const boundary = prefixed
        ? await sql<{ v: string }>`select ${prefix} as v from ${sql.table(table)} o0
            where o0.key = ${key}${lower === undefined ? sql`` : sql` and ${prefix} ${sql.raw(beyond)} ${prefixOf(lower)}`}
            order by ${orderBySql(orderPrefix)} limit 1 offset ${window - 1}`.execute(db)
        : await sql<{ v: number | string }>`select o0.value as v from ${sql.table(table)} o0
            where ${sql.join([sql<SqlBool>`o0.key = ${key}`, ...after], sql` and `)}
            order by ${orderBySql(valueOrder.slice(0, 1))} limit 1 offset ${window - 1}`.execute(db);
      if (boundary.rows.length === 0) {
        await readValues(after, valueOrder);
        break;
      }
      const bound = boundary.rows[0].v;
      if (!(await isLarge(db, countOf(bound)))) {
        // The values ahead come in groups small enough to sort: one read in value order, stopped
        // after the page, as long as no large group lies ahead.
        await readValues(after, valueOrder);
        break;
      }
      await readValues([...after, ...compare(before, bound)], valueOrder);
      if (rows.length >= wanted) break;
      await group(bound, undefined);
      lower = bound;
      window *= 2;
    }
    stage = 1;
  }
  for (; stage <= 2 && rows.length < wanted; stage++) {
    if (stage === 1 && !isMetric) continue; // only metrics can be NaN
    const where = [...conditions];
    let from: RawBuilder<unknown>;
    if (stage === 1) {
      from = sql`${sql.table(table)} o0 cross join runs`;
      where.unshift(
        sql<SqlBool>`o0.key = ${key}`,
        sql<SqlBool>`o0.is_nan = 1`,
        sql<SqlBool>`runs.run_uuid = o0.run_uuid`,
      );
    } else {
      from = sql`runs`;
      where.push(
        sql<SqlBool>`not exists (select 1 from ${sql.table(table)} m where m.run_uuid = runs.run_uuid and m.key = ${key})`,
      );
    }
    if (cursor && cursor[0][0] === stage) where.push(afterSql(rest, cursor.slice(1)));
    const result =
      await sql<RunRow>`select runs.*, null as _k0, ${sql.lit(stage)} as _r0${restColumns} from ${from} ${joinsSql(rest)}
      where ${sql.join(where, sql` and `)}
      order by ${orderBySql(rest)} limit ${wanted - rows.length}`.execute(db);
    rows.push(...result.rows);
  }
  return rows;
}

/** The index of migration 0015 that orders an experiment's runs by `column`, then by start time. */
export function attributeOrderIndex(column: string): string {
  return `runs_${column}_order_idx`;
}

/**
 * Ordering by a run attribute first (other than start time, which has its own index): the runs are
 * read through the (experiment_id, column, start_time, run_uuid) index of migration 0015, so that a
 * page reads about a page of index entries whatever the number of runs.
 *
 * A single ORDER BY over that index would be exact for the column but must then sort each group of
 * equal values by start time DESC, run id ASC (MLflow's tie-break), and a group can hold nearly every
 * run (`status`: most runs are FINISHED). So the walk alternates two bounded reads: the values between
 * the position and the `window`-th index entry after it (at most `window` runs, sorted as a whole),
 * then the group of that boundary value, read in start-time order straight from the index and stopped
 * after the page (or, when other keys come first, by tieGroup). The window doubles on each round, for
 * filters that reject most runs. Runs without a value (end_time) come last in both directions, as
 * MLflow orders them.
 */
async function attributeFirst(
  plan: Plan,
  keys: RunSortKey[],
  cursor: CursorEntry[] | undefined,
  wanted: number,
  extra: RawBuilder<SqlBool>[],
): Promise<RunRow[]> {
  const { db, dialect, experimentId } = plan;
  const [first, ...rest] = keys;
  const column = first.column as string;
  const value = sql.ref(`runs.${column}`);
  const beyond = sql.raw(first.ascending ? '>' : '<');
  const direction = sql.raw(first.ascending ? 'asc' : 'desc');
  // SQLite's planner, without statistics, may prefer the (experiment, stage, start time) index.
  const from =
    dialect === 'sqlite' ? sql`runs indexed by ${sql.raw(attributeOrderIndex(column))}` : sql`runs`;
  const conditions = [...plan.conditions, ...extra];
  const rows: RunRow[] = [];
  const runsOf = async (where: RawBuilder<SqlBool>[], order: SortKey[]) => {
    const result = await sql<RunRow>`select runs.*, ${cursorColumns(keys)} from ${from} ${joinsSql(keys)}
      where ${sql.join([...conditions, ...where], sql` and `)}
      order by ${orderBySql(order)} limit ${wanted - rows.length}`.execute(db);
    return result.rows;
  };
  const read = async (where: RawBuilder<SqlBool>[], order: SortKey[]) => {
    rows.push(...(await runsOf(where, order)));
  };
  // The index orders a group by start time: the common tail (start time DESC, run id) reads it directly.
  const indexOrdersGroup = rest[0]?.value === START_TIME && !rest[0].ascending;
  // Runs with a value, whose rank is 0: ordering by the column alone lets the index give the order.
  const valueOrder: SortKey[] = [{ ...first, rank: undefined }, ...rest];
  const countOf = (equal: RawBuilder<SqlBool>) => (limit: number) =>
    sql<{ n: number }>`select count(*) as n from (select 1 from ${from}
      where runs.experiment_id = ${experimentId} and ${equal} limit ${limit}) g`;
  const group = async (v: number | string, position: CursorEntry[] | undefined) => {
    const equal = sql<SqlBool>`${value} = ${v}`;
    const after = position ? [afterSql(rest, position)] : [];
    if (indexOrdersGroup) {
      await read([equal, ...after], rest);
      return;
    }
    const found = await tieGroup(plan, keys, v, position, wanted - rows.length, extra, {
      countCapped: countOf(equal),
      readSorted: (where) => runsOf([equal, ...where], rest),
      isValue: equal,
    });
    rows.push(...found);
  };

  let lower: number | string | undefined;
  if (cursor) {
    const [rank, at] = cursor[0];
    if (rank > 0) {
      // Within the runs without a value: the rest of them after the position.
      await read([sql<SqlBool>`${value} is null`, afterSql(rest, cursor.slice(1))], rest);
      return rows;
    }
    await group(at as number | string, cursor.slice(1));
    lower = at as number | string;
  }
  let window = wanted;
  while (rows.length < wanted) {
    const after = lower === undefined ? [] : [sql<SqlBool>`${value} ${beyond} ${lower}`];
    const boundary = await sql<{ v: number | string }>`select ${value} as v from ${from}
      where ${sql.join([sql<SqlBool>`runs.experiment_id = ${experimentId}`, sql<SqlBool>`${value} is not null`, ...after], sql` and `)}
      order by ${value} ${direction} limit 1 offset ${window - 1}`.execute(db);
    if (boundary.rows.length === 0) {
      // Fewer than `window` runs with a value remain: all of them, sorted.
      await read([sql<SqlBool>`${value} is not null`, ...after], valueOrder);
      break;
    }
    const bound = boundary.rows[0].v;
    if (!(await isLarge(db, countOf(sql<SqlBool>`${value} = ${bound}`)))) {
      // Groups small enough to sort ahead: one read in index order, stopped after the page.
      await read([sql<SqlBool>`${value} is not null`, ...after], valueOrder);
      break;
    }
    await read(
      [...after, sql<SqlBool>`${value} ${sql.raw(first.ascending ? '<' : '>')} ${bound}`],
      valueOrder,
    );
    if (rows.length >= wanted) break;
    await group(bound, undefined);
    lower = bound;
    window *= 2;
  }
  if (first.rank && rows.length < wanted) await read([sql<SqlBool>`${value} is null`], rest);
  return rows;
}
