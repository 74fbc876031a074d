import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Comparison, FilterNode } from '../search/filter-ast.js';
import { numericPredicate, stringPredicate } from './search-sql.js';

// Compiles a checked logged-model filter (search/logged-model-rules.ts) to a predicate over
// `logged_models m`. Metrics, params and tags are EXISTS probes of their tables, as MLflow joins them:
// a metric clause matches when any point of the metric (on the search's datasets, if any) matches.

/** `(name = ? [and digest = ?]) or ...` over the given columns, for the datasets of a search. */
export type DatasetCondition = (
  name: RawBuilder<unknown>,
  digest: RawBuilder<unknown>,
) => RawBuilder<SqlBool>;

/** Columns stored as numbers that the grammar compares as text. */
const TEXT_OF_NUMBER = new Set(['experiment_id', 'status']);

function comparisonSql(c: Comparison, onDatasets: DatasetCondition | undefined): RawBuilder<SqlBool> {
  switch (c.entity) {
    case 'attribute': {
      const col = sql.ref(`m.${c.key}`);
      if (c.value.kind === 'number') return numericPredicate(col, c);
      return stringPredicate(TEXT_OF_NUMBER.has(c.key) ? sql`cast(${col} as varchar(32))` : col, c);
    }
    case 'metric': {
      const conditions = [
        sql<SqlBool>`mm.model_id = m.model_id`,
        sql<SqlBool>`mm.metric_name = ${c.key}`,
        numericPredicate(sql.ref('mm.metric_value'), c),
      ];
      if (onDatasets) conditions.push(onDatasets(sql.ref('mm.dataset_name'), sql.ref('mm.dataset_digest')));
      return sql<SqlBool>`exists (select 1 from logged_model_metrics mm where ${sql.join(conditions, sql` and `)})`;
    }
    case 'param':
      return sql<SqlBool>`exists (select 1 from logged_model_params mp where mp.model_id = m.model_id and mp.param_key = ${c.key} and ${stringPredicate(sql.ref('mp.param_value'), c)})`;
    case 'tag':
      return sql<SqlBool>`exists (select 1 from logged_model_tags mt where mt.model_id = m.model_id and mt.tag_key = ${c.key} and ${stringPredicate(sql.ref('mt.tag_value'), c)})`;
    default:
      throw new Error(`unchecked entity ${c.entity}`);
  }
}

export function loggedModelFilterSql(
  node: FilterNode,
  onDatasets: DatasetCondition | undefined,
): RawBuilder<SqlBool> {
  if (node.kind === 'comparison') return comparisonSql(node, onDatasets);
  const parts = node.nodes.map((n) => loggedModelFilterSql(n, onDatasets));
  return sql<SqlBool>`(${sql.join(parts, sql.raw(node.kind === 'and' ? ' and ' : ' or '))})`;
}
