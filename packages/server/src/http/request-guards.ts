// Guards on raw request input that must run before anything recursive touches it or a store sees it:
// the nesting depth of a JSON body and NUL characters in its text.
import { MlflowError } from '../entities/errors.js';

/**
 * Deepest nesting of arrays and objects a request body may have. MLflow's requests nest a few levels at
 * most (a run's dataset inputs, with their tags, are 4 deep); the margin is for clients' extra fields. Deeper bodies
 * would reach code that walks values recursively (serialising one for an error message, for example)
 * and overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
// Jumping between these (and over whole strings with indexOf) keeps the pass cheap for the long
// strings that make most large bodies (param values, dataset schemas).
const STRUCTURE = /["[\]{}]/g;

/** Refuses a body nested deeper than MAX_JSON_DEPTH, by one pass over its text (strings skipped). */
export function checkJsonDepth(text: string): void {
  let depth = 0;
  STRUCTURE.lastIndex = 0;
  for (let m = STRUCTURE.exec(text); m !== null; m = STRUCTURE.exec(text)) {
    const c = text.charCodeAt(m.index);
    if (c === QUOTE) {
      const end = closingQuote(text, m.index);
      // An unclosed string: JSON.parse reports it.
      if (end === -1) return;
      STRUCTURE.lastIndex = end + 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) {
        throw MlflowError.invalidParameter(
          `The request body is nested more than ${MAX_JSON_DEPTH} levels deep (arrays and objects), which this server does not accept.`,
        );
      }
    } else depth--;
  }
}

/** Where the string opened at `open` ends: the next quote not escaped by an odd run of backslashes. */
function closingQuote(text: string, open: number): number {
  let end = open;
  for (;;) {
    end = text.indexOf('"', end + 1);
    if (end === -1) return -1;
    let k = end - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((end - 1 - k) % 2 === 0) return end;
  }
}

// A NUL can only be written in JSON as the escape \u0000 (JSON.parse refuses a raw one): an odd run of
// backslashes before `u0000` is that escape, an even one is literal backslashes followed by text.
const NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/i;

/** Whether a JSON text may hold a NUL character; cheap, so the parsed value is walked only then. */
export function mayHoldNul(text: string): boolean {
  return text.includes('\0') || NUL_ESCAPE.test(text);
}

/** The path (`tags[0].value`) of the first string or key in `value` that holds a NUL character. */
export function findNul(value: unknown): string | undefined {
  // Iterative, so a value of any depth is safe to walk.
  const stack: { value: unknown; path: string }[] = [{ value, path: '' }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; path: string };
    const v = item.value;
    if (typeof v === 'string') {
      if (v.includes('\0')) return item.path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: `${item.path}[${i}]` });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i];
        const path = item.path === '' ? key : `${item.path}.${key}`;
        if (key.includes('\0')) return path;
        stack.push({ value: child, path });
      }
    }
  }
  return undefined;
}

/**
 * Refuses text holding a NUL character anywhere in a request. PostgreSQL's text cannot store one and
 * SQLite would keep it (and truncate it in some tools), so both stores refuse it up front alike.
 */
export function refuseNul(value: unknown): void {
  const path = findNul(value);
  if (path === undefined) return;
  throw MlflowError.invalidParameter(
    `Invalid value for parameter '${path.replaceAll('\0', '\\u0000')}' supplied: text may not contain the NUL character (\\u0000).`,
  );
}
