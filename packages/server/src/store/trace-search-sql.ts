// Compiles a checked trace filter (search/trace-rules.ts) to a predicate over `trace_info t`. Tags,
// metadata, spans and assessments are EXISTS probes of their tables; `run_id` matches the trace's
// source-run metadata or a trace-to-run link.
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { SOURCE_RUN_METADATA } from '../entities/tracing.js';
import type { Comparison, FilterNode } from '../search/filter-ast.js';
import { END_TIME, RUN_ID_KEY, SPAN_ATTRIBUTE_PREFIX, SPAN_CONTENT_KEY } from '../search/trace-rules.js';
import type { Dialect } from './database.js';
import { numericPredicate, stringPredicate } from './search-sql.js';
import { regexpPredicate } from './sql-regexp.js';

/** A checked string comparison; RLIKE is the trace grammar's own and depends on the dialect. */
function matches(subject: RawBuilder<unknown>, c: Comparison, dialect: Dialect): RawBuilder<SqlBool> {
  if (c.comparator === 'RLIKE')
    return regexpPredicate(subject, c.value.kind === 'string' ? c.value.value : '', dialect);
  return stringPredicate(subject, c);
}

/**
 * One span attribute's value as the filter compares it. The document keeps each attribute as its
 * JSON text, so a string attribute is `"gpt-4"` there: a JSON string is decoded (`gpt-4`), any other
 * value compared as its JSON text (`0.7`, `true`, `{"a": 1}`); an absent attribute is NULL.
 */
function spanAttributeValue(key: string, dialect: Dialect): RawBuilder<unknown> {
  if (dialect === 'postgres') {
    // json, not jsonb: jsonb refuses \u0000 in strings, which span documents may hold.
    const text = sql`(s.content::json -> 'attributes' ->> ${key})`;
    return sql`(case when json_typeof(${text}::json) = 'string' then ${text}::json #>> '{}' else ${text} end)`;
  }
  const text = sql`json_extract(s.content, ${`$.attributes.${JSON.stringify(key)}`})`;
  return sql`(case when json_type(${text}) = 'text' then json_extract(${text}, '$') else ${text} end)`;
}

/** A trace_info column by its checked name, or the end time computed from two. */
export function traceColumn(name: string): RawBuilder<unknown> {
  if (name === END_TIME) return sql`(t.timestamp_ms + coalesce(t.execution_time_ms, 0))`;
  return sql`${sql.ref(`t.${name}`)}`;
}

function spanProbe(c: Comparison, dialect: Dialect): RawBuilder<SqlBool> {
  const subject = c.key.startsWith(SPAN_ATTRIBUTE_PREFIX)
    ? spanAttributeValue(c.key.slice(SPAN_ATTRIBUTE_PREFIX.length), dialect)
    : sql.ref(`s.${c.key === SPAN_CONTENT_KEY ? 'content' : c.key}`);
  return sql<SqlBool>`exists (select 1 from spans s where s.trace_id = t.request_id and ${matches(subject, c, dialect)})`;
}

function keyValueProbe(
  table: 'trace_tags' | 'trace_request_metadata',
  c: Comparison,
  dialect: Dialect,
): RawBuilder<SqlBool> {
  return sql<SqlBool>`exists (select 1 from ${sql.table(table)} kv where kv.request_id = t.request_id and kv.key = ${c.key} and ${matches(sql.ref('kv.value'), c, dialect)})`;
}

function comparisonSql(c: Comparison, dialect: Dialect): RawBuilder<SqlBool> {
  switch (c.entity) {
    case 'attribute': {
      if (c.key === RUN_ID_KEY) {
        const runId = c.value.kind === 'string' ? c.value.value : '';
        return sql<SqlBool>`(exists (select 1 from trace_request_metadata m where m.request_id = t.request_id and m.key = ${SOURCE_RUN_METADATA} and m.value = ${runId}) or exists (select 1 from entity_associations a where a.source_type = 'trace' and a.source_id = t.request_id and a.destination_type = 'run' and a.destination_id = ${runId}))`;
      }
      const column = traceColumn(c.key);
      return c.value.kind === 'number' ? numericPredicate(column, c) : matches(column, c, dialect);
    }
    case 'tag':
      return keyValueProbe('trace_tags', c, dialect);
    case 'metadata':
      return keyValueProbe('trace_request_metadata', c, dialect);
    case 'span':
      return spanProbe(c, dialect);
    case 'feedback':
    case 'expectation':
      // MLflow's rule: any assessment of that kind and name (valid or overridden) whose value matches.
      return sql<SqlBool>`exists (select 1 from assessments a where a.trace_id = t.request_id and a.assessment_type = ${c.entity} and a.name = ${c.key} and ${matches(sql.ref('a.value'), c, dialect)})`;
    default:
      throw new Error(`unchecked entity ${c.entity}`);
  }
}

export function traceFilterSql(node: FilterNode, dialect: Dialect): RawBuilder<SqlBool> {
  if (node.kind === 'comparison') return comparisonSql(node, dialect);
  const parts = node.nodes.map((n) => traceFilterSql(n, dialect));
  return sql<SqlBool>`(${sql.join(parts, sql.raw(node.kind === 'and' ? ' and ' : ' or '))})`;
}
