import {
  type Expression,
  type ExpressionBuilder,
  type OperandExpression,
  type RawBuilder,
  type SqlBool,
  sql,
} from 'kysely';
import type { Comparison, FilterNode, OrderByClause } from '../search/filter-ast.js';
import type { Database } from './schema.js';

// Compiles checked search filters (see search/search-rules.ts) to SQL predicates. Every predicate is
// an indexed lookup or an EXISTS over a child table, so the database filters and the server never
// loads rows to test them. The same SQL runs on SQLite and PostgreSQL with the same results.

type RunsEb = ExpressionBuilder<Database, 'runs'>;
type ExperimentsEb = ExpressionBuilder<Database, 'experiments'>;

const RUN_COLUMNS: Record<string, string> = {
  run_id: 'run_uuid',
  run_name: 'name',
  status: 'status',
  user_id: 'user_id',
  artifact_uri: 'artifact_uri',
  start_time: 'start_time',
  end_time: 'end_time',
};

/** The runs column of a (checked) run attribute. */
export function attributeColumn(key: string): string | undefined {
  return RUN_COLUMNS[key];
}

const SYMBOLS = new Set(['=', '!=', '<', '<=', '>', '>=']);

function listOf(c: Comparison): string[] {
  if (c.value.kind !== 'list') return [];
  return c.value.items.flatMap((i) => (i.kind === 'string' ? [i.value] : []));
}

function textOf(c: Comparison): string {
  return c.value.kind === 'string' ? c.value.value : '';
}

/**
 * `column <op> value` for a string comparison. LIKE is case-sensitive on both databases (SQLite
 * runs with case_sensitive_like) and a backslash escapes `%` and `_` on both, as PostgreSQL does by
 * default; ILIKE lowers both sides, as SQLAlchemy does for MLflow on SQLite.
 */
export function stringPredicate(column: Expression<unknown>, c: Comparison): RawBuilder<SqlBool> {
  switch (c.comparator) {
    case 'IN':
    case 'NOT IN': {
      const values = listOf(c);
      // An empty list (MLflow drops items that are not lower case) matches nothing, or everything.
      if (values.length === 0) return c.comparator === 'IN' ? sql<SqlBool>`1 = 0` : sql<SqlBool>`1 = 1`;
      const list = sql.join(values.map((v) => sql.val(v)));
      return c.comparator === 'IN'
        ? sql<SqlBool>`${column} in (${list})`
        : sql<SqlBool>`${column} not in (${list})`;
    }
    case 'LIKE':
      return sql<SqlBool>`${column} like ${textOf(c)} escape '\\'`;
    case 'ILIKE':
      return sql<SqlBool>`lower(${column}) like lower(${textOf(c)}) escape '\\'`;
    default:
      return sql<SqlBool>`${column} ${sql.raw(symbol(c))} ${textOf(c)}`;
  }
}

/** The comparison operator, from the checked set only, so it is safe to splice into SQL. */
function symbol(c: Comparison): string {
  if (!SYMBOLS.has(c.comparator)) throw new Error(`unchecked comparator ${c.comparator}`);
  return c.comparator;
}

/**
 * `column <op> number`. The number is cast so PostgreSQL compares a bigint column with 1.5 instead
 * of failing to read 1.5 as a bigint.
 */
export function numericPredicate(column: Expression<unknown>, c: Comparison): RawBuilder<SqlBool> {
  const value = c.value.kind === 'number' ? c.value.value : Number.NaN;
  return sql<SqlBool>`${column} ${sql.raw(symbol(c))} cast(${value} as double precision)`;
}

/** A param, tag or experiment tag: EXISTS a row with the key whose value matches. */
function keyValuePredicate(
  table: 'params' | 'tags' | 'experiment_tags',
  owner: RawBuilder<unknown>,
  c: Comparison,
  options: RunFilterOptions = {},
): RawBuilder<SqlBool> {
  const ownerColumn = table === 'experiment_tags' ? 'experiment_id' : 'run_uuid';
  const row = sql`select 1 from ${sql.table(table)} kv where kv.${sql.ref(ownerColumn)} = ${owner} and kv.key = ${c.key}`;
  const probe = options.probePerRun ? sql` offset 0` : sql``;
  if (c.comparator === 'IS NULL') return sql<SqlBool>`not exists (${row}${probe})`;
  if (c.comparator === 'IS NOT NULL') return sql<SqlBool>`exists (${row}${probe})`;
  // SQLite would serve a LIKE with a prefix through the (key, value) index, reading every run's
  // matching value for each run it checks (25 s for a page on a million runs); the unary plus leaves
  // it the (run_uuid, key) primary key. An equality is served by that index together with the run.
  const value = options.byRunKeyOnly && c.comparator === 'LIKE' ? sql`+kv.value` : sql.ref('kv.value');
  // != as in MLflow: the key is present with another value (a missing key does not match).
  return sql<SqlBool>`exists (${row} and ${stringPredicate(value, c)}${probe})`;
}

export interface RunFilterOptions {
  /**
   * PostgreSQL only: keep each EXISTS a per-run probe (OFFSET 0 stops the planner from turning it
   * into a join). For a plan that walks runs in a given order and stops after a page.
   */
  probePerRun?: boolean;
  /**
   * SQLite only: look a run's metric (or, for LIKE, param or tag) up by the (run_uuid, key) primary key. Left to itself, SQLite
   * may pick the (key, value) index for `value > x` and scan every run's value above x for each run
   * it checks (1.2 s instead of 30 ms for a second page on 100,000 runs); the unary plus hides the
   * value column from index selection.
   */
  byRunKeyOnly?: boolean;
}

function runComparison(eb: RunsEb, c: Comparison, options: RunFilterOptions): Expression<SqlBool> {
  const probe = <Q extends OperandExpression<unknown> & { offset(n: number): Q }>(child: Q) =>
    eb.exists(options.probePerRun ? child.offset(0) : child);
  switch (c.entity) {
    // Trace searches' own entities: runs' grammar has no prefix for them.
    case 'metadata':
    case 'span':
    case 'feedback':
    case 'expectation':
      throw new Error(`unchecked entity ${c.entity}`);
    case 'metric':
      // MLflow stores a NaN latest metric as value 0 (flagged is_nan) and compares that 0, so
      // `metrics.loss < 1` matches a NaN loss there; we keep that for identical answers.
      return probe(
        eb
          .selectFrom('latest_metrics as lm')
          .select(sql.lit(1).as('one'))
          .whereRef('lm.run_uuid', '=', 'runs.run_uuid')
          .where('lm.key', '=', c.key)
          .where(numericPredicate(options.byRunKeyOnly ? sql`+lm.value` : sql.ref('lm.value'), c)),
      );
    case 'param':
      return keyValuePredicate('params', sql.ref('runs.run_uuid'), c, options);
    case 'tag':
      return keyValuePredicate('tags', sql.ref('runs.run_uuid'), c, options);
    case 'attribute': {
      const column = sql.ref(`runs.${RUN_COLUMNS[c.key]}`);
      return c.key === 'start_time' || c.key === 'end_time'
        ? numericPredicate(column, c)
        : stringPredicate(column, c);
    }
    case 'dataset': {
      // Any dataset input of the run matches (so != means "has a dataset with another name").
      let child = eb
        .selectFrom('inputs as i')
        .innerJoin('datasets as d', 'd.dataset_uuid', 'i.source_id')
        .select(sql.lit(1).as('one'))
        .where('i.destination_type', '=', 'RUN')
        .whereRef('i.destination_id', '=', 'runs.run_uuid');
      if (c.key === 'context') {
        child = child
          .innerJoin('input_tags as it', 'it.input_uuid', 'i.input_uuid')
          .where('it.name', '=', 'mlflow.data.context');
      }
      const column = c.key === 'context' ? 'it.value' : c.key === 'digest' ? 'd.digest' : 'd.name';
      return probe(child.where(stringPredicate(sql.ref(column), c)));
    }
  }
}

function combine(node: FilterNode, leaf: (c: Comparison) => Expression<SqlBool>): Expression<SqlBool> {
  if (node.kind === 'comparison') return leaf(node);
  const parts = node.nodes.map((n) => combine(n, leaf));
  const joiner = node.kind === 'and' ? sql` and ` : sql` or `;
  return sql<SqlBool>`(${sql.join(parts, joiner)})`;
}

export function runFilterSql(
  eb: RunsEb,
  node: FilterNode,
  options: RunFilterOptions = {},
): Expression<SqlBool> {
  return combine(node, (c) => runComparison(eb, c, options));
}

/** Where the value of a runs ORDER BY key lives: a child table row of the run, or a column of runs. */
export type RunSortSource =
  | { table: 'latest_metrics' | 'params' | 'tags'; key: string }
  | { column: string; numeric: boolean; nullable: boolean };

/**
 * Resolves a runs ORDER BY clause (already checked by the search rules); the ordering itself (values,
 * then NaN for metrics, then missing values, in both directions, as MLflow) is run-search.ts's.
 */
export function runSortSource(o: OrderByClause): RunSortSource {
  switch (o.entity) {
    case 'metric':
      return { table: 'latest_metrics', key: o.key };
    case 'param':
      return { table: 'params', key: o.key };
    case 'tag':
      return { table: 'tags', key: o.key };
    default: {
      const column = RUN_COLUMNS[o.key];
      const numeric = column === 'start_time' || column === 'end_time';
      return { column, numeric, nullable: column === 'end_time' };
    }
  }
}

function experimentComparison(c: Comparison): Expression<SqlBool> {
  if (c.entity === 'tag')
    return keyValuePredicate('experiment_tags', sql.ref('experiments.experiment_id'), c);
  const column = sql.ref(`experiments.${c.key}`);
  return c.key === 'name' ? stringPredicate(column, c) : numericPredicate(column, c);
}

export function experimentFilterSql(_eb: ExperimentsEb, node: FilterNode): Expression<SqlBool> {
  return combine(node, experimentComparison);
}

export function experimentOrderExpression(o: OrderByClause): Expression<unknown> {
  return sql.ref(`experiments.${o.key}`);
}
