import { MlflowError } from '../entities/errors.js';
import { LOGGED_MODEL_STATUSES } from '../entities/logged-model.js';
import type { LoggedModelOrder } from '../store/logged-model-store.js';
import { type Comparison, type FilterNode, mapComparisons } from './filter-ast.js';
import { type IdentifierGrammar, parseFilter } from './filter-parser.js';

// MLflow's grammar for searching logged models (mlflow/utils/search_logged_model_utils.py): clauses
// `<entity>.<key> <op> <value>` joined by AND, where the entity is one of the plural prefixes below
// or absent (an attribute: a column of the model). Metrics and the two timestamps compare as numbers,
// everything else as text. OR and parentheses are accepted too, as in our runs search.

export const LOGGED_MODEL_IDENTIFIERS: IdentifierGrammar = {
  prefixes: { attributes: 'attribute', metrics: 'metric', params: 'param', tags: 'tag' },
  unknownPrefix: (p) =>
    `Invalid entity type: '${p}'. Expected one of ['attributes', 'metrics', 'params', 'tags'].`,
};

/** MLflow's other names for the timestamp columns. */
const ALIASES: Record<string, string> = {
  creation_time: 'creation_timestamp_ms',
  creation_timestamp: 'creation_timestamp_ms',
  last_updated_timestamp: 'last_updated_timestamp_ms',
};

/** The columns of logged_models a search may name. */
const COLUMNS = new Set([
  'model_id',
  'experiment_id',
  'name',
  'artifact_location',
  'creation_timestamp_ms',
  'last_updated_timestamp_ms',
  'status',
  'model_type',
  'source_run_id',
  'status_message',
]);
const NUMERIC_COLUMNS = new Set(['creation_timestamp_ms', 'last_updated_timestamp_ms']);

const NUMERIC_OPS = ['<', '<=', '>', '>=', '=', '!='];
const STRING_OPS = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];

function invalid(message: string): never {
  throw MlflowError.invalidParameter(message);
}

const pyTuple = (items: string[]) => `(${items.map((i) => `'${i}'`).join(', ')})`;

function column(key: string, original: string): string {
  const name = ALIASES[key] ?? key;
  if (!COLUMNS.has(name)) {
    invalid(
      `Invalid attribute key '${original}'. Valid keys are ${pyTuple([...COLUMNS, ...Object.keys(ALIASES)])}.`,
    );
  }
  return name;
}

/**
 * `status` is stored as MLflow's number; a search may name it as MLflow's JSON writes it
 * (LOGGED_MODEL_READY), by its short name (READY, as the Python client shows it) or by number.
 */
function statusNumber(text: string): string {
  const upper = text.toUpperCase();
  const index = LOGGED_MODEL_STATUSES.findIndex(
    (s) =>
      s === upper || s === `LOGGED_MODEL_${upper}` || (upper === 'FAILED' && s.endsWith('UPLOAD_FAILED')),
  );
  if (index >= 0) return String(index);
  if (/^[0-3]$/.test(text)) return text;
  return invalid(
    `Invalid status '${text}'. Expected one of PENDING, READY, FAILED (or ${LOGGED_MODEL_STATUSES.slice(1).join(', ')}).`,
  );
}

function checkClause(c: Comparison): Comparison {
  const key = c.entity === 'attribute' ? column(c.key, c.key) : c.key;
  const described = `${c.entity === 'attribute' ? 'attributes' : `${c.entity}s`}.${key}`;
  const numeric = c.entity === 'metric' || (c.entity === 'attribute' && NUMERIC_COLUMNS.has(key));
  const ops = numeric ? NUMERIC_OPS : STRING_OPS;
  if (!ops.includes(c.comparator)) {
    invalid(
      `Invalid comparison operator for ${described}: '${c.comparator}'. Expected one of ${pyTuple(ops)}.`,
    );
  }
  if (numeric) {
    if (c.value.kind !== 'number') {
      invalid(`Invalid value for ${described}: ${c.value.raw || 'nothing'}. Expected a number.`);
    }
    return { ...c, key };
  }
  // MLflow reads an unquoted value of a text key as its text (params.lr = 0.01 compares with '0.01').
  const toText = (raw: string) => (key === 'status' && c.entity === 'attribute' ? statusNumber(raw) : raw);
  if (c.comparator === 'IN' || c.comparator === 'NOT IN') {
    if (c.value.kind !== 'list')
      invalid(`Invalid value for ${described}: expected a list such as ('a', 'b').`);
    const items = c.value.items.map((i) => ({
      kind: 'string' as const,
      value: toText(i.kind === 'string' ? i.value : i.raw),
    }));
    return { ...c, key, value: { ...c.value, items } };
  }
  const v = c.value;
  if (v.kind === 'list' || v.kind === 'none') {
    invalid(`Invalid value for ${described}: expected a quoted string, found ${v.raw || 'nothing'}.`);
  }
  const text = v.kind === 'string' ? v.value : v.raw;
  return { ...c, key, value: { kind: 'string', value: toText(text), raw: v.raw } };
}

/** Parses and checks a logged-model filter; attribute keys come back as column names. */
export function checkLoggedModelFilter(filter: string | undefined): FilterNode | undefined {
  const parsed = parseFilter(filter, LOGGED_MODEL_IDENTIFIERS);
  return parsed && mapComparisons(parsed, checkClause);
}

export interface OrderByRequest {
  field_name: string;
  ascending: boolean;
  dataset_name?: string;
  dataset_digest?: string;
}

/**
 * MLflow's order_by for logged models: an attribute (bare column name or alias) or `metrics.<key>`,
 * the latter optionally on one dataset.
 */
export function checkLoggedModelOrder(orderBy: OrderByRequest[]): LoggedModelOrder[] {
  return orderBy.map((o) => {
    const field = o.field_name;
    if (!field) invalid("Missing value for required parameter 'order_by.field_name'.");
    const dot = field.indexOf('.');
    if (dot === -1) {
      const name = ALIASES[field] ?? field;
      if (!COLUMNS.has(name)) invalid(`Invalid order by field name: ${field}`);
      if (o.dataset_name !== undefined || o.dataset_digest !== undefined) {
        invalid(
          `Invalid order by field name: ${field}. dataset_name and dataset_digest apply to metrics only.`,
        );
      }
      return { kind: 'attribute', column: name, ascending: o.ascending };
    }
    if (field.slice(0, dot) !== 'metrics') {
      invalid(`Invalid order by field name: ${field}. Only metrics are supported.`);
    }
    if (o.dataset_digest !== undefined && o.dataset_name === undefined) {
      invalid(`Invalid order by for ${field}: dataset_digest may only be given with dataset_name.`);
    }
    return {
      kind: 'metric',
      key: field.slice(dot + 1).replace(/^`(.*)`$/, '$1'),
      ascending: o.ascending,
      datasetName: o.dataset_name,
      datasetDigest: o.dataset_digest,
    };
  });
}
