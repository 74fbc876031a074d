// RLIKE in SQL. PostgreSQL matches with its own `~`; SQLite has no regular expressions, so every
// connection gets a `regexp(pattern, value)` function (what SQLite's `X REGEXP Y` calls) that runs
// the pattern as a JavaScript RegExp. MLflow does the same with Python's `re.search` on SQLite, so the
// Python spellings its users write are translated: `(?P<name>...)`, `(?P=name)`, `\A`, `\Z` and
// leading inline flags such as `(?i)`.
import type BetterSqlite3 from 'better-sqlite3';
import { type Expression, type RawBuilder, type SqlBool, sql } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import type { Dialect } from './database.js';

/** Patterns compiled lately: a search calls the function once per row with the same pattern. */
const compiled = new Map<string, RegExp>();
const CACHE_LIMIT = 200;

function refuse(pattern: string, why: string): never {
  throw MlflowError.invalidParameter(`Invalid regular expression '${pattern}' for RLIKE: ${why}.`);
}

/** Python's leading `(?imsux)` group as RegExp flags; `a`, `L` and `x` have no JavaScript form. */
function leadingFlags(pattern: string): { flags: string; rest: string } {
  const lead = /^\(\?([aiLmsux]+)\)/.exec(pattern);
  if (!lead) return { flags: '', rest: pattern };
  let flags = '';
  for (const f of lead[1]) {
    if (f === 'i' || f === 'm' || f === 's') {
      if (!flags.includes(f)) flags += f;
    } else if (f !== 'u') {
      refuse(pattern, `the inline flag '${f}' is not supported`);
    }
  }
  return { flags, rest: pattern.slice(lead[0].length) };
}

/** The pattern's Python-only spellings in JavaScript's; character classes are left as written. */
function translate(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      // \A and \Z are the very start and end whatever the flags, which ^ and $ are not under (?m).
      if (!inClass && next === 'A') out += '(?<![\\s\\S])';
      else if (!inClass && next === 'Z') out += '(?![\\s\\S])';
      else out += ch + next;
      i++;
    } else if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
    } else if (ch === '[') {
      inClass = true;
      out += ch;
      // A `]` first in a class (or after `^`) is a literal in Python; JavaScript needs it escaped.
      if (pattern[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (pattern[i + 1] === ']') {
        out += '\\]';
        i++;
      }
    } else if (pattern.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (pattern.startsWith('(?P=', i)) {
      const end = pattern.indexOf(')', i);
      if (end < 0) refuse(pattern, 'missing ), unterminated name');
      out += `\\k<${pattern.slice(i + 4, end)}>`;
      i = end;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * The RegExp an RLIKE pattern runs as on SQLite, unanchored like Python's `re.search` and
 * PostgreSQL's `~`. A pattern that does not compile is INVALID_PARAMETER_VALUE.
 */
export function rlikePattern(pattern: string): RegExp {
  const hit = compiled.get(pattern);
  if (hit) return hit;
  const { flags, rest } = leadingFlags(pattern);
  let re: RegExp;
  try {
    re = new RegExp(translate(rest), flags);
  } catch (error) {
    const why = (error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return refuse(pattern, why.charAt(0).toLowerCase() + why.slice(1));
  }
  if (compiled.size >= CACHE_LIMIT) compiled.delete(compiled.keys().next().value as string);
  compiled.set(pattern, re);
  return re;
}

/** Gives an SQLite connection the `regexp` function behind `REGEXP`; NULL matches nothing. */
export function registerRegexp(conn: BetterSqlite3.Database): void {
  conn.function('regexp', { deterministic: true }, (pattern: unknown, value: unknown) => {
    if (pattern === null || value === null) return null;
    return rlikePattern(String(pattern)).test(String(value)) ? 1 : 0;
  });
}

/** `subject RLIKE pattern` in the store's dialect. */
export function regexpPredicate(
  subject: Expression<unknown>,
  pattern: string,
  dialect: Dialect,
): RawBuilder<SqlBool> {
  if (dialect === 'postgres') return sql<SqlBool>`${subject} ~ ${pattern}`;
  // Compiled here first so that a bad pattern is refused before the query runs, not inside it.
  rlikePattern(pattern);
  return sql<SqlBool>`${subject} regexp ${pattern}`;
}

/** PostgreSQL's SQLSTATE for a pattern `~` cannot compile (its syntax is not JavaScript's). */
const INVALID_REGULAR_EXPRESSION = '2201B';

/** A PostgreSQL refusal of an RLIKE pattern as INVALID_PARAMETER_VALUE; any other error as it was. */
export function regexpError(error: unknown): unknown {
  const e = error as { code?: unknown; message?: unknown };
  if (e?.code !== INVALID_REGULAR_EXPRESSION) return error;
  return MlflowError.invalidParameter(`Invalid regular expression for RLIKE: ${String(e.message)}.`);
}
