// MLflow's limits on a GraphQL query, checked on the parsed document before it is validated or run:
// nesting depth, total field selections, root fields and aliases per selection set. They stop one
// request from batching many calls or asking for an explosion of fields.
import { type DocumentNode, Kind, type SelectionSetNode } from 'graphql';
import type { QueryLimits } from './query-limits-env.js';

export const MAX_DEPTH = 10;
export const MAX_SELECTIONS = 1000;

export type { QueryLimits } from './query-limits-env.js';
export { queryLimitsFromEnv } from './query-limits-env.js';

/**
 * The first limit `document` breaks, as the error message MLflow gives, or undefined. Fields inside
 * inline fragments count at the depth of the fragment (MLflow skips them, which would let a query
 * through unchecked); a fragment definition's fields are counted but are not root fields.
 */
export function queryLimitError(document: DocumentNode, limits: QueryLimits): string | undefined {
  let rootFields = 0;
  let maxAliases = 0;
  let selections = 0;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION && definition.kind !== Kind.FRAGMENT_DEFINITION)
      continue;
    const isOperation = definition.kind === Kind.OPERATION_DEFINITION;
    const stack: { set: SelectionSetNode; depth: number }[] = [{ set: definition.selectionSet, depth: 1 }];
    while (stack.length > 0) {
      const { set, depth } = stack.pop() as { set: SelectionSetNode; depth: number };
      if (depth > MAX_DEPTH) return `Query exceeds maximum depth of ${MAX_DEPTH}`;
      let aliases = 0;
      // The set's fields, including those of its inline fragments, which belong to the same level.
      const level = [...set.selections];
      for (let i = 0; i < level.length; i++) {
        const selection = level[i];
        if (selection.kind === Kind.INLINE_FRAGMENT) {
          level.push(...selection.selectionSet.selections);
          continue;
        }
        if (selection.kind !== Kind.FIELD) continue;
        if (depth === 1 && isOperation) rootFields++;
        if (selection.alias) aliases++;
        if (selection.selectionSet) stack.push({ set: selection.selectionSet, depth: depth + 1 });
        selections++;
        if (selections > MAX_SELECTIONS) return `Query exceeds maximum total selections of ${MAX_SELECTIONS}`;
      }
      maxAliases = Math.max(maxAliases, aliases);
    }
  }
  const over = (count: number, limit: number, what: string, variable: string) =>
    `GraphQL queries should have at most ${limit} ${what}, got ${count} ${what}. To increase the limit, set the ${variable} environment variable.`;
  if (rootFields > limits.maxRootFields) {
    return over(rootFields, limits.maxRootFields, 'root fields', 'MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS');
  }
  if (maxAliases > limits.maxAliases) {
    return over(maxAliases, limits.maxAliases, 'aliases', 'MLFLOW_SERVER_GRAPHQL_MAX_ALIASES');
  }
  return undefined;
}
