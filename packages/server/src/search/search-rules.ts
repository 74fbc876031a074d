import { MlflowError } from '../entities/errors.js';
import {
  type Comparison,
  comparisons,
  type FilterNode,
  type FilterValue,
  mapComparisons,
  type OrderByClause,
} from './filter-ast.js';
import { type IdentifierGrammar, parseFilter, parseOrderBy } from './filter-parser.js';

// MLflow's rules for what a runs or experiments search may say: the keys of each kind, the values
// and comparators each accepts, in MLflow's order of checking and with its messages (clients and
// users match on them). The result is a checked filter that search-sql.ts compiles without further
// questions.

// ---------------------------------------------------------------- Python-style rendering

/** Python's repr of a str, which MLflow's messages embed. */
function pyStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/\\/g, '\\\\').replace(new RegExp(quote, 'g'), `\\${quote}`);
  return `${quote}${body}${quote}`;
}

/** Python's repr of a set of strings; Python's order is arbitrary, ours is sorted. */
function pySet(items: Iterable<string>): string {
  return `{${[...items].sort().map(pyStr).join(', ')}}`;
}

/** Python's repr of a set in the order MLflow's source lists it (comparator sets). */
function pySetAsWritten(items: readonly string[]): string {
  return `{${items.map(pyStr).join(', ')}}`;
}

function invalid(message: string): never {
  throw MlflowError.invalidParameter(message);
}

// ---------------------------------------------------------------- shared value rules

const METRIC_COMPARATORS = ['>', '>=', '!=', '=', '<', '<='] as const;
const STRING_COMPARATORS = ['!=', '=', 'LIKE', 'ILIKE'] as const;
// IS NULL / IS NOT NULL on run params and tags and on experiment tags arrived in MLflow 3.11.
const KEY_VALUE_COMPARATORS = [...STRING_COMPARATORS, 'IS NULL', 'IS NOT NULL'] as const;
const STRING_ATTRIBUTE_COMPARATORS = ['!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'] as const;
const DATASET_COMPARATORS = STRING_ATTRIBUTE_COMPARATORS;

function has(list: readonly string[], op: string): boolean {
  return list.includes(op);
}

function notQuoted(raw: string): never {
  return invalid(
    `Parameter value is either not quoted or unidentified quote types used for string value ${raw}. Use either single or double quotes.`,
  );
}

/** Python's str.islower(): some cased character, and all cased characters lower case. */
function pyIsLower(s: string): boolean {
  return s !== s.toUpperCase() && s === s.toLowerCase();
}

/**
 * The strings of a parenthesised list. MLflow reads the list as a Python tuple, then drops every
 * item that is not all lower case (it was written for run ids, which are); dataset lists share it.
 */
function listValues(value: Extract<FilterValue, { kind: 'list' }>): string[] {
  if (value.items.length === 0) {
    invalid(
      'While parsing a list in the query, expected a non-empty list of string values, but got empty list',
    );
  }
  if (value.items.some((i) => i.kind !== 'string')) {
    const shown = value.items.map((i) => (i.kind === 'string' ? pyStr(i.value) : i.raw));
    invalid(
      `While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (${shown.join(', ')}${shown.length === 1 ? ',' : ''})`,
    );
  }
  return value.items.flatMap((i) => (i.kind === 'string' && pyIsLower(i.value) ? [i.value] : []));
}

/** The value with a list's surviving items in place, so the SQL side sees exactly what to match. */
function withList(c: Comparison, values: string[]): Comparison {
  return {
    ...c,
    value: {
      kind: 'list',
      items: values.map((v) => ({ kind: 'string', value: v })),
      raw: c.value.raw,
    },
  };
}

function requireQuotedString(c: Comparison, otherwise: string): void {
  if (c.value.kind === 'string') return;
  if (c.value.kind === 'word') notQuoted(c.value.raw);
  invalid(`${otherwise} Got value ${c.value.raw}`);
}

/** A list only goes with IN / NOT IN (MLflow accepts `= (...)` and then fails inside the database). */
function checkListComparator(c: Comparison): void {
  const isList = c.value.kind === 'list';
  const wantsList = c.comparator === 'IN' || c.comparator === 'NOT IN';
  if (isList && !wantsList)
    invalid(`Invalid comparator '${c.comparator}' for a list of values; use IN or NOT IN.`);
}

// ---------------------------------------------------------------- runs

const RUN_PREFIXES = {
  metric: 'metric',
  metrics: 'metric',
  parameter: 'param',
  parameters: 'param',
  param: 'param',
  params: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  dataset: 'dataset',
  datasets: 'dataset',
} as const;

export const RUN_IDENTIFIERS: IdentifierGrammar = {
  prefixes: RUN_PREFIXES,
  unknownPrefix: (p) =>
    `Invalid entity type '${p}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']`,
};

/** Run attributes MLflow can search and order by (its RunInfo's searchable properties). */
const RUN_ATTRIBUTES = ['artifact_uri', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id'];
const RUN_ATTRIBUTE_ALIASES: Record<string, string> = {
  created: 'start_time',
  Created: 'start_time',
  'run name': 'run_name',
  'Run name': 'run_name',
  'Run Name': 'run_name',
};
const RUN_FILTER_KEYS = new Set([...RUN_ATTRIBUTES, ...Object.keys(RUN_ATTRIBUTE_ALIASES)]);
const RUN_ORDER_KEYS = new Set([...RUN_ATTRIBUTES, 'created', 'Created']);
const RUN_NUMERIC_ATTRIBUTES = new Set(['start_time', 'end_time', 'created', 'Created']);
const DATASET_KEYS = ['name', 'digest', 'context'];

function invalidAttributeKey(key: string, valid: Set<string>): never {
  return invalid(`Invalid attribute key '${key}' specified. Valid keys are '${pySet(valid)}'`);
}

/** What MLflow checks while parsing a clause: the key, then the type of the value. */
function checkRunClause(c: Comparison): Comparison {
  if (c.entity === 'attribute' && !RUN_FILTER_KEYS.has(c.key)) invalidAttributeKey(c.key, RUN_FILTER_KEYS);
  if (c.entity === 'dataset' && !DATASET_KEYS.includes(c.key)) {
    invalid(`Invalid dataset key '${c.key}' specified. Valid keys are '${pySet(DATASET_KEYS)}'`);
  }
  if (c.value.kind === 'none') return c; // IS [NOT] NULL: only the comparator check applies.
  switch (c.entity) {
    // Trace searches' own entities: runs' grammar has no prefix for them.
    case 'metadata':
    case 'span':
    case 'feedback':
    case 'expectation':
      throw new Error(`unchecked entity ${c.entity}`);
    case 'metric':
      if (c.value.kind !== 'number') invalid(`Expected numeric value type for metric. Found ${c.value.raw}`);
      return c;
    case 'param':
    case 'tag':
      requireQuotedString(
        c,
        `Expected a quoted string value for ${c.entity === 'param' ? 'parameter' : 'tag'} (e.g. 'my-value').`,
      );
      return c;
    case 'attribute': {
      const key = RUN_ATTRIBUTE_ALIASES[c.key] ?? c.key;
      if (RUN_NUMERIC_ATTRIBUTES.has(c.key)) {
        if (c.value.kind !== 'number') {
          invalid(`Expected numeric value type for numeric attribute: ${c.key}. Found ${c.value.raw}`);
        }
        return { ...c, key };
      }
      if (c.value.kind === 'list') {
        if (key !== 'run_id') {
          invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.");
        }
        return withList({ ...c, key }, listValues(c.value));
      }
      requireQuotedString(c, 'Expected a quoted string value for attributes.');
      return { ...c, key };
    }
    case 'dataset':
      if (c.value.kind === 'list') return withList(c, listValues(c.value));
      requireQuotedString(c, 'Expected a quoted string value for dataset attributes.');
      return c;
  }
}

/** What MLflow checks when building the query: the comparator for the kind of key. */
function checkRunComparator(c: Comparison): void {
  const op = c.comparator;
  switch (c.entity) {
    case 'metric':
      if (!has(METRIC_COMPARATORS, op)) {
        invalid(`Invalid comparator '${op}' not one of '${pySetAsWritten(METRIC_COMPARATORS)}`);
      }
      break;
    case 'param':
      if (!has(KEY_VALUE_COMPARATORS, op)) {
        invalid(`Invalid comparator '${op}' not one of '${pySetAsWritten(KEY_VALUE_COMPARATORS)}'`);
      }
      break;
    case 'tag':
      if (!has(KEY_VALUE_COMPARATORS, op)) {
        invalid(`Invalid comparator '${op}' not one of '${pySetAsWritten(KEY_VALUE_COMPARATORS)}`);
      }
      break;
    case 'attribute':
      if (RUN_NUMERIC_ATTRIBUTES.has(c.key)) {
        // MLflow lists the string comparators here, and drops the closing quote; we keep its text.
        if (!has(METRIC_COMPARATORS, op)) {
          invalid(`Invalid comparator '${op}' not one of '${pySetAsWritten(STRING_ATTRIBUTE_COMPARATORS)}`);
        }
      } else if (!has(STRING_ATTRIBUTE_COMPARATORS, op)) {
        invalid(`Invalid comparator '${op}' not one of '${pySetAsWritten(STRING_ATTRIBUTE_COMPARATORS)}'`);
      }
      break;
    case 'dataset':
      if (!has(DATASET_COMPARATORS, op)) {
        invalid(`Invalid comparator '${op}' not one of '${pySetAsWritten(DATASET_COMPARATORS)}`);
      }
      break;
  }
  checkListComparator(c);
}

function runOrderBy(clauses: string[]): OrderByClause[] {
  const seen = new Set<string>();
  return clauses.map((clause) => {
    const o = parseOrderBy(clause, RUN_IDENTIFIERS);
    if (o.entity === 'attribute' && !RUN_ORDER_KEYS.has(o.key)) invalidAttributeKey(o.key, RUN_ORDER_KEYS);
    if (o.entity === 'dataset') {
      if (!DATASET_KEYS.includes(o.key)) {
        invalid(`Invalid dataset key '${o.key}' specified. Valid keys are '${pySet(DATASET_KEYS)}'`);
      }
      invalid("Invalid identifier type 'dataset'");
    }
    const key = o.entity === 'attribute' ? (RUN_ATTRIBUTE_ALIASES[o.key] ?? o.key) : o.key;
    const identity = `${o.entity}\u0000${key}`;
    // MLflow answers this with an internal error (HTTP 500); it is the caller's mistake, so 400 here.
    if (seen.has(identity)) {
      invalid(`\`order_by\` contains duplicate fields: [${clauses.map(pyStr).join(', ')}]`);
    }
    seen.add(identity);
    return { ...o, key };
  });
}

export interface CheckedSearch {
  filter?: FilterNode;
  orderBy: OrderByClause[];
}

/** Parses and checks a runs search's filter and order_by, failing as MLflow would. */
export function checkRunSearch(filter: string | undefined, orderBy: string[]): CheckedSearch {
  const parsed = parseFilter(filter, RUN_IDENTIFIERS);
  const checked = parsed && mapComparisons(parsed, checkRunClause);
  const order = runOrderBy(orderBy);
  for (const c of comparisons(checked)) checkRunComparator(c);
  return { filter: checked, orderBy: order };
}

// ---------------------------------------------------------------- experiments

export const EXPERIMENT_IDENTIFIERS: IdentifierGrammar = {
  prefixes: { attribute: 'attribute', tag: 'tag', tags: 'tag' },
  unknownPrefix: (p) => `Invalid entity type '${p}'. Valid entity types are ('attribute', 'tag', 'tags')`,
};

const EXPERIMENT_FILTER_KEYS = new Set(['name', 'creation_time', 'last_update_time']);
const EXPERIMENT_ORDER_KEYS = new Set(['name', 'experiment_id', 'creation_time', 'last_update_time']);
const EXPERIMENT_NUMERIC_ATTRIBUTES = new Set(['creation_time', 'last_update_time']);

function checkExperimentClause(c: Comparison): Comparison {
  if (c.entity === 'attribute' && !EXPERIMENT_FILTER_KEYS.has(c.key)) {
    invalidAttributeKey(c.key, EXPERIMENT_FILTER_KEYS);
  }
  if (c.value.kind === 'none') return c;
  if (c.entity === 'tag') {
    requireQuotedString(c, "Expected a quoted string value for tag (e.g. 'my-value').");
  } else if (EXPERIMENT_NUMERIC_ATTRIBUTES.has(c.key)) {
    if (c.value.kind !== 'number') {
      invalid(`Expected numeric value type for numeric attribute: ${c.key}. Found ${c.value.raw}`);
    }
  } else if (c.value.kind === 'list') {
    invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.");
  } else {
    requireQuotedString(c, 'Expected a quoted string value for attributes.');
  }
  return c;
}

function checkExperimentComparator(c: Comparison): void {
  const op = c.comparator;
  if (c.entity === 'tag') {
    if (!has(KEY_VALUE_COMPARATORS, op)) invalid(`Invalid comparator for tag: ${op}`);
  } else if (EXPERIMENT_NUMERIC_ATTRIBUTES.has(c.key)) {
    if (!has(METRIC_COMPARATORS, op)) {
      invalid(`Invalid comparator '${op}' not one of '${pySetAsWritten(STRING_ATTRIBUTE_COMPARATORS)}`);
    }
  } else {
    if (!has(STRING_ATTRIBUTE_COMPARATORS, op)) {
      invalid(`Invalid comparator '${op}' not one of '${pySetAsWritten(STRING_ATTRIBUTE_COMPARATORS)}'`);
    }
    if (!has(STRING_COMPARATORS, op)) invalid(`Invalid comparator for string attribute: ${op}`);
  }
}

/** Parses and checks an experiments search's filter and order_by, failing as MLflow would. */
export function checkExperimentSearch(filter: string | undefined, orderBy: string[]): CheckedSearch {
  const parsed = parseFilter(filter, EXPERIMENT_IDENTIFIERS);
  const checked = parsed && mapComparisons(parsed, checkExperimentClause);
  for (const c of comparisons(checked)) checkExperimentComparator(c);
  const order = orderBy.map((clause) => {
    const o = parseOrderBy(clause, EXPERIMENT_IDENTIFIERS);
    if (o.entity === 'attribute' && !EXPERIMENT_ORDER_KEYS.has(o.key)) {
      invalidAttributeKey(o.key, EXPERIMENT_ORDER_KEYS);
    }
    if (o.entity !== 'attribute') invalid(`Invalid order_by entity: ${o.entity}`);
    return o;
  });
  return { filter: checked, orderBy: order };
}

// ---------------------------------------------------------------- model registry

export const REGISTRY_IDENTIFIERS: IdentifierGrammar = EXPERIMENT_IDENTIFIERS;

/** The tag that marks a registered model as a prompt; registry searches leave prompts out by default. */
export const IS_PROMPT_TAG = 'mlflow.prompt.is_prompt';

const MODEL_FILTER_KEYS = new Set(['name']);
// MLflow's SQL store checks registered-model order keys against this set, not the wider
// SearchModelUtils one, and names these two in its message.
const MODEL_ORDER_KEYS: Record<string, string> = {
  name: 'name',
  timestamp: 'last_updated_timestamp',
  last_updated_timestamp: 'last_updated_timestamp',
};
const MODEL_ORDER_KEYS_SHOWN = ['name', 'timestamp'];

const VERSION_FILTER_KEYS = new Set(['name', 'version_number', 'run_id', 'source_path']);
const VERSION_NUMERIC_KEYS = new Set(['version_number', 'creation_timestamp', 'last_updated_timestamp']);
const VERSION_ORDER_KEYS = new Set([
  'name',
  'version_number',
  'creation_timestamp',
  'last_updated_timestamp',
]);
const VERSION_STRING_COMPARATORS = ['!=', '=', 'LIKE', 'ILIKE', 'IN'] as const;
const REGISTRY_TAG_COMPARATORS = ['=', '!=', 'LIKE', 'ILIKE'] as const;

/** The value checks MLflow's registry search parser makes, shared by models and versions. */
function checkRegistryValue(c: Comparison, numericKeys: Set<string>): Comparison {
  if (c.value.kind === 'none') return c; // IS [NOT] NULL: the comparator check rejects it.
  if (c.entity === 'tag') {
    requireQuotedString(c, "Expected a quoted string value for tag (e.g. 'my-value').");
    return c;
  }
  switch (c.value.kind) {
    case 'string':
      return c;
    case 'word':
      return notQuoted(c.value.raw);
    case 'list':
      if (c.key !== 'run_id') {
        invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.");
      }
      return withList(c, listValues(c.value));
    case 'number':
      if (numericKeys.size === 0) {
        invalid(
          `Expected a quoted string value or a list of quoted string values for attributes. Got value ${c.value.raw}`,
        );
      }
      if (!numericKeys.has(c.key)) {
        invalid(`Only the '${pySet(numericKeys)}' attributes support comparison with numeric values.`);
      }
      return c;
  }
}

function checkRegisteredModelClause(c: Comparison): Comparison {
  if (c.entity === 'attribute' && !MODEL_FILTER_KEYS.has(c.key))
    invalidAttributeKey(c.key, MODEL_FILTER_KEYS);
  return checkRegistryValue(c, new Set());
}

function checkRegistryTagComparator(c: Comparison): void {
  if (!has(REGISTRY_TAG_COMPARATORS, c.comparator)) invalid(`Invalid comparator for tag: ${c.comparator}`);
}

function checkRegisteredModelComparator(c: Comparison): void {
  if (c.entity === 'tag') checkRegistryTagComparator(c);
  else if (!has(STRING_COMPARATORS, c.comparator))
    invalid(`Invalid comparator for attribute: ${c.comparator}`);
}

function duplicateOrderBy(clauses: string[]): never {
  return invalid(`\`order_by\` contains duplicate fields: [${clauses.map(pyStr).join(', ')}]`);
}

/**
 * Parses and checks a registered-model search's filter and order_by, failing as MLflow would. Order
 * keys come back as the column names of the wire format: `name` or `last_updated_timestamp`.
 */
export function checkRegisteredModelSearch(filter: string | undefined, orderBy: string[]): CheckedSearch {
  const parsed = parseFilter(filter, REGISTRY_IDENTIFIERS);
  const checked = parsed && mapComparisons(parsed, checkRegisteredModelClause);
  for (const c of comparisons(checked)) checkRegisteredModelComparator(c);
  const seen = new Set<string>();
  const order = orderBy.map((clause) => {
    // MLflow compares the written key with its list as is, so a prefix (attributes.name) is refused.
    const written = clause.trim().split(/\s+/)[0] ?? '';
    const badKey = () =>
      invalid(
        `Invalid order by key '${written.replace(/`/g, '')}' specified. Valid keys are '${pySet(MODEL_ORDER_KEYS_SHOWN)}'`,
      );
    const o = parseOrderBy(clause, { prefixes: {}, unknownPrefix: badKey });
    const key = Object.hasOwn(MODEL_ORDER_KEYS, o.key) ? MODEL_ORDER_KEYS[o.key] : badKey();
    if (seen.has(key)) duplicateOrderBy(orderBy);
    seen.add(key);
    return { ...o, key };
  });
  return { filter: checked, orderBy: order };
}

function checkModelVersionClause(c: Comparison): Comparison {
  if (c.entity === 'attribute' && !VERSION_FILTER_KEYS.has(c.key)) {
    invalidAttributeKey(c.key, VERSION_FILTER_KEYS);
  }
  const checked = checkRegistryValue(c, VERSION_NUMERIC_KEYS);
  // MLflow hands a quoted version number to the database as text; the database reads it as a number.
  // Reading it here keeps a non-number from reaching SQL (PostgreSQL would fail the whole query).
  if (checked.entity === 'attribute' && checked.key === 'version_number' && checked.value.kind === 'string') {
    const text = checked.value.value.trim();
    if (!/^[-+]?\d+$/.test(text)) {
      invalid(
        `Invalid value '${checked.value.value}' for attribute version_number: expected a whole number.`,
      );
    }
    return { ...checked, value: { kind: 'number', value: Number(text), raw: checked.value.raw } };
  }
  return checked;
}

function checkModelVersionComparator(c: Comparison): void {
  const op = c.comparator;
  if (c.entity === 'tag') checkRegistryTagComparator(c);
  else if (VERSION_NUMERIC_KEYS.has(c.key)) {
    if (!has(METRIC_COMPARATORS, op)) invalid(`Invalid comparator for attribute ${c.key}: ${op}`);
  } else if (!has(VERSION_STRING_COMPARATORS, op) || (op === 'IN' && c.key !== 'run_id')) {
    invalid(`Invalid comparator for attribute: ${op}`);
  }
  checkListComparator(c);
}

/**
 * Parses and checks a model-version search's filter and order_by, failing as MLflow would. Order keys
 * are name, version_number, creation_timestamp or last_updated_timestamp.
 */
export function checkModelVersionSearch(filter: string | undefined, orderBy: string[]): CheckedSearch {
  const parsed = parseFilter(filter, REGISTRY_IDENTIFIERS);
  const checked = parsed && mapComparisons(parsed, checkModelVersionClause);
  for (const c of comparisons(checked)) checkModelVersionComparator(c);
  const seen = new Set<string>();
  const order = orderBy.map((clause) => {
    const o = parseOrderBy(clause, REGISTRY_IDENTIFIERS);
    if (o.entity === 'attribute' && !VERSION_ORDER_KEYS.has(o.key))
      invalidAttributeKey(o.key, VERSION_ORDER_KEYS);
    if (!VERSION_ORDER_KEYS.has(o.key)) {
      invalid(`Invalid order by key '${o.key}' specified. Valid keys are ${pySet(VERSION_ORDER_KEYS)}`);
    }
    if (seen.has(o.key)) duplicateOrderBy(orderBy);
    seen.add(o.key);
    return { ...o, entity: 'attribute' as const };
  });
  return { filter: checked, orderBy: order };
}
