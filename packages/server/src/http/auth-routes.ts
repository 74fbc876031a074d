// MLflow's basic-auth endpoints (users; experiment, registered-model and scorer permissions) and ours
// (access tokens).
import type { AuthService, UserJson } from '../auth/auth-service.js';
import { currentCaller } from '../auth/caller-scope.js';
import type { ResourceKind } from '../auth/users-store.js';
import { EncodedList } from '../entities/encoded-list.js';
import { MlflowError } from '../entities/errors.js';
import type { Endpoint } from './endpoint.js';
import { missing, type RequestFields } from './request-fields.js';

const empty = {};

/**
 * MLflow's User.to_json keeps empty permission lists (and its client's User.from_json needs them),
 * where the wire JSON leaves empty lists out; pre-encoded lists are written as they are.
 */
function userAnswer(user: UserJson) {
  return {
    user: {
      ...user,
      experiment_permissions: new EncodedList(JSON.stringify(user.experiment_permissions)),
      registered_model_permissions: new EncodedList(JSON.stringify(user.registered_model_permissions)),
      scorer_permissions: new EncodedList(JSON.stringify(user.scorer_permissions)),
    },
  };
}

function permissionEndpoints(
  base: string,
  kind: ResourceKind,
  resource: (f: RequestFields) => string,
  answerKey: string,
): Endpoint<AuthService>[] {
  return [
    {
      method: 'POST',
      path: `${base}/permissions/create`,
      handle: async (auth, f) => ({
        [answerKey]: await auth.createGrant(
          kind,
          resource(f),
          f.requiredString('username'),
          f.requiredString('permission'),
        ),
      }),
    },
    {
      method: 'GET',
      path: `${base}/permissions/list`,
      handle: async (auth, f) => ({
        [`${answerKey}s`]: new EncodedList(JSON.stringify(await auth.listGrants(kind, resource(f)))),
      }),
    },
    {
      method: 'GET',
      path: `${base}/permissions/get`,
      handle: async (auth, f) => ({
        [answerKey]: await auth.getGrant(kind, resource(f), f.requiredString('username')),
      }),
    },
    {
      method: 'PATCH',
      path: `${base}/permissions/update`,
      handle: async (auth, f) => {
        await auth.updateGrant(
          kind,
          resource(f),
          f.requiredString('username'),
          f.requiredString('permission'),
        );
        return empty;
      },
    },
    {
      method: 'DELETE',
      path: `${base}/permissions/delete`,
      handle: async (auth, f) => {
        await auth.deleteGrant(kind, resource(f), f.requiredString('username'));
        return empty;
      },
    },
  ];
}

/** The scorer a scorer-permission request names (MLflow 3, under /api/3.0). */
function scorerOf(f: RequestFields) {
  return { experimentId: f.requiredExperimentId(), scorerName: f.requiredString('scorer_name') };
}

function scorerPermissionEndpoints(): Endpoint<AuthService>[] {
  return [
    {
      since: 3,
      method: 'POST',
      path: 'scorers/permissions/create',
      handle: async (auth, f) => ({
        scorer_permission: await auth.createScorerGrant(
          scorerOf(f),
          f.requiredString('username'),
          f.requiredString('permission'),
        ),
      }),
    },
    {
      since: 3,
      method: 'GET',
      path: 'scorers/permissions/get',
      handle: async (auth, f) => ({
        scorer_permission: await auth.getScorerGrant(scorerOf(f), f.requiredString('username')),
      }),
    },
    {
      since: 3,
      method: 'PATCH',
      path: 'scorers/permissions/update',
      handle: async (auth, f) => {
        await auth.updateScorerGrant(
          scorerOf(f),
          f.requiredString('username'),
          f.requiredString('permission'),
        );
        return empty;
      },
    },
    {
      since: 3,
      method: 'DELETE',
      path: 'scorers/permissions/delete',
      handle: async (auth, f) => {
        await auth.deleteScorerGrant(scorerOf(f), f.requiredString('username'));
        return empty;
      },
    },
  ];
}

/** The `username` a token request names, or (without one) the caller's own. */
function tokenOwner(f: RequestFields): string {
  const named = f.optionalString('username');
  if (named !== undefined) return named;
  const caller = currentCaller();
  if (!caller) throw MlflowError.invalidParameter("Missing value for required parameter 'username'.");
  return caller.username;
}

/** Access tokens, our extension: paths in MLflow's style below users/. */
function tokenEndpoints(): Endpoint<AuthService>[] {
  return [
    {
      method: 'POST',
      path: 'users/access-tokens/create',
      handle: (auth, f) =>
        auth.createToken(tokenOwner(f), f.requiredString('name'), f.optionalInt('expiration_time')),
    },
    {
      method: 'GET',
      path: 'users/access-tokens/list',
      handle: async (auth, f) => ({
        access_tokens: new EncodedList(JSON.stringify(await auth.listTokens(tokenOwner(f)))),
      }),
    },
    {
      method: 'DELETE',
      path: 'users/access-tokens/delete',
      handle: async (auth, f) => {
        await auth.deleteToken(tokenOwner(f), f.requiredString('name'));
        return empty;
      },
    },
  ];
}

/** The endpoints of MLflow's basic-auth app, served below /api/2.0/mlflow like the rest of the API. */
export function authEndpoints(): Endpoint<AuthService>[] {
  return [
    {
      method: 'POST',
      path: 'users/create',
      handle: async (auth, f) =>
        userAnswer(await auth.createUser(f.requiredString('username'), f.requiredString('password'))),
    },
    {
      method: 'GET',
      path: 'users/list',
      handle: async (auth) => ({
        users: new EncodedList(
          JSON.stringify(
            (await auth.listUsers()).map((u) => ({ id: u.id, username: u.username, is_admin: u.isAdmin })),
          ),
        ),
      }),
    },
    {
      method: 'GET',
      path: 'users/current',
      handle: async (auth) => {
        const caller = currentCaller();
        if (!caller) throw new MlflowError('UNAUTHENTICATED', 'You are not signed in.');
        return userAnswer(await auth.getUser(caller.username));
      },
    },
    {
      method: 'GET',
      path: 'users/get',
      handle: async (auth, f) => userAnswer(await auth.getUser(f.requiredString('username'))),
    },
    {
      method: 'PATCH',
      path: 'users/update-password',
      handle: async (auth, f) => {
        await auth.updatePassword(f.requiredString('username'), f.requiredString('password'));
        return empty;
      },
    },
    {
      method: 'PATCH',
      path: 'users/update-admin',
      handle: async (auth, f) => {
        const isAdmin = f.optionalBool('is_admin');
        if (isAdmin === undefined) throw missing('is_admin');
        await auth.updateAdmin(f.requiredString('username'), isAdmin);
        return empty;
      },
    },
    {
      method: 'DELETE',
      path: 'users/delete',
      handle: async (auth, f) => {
        await auth.deleteUser(f.requiredString('username'));
        return empty;
      },
    },
    ...tokenEndpoints(),
    {
      method: 'GET',
      path: 'audit-log/list',
      handle: async (auth, f) => {
        const page = await auth.auditLog({
          maxResults: f.optionalInt('max_results'),
          pageToken: f.optionalString('page_token'),
          actor: f.optionalString('actor'),
          resourceType: f.optionalString('resource_type'),
        });
        return { ...page, events: new EncodedList(JSON.stringify(page.events)) };
      },
    },
    ...permissionEndpoints(
      'experiments',
      'experiment',
      (f) => f.requiredExperimentId(),
      'experiment_permission',
    ),
    ...permissionEndpoints(
      'registered-models',
      'registered_model',
      (f) => f.requiredString('name'),
      'registered_model_permission',
    ),
    ...scorerPermissionEndpoints(),
  ];
}
