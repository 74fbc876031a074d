// Compiles a checked trace filter (search/trace-rules.ts) to a predicate over `trace_info t`. Tags,
// metadata and spans are EXISTS probes of their tables; `run_id` matches the trace's source-run
// metadata or a trace-to-run link.
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { SOURCE_RUN_METADATA } from '../entities/tracing.js';
import type { Comparison, FilterNode } from '../search/filter-ast.js';
import { RUN_ID_KEY } from '../search/trace-rules.js';
import { numericPredicate, stringPredicate } from './search-sql.js';

function keyValueProbe(table: 'trace_tags' | 'trace_request_metadata', c: Comparison): RawBuilder<SqlBool> {
  return sql<SqlBool>`exists (select 1 from ${sql.table(table)} kv where kv.request_id = t.request_id and kv.key = ${c.key} and ${stringPredicate(sql.ref('kv.value'), c)})`;
}

function comparisonSql(c: Comparison): RawBuilder<SqlBool> {
  switch (c.entity) {
    case 'attribute': {
      if (c.key === RUN_ID_KEY) {
        const runId = c.value.kind === 'string' ? c.value.value : '';
        return sql<SqlBool>`(exists (select 1 from trace_request_metadata m where m.request_id = t.request_id and m.key = ${SOURCE_RUN_METADATA} and m.value = ${runId}) or exists (select 1 from entity_associations a where a.source_type = 'trace' and a.source_id = t.request_id and a.destination_type = 'run' and a.destination_id = ${runId}))`;
      }
      const column = sql.ref(`t.${c.key}`);
      return c.value.kind === 'number' ? numericPredicate(column, c) : stringPredicate(column, c);
    }
    case 'tag':
      return keyValueProbe('trace_tags', c);
    case 'metadata':
      return keyValueProbe('trace_request_metadata', c);
    case 'span':
      return sql<SqlBool>`exists (select 1 from spans s where s.trace_id = t.request_id and ${stringPredicate(sql.ref(`s.${c.key}`), c)})`;
    default:
      throw new Error(`unchecked entity ${c.entity}`);
  }
}

export function traceFilterSql(node: FilterNode): RawBuilder<SqlBool> {
  if (node.kind === 'comparison') return comparisonSql(node);
  const parts = node.nodes.map(traceFilterSql);
  return sql<SqlBool>`(${sql.join(parts, sql.raw(node.kind === 'and' ? ' and ' : ' or '))})`;
}
