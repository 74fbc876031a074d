// The /graphql endpoint: reads a GraphQL request (POST JSON body, or GET query parameters), checks
// MLflow's query limits, runs it on the schema and answers MLflow's way: {"data": ..., "errors": [messages] | null}.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MlflowError } from '../../entities/errors.js';
import type { ArtifactService } from '../../services/artifact-service.js';
import type { RegistryService } from '../../services/registry-service.js';
import type { TrackingService } from '../../services/tracking-service.js';
import { type QueryLimits, queryLimitsFromEnv } from './query-limits-env.js';

export interface GraphqlServices {
  tracking: TrackingService;
  artifacts: ArtifactService;
  registry?: RegistryService;
}

export interface GraphqlRequest {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

export interface GraphqlAnswer {
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
      // graphql and the schema load on the first query, not on every server start.
      const { run } = await import('./execute.js');
      const answer = await run(services, limits, readRequest(request), (error) => request.log.error(error));
      return reply.type('application/json').send(JSON.stringify(answer));
    },
  });
}
