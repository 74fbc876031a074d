import { TRACE_NAME_TAG } from '../entities/tracing.js';
import { invalid, NUMERIC_OPS, pyList, requireOp, requireString } from './comparison-checks.js';
import { type Comparison, type FilterNode, mapComparisons } from './filter-ast.js';
import { type IdentifierGrammar, parseFilter, parseOrderBy } from './filter-parser.js';

const PREFIXES = [
  'attributes',
  'attribute',
  'attr',
  'trace',
  'tags',
  'tag',
  'metadata',
  'request_metadata',
  'span',
  'feedback',
  'expectation',
];

export const TRACE_IDENTIFIERS: IdentifierGrammar = {
  prefixes: {
    attributes: 'attribute',
    attribute: 'attribute',
    attr: 'attribute',
    trace: 'attribute',
    tags: 'tag',
    tag: 'tag',
    metadata: 'metadata',
    request_metadata: 'metadata',
    span: 'span',
    feedback: 'feedback',
    expectation: 'expectation',
  },
  unknownPrefix: (p) => `Invalid entity type '${p}'. Valid values are ${pyList(PREFIXES)}.`,
};

// MLflow 3.6 takes RLIKE (a regular expression, unanchored) wherever it takes LIKE, except for the
// full-text keys (span.content, text).
/** Tags, metadata and the trace's name: no IN lists. */
const KEY_VALUE_OPS = ['=', '!=', 'LIKE', 'ILIKE', 'RLIKE'];
/** String columns of the trace, of its spans, and assessment values. */
const STRING_OPS = ['=', '!=', 'LIKE', 'ILIKE', 'RLIKE', 'IN', 'NOT IN'];
const FULL_TEXT_OPS = ['LIKE', 'ILIKE'];

/** Not a column: the start plus the execution time (0 while running), as MLflow computes it. */
export const END_TIME = 'end_time_ms';

/** Columns of trace_info a search may name, by every name MLflow accepts for them. */
const ATTRIBUTE_COLUMNS: Record<string, string> = {
  timestamp_ms: 'timestamp_ms',
  timestamp: 'timestamp_ms',
  request_time: 'timestamp_ms',
  execution_time_ms: 'execution_time_ms',
  execution_time: 'execution_time_ms',
  execution_duration: 'execution_time_ms',
  end_time_ms: END_TIME,
  end_time: END_TIME,
  status: 'status',
  state: 'status',
  request_id: 'request_id',
  trace_id: 'request_id',
  client_request_id: 'client_request_id',
};
const NUMERIC_COLUMNS = new Set(['timestamp_ms', 'execution_time_ms', END_TIME]);
/**
 * Attributes that live elsewhere: the trace's name is a tag, its run a metadata entry (or a link),
 * `text` a search of its spans' documents.
 */
const DERIVED_ATTRIBUTES = ['name', 'run_id', 'text'];
const SPAN_COLUMNS = new Set(['name', 'type', 'status']);
/** `span.attributes.<key>`: the value of one span attribute (its JSON text decoded). */
export const SPAN_ATTRIBUTE_PREFIX = 'attributes.';
/** `span.content` (and MLflow's `text` attribute): the whole span document, for full-text LIKE. */
export const SPAN_CONTENT_KEY = 'content';

/** The trace's run: `run_id = '<id>'` matches its source-run metadata or a link made by LinkTracesToRun. */
export const RUN_ID_KEY = 'run_id';

function checkAttribute(c: Comparison): Comparison {
  if (c.key === 'name') {
    requireOp(c, KEY_VALUE_OPS, 'attribute');
    requireString(c, 'attribute');
    return { ...c, entity: 'tag', key: TRACE_NAME_TAG };
  }
  if (c.key === 'text') {
    // MLflow's full-text search over the trace's spans.
    requireOp(c, FULL_TEXT_OPS, 'attribute');
    requireString(c, 'attribute');
    return { ...c, entity: 'span', key: SPAN_CONTENT_KEY };
  }
  if (c.key === RUN_ID_KEY) {
    requireOp(c, ['='], 'attribute');
    requireString(c, 'attribute');
    return c;
  }
  const column = ATTRIBUTE_COLUMNS[c.key];
  if (!column) {
    invalid(
      `Invalid attribute key '${c.key}'. Valid keys are ${pyList([...Object.keys(ATTRIBUTE_COLUMNS), ...DERIVED_ATTRIBUTES])}.`,
    );
  }
  if (NUMERIC_COLUMNS.has(column)) {
    requireOp(c, NUMERIC_OPS, 'attribute');
    if (c.value.kind !== 'number')
      invalid(`Invalid value ${c.value.raw} for attribute '${c.key}': expected a number.`);
  } else {
    requireOp(c, STRING_OPS, 'attribute');
    requireString(c, 'attribute');
  }
  return { ...c, key: column };
}

function checkSpan(c: Comparison): Comparison {
  if (c.key.startsWith(SPAN_ATTRIBUTE_PREFIX)) {
    if (c.key === SPAN_ATTRIBUTE_PREFIX) invalid("Span attribute name cannot be empty after 'attributes.'");
  } else if (c.key === SPAN_CONTENT_KEY) {
    requireOp(c, FULL_TEXT_OPS, 'span key');
  } else if (!SPAN_COLUMNS.has(c.key)) {
    invalid(
      `Invalid span attribute '${c.key}'. Supported attributes: ${[...SPAN_COLUMNS].sort().join(', ')}, attributes.<attribute_name>.`,
    );
  }
  requireOp(c, STRING_OPS, 'span key');
  requireString(c, 'span key');
  return c;
}

function checkComparison(c: Comparison): Comparison {
  switch (c.entity) {
    case 'attribute':
      return checkAttribute(c);
    case 'tag':
    case 'metadata':
      requireOp(c, KEY_VALUE_OPS, c.entity === 'tag' ? 'tag' : 'metadata key');
      requireString(c, c.entity === 'tag' ? 'tag' : 'metadata key');
      return c;
    case 'span':
      return checkSpan(c);
    case 'feedback':
    case 'expectation':
      // Compared with the assessment's value as MLflow stores it: JSON text (`true`, `5`, `"yes"`).
      if (c.key === '') invalid('Assessment field name cannot be empty');
      requireOp(c, STRING_OPS, `${c.entity} name`);
      requireString(c, `${c.entity} name`);
      return c;
    default:
      return invalid(`Invalid entity type '${c.entity}'.`);
  }
}

/** The filter parsed and checked; keys are columns (or tag/metadata keys, or span columns). */
export function checkTraceFilter(filter: string | undefined): FilterNode | undefined {
  const node = parseFilter(filter, TRACE_IDENTIFIERS);
  return node && mapComparisons(node, checkComparison);
}

/** One ordering of a trace search: a trace_info column. */
export interface TraceOrder {
  column: string;
  ascending: boolean;
}

/** MLflow's default: newest first, then by id so that pages never overlap. */
export function checkTraceOrder(orderBy: string[]): TraceOrder[] {
  const orders = orderBy.map((clause): TraceOrder => {
    const o = parseOrderBy(clause, TRACE_IDENTIFIERS);
    const column = o.entity === 'attribute' ? ATTRIBUTE_COLUMNS[o.key] : undefined;
    if (!column)
      invalid(
        `Invalid order_by entity '${clause}'. Traces can be ordered by attributes ${pyList(Object.keys(ATTRIBUTE_COLUMNS))}.`,
      );
    return { column, ascending: o.ascending };
  });
  if (orders.length === 0) orders.push({ column: 'timestamp_ms', ascending: false });
  if (!orders.some((o) => o.column === 'request_id')) orders.push({ column: 'request_id', ascending: true });
  return orders;
}
