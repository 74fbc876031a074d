import { type Expression, type ExpressionBuilder, type OperandExpression, type SqlBool, sql } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import type { Comparison, FilterNode, OrderByClause } from '../search/filter-ast.js';
import type { Database } from './schema.js';

// Compiles parsed search filters to SQL predicates. Every predicate is an indexed lookup or an
// EXISTS over a child table, so the database filters and the server never loads rows to test them.

type RunsEb = ExpressionBuilder<Database, 'runs'>;
type ExperimentsEb = ExpressionBuilder<Database, 'experiments'>;

const NUMERIC_OPS = new Set(['=', '!=', '<', '<=', '>', '>=']);
const STRING_OPS = new Set(['=', '!=', 'LIKE', 'ILIKE']);
const STRING_SET_OPS = new Set(['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN']);

const RUN_STRING_ATTRIBUTES: Record<string, string> = {
  run_id: 'run_uuid',
  run_name: 'name',
  status: 'status',
  user_id: 'user_id',
  artifact_uri: 'artifact_uri',
  lifecycle_stage: 'lifecycle_stage',
};
const RUN_NUMERIC_ATTRIBUTES: Record<string, string> = {
  start_time: 'start_time',
  end_time: 'end_time',
  created: 'start_time',
  Created: 'start_time',
};

function invalid(message: string): never {
  throw MlflowError.invalidParameter(message);
}

function requireString(c: Comparison, what: string): string {
  if (c.value.kind !== 'string') {
    invalid(`Expected a quoted string value for ${what} (e.g. 'my-value'). Got value ${valueText(c)}`);
  }
  return c.value.value;
}

function requireNumber(c: Comparison, what: string): number {
  if (c.value.kind !== 'number') invalid(`Expected numeric value type for ${what}. Found ${valueText(c)}`);
  return c.value.value;
}

function valueText(c: Comparison): string {
  if (c.value.kind === 'list') return `(${c.value.values.map((v) => `'${v}'`).join(', ')})`;
  return c.value.kind === 'number' ? c.value.text : `'${c.value.value}'`;
}

function checkOp(c: Comparison, allowed: Set<string>, what: string): void {
  if (!allowed.has(c.comparator)) {
    invalid(
      `Invalid comparator '${c.comparator}' not one of '[${[...allowed].map((o) => `'${o}'`).join(', ')}]' for ${what}`,
    );
  }
}

/** `column <op> value` for string comparators, including MLflow's case-sensitive LIKE. */
function stringPredicate(column: Expression<unknown>, c: Comparison): Expression<SqlBool> {
  switch (c.comparator) {
    case 'IN':
    case 'NOT IN': {
      if (c.value.kind !== 'list') invalid(`Expected a parenthesised list of strings for '${c.comparator}'`);
      const list = sql.join(c.value.values.map((v) => sql.val(v)));
      return c.comparator === 'IN'
        ? sql<SqlBool>`${column} in (${list})`
        : sql<SqlBool>`${column} not in (${list})`;
    }
    case 'ILIKE':
      return sql<SqlBool>`lower(${column}) like lower(${requireString(c, 'ILIKE')})`;
    case 'LIKE':
      return sql<SqlBool>`${column} like ${requireString(c, 'LIKE')}`;
    default:
      return sql<SqlBool>`${column} ${sql.raw(c.comparator)} ${requireString(c, 'a string comparison')}`;
  }
}

function numericPredicate(column: Expression<unknown>, c: Comparison, what: string): Expression<SqlBool> {
  checkOp(c, NUMERIC_OPS, what);
  return sql<SqlBool>`${column} ${sql.raw(c.comparator)} ${requireNumber(c, what)}`;
}

export interface RunFilterOptions {
  /**
   * PostgreSQL only: keep each EXISTS a per-run probe (OFFSET 0 stops the planner from turning it
   * into a join). For a plan that walks runs in a given order and stops after a page.
   */
  probePerRun?: boolean;
}

function runComparison(eb: RunsEb, c: Comparison, options: RunFilterOptions): Expression<SqlBool> {
  const probe = <Q extends OperandExpression<unknown> & { offset(n: number): Q }>(child: Q) =>
    eb.exists(options.probePerRun ? child.offset(0) : child);
  switch (c.entity) {
    case 'metric': {
      const value = requireNumber(c, 'metric');
      checkOp(c, NUMERIC_OPS, 'metrics');
      return probe(
        eb
          .selectFrom('latest_metrics as lm')
          .select(sql.lit(1).as('one'))
          .whereRef('lm.run_uuid', '=', 'runs.run_uuid')
          .where('lm.key', '=', c.key)
          .where('lm.is_nan', '=', 0)
          .where(sql<SqlBool>`lm.value ${sql.raw(c.comparator)} ${value}`),
      );
    }
    case 'param':
    case 'tag': {
      checkOp(c, STRING_OPS, c.entity === 'param' ? 'params' : 'tags');
      requireString(c, c.entity === 'param' ? 'param' : 'tag');
      const table = c.entity === 'param' ? 'params' : 'tags';
      const positive = c.comparator !== '!=';
      // MLflow's != on a param or tag matches runs that have the key with another value.
      const child = eb
        .selectFrom(`${table} as kv`)
        .select(sql.lit(1).as('one'))
        .whereRef('kv.run_uuid', '=', 'runs.run_uuid')
        .where('kv.key', '=', c.key)
        .where(stringPredicate(sql.ref('kv.value'), positive ? c : { ...c, comparator: '!=' }));
      return probe(child);
    }
    case 'attribute': {
      const stringColumn = RUN_STRING_ATTRIBUTES[c.key];
      if (stringColumn) {
        checkOp(c, STRING_SET_OPS, `attribute '${c.key}'`);
        if (c.comparator !== 'IN' && c.comparator !== 'NOT IN')
          requireString(c, `string attribute '${c.key}'`);
        return stringPredicate(sql.ref(`runs.${stringColumn}`), c);
      }
      const numericColumn = RUN_NUMERIC_ATTRIBUTES[c.key];
      if (numericColumn) return numericPredicate(sql.ref(`runs.${numericColumn}`), c, `attribute '${c.key}'`);
      return invalid(
        `Invalid attribute key '${c.key}' specified. Valid keys are '${[
          ...Object.keys(RUN_STRING_ATTRIBUTES),
          ...Object.keys(RUN_NUMERIC_ATTRIBUTES),
        ].join("', '")}'`,
      );
    }
    case 'dataset': {
      checkOp(c, STRING_SET_OPS, 'datasets');
      const column =
        c.key === 'name'
          ? 'd.name'
          : c.key === 'digest'
            ? 'd.digest'
            : c.key === 'context'
              ? 'it.value'
              : undefined;
      if (!column) invalid(`Invalid dataset key '${c.key}'. Valid keys are 'name', 'digest' and 'context'`);
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
      return probe(child.where(stringPredicate(sql.ref(column), c)));
    }
  }
}

function combine<E>(
  node: FilterNode,
  leaf: (c: Comparison) => Expression<SqlBool>,
  eb: (E & RunsEb) | (E & ExperimentsEb),
): Expression<SqlBool> {
  if (node.kind === 'comparison') return leaf(node);
  const parts = node.nodes.map((n) => combine(n, leaf, eb));
  return node.kind === 'and' ? (eb as RunsEb).and(parts) : (eb as RunsEb).or(parts);
}

export function runFilterSql(
  eb: RunsEb,
  node: FilterNode,
  options: RunFilterOptions = {},
): Expression<SqlBool> {
  return combine(node, (c) => runComparison(eb, c, options), eb);
}

/** Where the value of a runs ORDER BY key lives: a child table row of the run, or a column of runs. */
export type RunSortSource =
  | { table: 'latest_metrics' | 'params' | 'tags'; key: string }
  | { column: string; numeric: boolean; nullable: boolean };

/** Resolves a runs ORDER BY clause; ordering itself (missing values last, tie-breakers) is the caller's. */
export function runSortSource(o: OrderByClause): RunSortSource {
  switch (o.entity) {
    case 'metric':
      return { table: 'latest_metrics', key: o.key };
    case 'param':
      return { table: 'params', key: o.key };
    case 'tag':
      return { table: 'tags', key: o.key };
    case 'attribute': {
      const stringColumn = RUN_STRING_ATTRIBUTES[o.key];
      if (stringColumn) return { column: stringColumn, numeric: false, nullable: false };
      const numericColumn = RUN_NUMERIC_ATTRIBUTES[o.key];
      if (!numericColumn) invalid(`Invalid attribute key '${o.key}' specified in order_by.`);
      return { column: numericColumn, numeric: true, nullable: numericColumn === 'end_time' };
    }
    default:
      return invalid(`Invalid order_by entity type '${o.entity}'.`);
  }
}

const EXPERIMENT_STRING_ATTRIBUTES = new Set(['name']);
const EXPERIMENT_NUMERIC_ATTRIBUTES = new Set(['creation_time', 'last_update_time']);

function experimentComparison(eb: ExperimentsEb, c: Comparison): Expression<SqlBool> {
  if (c.entity === 'attribute') {
    if (EXPERIMENT_STRING_ATTRIBUTES.has(c.key)) {
      checkOp(c, STRING_OPS, `attribute '${c.key}'`);
      return stringPredicate(sql.ref(`experiments.${c.key}`), c);
    }
    if (EXPERIMENT_NUMERIC_ATTRIBUTES.has(c.key)) {
      return numericPredicate(sql.ref(`experiments.${c.key}`), c, `attribute '${c.key}'`);
    }
    return invalid(
      `Invalid attribute key '${c.key}' specified. Valid keys are '${[...EXPERIMENT_STRING_ATTRIBUTES, ...EXPERIMENT_NUMERIC_ATTRIBUTES].join("', '")}'`,
    );
  }
  if (c.entity === 'tag') {
    checkOp(c, STRING_OPS, 'tags');
    requireString(c, 'tag');
    return eb.exists(
      eb
        .selectFrom('experiment_tags as et')
        .select(sql.lit(1).as('one'))
        .whereRef('et.experiment_id', '=', 'experiments.experiment_id')
        .where('et.key', '=', c.key)
        .where(stringPredicate(sql.ref('et.value'), c)),
    );
  }
  return invalid(
    `Invalid entity type '${c.entity}' in an experiment filter. Valid types are 'attribute' and 'tag'`,
  );
}

export function experimentFilterSql(eb: ExperimentsEb, node: FilterNode): Expression<SqlBool> {
  return combine(node, (c) => experimentComparison(eb, c), eb);
}

export function experimentOrderExpression(o: OrderByClause): Expression<unknown> {
  if (o.entity !== 'attribute')
    invalid(`Invalid order_by entity '${o.entity}' for experiments; only attributes are allowed.`);
  const key = o.key === 'experiment_id' ? 'experiment_id' : o.key;
  if (
    !EXPERIMENT_STRING_ATTRIBUTES.has(key) &&
    !EXPERIMENT_NUMERIC_ATTRIBUTES.has(key) &&
    key !== 'experiment_id'
  ) {
    invalid(
      `Invalid order_by key '${o.key}' for experiments. Valid keys are 'name', 'experiment_id', 'creation_time' and 'last_update_time'.`,
    );
  }
  return sql.ref(`experiments.${key}`);
}
