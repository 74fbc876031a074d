import { MlflowError } from '../entities/errors.js';
import type {
  Comparator,
  Comparison,
  EntityType,
  FilterNode,
  FilterValue,
  OrderByClause,
} from './filter-ast.js';

// A hand-written recursive-descent parser: MLflow's grammar is small, and positions in error messages
// need exact control. `OR` and parentheses are an mlflow-ts extension; a filter MLflow accepts
// (clauses joined by AND) parses to the same meaning here.

const ENTITY_PREFIXES: Record<string, EntityType> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  dataset: 'dataset',
  datasets: 'dataset',
};

const SYMBOL_COMPARATORS = ['!=', '<=', '>=', '<>', '=', '<', '>'] as const;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  atEnd(): boolean {
    this.skipSpace();
    return this.pos >= this.text.length;
  }

  peekChar(): string {
    this.skipSpace();
    return this.text[this.pos] ?? '';
  }

  /** Consumes `word` (case-insensitive) when it stands alone at the cursor. */
  acceptWord(word: string): boolean {
    this.skipSpace();
    const candidate = this.text.slice(this.pos, this.pos + word.length);
    const after = this.text[this.pos + word.length] ?? ' ';
    if (candidate.toUpperCase() === word && !/[\w.]/.test(after)) {
      this.pos += word.length;
      return true;
    }
    return false;
  }

  fail(message: string, at = this.pos): never {
    throw MlflowError.invalidParameter(`Invalid filter '${this.text}': ${message} (at position ${at}).`);
  }
}

function readQuoted(s: Scanner, quote: string): string {
  const start = s.pos;
  s.pos++;
  let out = '';
  while (s.pos < s.text.length) {
    const ch = s.text[s.pos];
    if (ch === '\\' && s.pos + 1 < s.text.length) {
      out += s.text[s.pos + 1];
      s.pos += 2;
      continue;
    }
    if (ch === quote) {
      // A doubled quote inside a quoted value stands for the quote itself, as in SQL.
      if (s.text[s.pos + 1] === quote) {
        out += quote;
        s.pos += 2;
        continue;
      }
      s.pos++;
      return out;
    }
    out += ch;
    s.pos++;
  }
  return s.fail(`unterminated quoted text starting with ${quote}`, start);
}

function readIdentifier(s: Scanner, defaultEntity: EntityType): { entity: EntityType; key: string } {
  s.skipSpace();
  const start = s.pos;
  const first = s.text[s.pos];
  if (first === '`' || first === '"') {
    return { entity: defaultEntity, key: readQuoted(s, first) };
  }
  const word = /^[A-Za-z_][\w]*/.exec(s.text.slice(s.pos));
  if (!word) s.fail('expected an identifier such as metrics.accuracy, params.lr or attributes.status');
  s.pos += word[0].length;
  if (s.text[s.pos] !== '.') return { entity: defaultEntity, key: word[0] };
  const entity = ENTITY_PREFIXES[word[0].toLowerCase()];
  if (!entity) {
    s.fail(
      `invalid entity type '${word[0]}'; valid prefixes are metrics, params, tags, attributes and datasets`,
      start,
    );
  }
  s.pos++;
  const q = s.text[s.pos];
  if (q === '`' || q === '"') return { entity, key: readQuoted(s, q) };
  const bare = /^[^\s=!<>(),'"`]+/.exec(s.text.slice(s.pos));
  if (!bare) s.fail(`expected a key after '${word[0]}.'`);
  s.pos += bare[0].length;
  return { entity, key: bare[0] };
}

function readComparator(s: Scanner): Comparator {
  s.skipSpace();
  for (const sym of SYMBOL_COMPARATORS) {
    if (s.text.startsWith(sym, s.pos)) {
      s.pos += sym.length;
      return sym === '<>' ? '!=' : sym;
    }
  }
  if (s.acceptWord('LIKE')) return 'LIKE';
  if (s.acceptWord('ILIKE')) return 'ILIKE';
  if (s.acceptWord('IN')) return 'IN';
  const save = s.pos;
  if (s.acceptWord('NOT')) {
    if (s.acceptWord('IN')) return 'NOT IN';
    s.pos = save;
  }
  return s.fail('expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)');
}

function readValue(s: Scanner): FilterValue {
  s.skipSpace();
  const ch = s.text[s.pos];
  if (ch === "'" || ch === '"') return { kind: 'string', value: readQuoted(s, ch) };
  if (ch === '(') {
    s.pos++;
    const values: string[] = [];
    for (;;) {
      s.skipSpace();
      const q = s.text[s.pos];
      if (q !== "'" && q !== '"') s.fail('expected a quoted string in the value list');
      values.push(readQuoted(s, q));
      s.skipSpace();
      if (s.text[s.pos] === ',') {
        s.pos++;
        continue;
      }
      if (s.text[s.pos] === ')') {
        s.pos++;
        return { kind: 'list', values };
      }
      s.fail("expected ',' or ')' in the value list");
    }
  }
  const num = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(s.text.slice(s.pos));
  if (num) {
    s.pos += num[0].length;
    return { kind: 'number', value: Number(num[0]), text: num[0] };
  }
  return s.fail('expected a value: a quoted string, a number or a parenthesised list of strings');
}

function parseComparison(s: Scanner, defaultEntity: EntityType): Comparison {
  const { entity, key } = readIdentifier(s, defaultEntity);
  const comparator = readComparator(s);
  const value = readValue(s);
  return { kind: 'comparison', entity, key, comparator, value };
}

function parsePrimary(s: Scanner, defaultEntity: EntityType): FilterNode {
  if (s.peekChar() === '(') {
    s.pos++;
    const inner = parseOr(s, defaultEntity);
    if (s.peekChar() !== ')') s.fail("expected ')'");
    s.pos++;
    return inner;
  }
  return parseComparison(s, defaultEntity);
}

function parseAnd(s: Scanner, defaultEntity: EntityType): FilterNode {
  const nodes = [parsePrimary(s, defaultEntity)];
  while (s.acceptWord('AND')) nodes.push(parsePrimary(s, defaultEntity));
  return nodes.length === 1 ? nodes[0] : { kind: 'and', nodes };
}

function parseOr(s: Scanner, defaultEntity: EntityType): FilterNode {
  const nodes = [parseAnd(s, defaultEntity)];
  while (s.acceptWord('OR')) nodes.push(parseAnd(s, defaultEntity));
  return nodes.length === 1 ? nodes[0] : { kind: 'or', nodes };
}

/**
 * Parses a search filter. Returns undefined for an empty filter. Identifiers without a prefix are
 * of `defaultEntity` (attributes for runs and experiments).
 */
export function parseFilter(
  filter: string | undefined,
  defaultEntity: EntityType = 'attribute',
): FilterNode | undefined {
  if (filter === undefined || filter.trim() === '') return undefined;
  const s = new Scanner(filter);
  const node = parseOr(s, defaultEntity);
  if (!s.atEnd()) s.fail("expected 'AND' or the end of the filter");
  return node;
}

/** Parses one order_by clause such as `metrics.acc DESC` or `attributes.start_time`. */
export function parseOrderBy(clause: string, defaultEntity: EntityType = 'attribute'): OrderByClause {
  const s = new Scanner(clause);
  const { entity, key } = readIdentifier(s, defaultEntity);
  let ascending = true;
  if (s.acceptWord('DESC')) ascending = false;
  else s.acceptWord('ASC');
  if (!s.atEnd()) {
    throw MlflowError.invalidParameter(
      `Invalid order_by clause '${clause}'. Could not be parsed: expected '<key> [ASC|DESC]'.`,
    );
  }
  return { entity, key, ascending };
}

/** Visits every comparison in a filter tree. */
export function comparisons(node: FilterNode | undefined): Comparison[] {
  if (!node) return [];
  return node.kind === 'comparison' ? [node] : node.nodes.flatMap(comparisons);
}
