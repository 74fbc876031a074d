// The serving endpoints' HTTP edge: their REST API under /api/2.0/serving-endpoints (and /ajax-api for
// the web UI), and /serving-endpoints/<name>/invocations speaking the scoring server's protocol.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServingEndpointService } from '../services/serving-endpoint-service.js';
import { scoringErrorAnswer } from '../serving/scoring-error-answer.js';
import type { RequestFields } from './request-fields.js';
import { refuseNul } from './request-guards.js';

/** The header naming the registered model version that answered an invocation. */
export const MODEL_VERSION_HEADER = 'x-mlflow-model-version';

export const SERVING_ENDPOINT_PREFIXES = ['/api/2.0/serving-endpoints', '/ajax-api/2.0/serving-endpoints'];

/** The largest invocation body, as the standalone scoring server's default (--max-body-size). */
export const INVOCATION_BODY_LIMIT = 100 * 1024 * 1024;

export interface ServingRouteHelpers {
  checkContentType(request: FastifyRequest): void;
  requestFields(request: FastifyRequest): RequestFields;
}

function sendJson(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.type('application/json').send(JSON.stringify(value));
}

function nameParam(request: FastifyRequest): string {
  const params = request.params as Record<string, string>;
  refuseNul(params);
  return params.name ?? '';
}

export function servingEndpointRoutes(
  app: FastifyInstance,
  service: ServingEndpointService,
  helpers: ServingRouteHelpers,
): void {
  for (const prefix of SERVING_ENDPOINT_PREFIXES) {
    app.post(prefix, async (request, reply) => {
      helpers.checkContentType(request);
      const f = helpers.requestFields(request);
      const name = f.requiredString('name');
      // `model_uri`, or `model` for short.
      const modelUri = f.optionalString('model_uri') || f.requiredString('model');
      const endpoint = await service.createEndpoint({ name, modelUri, workers: f.optionalInt('workers') });
      return sendJson(reply, { endpoint: endpoint });
    });
    app.get(prefix, async (request, reply) => {
      const f = helpers.requestFields(request);
      const endpoints = await service.listEndpoints(f.optionalString('registered_model_name') || undefined);
      return sendJson(reply, { endpoints: endpoints });
    });
    app.get(`${prefix}/:name`, async (request, reply) =>
      sendJson(reply, { endpoint: await service.getEndpoint(nameParam(request)) }),
    );
    app.delete(`${prefix}/:name`, async (request, reply) => {
      await service.deleteEndpoint(nameParam(request));
      return sendJson(reply, {});
    });
  }

  // The scoring protocol wants the body as text whatever its type (CSV too) and answers errors as the
  // scoring server does, so invocations live in their own scope with its own parser and error handler.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'string', bodyLimit: INVOCATION_BODY_LIMIT },
      (_r, body, done) => done(null, body),
    );
    scope.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
      const answer = scoringErrorAnswer(error, INVOCATION_BODY_LIMIT);
      if (answer.unexpected) {
        console.error(`serving endpoint ${request.url}: ${error.stack ?? error.message}`);
      }
      return reply.status(answer.status).type(answer.contentType).send(answer.body);
    });
    scope.post(
      '/serving-endpoints/:name/invocations',
      { bodyLimit: INVOCATION_BODY_LIMIT },
      async (request, reply) => {
        const body = typeof request.body === 'string' ? request.body : '';
        const text = await service.invoke(
          nameParam(request),
          request.headers['content-type'],
          body,
          (version) => reply.header(MODEL_VERSION_HEADER, String(version)),
        );
        return reply.type('application/json').send(text);
      },
    );
  });
}
