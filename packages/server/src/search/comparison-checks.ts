// The checks the trace and evaluation-dataset filter rules share: which comparators a key takes and
// whether its value is a quoted string, refused with MLflow's wording (its lists printed Python-style).
import { MlflowError } from '../entities/errors.js';
import type { Comparison } from './filter-ast.js';

export const NUMERIC_OPS = ['=', '!=', '<', '<=', '>', '>='];
export const STRING_OPS = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];
/** Tags and other key/value pairs: no IN lists. */
export const KEY_VALUE_OPS = ['=', '!=', 'LIKE', 'ILIKE'];

export function invalid(message: string): never {
  throw MlflowError.invalidParameter(message);
}

export function pyList(items: string[]): string {
  return `[${items.map((i) => `'${i}'`).join(', ')}]`;
}

export function requireOp(c: Comparison, allowed: string[], what: string): void {
  if (!allowed.includes(c.comparator)) {
    invalid(
      `Invalid comparator '${c.comparator}' for ${what} '${c.key}'. Valid comparators are ${pyList(allowed)}.`,
    );
  }
}

export function requireString(c: Comparison, what: string): void {
  const ok =
    c.value.kind === 'string' ||
    (c.value.kind === 'list' && (c.comparator === 'IN' || c.comparator === 'NOT IN'));
  if (!ok) invalid(`Invalid value ${c.value.raw} for ${what} '${c.key}': expected a quoted string.`);
}
