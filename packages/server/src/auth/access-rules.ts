// What each route requires of a caller under basic auth: MLflow's before-request validators as data.
import type { Capability } from './permissions.js';

/** Where a request names the resource a check is about. */
export type Target =
  /** An experiment id field (experiment_id). */
  | { experiment: 'experiment_id' }
  | { experimentName: 'experiment_name' }
  /** Every id of a list field (all must pass). */
  | { experiments: 'experiment_ids' }
  /** run_id (or MLflow's older run_uuid) of the body, or of the query string when `query`. */
  | { run: 'run_id' | 'run_uuid'; query?: boolean }
  | { runs: 'run_ids' | 'run_id' }
  /** A logged model's id in the path. */
  | { loggedModel: 'model_id' }
  /** A registered model's name (its versions follow it). */
  | { registeredModel: 'name' }
  /** The artifact proxy: the experiment id that starts the artifact path. */
  | { proxyPath: true }
  /** A trace's id in the path (its experiment decides), or of the query for `query`. */
  | { trace: 'trace_id' | 'request_id'; query?: boolean }
  /** Every trace id of a list field. */
  | { traces: 'trace_ids' }
  /** StartTraceV3: trace.trace_info.trace_location.mlflow_experiment.experiment_id of the body. */
  | { traceLocation: true }
  /** SearchTracesV3: the experiment of every `locations` entry. */
  | { traceLocations: true }
  /** A serving endpoint's registered model, from the endpoint's name in the path. */
  | { servingEndpoint: 'name' }
  /** The registered model a new serving endpoint's model URI (body: model_uri or model) names. */
  | { servingModelUri: true }
  /** The OTLP receiver: the experiment id header MLflow's exporter sends. */
  | { experimentHeader: 'x-mlflow-experiment-id' }
  /** A scorer: experiment_id with its name in `name` (scorer calls) or `scorer_name` (its grants). */
  | { scorer: 'name' | 'scorer_name' }
  /**
   * An evaluation dataset in the path: every experiment it is linked to (none: any signed-in user);
   * with `plusExperiments`, also every experiment id of that list field (links being added or removed).
   */
  | { dataset: 'dataset_id'; plusExperiments?: 'experiment_ids' };

export type Rule =
  /** Anyone, signed in or not (MLflow leaves /health and static files open). */
  | { kind: 'public' }
  /** Any signed-in user (MLflow: routes without a validator). */
  | { kind: 'signed-in' }
  /** Any signed-in user; the answer holds only what the caller may read. */
  | { kind: 'filtered' }
  | { kind: 'admin' }
  /**
   * The `username` of the request is the caller (reading or changing oneself); with `optional`, a
   * request without one means the caller too.
   */
  | { kind: 'self'; optional?: boolean }
  | { kind: 'resource'; target: Target; need: Capability }
  /** /graphql: each root field is checked on its own arguments (auth/graphql-access.ts). */
  | { kind: 'graphql' };

const signedIn: Rule = { kind: 'signed-in' };
const filtered: Rule = { kind: 'filtered' };
const admin: Rule = { kind: 'admin' };
const need = (target: Target, capability: Capability): Rule => ({
  kind: 'resource',
  target,
  need: capability,
});
const experiment = (c: Capability) => need({ experiment: 'experiment_id' }, c);
const run = (c: Capability) => need({ run: 'run_id' }, c);
const loggedModel = (c: Capability) => need({ loggedModel: 'model_id' }, c);
const model = (c: Capability) => need({ registeredModel: 'name' }, c);
const proxy = (c: Capability) => need({ proxyPath: true }, c);
const trace = (c: Capability) => need({ trace: 'trace_id' }, c);
const traceV2 = (c: Capability) => need({ trace: 'request_id' }, c);
const scorer = (c: Capability) => need({ scorer: 'name' }, c);
const scorerGrant = need({ scorer: 'scorer_name' }, 'manage');
const dataset = (c: Capability) => need({ dataset: 'dataset_id' }, c);
const servingEndpoint = (c: Capability) => need({ servingEndpoint: 'name' }, c);

/** Routes below /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/, by `METHOD path`. */
const API_RULES: Record<string, Rule> = {
  'POST experiments/create': signedIn,
  'GET experiments/get': experiment('read'),
  'GET experiments/get-by-name': need({ experimentName: 'experiment_name' }, 'read'),
  'GET experiments/search': filtered,
  'POST experiments/search': filtered,
  'POST experiments/search-datasets': need({ experiments: 'experiment_ids' }, 'read'),
  'POST experiments/update': experiment('update'),
  'POST experiments/delete': experiment('delete'),
  'POST experiments/restore': experiment('delete'),
  'POST experiments/set-experiment-tag': experiment('update'),
  'POST experiments/delete-experiment-tag': experiment('update'),

  'POST runs/create': experiment('update'),
  'GET runs/get': run('read'),
  'POST runs/update': run('update'),
  'POST runs/delete': run('delete'),
  'POST runs/restore': run('delete'),
  'POST runs/log-metric': run('update'),
  'POST runs/log-parameter': run('update'),
  'POST runs/set-tag': run('update'),
  'POST runs/delete-tag': run('update'),
  'POST runs/log-batch': run('update'),
  'POST runs/log-inputs': run('update'),
  'POST runs/outputs': run('update'),
  'POST runs/search': filtered,
  'GET metrics/get-history': run('read'),
  'GET metrics/get-history-bulk': need({ runs: 'run_id' }, 'read'),
  'GET metrics/get-history-bulk-interval': need({ runs: 'run_ids' }, 'read'),
  'GET metrics/get-histories-bulk-interval': need({ runs: 'run_ids' }, 'read'),
  'GET artifacts/list': run('read'),

  'POST logged-models': experiment('update'),
  'POST logged-models/search': filtered,
  'GET logged-models/:model_id': loggedModel('read'),
  'PATCH logged-models/:model_id': loggedModel('update'),
  'DELETE logged-models/:model_id': loggedModel('delete'),
  'PATCH logged-models/:model_id/tags': loggedModel('update'),
  'DELETE logged-models/:model_id/tags/*': loggedModel('delete'),
  'POST logged-models/:model_id/params': loggedModel('update'),
  'GET logged-models/:model_id/artifacts/directories': loggedModel('read'),
  'GET logged-models/:model_id/artifacts/files': loggedModel('read'),

  'POST registered-models/create': signedIn,
  'GET registered-models/get': model('read'),
  'POST registered-models/rename': model('update'),
  'PATCH registered-models/update': model('update'),
  'DELETE registered-models/delete': model('delete'),
  'GET registered-models/search': filtered,
  'POST registered-models/get-latest-versions': model('read'),
  'GET registered-models/get-latest-versions': model('read'),
  'POST registered-models/set-tag': model('update'),
  'DELETE registered-models/delete-tag': model('update'),
  'POST registered-models/alias': model('update'),
  'DELETE registered-models/alias': model('delete'),
  'GET registered-models/alias': model('read'),
  'POST model-versions/create': model('update'),
  'GET model-versions/get': model('read'),
  'PATCH model-versions/update': model('update'),
  'POST model-versions/transition-stage': model('update'),
  'DELETE model-versions/delete': model('delete'),
  'GET model-versions/search': filtered,
  'GET model-versions/get-download-uri': model('read'),
  'POST model-versions/set-tag': model('update'),
  'DELETE model-versions/delete-tag': model('delete'),

  // Webhooks see every registry event, so MLflow keeps them to admins.
  'POST webhooks': admin,
  'GET webhooks': admin,
  'GET webhooks/:webhook_id': admin,
  'PATCH webhooks/:webhook_id': admin,
  'DELETE webhooks/:webhook_id': admin,
  'POST webhooks/:webhook_id/test': admin,

  // The basic-auth app's own endpoints (auth/auth-routes.ts).
  'POST users/create': admin,
  'GET users/get': { kind: 'self' },
  'PATCH users/update-password': { kind: 'self' },
  'PATCH users/update-admin': admin,
  'DELETE users/delete': admin,
  // Access tokens (our extension, auth/access-tokens.ts): one's own, or anyone's for admins.
  'POST users/access-tokens/create': { kind: 'self', optional: true },
  'GET users/access-tokens/list': { kind: 'self', optional: true },
  'DELETE users/access-tokens/delete': { kind: 'self', optional: true },
  'GET audit-log/list': admin,
  // The signed-in user (the web UI's header); MLflow 3 has the same path.
  'GET users/current': signedIn,
  // Our extensions for the web UI's admin page and permission panels.
  'GET users/list': admin,
  'GET experiments/permissions/list': experiment('manage'),
  'GET registered-models/permissions/list': model('manage'),
  'POST experiments/permissions/create': experiment('manage'),
  'GET experiments/permissions/get': experiment('manage'),
  'PATCH experiments/permissions/update': experiment('manage'),
  'DELETE experiments/permissions/delete': experiment('manage'),
  'POST registered-models/permissions/create': model('manage'),
  'GET registered-models/permissions/get': model('manage'),
  'PATCH registered-models/permissions/update': model('manage'),
  'DELETE registered-models/permissions/delete': model('manage'),

  // Traces (v3 under /api/3.0, the 2.x ones under /api/2.0): a trace inherits its experiment's permission.
  'POST traces': need({ traceLocation: true }, 'update'),
  'GET traces/get': need({ trace: 'trace_id', query: true }, 'read'),
  'GET traces/batchGet': need({ traces: 'trace_ids' }, 'read'),
  'GET traces/:trace_id': trace('read'),
  'POST traces/search': need({ traceLocations: true }, 'read'),
  'POST traces/delete-traces': experiment('delete'),
  'PATCH traces/:trace_id/tags': trace('update'),
  'DELETE traces/:trace_id/tags': trace('delete'),
  'POST traces/link-to-run': run('update'),
  'POST traces/:trace_id/assessments': trace('update'),
  'GET traces/:trace_id/assessments/:assessment_id': trace('read'),
  'PATCH traces/:trace_id/assessments/:assessment_id': trace('update'),
  'DELETE traces/:trace_id/assessments/:assessment_id': trace('delete'),
  'PATCH traces/:request_id': traceV2('update'),
  'GET traces/:request_id/info': traceV2('read'),
  'GET traces': need({ experiments: 'experiment_ids' }, 'read'),
  'PATCH traces/:request_id/tags': traceV2('update'),
  'DELETE traces/:request_id/tags': traceV2('delete'),
  'GET get-trace-artifact': need({ trace: 'request_id', query: true }, 'read'),

  // Scorers (MLflow 3, under /api/3.0): registering and listing go by the experiment, the rest by the
  // scorer's own grant (or the default; MLflow does not fall back to the experiment's permission).
  'POST scorers/register': experiment('update'),
  'GET scorers/list': experiment('read'),
  'GET scorers/versions': scorer('read'),
  'GET scorers/get': scorer('read'),
  'DELETE scorers/delete': scorer('delete'),
  'POST scorers/permissions/create': scorerGrant,
  'GET scorers/permissions/get': scorerGrant,
  'PATCH scorers/permissions/update': scorerGrant,
  'DELETE scorers/permissions/delete': scorerGrant,
  // Evaluation datasets (under /api/3.0). MLflow's auth app checks none of these; ours follows the
  // experiments a dataset is linked to (docs/auth.md#evaluation-datasets).
  'POST datasets/create': need({ experiments: 'experiment_ids' }, 'update'),
  'POST datasets/search': filtered,
  'GET datasets/search': filtered,
  'GET datasets/:dataset_id': dataset('read'),
  'DELETE datasets/:dataset_id': dataset('delete'),
  'PATCH datasets/:dataset_id/tags': dataset('update'),
  'DELETE datasets/:dataset_id/tags/:key': dataset('update'),
  'POST datasets/:dataset_id/records': dataset('update'),
  'GET datasets/:dataset_id/records': dataset('read'),
  'DELETE datasets/:dataset_id/records': dataset('update'),
  'GET datasets/:dataset_id/experiment-ids': dataset('read'),
  'POST datasets/:dataset_id/add-experiments': need(
    { dataset: 'dataset_id', plusExperiments: 'experiment_ids' },
    'update',
  ),
  'POST datasets/:dataset_id/remove-experiments': need(
    { dataset: 'dataset_id', plusExperiments: 'experiment_ids' },
    'update',
  ),

  'GET server-features': signedIn,
  'GET server-info': signedIn,
  'GET server-limits': signedIn,
};

const API_PREFIXES = [
  '/api/2.0/mlflow/',
  '/ajax-api/2.0/mlflow/',
  '/api/3.0/mlflow/',
  '/ajax-api/3.0/mlflow/',
];
const PROXY_PREFIXES = ['/api/2.0/mlflow-artifacts/', '/ajax-api/2.0/mlflow-artifacts/'];

function servingEndpointRules(prefix: string): Record<string, Rule> {
  return {
    [`POST ${prefix}`]: need({ servingModelUri: true }, 'update'),
    [`GET ${prefix}`]: filtered,
    [`GET ${prefix}/:name`]: servingEndpoint('read'),
    [`DELETE ${prefix}/:name`]: servingEndpoint('delete'),
  };
}

/** Routes outside the API prefixes, by `METHOD url`. */
const OTHER_RULES: Record<string, Rule> = {
  'GET /health': { kind: 'public' },
  'GET /version': signedIn,
  // The web UI's page and files hold no data (every call they make is checked) and must load for
  // its sign-in page to show; MLflow leaves its static files open too.
  'GET /': { kind: 'public' },
  'GET /graphql': { kind: 'graphql' },
  'POST /graphql': { kind: 'graphql' },
  'GET /get-artifact': run('read'),
  'GET /get-artifact-html': run('read'),
  'GET /model-versions/get-artifact': model('read'),
  'POST /ajax-api/2.0/mlflow/upload-artifact': need({ run: 'run_uuid', query: true }, 'update'),
  'POST /v1/traces': need({ experimentHeader: 'x-mlflow-experiment-id' }, 'update'),
  // Serving endpoints follow the registered model they serve (docs/auth.md#serving-endpoints): using
  // one is reading the model, creating one is a write like a new version (EDIT), deleting one needs
  // MANAGE as deleting a version or an alias does.
  ...servingEndpointRules('/api/2.0/serving-endpoints'),
  ...servingEndpointRules('/ajax-api/2.0/serving-endpoints'),
  'POST /serving-endpoints/:name/invocations': servingEndpoint('read'),
  // The web UI's sign-in (http/web-auth-routes.ts): open, since they are how one signs in; MLflow's
  // /signup form is for admins, like users/create.
  'GET /auth/config': { kind: 'public' },
  'POST /auth/login': { kind: 'public' },
  'POST /auth/logout': { kind: 'public' },
  'GET /auth/oidc/login': { kind: 'public' },
  'GET /auth/oidc/callback': { kind: 'public' },
  'GET /signup': admin,
};

/** The artifact proxy, below each of PROXY_PREFIXES. */
const PROXY_RULES: Record<string, Rule> = {
  'GET artifacts': proxy('read'),
  'GET artifacts/*': proxy('read'),
  'PUT artifacts/*': proxy('update'),
  'DELETE artifacts/*': proxy('delete'),
  'POST mpu/create/*': proxy('update'),
  'POST mpu/complete/*': proxy('update'),
  'POST mpu/abort/*': proxy('update'),
};

/**
 * The rule for a route, by its method and its registered URL pattern (Fastify's routeOptions.url);
 * undefined for a route nobody wrote a rule for, which the hook refuses to non-admins.
 */
export function ruleFor(method: string, url: string): Rule | undefined {
  const verb = method === 'HEAD' ? 'GET' : method;
  const other = OTHER_RULES[`${verb} ${url}`];
  if (other) return other;
  for (const prefix of API_PREFIXES) {
    if (url.startsWith(prefix)) return API_RULES[`${verb} ${url.slice(prefix.length)}`];
  }
  for (const prefix of PROXY_PREFIXES) {
    if (url.startsWith(prefix)) return PROXY_RULES[`${verb} ${url.slice(prefix.length)}`];
  }
  return undefined;
}

// The basic-auth app's own endpoints (http/auth-routes.ts) read the caller from its scope
// (caller-scope.ts): a token request without a username, the audit log's actor.
const CALLER_SCOPED = /^(?:users\/|audit-log\/|(?:experiments|registered-models|scorers)\/permissions\/)/;

/**
 * Whether a route's handler needs to run inside the caller's scope (runAsCaller); the others skip
 * it, since an AsyncLocalStorage scope costs every request that enters one.
 */
export function runsAsCaller(url: string): boolean {
  if (url === '/signup') return true;
  for (const prefix of API_PREFIXES) {
    if (url.startsWith(prefix)) return CALLER_SCOPED.test(url.slice(prefix.length));
  }
  return false;
}

/** Requests no route matched: the web UI's files and client-side pages (open, as `GET /`), and 404 answers. */
export const UNROUTED_RULE: Rule = { kind: 'public' };
