// Basic auth at the HTTP edge: who is calling (401 when nobody), whether the route's rule lets them
// (403), the caller's read access around the handler, and MLflow's after-request grants.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Rule, ruleFor, UNROUTED_RULE } from '../auth/access-rules.js';
import type { AuthService, Caller } from '../auth/auth-service.js';
import type { Authorizer, RequestInput } from '../auth/authorizer.js';
import { runAsCaller } from '../auth/caller-scope.js';
import { runWithReadAccess } from '../services/access-scope.js';
import { RequestFields } from './request-fields.js';

export interface AuthHooks {
  auth: AuthService;
  authorizer: Authorizer;
}

const UNAUTHENTICATED_TEXT =
  'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.';

const callers = new WeakMap<FastifyRequest, Caller>();

function unauthenticated(reply: FastifyReply): void {
  reply
    .status(401)
    .header('WWW-Authenticate', 'Basic realm="mlflow"')
    .type('text/plain; charset=utf-8')
    .send(UNAUTHENTICATED_TEXT);
}

function forbidden(reply: FastifyReply): void {
  reply
    .status(403)
    .type('application/json')
    .send(JSON.stringify({ error_code: 'PERMISSION_DENIED', message: 'Permission denied' }));
}

function objectOf(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

const PROXY_ANCHOR = /\/mlflow-artifacts\/(?:artifacts|mpu\/[a-z]+)\/?/;

function requestInput(request: FastifyRequest): RequestInput {
  const query = () => new RequestFields(objectOf(request.query), true);
  const url = request.url.split('?')[0];
  const anchor = PROXY_ANCHOR.exec(url);
  let proxyPath: string | undefined;
  if (anchor) {
    const rest = decodeURIComponent(url.slice(anchor.index + anchor[0].length));
    proxyPath = rest || (objectOf(request.query).path as string | undefined);
  }
  return {
    fields: () => (request.method === 'GET' ? query() : new RequestFields(objectOf(request.body), false)),
    query,
    params: objectOf(request.params) as Record<string, string>,
    proxyPath,
    header: (name) => {
      const value = request.headers[name];
      return typeof value === 'string' ? value : undefined;
    },
    graphql: () => {
      const f = objectOf(request.method === 'GET' ? request.query : request.body);
      let variables = f.variables;
      if (typeof variables === 'string') {
        try {
          variables = JSON.parse(variables);
        } catch {
          variables = undefined;
        }
      }
      return {
        query: typeof f.query === 'string' ? f.query : '',
        variables: variables ? objectOf(variables) : undefined,
        operationName: typeof f.operationName === 'string' ? f.operationName : undefined,
      };
    },
  };
}

/** The rule of the route a request reached (undefined: a route without a rule). */
export function ruleOfRequest(request: FastifyRequest): Rule | undefined {
  const url = request.routeOptions.url;
  return url === undefined ? UNROUTED_RULE : ruleFor(request.method, url);
}

async function decide(hooks: AuthHooks, request: FastifyRequest, reply: FastifyReply) {
  const rule = ruleOfRequest(request);
  if (rule?.kind === 'public') return { go: true as const };
  const caller = await hooks.auth.authenticate(request.headers.authorization);
  if (!caller) {
    unauthenticated(reply);
    return { go: false as const };
  }
  callers.set(request, caller);
  // A route nobody wrote a rule for is refused to everyone but admins (the route-table test fails first).
  if (!(await hooks.authorizer.allows(rule ?? { kind: 'admin' }, caller, requestInput(request)))) {
    forbidden(reply);
    return { go: false as const };
  }
  const filtered = rule?.kind === 'filtered' || rule?.kind === 'graphql';
  return { go: true as const, caller, access: filtered ? await hooks.auth.readAccess(caller) : undefined };
}

/**
 * After a successful request: the grants MLflow gives (the creator manages; grants follow renames and
 * go with deletions), and the audit log's record of experiments and registered models changing.
 */
async function afterSuccess(hooks: AuthHooks, request: FastifyRequest, payload: unknown): Promise<void> {
  const caller = callers.get(request);
  const url = request.routeOptions.url;
  if (!caller || !url) return;
  const route = `${request.method} ${url.replace(/^\/(ajax-)?api\/2\.0\/mlflow\//, '')}`;
  const body = objectOf(request.body);
  const answer = () =>
    objectOf(JSON.parse(Buffer.isBuffer(payload) ? payload.toString('utf8') : String(payload)));
  const { auth } = hooks;
  // onSend may run outside the handler's async context, so the caller is set again for the log.
  await runAsCaller(caller, async () => {
    switch (route) {
      case 'POST experiments/create': {
        const id = String(answer().experiment_id);
        await auth.grantCreator(caller, 'experiment', id);
        await auth.audit('create', 'experiment', id, { name: body.name });
        break;
      }
      case 'POST experiments/update':
        await auth.audit('rename', 'experiment', String(body.experiment_id), { new_name: body.new_name });
        break;
      case 'POST experiments/delete':
        await auth.audit('delete', 'experiment', String(body.experiment_id));
        break;
      case 'POST experiments/restore':
        await auth.audit('restore', 'experiment', String(body.experiment_id));
        break;
      case 'POST registered-models/create': {
        const name = String(objectOf(answer().registered_model).name);
        await auth.grantCreator(caller, 'registered_model', name);
        await auth.audit('create', 'registered_model', name);
        break;
      }
      case 'POST registered-models/rename':
        await auth.renameModel(String(body.name), String(body.new_name));
        await auth.audit('rename', 'registered_model', String(body.name), { new_name: body.new_name });
        break;
      case 'DELETE registered-models/delete':
        await auth.forgetModel(String(body.name));
        await auth.audit('delete', 'registered_model', String(body.name));
        break;
    }
  });
}

export interface RouteEntry {
  method: string;
  url: string;
  rule: Rule | undefined;
}

const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route of an app with auth hooks, with its rule (what the route-table test walks). */
export function authRoutesOf(app: FastifyInstance): RouteEntry[] {
  return routeTables.get(app) ?? [];
}

/** Installs the check on every route of `app` (and of plugins registered after this call). */
export function installAuthHooks(app: FastifyInstance, hooks: AuthHooks): void {
  const routes: RouteEntry[] = [];
  routeTables.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routes.push({ method, url: route.url, rule: ruleFor(method, route.url) });
    }
  });
  // A route without a rule would be refused to all but admins; refuse to start instead, so it is
  // noticed at once.
  app.addHook('onReady', async () => {
    const missing = routes.filter((r) => !r.rule).map((r) => `${r.method} ${r.url}`);
    if (missing.length) throw new Error(`routes without an access rule: ${missing.join(', ')}`);
  });
  // preValidation: after the body is parsed (rules read fields from it), before the handler. Callback
  // style so the handler runs as the caller (runAsCaller) and inside runWithReadAccess.
  app.addHook('preValidation', (request, reply, done) => {
    decide(hooks, request, reply).then(
      (outcome) => {
        if (!outcome.go) return; // answered
        const { access, caller } = outcome;
        const next = access ? () => runWithReadAccess(access, () => done()) : () => done();
        if (caller) runAsCaller(caller, next);
        else next();
      },
      (error: Error) => done(error),
    );
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode === 200 && callers.has(request)) await afterSuccess(hooks, request, payload);
    return payload;
  });
}
