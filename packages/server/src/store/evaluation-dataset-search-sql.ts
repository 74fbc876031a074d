// Compiles a checked evaluation-dataset filter (search/evaluation-dataset-rules.ts) to a predicate
// over `evaluation_datasets d`; a tag comparison is an EXISTS probe of evaluation_dataset_tags.
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Comparison, FilterNode } from '../search/filter-ast.js';
import { numericPredicate, stringPredicate } from './search-sql.js';

function comparisonSql(c: Comparison): RawBuilder<SqlBool> {
  if (c.entity === 'tag') {
    return sql<SqlBool>`exists (select 1 from evaluation_dataset_tags kv where kv.dataset_id = d.dataset_id and kv.key = ${c.key} and ${stringPredicate(sql.ref('kv.value'), c)})`;
  }
  const column = sql.ref(`d.${c.key}`);
  return c.value.kind === 'number' ? numericPredicate(column, c) : stringPredicate(column, c);
}

export function datasetFilterSql(node: FilterNode): RawBuilder<SqlBool> {
  if (node.kind === 'comparison') return comparisonSql(node);
  const parts = node.nodes.map(datasetFilterSql);
  return sql<SqlBool>`(${sql.join(parts, sql.raw(node.kind === 'and' ? ' and ' : ' or '))})`;
}
