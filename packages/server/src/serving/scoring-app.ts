// The scoring server's HTTP edge (MLflow's routes): /ping and /health answer 200 once the model is
// loaded, /version, POST /invocations and Prometheus' GET /metrics; errors are MLflow's JSON, one log
// line per request.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { MlflowError } from '../entities/errors.js';
import { drainRefusedBody } from '../http/refused-body.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';
import { scoringErrorAnswer } from './scoring-error-answer.js';
import { type ModelLoadState, ScoringMetrics } from './scoring-metrics.js';
import type { ScoringPipeline } from './scoring-pipeline.js';

export interface ScoringAppOptions {
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** Time allowed to receive a whole request, in ms (0: none). */
  requestTimeoutMs: number;
  /** The version /version reports. */
  version: string;
  /** Where the per-request log lines go (one JSON object per line). */
  logLine: (line: string) => void;
}

/** Holds the pipeline once the model is loaded; until then the health checks say 503. */
export interface ModelSlot {
  pipeline: ScoringPipeline | undefined;
  /** Set when the model could not be loaded (the server keeps answering 503). */
  loadFailed?: boolean;
}

function loadStateOf(slot: ModelSlot): ModelLoadState {
  if (slot.pipeline) return 'loaded';
  return slot.loadFailed ? 'failed' : 'loading';
}

// The route pattern, not the URL: query strings and unknown paths must not mint new label values.
function endpointOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

export function buildScoringApp(slot: ModelSlot, options: ScoringAppOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit,
    requestTimeout: options.requestTimeoutMs,
    // Keep-alive a little longer than common load balancers' idle timeouts.
    keepAliveTimeout: 75_000,
  });
  // Bodies are read as text for every content type: the content type is judged by the route, as
  // MLflow's server does, so an unsupported one is a 415 with MLflow's words rather than Fastify's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  const metrics = new ScoringMetrics();
  app.addHook('onRequest', async () => {
    metrics.requestStarted();
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.requestFinished(request.method, endpointOf(request), reply.statusCode, reply.elapsedTime / 1000);
    options.logLine(
      JSON.stringify({
        time: new Date().toISOString(),
        method: request.method,
        path: request.url,
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 100) / 100,
        request_bytes: Number(request.headers['content-length'] ?? 0),
      }),
    );
  });

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') await drainRefusedBody(request, reply);
    const answer = scoringErrorAnswer(error, options.bodyLimit);
    metrics.errorAnswered(endpointOf(request), answer.code);
    if (answer.unexpected) {
      options.logLine(
        JSON.stringify({
          time: new Date().toISOString(),
          level: 'error',
          message: error.stack ?? error.message,
        }),
      );
    }
    return reply.status(answer.status).type(answer.contentType).send(answer.body);
  });

  const health = async (_request: unknown, reply: import('fastify').FastifyReply) => {
    if (!slot.pipeline) return reply.status(503).type('application/json').send('\n');
    return reply.status(200).type('application/json').send('\n');
  };
  app.get('/ping', health);
  app.get('/health', health);
  app.get('/version', async (_request, reply) => reply.type('application/json').send(options.version));
  app.get('/metrics', async (_request, reply) =>
    reply.type(PROMETHEUS_CONTENT_TYPE).send(metrics.render(loadStateOf(slot))),
  );

  app.post('/invocations', async (request, reply) => {
    const pipeline = slot.pipeline;
    if (!pipeline) throw new MlflowError('TEMPORARILY_UNAVAILABLE', 'The model is still loading.');
    const body = typeof request.body === 'string' ? request.body : '';
    const text = await pipeline.score(request.headers['content-type'], body);
    return reply.type('application/json').send(text);
  });
  return app;
}
