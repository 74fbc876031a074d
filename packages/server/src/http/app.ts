import { Readable } from 'node:stream';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { MlflowError } from '../entities/errors.js';
import type { ResourceLimits } from '../entities/resource-limits.js';
import type { ArtifactService } from '../services/artifact-service.js';
import type { EvaluationDatasetService } from '../services/evaluation-dataset-service.js';
import type { LoggedModelService } from '../services/logged-model-service.js';
import type { RegistryService } from '../services/registry-service.js';
import type { ScorerService } from '../services/scorer-service.js';
import type { ServingEndpointService } from '../services/serving-endpoint-service.js';
import type { TraceService } from '../services/trace-service.js';
import type { TrackingService } from '../services/tracking-service.js';
import type { WebhookService } from '../services/webhook-service.js';
import { MLFLOW_API_VERSION, VERSION, VERSION_HEADER } from '../version.js';
import {
  artifactEndpoints,
  artifactProxyRoutes,
  getArtifactRoute,
  getHtmlArtifactRoute,
  multipartUploadRoutes,
} from './artifact-routes.js';
import { type AuthHooks, installAuthHooks } from './auth-hook.js';
import { authEndpoints } from './auth-routes.js';
import {
  type ConnectionLimits,
  capConnections,
  DEFAULT_CONNECTION_LIMITS,
  httpServerOptions,
} from './connection-limits.js';
import type { Endpoint, RouteGroup } from './endpoint.js';
import { httpStatusFor } from './error-status.js';
import { evaluationDatasetEndpoints } from './evaluation-dataset-routes.js';
import { faultError } from './fault-errors.js';
import { graphqlRoute } from './graphql/route.js';
import { type ErrorLog, reportServerError, stderrLog } from './internal-errors.js';
import { loggedModelArtifactFileRoute, loggedModelEndpoints } from './logged-model-routes.js';
import { drainRefusedBody } from './refused-body.js';
import { modelVersionArtifactRoute, registryEndpoints } from './registry-routes.js';
import { RequestFields } from './request-fields.js';
import { checkJsonDepth, mayHoldNul, refuseNul } from './request-guards.js';
import { scorerEndpoints } from './scorer-routes.js';
import { servingEndpointRoutes } from './serving-endpoint-routes.js';
import { traceEndpoints, traceRoutes } from './trace-routes.js';
import { trackingEndpoints } from './tracking-routes.js';
import { loadUiBuild, locateUiBuild, uiRoutes } from './ui-routes.js';
import { uploadArtifactRoute } from './upload-artifact-route.js';
import { webAuthRoutes } from './web-auth-routes.js';
import { webhookEndpoints } from './webhook-routes.js';
import { JsonStream, parseRequestJson, toWireBytes } from './wire-json.js';

export interface AppOptions {
  /** The tracking service; absent on an --artifacts-only server, whose tracking endpoints answer 503. */
  tracking?: TrackingService;
  /** MLflow 3's logged models; absent (like tracking) on an --artifacts-only server. */
  loggedModels?: LoggedModelService;
  /** The model registry; absent on an --artifacts-only server, where its endpoints answer 503 too. */
  registry?: RegistryService;
  artifacts: ArtifactService;
  /** Registry webhooks; absent on an --artifacts-only server. */
  webhooks?: WebhookService;
  /** MLflow 3's traces and the OTLP span receiver; absent on an --artifacts-only server. */
  traces?: TraceService;
  scorers?: ScorerService;
  /** MLflow 3's evaluation datasets; absent on an --artifacts-only server. */
  evaluationDatasets?: EvaluationDatasetService;
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
  /** Header and request timeouts and the connection cap; default DEFAULT_CONNECTION_LIMITS. */
  connectionLimits?: ConnectionLimits;
  logger?: boolean;
  /** Where each 500 is logged (method, path, stack); default stderr. */
  errorLog?: ErrorLog;
  /** The built web UI's folder; default: found by locateUiBuild(). */
  uiDir?: string;
  /** Basic auth (--app-name basic-auth): every route checked, and MLflow's user endpoints. */
  auth?: AuthHooks;
  /** The quotas in force, shown at server-limits (the stores enforce them). */
  limits?: ResourceLimits;
  /** Serving endpoints hosted by the server; absent on an --artifacts-only server. */
  servingEndpoints?: ServingEndpointService;
}

const API_PREFIXES = ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow'];
/** The largest JSON request body (artifact uploads are streamed and not bound by it). */
export const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;
const JSON_TYPE = 'application/json';

function sendError(reply: FastifyReply, error: MlflowError): FastifyReply {
  return reply
    .status(httpStatusFor(error.errorCode))
    .type(JSON_TYPE)
    .send(JSON.stringify({ error_code: error.errorCode, message: error.message }));
}

/** Maps framework errors (bad body, too large, ...) to MLflow's error shape; anything else is a 500. */
function toMlflowError(error: FastifyError | Error): MlflowError {
  if (error instanceof MlflowError) return error;
  const fe = error as FastifyError;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return MlflowError.invalidParameter(`Request body is larger than the server's limit. ${fe.message}`);
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new MlflowError('BAD_REQUEST', fe.message);
  }
  const fault = faultError(error);
  if (fault) return fault;
  // The message is for the log only: reportServerError answers the client with a generic one.
  return new MlflowError('INTERNAL_ERROR', error.message || 'Internal server error');
}

/** MLflow checks the Content-Type of POST and PUT requests only. */
function checkContentType(request: FastifyRequest): void {
  if (request.method !== 'POST' && request.method !== 'PUT') return;
  const header = request.headers['content-type'];
  if (!header) throw MlflowError.invalidParameter('Bad Request. Content-Type header is missing.');
  if (header.split(';')[0].trim().toLowerCase() !== JSON_TYPE) {
    throw MlflowError.invalidParameter(`Bad Request. Content-Type must be one of ['${JSON_TYPE}'].`);
  }
}

function requestFields(request: FastifyRequest): RequestFields {
  // HEAD is answered by the GET route (as Flask does for MLflow), from the same query string.
  if (request.method === 'GET' || request.method === 'HEAD') {
    const query = (request.query ?? {}) as Record<string, unknown>;
    refuseNul(query);
    return new RequestFields(query, true);
  }
  const body = request.body;
  // Only an empty body reads as {}; a JSON null, list, string or number is refused.
  if (body === undefined) return new RequestFields({}, false);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw MlflowError.invalidParameter('The request body must be a JSON object.');
  }
  return new RequestFields(body as Record<string, unknown>, false);
}

/**
 * Streamed answers (a metric history, a trace) are mostly small: a history of 10 points is two or three
 * pieces. Up to this many bytes the pieces are gathered and sent whole, with a length; a stream per
 * request cost more server CPU than the rest of such a request.
 */
const WHOLE_ANSWER_BYTES = 64 * 1024;

async function sendJsonStream(reply: FastifyReply, stream: JsonStream): Promise<FastifyReply> {
  const iterator = stream.chunks[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  while (size < WHOLE_ANSWER_BYTES) {
    const next = await iterator.next();
    if (next.done) return reply.type(JSON_TYPE).send(head.length === 1 ? head[0] : Buffer.concat(head, size));
    const value = next.value;
    const chunk =
      typeof value === 'string'
        ? Buffer.from(value)
        : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    head.push(chunk);
    size += chunk.length;
  }
  // A large answer: what was gathered, then the rest, each next piece pulled only when the socket has
  // taken the previous one. A client that leaves ends the source too (yield* passes the return on).
  const rest = { [Symbol.asyncIterator]: () => iterator };
  async function* pieces(): AsyncGenerator<string | Uint8Array> {
    yield* head;
    yield* rest;
  }
  return reply.type(JSON_TYPE).send(Readable.from(pieces(), { highWaterMark: 1 }));
}

/** MLflow's answer on an --artifacts-only server to anything but the artifact proxy. */
function artifactsOnly(reply: FastifyReply, rule: string): FastifyReply {
  return reply
    .status(503)
    .type('text/plain; charset=utf-8')
    .send(
      `Endpoint: ${rule} disabled due to the mlflow server running in \`--artifacts-only\` mode. To enable tracking server functionality, run \`mlflow server\` without \`--artifacts-only\``,
    );
}

function registerEndpoint<S>(app: FastifyInstance, endpoint: Endpoint<S>, service: S | undefined): void {
  const version = endpoint.since ?? 2;
  const prefixes = endpoint.ajaxOnly
    ? [`/ajax-api/${version}.0/mlflow`]
    : [`/api/${version}.0/mlflow`, `/ajax-api/${version}.0/mlflow`];
  for (const prefix of prefixes) {
    const url = `${prefix}/${endpoint.path}`;
    app.route({
      method: endpoint.method,
      url,
      handler: async (request, reply) => {
        if (service === undefined) return artifactsOnly(reply, url);
        checkContentType(request);
        refuseNul(request.params);
        const result = await endpoint.handle(
          service,
          requestFields(request),
          request.params as Record<string, string>,
        );
        if (result instanceof JsonStream) return sendJsonStream(reply, result);
        const body = toWireBytes(result);
        // Fastify adds the charset to a string's JSON type but sends a buffer's type as given.
        return typeof body === 'string'
          ? reply.type(JSON_TYPE).send(body)
          : reply.type(`${JSON_TYPE}; charset=utf-8`).send(body);
      },
    });
  }
}

/** Registers a group's routes over its service, or (without one) MLflow's 503 on its URLs. */
function registerGroup<S>(app: FastifyInstance, group: RouteGroup<S>): void {
  for (const endpoint of group.endpoints) registerEndpoint(app, endpoint, group.service);
  if (group.service !== undefined) group.routes?.(app, group.service);
  else {
    for (const url of group.disabledUrls ?? [])
      app.get(url, async (_request, reply) => artifactsOnly(reply, url));
  }
}

/** Builds the HTTP application: MLflow's REST API over the given services. */
export function buildApp(options: AppOptions): FastifyInstance {
  const connectionLimits = options.connectionLimits ?? DEFAULT_CONNECTION_LIMITS;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    http: httpServerOptions(connectionLimits),
    // Fastify sets this on the server after creating it, so it must agree with the `http` options.
    requestTimeout: connectionLimits.requestTimeoutMs,
    // MLflow ignores a trailing slash and allows long run-id-heavy query strings; its router (werkzeug)
    // also merges repeated slashes, so `//api/2.0/mlflow//runs/get` reaches runs/get there too.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1000 },
    // The drain (drain.ts) answers requests that arrive while closing, in MLflow's error shape.
    return503OnClosing: false,
    // The router's own refusals (a path parameter past maxParamLength, a malformed percent-escape in
    // the path) in MLflow's error shape rather than Fastify's.
    frameworkErrors: (error, _request, reply) =>
      sendError(reply, MlflowError.invalidParameter(error.message)),
  });
  capConnections(app.server, connectionLimits);
  // A callback hook: an async one costs a promise and a turn of the microtask queue on every request.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header(VERSION_HEADER, VERSION);
    done();
  });
  if (options.auth) installAuthHooks(app, options.auth);

  const errorLog = options.errorLog ?? stderrLog;
  app.removeAllContentTypeParsers();
  // Parse every body as JSON whatever its declared type; the Content-Type rule is checked per route so
  // its error carries MLflow's message.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    let parsed: unknown;
    try {
      checkJsonDepth(text);
      parsed = parseRequestJson(text);
    } catch (error) {
      if (error instanceof MlflowError) return done(error, undefined);
      return done(
        MlflowError.invalidParameter(`Malformed JSON in the request body: ${(error as Error).message}`),
        undefined,
      );
    }
    try {
      if (mayHoldNul(text)) refuseNul(parsed);
    } catch (error) {
      return done(error as MlflowError, undefined);
    }
    done(null, parsed);
  });

  app.setErrorHandler(async (error, request, reply) => {
    if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') await drainRefusedBody(request, reply);
    const mlflowError = toMlflowError(error as FastifyError);
    if (!(error instanceof MlflowError) && mlflowError.errorCode === 'TEMPORARILY_UNAVAILABLE') {
      // The operator has to act (free space, bring the database back): say so once per failed request.
      errorLog(
        `${new Date().toISOString()} ${request.id} ${request.method} ${request.url.split('?')[0]} unavailable: ${(error as Error).message}`,
      );
    }
    return sendError(reply, reportServerError(error as Error, mlflowError, request, errorLog));
  });

  const uiDir = options.uiDir ?? locateUiBuild();
  const serveUi = uiRoutes(app, loadUiBuild(uiDir), uiDir);
  app.setNotFoundHandler((request, reply) => {
    if (serveUi(request, reply)) return reply;
    return sendError(
      reply,
      new MlflowError(
        'ENDPOINT_NOT_FOUND',
        `No endpoint ${request.method} ${request.url.split('?')[0]} exists on this server.`,
      ),
    );
  });

  const { tracking, registry, artifacts } = options;
  registerGroup(app, {
    service: tracking,
    endpoints: trackingEndpoints(),
    routes: (scope, service) =>
      graphqlRoute(scope, { tracking: service, artifacts, registry }, checkContentType),
  });
  // A run's artifacts are found through tracking, so these go with it on an --artifacts-only server.
  registerGroup(app, {
    service: tracking && artifacts,
    endpoints: artifactEndpoints(),
    routes: (scope, service) => {
      getArtifactRoute(scope, service, requestFields);
      getHtmlArtifactRoute(scope, service, requestFields);
    },
    disabledUrls: ['/get-artifact', '/get-artifact-html'],
  });
  registerGroup(app, { service: options.webhooks, endpoints: webhookEndpoints() });
  registerGroup(app, {
    service: options.loggedModels,
    endpoints: loggedModelEndpoints(artifacts),
    routes: (scope, service) => loggedModelArtifactFileRoute(scope, service, artifacts, requestFields),
  });
  registerGroup(app, {
    service: options.traces,
    endpoints: traceEndpoints(),
    routes: (scope, service) => traceRoutes(scope, service, requestFields),
    disabledUrls: ['/ajax-api/2.0/mlflow/get-trace-artifact'],
  });
  registerGroup(app, { service: options.scorers, endpoints: scorerEndpoints() });
  registerGroup(app, { service: options.evaluationDatasets, endpoints: evaluationDatasetEndpoints() });
  registerGroup(app, {
    service: registry,
    endpoints: registryEndpoints(),
    routes: (scope, service) => modelVersionArtifactRoute(scope, service, artifacts, requestFields),
    disabledUrls: ['/model-versions/get-artifact'],
  });
  if (options.servingEndpoints) {
    servingEndpointRoutes(app, options.servingEndpoints, { checkContentType, requestFields });
  }
  // MLflow's user and permission endpoints, only with --app-name basic-auth.
  if (options.auth) {
    webAuthRoutes(app, options.auth.auth);
    registerGroup(app, { service: options.auth.auth, endpoints: authEndpoints() });
  }
  app.register(async (scope) => artifactProxyRoutes(scope, options.artifacts));
  app.register(async (scope) => uploadArtifactRoute(scope, options.artifacts));
  multipartUploadRoutes(app, options.artifacts, (request) => {
    checkContentType(request);
    return requestFields(request);
  });

  app.get('/health', async (_request, reply) => reply.type('text/plain').send('OK'));
  app.get('/version', async (_request, reply) => reply.type('text/plain').send(MLFLOW_API_VERSION));
  const features = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.type(JSON_TYPE).send(
      JSON.stringify({
        store_type: 'SqlStore',
        workspaces_enabled: false,
        trace_archival_enabled: false,
        multipart_uploads_enabled: options.artifacts.multipartUploads,
        multipart_downloads_enabled: false,
        server: 'mlflow-ts',
        version: VERSION,
      }),
    );
  for (const prefix of [...API_PREFIXES, '/api/3.0/mlflow', '/ajax-api/3.0/mlflow']) {
    app.get(`${prefix}/server-features`, features);
    app.get(`${prefix}/server-info`, features);
  }
  // Our extension: the quotas in force (docs/tracking-server.md#quotas); an empty object when none.
  const limits = JSON.stringify({ limits: options.limits ?? {} });
  for (const prefix of API_PREFIXES) {
    app.get(`${prefix}/server-limits`, async (_request, reply) => reply.type(JSON_TYPE).send(limits));
  }
  return app;
}
