// The /graphql endpoint: reads a GraphQL request (POST JSON body, or GET query parameters), checks
// MLflow's query limits, runs it on the schema and answers MLflow's way: {"data": ..., "errors": [messages] | null}.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type DocumentNode, execute, type GraphQLError, parse, validate } from 'graphql';
import { MlflowError } from '../../entities/errors.js';
import type { ArtifactService } from '../../services/artifact-service.js';
import type { RegistryService } from '../../services/registry-service.js';
import type { TrackingService } from '../../services/tracking-service.js';
import { type QueryLimits, queryLimitError, queryLimitsFromEnv } from './query-limits.js';
import { schema } from './schema.js';

export interface GraphqlServices {
  tracking: TrackingService;
  artifacts: ArtifactService;
  registry?: RegistryService;
}

interface GraphqlRequest {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

interface GraphqlAnswer {
  data: unknown;
  errors: string[] | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The request's fields; a GET carries them as query parameters, `variables` as JSON text. */
function readRequest(request: FastifyRequest): GraphqlRequest {
  const isGet = request.method === 'GET';
  const fields = isGet ? request.query : request.body;
  if (!isObject(fields)) throw MlflowError.invalidParameter('A GraphQL request must be a JSON object.');
  const { query, operationName } = fields;
  let { variables } = fields;
  if (typeof query !== 'string') {
    throw MlflowError.invalidParameter("A GraphQL request must have a 'query' string.");
  }
  if (isGet && typeof variables === 'string') {
    try {
      variables = JSON.parse(variables);
    } catch {
      throw MlflowError.invalidParameter("The GraphQL request's 'variables' are not valid JSON.");
    }
  }
  if (variables !== undefined && variables !== null && !isObject(variables)) {
    throw MlflowError.invalidParameter("The GraphQL request's 'variables' must be an object.");
  }
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
    throw MlflowError.invalidParameter("The GraphQL request's 'operationName' must be a string.");
  }
  return { query, variables: variables ?? undefined, operationName: operationName ?? undefined };
}

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

async function run(
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

/**
 * Registers /graphql for GET and POST, as MLflow serves it. `checkRequest` applies the server's
 * request rules (POST's Content-Type) and throws MlflowError for a request that breaks them.
 */
export function graphqlRoute(
  app: FastifyInstance,
  services: GraphqlServices,
  checkRequest: (request: FastifyRequest) => void,
  limits: QueryLimits = queryLimitsFromEnv(),
): void {
  app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    handler: async (request, reply) => {
      checkRequest(request);
      const answer = await run(services, limits, readRequest(request), (error) => request.log.error(error));
      return reply.type('application/json').send(JSON.stringify(answer));
    },
  });
}
