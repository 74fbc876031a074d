import { ExecutionError } from './execution-error.js';

// Entry point commands use Python's str.format syntax, since MLproject files are shared with MLflow:
// `{name}` is replaced, `{{` and `}}` stand for literal braces. Conversions (`{x!r}`), format specs
// (`{x:>8}`), indexing and positional fields are refused with a clear message rather than guessed at.

/**
 * Substitutes `{name}` fields of `template` with `values` (already shell-quoted by the caller).
 * Throws an ExecutionError for unbalanced braces or fields that name no parameter.
 */
export function formatCommand(template: string, values: ReadonlyMap<string, string>): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i];
    if (ch === '{') {
      if (template[i + 1] === '{') {
        out += '{';
        i += 2;
        continue;
      }
      const close = template.indexOf('}', i + 1);
      if (close < 0) throw new ExecutionError(`The command '${template}' has a '{' without a matching '}'.`);
      const field = template.slice(i + 1, close);
      if (field.includes('{')) {
        throw new ExecutionError(`The command '${template}' has nested braces in '{${field}}'.`);
      }
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) {
        throw new ExecutionError(
          `The command '${template}' uses '{${field}}': only plain parameter names are supported in placeholders (write '{{' and '}}' for literal braces).`,
        );
      }
      const value = values.get(field);
      if (value === undefined) {
        throw new ExecutionError(
          `The command '${template}' uses '{${field}}', but the entry point declares no parameter '${field}'.`,
        );
      }
      out += value;
      i = close + 1;
      continue;
    }
    if (ch === '}') {
      if (template[i + 1] === '}') {
        out += '}';
        i += 2;
        continue;
      }
      throw new ExecutionError(`The command '${template}' has a single '}': write '}}' for a literal brace.`);
    }
    out += ch;
    i += 1;
  }
  return out;
}
