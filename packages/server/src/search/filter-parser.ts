import { MlflowError } from '../entities/errors.js';
import type { Comparison, EntityType, FilterNode, FilterValue, OrderByClause } from './filter-ast.js';

// A hand-written recursive-descent parser for MLflow's search filters and order_by clauses. It does
// syntax only: which keys, values and comparators each kind of key accepts is search-rules.ts's job.
//
// MLflow's grammar is `<identifier> <comparator> <value>` clauses joined by AND. `OR` and
// parentheses are an mlflow-ts extension (AND binds tighter than OR); any filter MLflow accepts
// parses to the same meaning here.

/** Which prefixes a search accepts (`metrics.`, `tags.`...) and MLflow's message for any other. */
export interface IdentifierGrammar {
  /** Prefix exactly as written (MLflow matches them case-sensitively) to the entity it names. */
  prefixes: Readonly<Record<string, EntityType>>;
  unknownPrefix(prefix: string): string;
}

/**
 * Limits on a filter's size, so that neither this parser (recursive in parentheses) nor the SQL built
 * from it (SQLite refuses expressions over 1000 levels deep and statements over 32,766 parameters)
 * can fail: a filter past one is refused with INVALID_PARAMETER_VALUE.
 */
export const FILTER_LIMITS = { nesting: 50, clauses: 500, listValues: 10_000 } as const;

const QUOTES = new Set(["'", '"', '`']);
const OPERATOR_CHARS = /[<>=~!]/;
// A key or prefix written without quotes: letters, digits and underscores, dots inside keys.
const WORD = /^[\p{L}\p{N}_]+/u;
const BARE_KEY = /^[\p{L}\p{N}_.]+/u;
// The number forms MLflow's tokenizer accepts: 5, -5, 5.5, 5., .5, 1e5, 1.5E-3 (no `+`, no hex).
const NUMBER = /^-?(\d+(\.\d+)?[eE]-?\d+|\d+\.\d*|\.\d+|\d+)(?![\p{L}\p{N}_.])/u;
const VALUE_WORD = /^[\p{L}_][\p{L}\p{N}_.]*/u;

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

  peek(): string {
    this.skipSpace();
    return this.text[this.pos] ?? '';
  }

  /** Consumes `word` (any case) when it stands alone at the cursor. */
  acceptWord(word: string): boolean {
    this.skipSpace();
    const candidate = this.text.slice(this.pos, this.pos + word.length);
    const after = this.text[this.pos + word.length] ?? ' ';
    if (candidate.toUpperCase() === word && !/[\p{L}\p{N}_.]/u.test(after)) {
      this.pos += word.length;
      return true;
    }
    return false;
  }

  /** MLflow reports unparseable filters as invalid clauses; we add what was expected and where. */
  fail(expected: string, at = this.pos): never {
    const rest = this.text.slice(at).trimStart();
    const found = rest === '' ? 'the end of the filter' : `'${/^\S+/.exec(rest)?.[0] ?? rest}'`;
    throw MlflowError.invalidParameter(
      `Invalid clause(s) in filter string: expected ${expected} at position ${at}, found ${found}.`,
    );
  }
}

/**
 * Reads a quoted token and returns its inner text verbatim. Like MLflow's tokenizer, a doubled
 * quote or a backslash does not end the token, but neither is unescaped.
 */
function readQuoted(s: Scanner): string {
  const quote = s.text[s.pos];
  const start = s.pos;
  let i = s.pos + 1;
  while (i < s.text.length) {
    const ch = s.text[i];
    if (ch === '\\' && quote !== '`') i += 2;
    else if (ch === quote && s.text[i + 1] === quote) i += 2;
    else if (ch === quote) {
      s.pos = i + 1;
      return s.text.slice(start + 1, i);
    } else i++;
  }
  return s.fail(`the closing ${quote} of the text starting here`, start);
}

interface RawIdentifier {
  prefix?: string;
  key: string;
}

/** `key`, `prefix.key`, with the key (or a backticked prefix) optionally quoted. */
function readIdentifier(s: Scanner): RawIdentifier {
  s.skipSpace();
  let head: string;
  if (QUOTES.has(s.text[s.pos]) && s.text[s.pos] !== "'") {
    const quote = s.text[s.pos];
    head = readQuoted(s);
    // MLflow strips backticks from a prefix but not double quotes.
    if (quote === '"' && s.text[s.pos] === '.') head = `"${head}"`;
  } else {
    const word = WORD.exec(s.text.slice(s.pos));
    if (!word) return s.fail('a key such as metrics.accuracy, params.lr or attributes.status');
    head = word[0];
    s.pos += head.length;
  }
  if (s.text[s.pos] !== '.') return { key: head };
  s.pos++;
  if (QUOTES.has(s.text[s.pos])) return { prefix: head, key: readQuoted(s) };
  const bare = BARE_KEY.exec(s.text.slice(s.pos));
  if (!bare) return s.fail(`a key after the prefix '${head}'`);
  s.pos += bare[0].length;
  return { prefix: head, key: bare[0] };
}

function readComparator(s: Scanner): string {
  s.skipSpace();
  let end = s.pos;
  while (end < s.text.length && OPERATOR_CHARS.test(s.text[end])) end++;
  if (end > s.pos) {
    const op = s.text.slice(s.pos, end);
    s.pos = end;
    return op;
  }
  for (const word of ['LIKE', 'ILIKE', 'RLIKE', 'IN']) if (s.acceptWord(word)) return word;
  const save = s.pos;
  if (s.acceptWord('NOT') && s.acceptWord('IN')) return 'NOT IN';
  s.pos = save;
  if (s.acceptWord('IS')) {
    if (s.acceptWord('NULL')) return 'IS NULL';
    if (s.acceptWord('NOT') && s.acceptWord('NULL')) return 'IS NOT NULL';
    return s.fail('NULL or NOT NULL after IS');
  }
  return s.fail('a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, RLIKE, IN, NOT IN, IS NULL, IS NOT NULL)');
}

function readList(s: Scanner): FilterValue {
  const start = s.pos;
  s.pos++;
  const items: Extract<FilterValue, { kind: 'list' }>['items'] = [];
  for (;;) {
    // `()` is an empty list and `('a',)` a one-item one, as in Python, which MLflow reads them with.
    if (s.peek() === ')') {
      s.pos++;
      return { kind: 'list', items, raw: s.text.slice(start, s.pos) };
    }
    const ch = s.peek();
    if (ch === "'" || ch === '"') items.push({ kind: 'string', value: readQuoted(s) });
    else {
      const other = /^[^\s,()]+/.exec(s.text.slice(s.pos));
      if (!other) return s.fail("a quoted string or ')' in the list");
      items.push({ kind: 'other', raw: other[0] });
      s.pos += other[0].length;
    }
    if (s.peek() === ',') s.pos++;
    else if (s.peek() !== ')') return s.fail("',' or ')' in the list");
  }
}

function readValue(s: Scanner, comparator: string): FilterValue {
  if (comparator === 'IS NULL' || comparator === 'IS NOT NULL') return { kind: 'none', raw: '' };
  const ch = s.peek();
  if (comparator === 'IN' || comparator === 'NOT IN') {
    if (ch !== '(') return s.fail(`a parenthesised list of quoted strings after ${comparator}`);
    return readList(s);
  }
  if (ch === "'" || ch === '"') {
    const start = s.pos;
    const value = readQuoted(s);
    return { kind: 'string', value, raw: s.text.slice(start, s.pos) };
  }
  if (ch === '(') return readList(s);
  const rest = s.text.slice(s.pos);
  const num = NUMBER.exec(rest);
  if (num) {
    s.pos += num[0].length;
    return { kind: 'number', value: Number(num[0]), raw: num[0] };
  }
  const word = VALUE_WORD.exec(rest);
  if (word) {
    s.pos += word[0].length;
    return { kind: 'word', raw: word[0] };
  }
  return s.fail('a value: a quoted string, a number or a parenthesised list');
}

function tooLarge(what: string): MlflowError {
  return MlflowError.invalidParameter(`Invalid filter string: ${what}. Split the search into smaller ones.`);
}

/** Refuses parentheses nested past the limit by one pass over the text, before parsing recurses. */
function checkNesting(text: string): void {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (QUOTES.has(ch)) {
      // Skip to the closing quote the way readQuoted does (a doubled quote reopens at once).
      for (i++; i < text.length && text[i] !== ch; i++) if (text[i] === '\\' && ch !== '`') i++;
    } else if (ch === '(') {
      if (++depth > FILTER_LIMITS.nesting)
        throw tooLarge(`parentheses are nested more than ${FILTER_LIMITS.nesting} levels deep`);
    } else if (ch === ')') depth--;
  }
}

class FilterParser {
  readonly s: Scanner;
  private listValues = 0;
  /** Prefixes are resolved after the whole filter parsed, so syntax errors are reported first. */
  readonly pending: { comparison: Comparison; prefix?: string }[] = [];

  constructor(text: string) {
    this.s = new Scanner(text);
  }

  comparison(): Comparison {
    const { prefix, key } = readIdentifier(this.s);
    const comparator = readComparator(this.s);
    const value = readValue(this.s, comparator);
    const comparison: Comparison = { kind: 'comparison', entity: 'attribute', key, comparator, value };
    this.pending.push({ comparison, prefix });
    if (this.pending.length > FILTER_LIMITS.clauses)
      throw tooLarge(`it has more than ${FILTER_LIMITS.clauses} comparisons`);
    if (value.kind === 'list') {
      this.listValues += value.items.length;
      if (this.listValues > FILTER_LIMITS.listValues)
        throw tooLarge(`its lists hold more than ${FILTER_LIMITS.listValues} values`);
    }
    return comparison;
  }

  primary(): FilterNode {
    if (this.s.peek() !== '(') return this.comparison();
    this.s.pos++;
    const inner = this.or();
    if (this.s.peek() !== ')') this.s.fail("')' to close the group");
    this.s.pos++;
    return inner;
  }

  and(): FilterNode {
    const nodes = [this.primary()];
    while (this.s.acceptWord('AND')) nodes.push(this.primary());
    return nodes.length === 1 ? nodes[0] : { kind: 'and', nodes };
  }

  or(): FilterNode {
    const nodes = [this.and()];
    while (this.s.acceptWord('OR')) nodes.push(this.and());
    return nodes.length === 1 ? nodes[0] : { kind: 'or', nodes };
  }
}

function resolvePrefix(prefix: string, grammar: IdentifierGrammar): EntityType {
  const entity = Object.hasOwn(grammar.prefixes, prefix) ? grammar.prefixes[prefix] : undefined;
  if (!entity) throw MlflowError.invalidParameter(grammar.unknownPrefix(prefix));
  return entity;
}

/**
 * Parses a search filter. Returns undefined for an empty filter. Keys without a prefix are
 * attributes, as in MLflow.
 */
export function parseFilter(filter: string | undefined, grammar: IdentifierGrammar): FilterNode | undefined {
  if (filter === undefined || filter.trim() === '') return undefined;
  checkNesting(filter);
  const p = new FilterParser(filter);
  const node = p.or();
  if (!p.s.atEnd()) p.s.fail('AND, OR or the end of the filter');
  for (const { comparison, prefix } of p.pending) {
    if (prefix !== undefined) comparison.entity = resolvePrefix(prefix, grammar);
  }
  return node;
}

/** Splits like a POSIX shell: whitespace separates words, quotes (also backticks) group. */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let current: string | undefined;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote) {
      current = (current ?? '') + ch;
      if (ch === quote) quote = undefined;
    } else if (/\s/.test(ch)) {
      if (current !== undefined) words.push(current);
      current = undefined;
    } else {
      current = (current ?? '') + ch;
      if (QUOTES.has(ch)) quote = ch;
    }
  }
  if (current !== undefined) words.push(current);
  return words;
}

/** Parses one order_by clause such as `metrics.acc DESC` or `attributes.start_time`. */
export function parseOrderBy(clause: string, grammar: IdentifierGrammar): OrderByClause {
  const unparseable = () =>
    MlflowError.invalidParameter(`Invalid order_by clause '${clause}'. Could not be parsed.`);
  const words = shellWords(clause);
  if (words.length === 0 || words.length > 2) throw unparseable();
  const s = new Scanner(words[0]);
  let id: RawIdentifier;
  try {
    id = readIdentifier(s);
  } catch {
    throw unparseable();
  }
  if (!s.atEnd()) throw unparseable();
  let ascending = true;
  if (words.length === 2) {
    if (!/^[\p{L}\p{N}_]+$/u.test(words[1])) throw unparseable();
    const direction = words[1].toLowerCase();
    if (direction !== 'asc' && direction !== 'desc') {
      throw MlflowError.invalidParameter(`Invalid ordering key in order_by clause '${clause}'.`);
    }
    ascending = direction === 'asc';
  }
  const entity = id.prefix === undefined ? 'attribute' : resolvePrefix(id.prefix, grammar);
  return { entity, key: id.key, ascending };
}
