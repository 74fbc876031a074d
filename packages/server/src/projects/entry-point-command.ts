import { formatCommand } from './command-template.js';
import type { ResolvedParameters } from './parameters.js';
import type { EntryPoint } from './project-spec.js';
import { shellQuote } from './shell-quote.js';

/**
 * The shell command for one entry point run: the template with every declared value shell-quoted in
 * place of its `{name}`, then each undeclared parameter as `--key value` (both quoted, so a key
 * cannot smuggle shell syntax in either; MLflow quotes only the value).
 */
export function entryPointCommand(entryPoint: EntryPoint, params: ResolvedParameters): string {
  const quoted = new Map([...params.declared].map(([k, v]) => [k, shellQuote(v)]));
  const parts = [formatCommand(entryPoint.command, quoted)];
  for (const [key, value] of params.extra) parts.push(`--${shellQuote(key)} ${shellQuote(value)}`);
  return parts.join(' ');
}
