// Basic auth at the HTTP edge: who is calling (401 when nobody), whether the route's rule lets them
// (403), the caller's read access around the handler, and MLflow's after-request grants.
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendAsyncHookHandler } from 'fastify';
import { type Rule, ruleFor, runsAsCaller, UNROUTED_RULE } from '../auth/access-rules.js';
import type { AuthService, Caller } from '../auth/auth-service.js';
import type { Authorizer, RequestInput } from '../auth/authorizer.js';
import { runAsCaller } from '../auth/caller-scope.js';
import type { ReadAccess } from '../entities/access.js';
import { runWithReadAccess } from '../services/access-scope.js';
import { RequestFields } from './request-fields.js';

export interface AuthHooks {
  auth: AuthService;
  authorizer: Authorizer;
}

const UNAUTHENTICATED_TEXT =
  'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.';

const callers = new WeakMap<FastifyRequest, Caller>();

/** Sent by the web UI, which shows its own sign-in page rather than the browser's Basic prompt. */
const UI_HEADER = 'x-mlflow-ts-ui';

function unauthenticated(request: FastifyRequest, reply: FastifyReply): void {
  if (request.headers[UI_HEADER] === undefined) reply.header('WWW-Authenticate', 'Basic realm="mlflow"');
  reply.status(401).type('text/plain; charset=utf-8').send(UNAUTHENTICATED_TEXT);
}

/**
 * The credentials a request offers, as an Authorization header: its own, else the web UI's session
 * cookie (a signed access token), which is checked as a Bearer token.
 */
function credentialsOf(hooks: AuthHooks, request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined || request.headers.cookie === undefined) return header;
  const token = hooks.auth.cookies.sessionToken(request.headers.cookie);
  return token === undefined ? undefined : `Bearer ${token}`;
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
  return planOf(request).rule;
}

/** What the hook does for one route, settled once when the route is registered. */
interface RoutePlan {
  rule: Rule | undefined;
  /** The handler reads the caller from its scope (the auth app's own endpoints). */
  asCaller: boolean;
  /** The answer holds only what the caller may read. */
  filtered: boolean;
  /** MLflow's after-request grants or the audit log follow a success (AFTER_SUCCESS). */
  after: boolean;
}

// Routes whose success afterSuccess acts on, as `METHOD path below the API prefix`.
const AFTER_SUCCESS = new Set([
  'POST experiments/create',
  'POST experiments/update',
  'POST experiments/delete',
  'POST experiments/restore',
  'POST registered-models/create',
  'POST registered-models/rename',
  'DELETE registered-models/delete',
  'POST scorers/register',
  'DELETE scorers/delete',
]);
const API_PREFIX = /^\/(ajax-)?api\/[23]\.0\/mlflow\//;

function afterKey(method: string, url: string): string {
  return `${method} ${url.replace(API_PREFIX, '')}`;
}

function planFor(method: string, url: string | undefined): RoutePlan {
  const rule = url === undefined ? UNROUTED_RULE : ruleFor(method, url);
  return {
    rule,
    asCaller: url !== undefined && runsAsCaller(url),
    filtered: rule?.kind === 'filtered' || rule?.kind === 'graphql',
    after: url !== undefined && AFTER_SUCCESS.has(afterKey(method, url)),
  };
}

const plans = new Map<string, RoutePlan>();
const UNROUTED_PLAN = planFor('GET', undefined);

function planOf(request: FastifyRequest): RoutePlan {
  const url = request.routeOptions.url;
  if (url === undefined) return UNROUTED_PLAN;
  const key = `${request.method} ${url}`;
  let plan = plans.get(key);
  if (!plan) {
    plan = planFor(request.method, url);
    plans.set(key, plan);
  }
  return plan;
}

// A route nobody wrote a rule for is refused to everyone but admins (the route-table test fails first).
const UNRULED: Rule = { kind: 'admin' };

/** The checks a cached caller on a rule that reads nothing cannot settle: the full, async path. */
async function decide(
  hooks: AuthHooks,
  plan: RoutePlan,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<{ caller: Caller; access: ReadAccess | undefined } | undefined> {
  const caller = await hooks.auth.authenticate(credentialsOf(hooks, request));
  if (!caller) {
    unauthenticated(request, reply);
    return undefined;
  }
  if (!(await hooks.authorizer.allows(plan.rule ?? UNRULED, caller, requestInput(request)))) {
    forbidden(reply);
    return undefined;
  }
  return { caller, access: await readAccessFor(hooks, plan, caller) };
}

function readAccessFor(hooks: AuthHooks, plan: RoutePlan, caller: Caller): Promise<ReadAccess> | undefined {
  return plan.filtered && !hooks.auth.readsEverything(caller) ? hooks.auth.readAccess(caller) : undefined;
}

/**
 * Lets the request go on to its handler, inside the scopes it needs and no others: each
 * AsyncLocalStorage scope costs the request, and once one was entered Node tracks every promise.
 */
function proceed(
  plan: RoutePlan,
  request: FastifyRequest,
  caller: Caller,
  access: ReadAccess | undefined,
  done: () => void,
): void {
  if (plan.after) callers.set(request, caller);
  const next = access ? () => runWithReadAccess(access, done) : done;
  if (plan.asCaller) runAsCaller(caller, next);
  else next();
}

/**
 * After a successful request: the grants MLflow gives (the creator manages; grants follow renames and
 * go with deletions), and the audit log's record of experiments and registered models changing.
 */
async function afterSuccess(hooks: AuthHooks, request: FastifyRequest, payload: unknown): Promise<void> {
  const caller = callers.get(request);
  const url = request.routeOptions.url;
  if (!caller || !url) return;
  const route = afterKey(request.method, url);
  const body = objectOf(request.body);
  const answer = () =>
    objectOf(JSON.parse(Buffer.isBuffer(payload) ? payload.toString('utf8') : String(payload)));
  const { auth } = hooks;
  // The actor is passed to audit() rather than set as a scope: a scope here would switch on Node's
  // promise tracking for every later request.
  switch (route) {
    case 'POST experiments/create': {
      const id = String(answer().experiment_id);
      await auth.grantCreator(caller, 'experiment', id);
      await auth.audit('create', 'experiment', id, { name: body.name }, caller);
      break;
    }
    case 'POST experiments/update':
      await auth.audit(
        'rename',
        'experiment',
        String(body.experiment_id),
        { new_name: body.new_name },
        caller,
      );
      break;
    case 'POST experiments/delete':
      await auth.audit('delete', 'experiment', String(body.experiment_id), undefined, caller);
      break;
    case 'POST experiments/restore':
      await auth.audit('restore', 'experiment', String(body.experiment_id), undefined, caller);
      break;
    case 'POST registered-models/create': {
      const name = String(objectOf(answer().registered_model).name);
      await auth.grantCreator(caller, 'registered_model', name);
      await auth.audit('create', 'registered_model', name, undefined, caller);
      break;
    }
    case 'POST registered-models/rename':
      await auth.renameModel(String(body.name), String(body.new_name));
      await auth.audit('rename', 'registered_model', String(body.name), { new_name: body.new_name }, caller);
      break;
    case 'DELETE registered-models/delete':
      await auth.forgetModel(String(body.name));
      await auth.audit('delete', 'registered_model', String(body.name), undefined, caller);
      break;
    case 'POST scorers/register': {
      const registered = answer();
      const scorer = { experimentId: String(registered.experiment_id), scorerName: String(registered.name) };
      await auth.grantScorerCreator(caller, scorer);
      break;
    }
    case 'DELETE scorers/delete':
      // MLflow drops a scorer's grants on any deletion; we keep them while versions of it remain.
      if (body.version === undefined || body.version === null) {
        await auth.forgetScorer({ experimentId: String(body.experiment_id), scorerName: String(body.name) });
      }
      break;
  }
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
  const afterSuccessHook: onSendAsyncHookHandler = async (request, reply, payload) => {
    if (reply.statusCode === 200 && callers.has(request)) await afterSuccess(hooks, request, payload);
    return payload;
  };
  const routes: RouteEntry[] = [];
  routeTables.set(app, routes);
  // Each route's plan is settled here, once; only the routes MLflow acts on after a success get the
  // onSend hook (an async hook on every route would cost each answer a promise).
  app.addHook('onRoute', (route) => {
    let after = false;
    for (const method of [route.method].flat()) {
      const plan = planFor(method, route.url);
      plans.set(`${method} ${route.url}`, plan);
      routes.push({ method, url: route.url, rule: plan.rule });
      after ||= plan.after;
    }
    if (after) route.onSend = [route.onSend ?? []].flat().concat(afterSuccessHook);
  });
  // A route without a rule would be refused to all but admins; refuse to start instead, so it is
  // noticed at once.
  app.addHook('onReady', async () => {
    const missing = routes.filter((r) => !r.rule).map((r) => `${r.method} ${r.url}`);
    if (missing.length) throw new Error(`routes without an access rule: ${missing.join(', ')}`);
  });
  // One preValidation hook: after the body is parsed (rules read fields from it), before the handler.
  // Callback style, so a cached caller on a rule that reads nothing goes on without a promise, and the
  // handler runs inside the scopes proceed() enters.
  app.addHook('preValidation', (request, reply, done) => {
    const plan = planOf(request);
    if (plan.rule?.kind === 'public') return done();
    const caller = hooks.auth.cachedCaller(credentialsOf(hooks, request));
    if (caller && hooks.authorizer.settledByRule(plan.rule ?? UNRULED, caller) === true) {
      const pending = readAccessFor(hooks, plan, caller);
      if (!pending) return proceed(plan, request, caller, undefined, done);
      pending.then((access) => proceed(plan, request, caller, access, done), done);
      return;
    }
    decide(hooks, plan, request, reply).then(
      (outcome) => {
        if (outcome) proceed(plan, request, outcome.caller, outcome.access, done);
      },
      (error: Error) => done(error),
    );
  });
}
