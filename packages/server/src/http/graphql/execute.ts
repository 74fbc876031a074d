// Runs one GraphQL request on the schema, MLflow's limits checked first; loaded by route.ts on the first
// query, so that a server start does not load graphql.
import { type DocumentNode, execute, type GraphQLError, parse, validate } from 'graphql';
import { MlflowError } from '../../entities/errors.js';
import { queryLimitError } from './query-limits.js';
import type { QueryLimits } from './query-limits-env.js';
import type { GraphqlAnswer, GraphqlRequest, GraphqlServices } from './route.js';
import { schema } from './schema.js';

/**
 * A resolver's failure as the client sees it: MLflow's message for an MlflowError and GraphQL's own
 * errors as they are; anything else (a driver's error) is logged and reported without its details.
 */
function message(error: GraphQLError, log: (error: Error) => void): string {
  const cause = error.originalError;
  if (cause === undefined || cause instanceof MlflowError || cause.name === 'GraphQLError')
    return error.message;
  log(cause);
  return 'Internal error';
}

export async function run(
  services: GraphqlServices,
  limits: QueryLimits,
  request: GraphqlRequest,
  log: (error: Error) => void,
): Promise<GraphqlAnswer> {
  let document: DocumentNode;
  try {
    document = parse(request.query);
  } catch (error) {
    return { data: null, errors: [(error as GraphQLError).message] };
  }
  const limitError = queryLimitError(document, limits);
  if (limitError) return { data: null, errors: [limitError] };
  const invalid = validate(schema, document);
  if (invalid.length > 0) return { data: null, errors: invalid.map((e) => e.message) };
  const result = await execute({
    schema,
    document,
    variableValues: request.variables,
    operationName: request.operationName,
    contextValue: { ...services, experiments: new Map() },
  });
  return {
    data: result.data ?? null,
    errors: result.errors?.length ? result.errors.map((e) => message(e, log)) : null,
  };
}
