import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readAuthConfig } from '../src/auth/auth-config.js';
import { authRoutesOf } from '../src/http/auth-hook.js';
import {
  DIALECTS,
  type DialectName,
  freshPostgresUri,
  startTestServer,
  type TestServer,
  tempDir,
} from './helpers.js';
import { CLI, startServerProcess } from './server-process.js';

type Json = Record<string, any>;

const ADMIN = { user: 'admin', password: 'password1234' };
const ALICE = { user: 'alice', password: 'alice-password-1' };
const BOB = { user: 'bob', password: 'bob-password-123' };

function basic(who: { user: string; password: string }): string {
  return `Basic ${Buffer.from(`${who.user}:${who.password}`).toString('base64')}`;
}

/** Calls an endpoint as `who` (undefined: without credentials); GET bodies become query strings. */
async function as(
  who: { user: string; password: string } | undefined,
  base: string,
  method: string,
  endpoint: string,
  body?: Json,
): Promise<{ status: number; body: Json; text: string; headers: Headers }> {
  let url = `${base}/${endpoint}`;
  const headers: Record<string, string> = {};
  if (who) headers.Authorization = basic(who);
  const init: RequestInit = { method, headers };
  if (method === 'GET' && body) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(body)) for (const item of [v].flat()) q.append(k, String(item));
    url += `?${q}`;
  } else if (body) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed: Json = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {}
  return { status: response.status, body: parsed, text, headers: response.headers };
}

async function usersStoreUri(dialect: DialectName, dir: string): Promise<string> {
  return dialect === 'postgres' ? freshPostgresUri() : `sqlite:///${path.join(dir, 'basic_auth.db')}`;
}

for (const dialect of DIALECTS) {
  describe(`basic auth (${dialect})`, () => {
    let srv: TestServer;
    let api: string;
    const dir = tempDir('mlflow-ts-auth-');
    const ok = async (r: Promise<{ status: number; body: Json; text: string }>) => {
      const res = await r;
      assert.equal(res.status, 200, res.text);
      return res.body;
    };
    const denied = async (r: Promise<{ status: number; body: Json; text: string }>) => {
      const res = await r;
      assert.equal(res.status, 403, res.text);
      assert.deepEqual(res.body, { error_code: 'PERMISSION_DENIED', message: 'Permission denied' });
    };

    before(async () => {
      srv = await startTestServer(dialect, {
        auth: {
          defaultPermission: 'READ',
          databaseUri: await usersStoreUri(dialect, dir.dir),
          adminUsername: ADMIN.user,
          adminPassword: ADMIN.password,
        },
      });
      api = srv.api;
      for (const who of [ALICE, BOB]) {
        const created = await ok(
          as(ADMIN, api, 'POST', 'users/create', { username: who.user, password: who.password }),
        );
        assert.equal(created.user.username, who.user);
        assert.equal(created.user.is_admin, false);
        assert.deepEqual(created.user.experiment_permissions, []);
      }
    });
    after(async () => {
      await srv.close();
      dir.cleanup();
    });

    test('traces follow their experiment: read with READ, tags and new traces need EDIT', async () => {
      const v3 = api.replace('/api/2.0/', '/api/3.0/');
      const exp = (await ok(as(ADMIN, api, 'POST', 'experiments/create', { name: 'admin-traces' })))
        .experiment_id;
      const info = (experimentId: string, traceId: string) => ({
        trace: {
          trace_info: {
            trace_id: traceId,
            trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
            request_time: '2026-01-01T00:00:00Z',
            state: 'OK',
          },
        },
      });
      await ok(as(ADMIN, v3, 'POST', 'traces', info(exp, 'tr-admin')));
      // Alice has the default READ on the admin's experiment.
      await ok(as(ALICE, v3, 'GET', 'traces/tr-admin'));
      await ok(as(ALICE, v3, 'GET', 'traces/get', { trace_id: 'tr-admin', allow_partial: true }));
      await ok(
        as(ALICE, v3, 'POST', 'traces/search', {
          locations: [{ mlflow_experiment: { experiment_id: exp } }],
        }),
      );
      await denied(as(ALICE, v3, 'PATCH', 'traces/tr-admin/tags', { key: 'k', value: 'v' }));
      await denied(as(ALICE, v3, 'POST', 'traces', info(exp, 'tr-alice')));
      await denied(
        as(ALICE, v3, 'POST', 'traces/delete-traces', { experiment_id: exp, request_ids: ['tr-admin'] }),
      );
      const otlp = await fetch(`${srv.url}/v1/traces`, {
        method: 'POST',
        headers: {
          Authorization: basic(ALICE),
          'content-type': 'application/json',
          'x-mlflow-experiment-id': exp,
        },
        body: '{}',
      });
      assert.equal(otlp.status, 403);
      // On her own experiment she may do all of it.
      const mine = (await ok(as(ALICE, api, 'POST', 'experiments/create', { name: 'alice-traces' })))
        .experiment_id;
      await ok(as(ALICE, v3, 'POST', 'traces', info(mine, 'tr-alice')));
      await ok(as(ALICE, v3, 'PATCH', 'traces/tr-alice/tags', { key: 'k', value: 'v' }));
      // An unknown trace is not found rather than forbidden, as MLflow's lookup fails first.
      const unknown = await as(ALICE, v3, 'GET', 'traces/tr-nobody');
      assert.equal(unknown.status, 404, unknown.text);
    });

    test('every route has a rule, and none answers without credentials but /health', async () => {
      const routes = authRoutesOf(srv.server.app);
      assert.ok(routes.length > 100, `only ${routes.length} routes seen`);
      for (const route of routes) {
        assert.ok(route.rule, `${route.method} ${route.url} has no access rule`);
        if (route.method === 'HEAD' || route.method === 'OPTIONS') continue;
        const url = route.url.replace(/:[a-z_]+/g, 'x').replace(/\*$/, '1/a.txt');
        const res = await as(undefined, srv.url, route.method, url.slice(1));
        // Open routes answer for themselves (the sign-in routes refuse a request without a body, or
        // without OpenID Connect configured, in their own words); no other route answers at all.
        if (route.rule.kind === 'public') assert.notEqual(res.status, 401, `${route.method} ${route.url}`);
        else assert.equal(res.status, 401, `${route.method} ${route.url}: ${res.text}`);
      }
    });

    test('401 without or with wrong credentials, in MLflow words', async () => {
      for (const who of [
        undefined,
        { user: 'alice', password: 'wrong-password!' },
        { user: 'nobody', password: 'x' },
      ]) {
        const res = await as(who, api, 'GET', 'experiments/search', { max_results: 1 });
        assert.equal(res.status, 401);
        assert.equal(res.headers.get('www-authenticate'), 'Basic realm="mlflow"');
        assert.match(
          res.text,
          /^You are not authenticated\. Please see https:\/\/www\.mlflow\.org\/docs\/latest\/auth\/index\.html#authenticating-to-mlflow on how to authenticate\.$/,
        );
      }
      const bearer = await fetch(`${api}/experiments/search?max_results=1`, {
        headers: { Authorization: 'Bearer abc' },
      });
      assert.equal(bearer.status, 401);
      assert.equal((await fetch(`${srv.url}/health`)).status, 200);
    });

    test('users: admin-only creation, self reads, MLflow validation and errors', async () => {
      await denied(
        as(ALICE, api, 'POST', 'users/create', { username: 'carol', password: 'carol-password-1' }),
      );
      const short = await as(ADMIN, api, 'POST', 'users/create', { username: 'carol', password: 'short' });
      assert.equal(short.status, 400);
      assert.equal(short.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.equal(short.body.message, 'Password must be a string longer than 12 characters.');
      const dup = await as(ADMIN, api, 'POST', 'users/create', {
        username: 'alice',
        password: 'another-password',
      });
      assert.equal(dup.status, 400);
      assert.equal(dup.body.error_code, 'RESOURCE_ALREADY_EXISTS');
      const noName = await as(ADMIN, api, 'POST', 'users/create', { password: 'another-password' });
      assert.equal(noName.status, 400);
      assert.match(noName.body.message, /Missing value for required parameter 'username'/);
      assert.equal(
        (await ok(as(ALICE, api, 'GET', 'users/get', { username: 'alice' }))).user.username,
        'alice',
      );
      await denied(as(ALICE, api, 'GET', 'users/get', { username: 'bob' }));
      const missing = await as(ADMIN, api, 'GET', 'users/get', { username: 'nobody' });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.message, 'User with username=nobody not found');
      await denied(as(ALICE, api, 'PATCH', 'users/update-admin', { username: 'alice', is_admin: true }));
      await denied(as(ALICE, api, 'DELETE', 'users/delete', { username: 'bob' }));
    });

    test('the creator manages; default READ; grants change what others may do', async () => {
      const { experiment_id: exp } = await ok(
        as(ALICE, api, 'POST', 'experiments/create', { name: 'alice-exp' }),
      );
      const alice = await ok(as(ALICE, api, 'GET', 'users/get', { username: 'alice' }));
      assert.deepEqual(
        alice.user.experiment_permissions
          .filter((p: Json) => p.experiment_id === exp)
          .map((p: Json) => p.permission),
        ['MANAGE'],
      );
      // Bob reads (the default) but may not write, delete or manage.
      await ok(as(BOB, api, 'GET', 'experiments/get', { experiment_id: exp }));
      await ok(as(BOB, api, 'GET', 'experiments/get-by-name', { experiment_name: 'alice-exp' }));
      await denied(as(BOB, api, 'POST', 'runs/create', { experiment_id: exp }));
      await denied(as(BOB, api, 'POST', 'experiments/update', { experiment_id: exp, new_name: 'x' }));
      await denied(as(BOB, api, 'POST', 'experiments/delete', { experiment_id: exp }));
      await denied(
        as(BOB, api, 'GET', 'experiments/permissions/get', { experiment_id: exp, username: 'bob' }),
      );
      const { run } = await ok(as(ALICE, api, 'POST', 'runs/create', { experiment_id: exp }));
      const runId = run.info.run_id;
      await ok(as(BOB, api, 'GET', 'runs/get', { run_id: runId }));
      await denied(as(BOB, api, 'POST', 'runs/log-parameter', { run_id: runId, key: 'k', value: 'v' }));
      await denied(as(BOB, api, 'POST', 'runs/delete', { run_id: runId }));

      // EDIT: writes, not deletes.
      const created = await ok(
        as(ALICE, api, 'POST', 'experiments/permissions/create', {
          experiment_id: exp,
          username: 'bob',
          permission: 'EDIT',
        }),
      );
      assert.equal(created.experiment_permission.experiment_id, exp);
      assert.equal(created.experiment_permission.permission, 'EDIT');
      await ok(as(BOB, api, 'POST', 'runs/log-parameter', { run_id: runId, key: 'k', value: 'v' }));
      await ok(as(BOB, api, 'POST', 'runs/create', { experiment_id: exp }));
      await denied(as(BOB, api, 'POST', 'runs/delete', { run_id: runId }));
      const again = await as(ALICE, api, 'POST', 'experiments/permissions/create', {
        experiment_id: exp,
        username: 'bob',
        permission: 'READ',
      });
      assert.equal(again.status, 400);
      assert.equal(again.body.error_code, 'RESOURCE_ALREADY_EXISTS');
      const bad = await as(ALICE, api, 'PATCH', 'experiments/permissions/update', {
        experiment_id: exp,
        username: 'bob',
        permission: 'OWNER',
      });
      assert.equal(bad.status, 400);
      assert.equal(
        bad.body.message,
        "Invalid permission 'OWNER'. Valid permissions are: ('READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS')",
      );

      // NO_PERMISSIONS: not even reads.
      await ok(
        as(ALICE, api, 'PATCH', 'experiments/permissions/update', {
          experiment_id: exp,
          username: 'bob',
          permission: 'NO_PERMISSIONS',
        }),
      );
      await denied(as(BOB, api, 'GET', 'experiments/get', { experiment_id: exp }));
      await denied(as(BOB, api, 'GET', 'runs/get', { run_id: runId }));
      await denied(as(BOB, api, 'GET', `artifacts/list`, { run_id: runId }));
      const got = await ok(
        as(ALICE, api, 'GET', 'experiments/permissions/get', { experiment_id: exp, username: 'bob' }),
      );
      assert.equal(got.experiment_permission.permission, 'NO_PERMISSIONS');
      // Admins bypass every rule.
      await ok(as(ADMIN, api, 'GET', 'experiments/get', { experiment_id: exp }));

      await ok(
        as(ALICE, api, 'DELETE', 'experiments/permissions/delete', { experiment_id: exp, username: 'bob' }),
      );
      const gone = await as(ALICE, api, 'GET', 'experiments/permissions/get', {
        experiment_id: exp,
        username: 'bob',
      });
      assert.equal(gone.status, 404);
      assert.equal(
        gone.body.message,
        `Experiment permission with experiment_id=${exp} and username=bob not found`,
      );
      await ok(as(BOB, api, 'GET', 'experiments/get', { experiment_id: exp }));
      // A run that does not exist is MLflow's 404, not a 403.
      const noRun = await as(BOB, api, 'GET', 'runs/get', { run_id: 'f'.repeat(32) });
      assert.equal(noRun.status, 404);
    });

    test('searches show only what the caller may read, with full pages and valid tokens', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 9; i++) {
        const { experiment_id } = await ok(
          as(ALICE, api, 'POST', 'experiments/create', { name: `paged-${i}` }),
        );
        ids.push(experiment_id);
        await ok(as(ALICE, api, 'POST', 'runs/create', { experiment_id, run_name: `run-${i}` }));
      }
      const hidden = ids.filter((_, i) => i % 3 !== 0);
      for (const id of hidden) {
        await ok(
          as(ALICE, api, 'POST', 'experiments/permissions/create', {
            experiment_id: id,
            username: 'bob',
            permission: 'NO_PERMISSIONS',
          }),
        );
      }
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await ok(
          as(BOB, api, 'POST', 'experiments/search', {
            filter: "name LIKE 'paged-%'",
            max_results: 2,
            page_token: token,
          }),
        );
        const got = (page.experiments ?? []).map((e: Json) => e.experiment_id);
        token = page.next_page_token;
        if (token) assert.equal(got.length, 2, 'a page before the last is full');
        seen.push(...got);
      } while (token);
      assert.deepEqual(seen.sort(), ids.filter((id) => !hidden.includes(id)).sort());
      // Alice sees all nine.
      const all = await ok(
        as(ALICE, api, 'POST', 'experiments/search', { filter: "name LIKE 'paged-%'", max_results: 100 }),
      );
      assert.equal(all.experiments.length, 9);

      const runs: string[] = [];
      token = undefined;
      do {
        const page = await ok(
          as(BOB, api, 'POST', 'runs/search', { experiment_ids: ids, max_results: 1, page_token: token }),
        );
        runs.push(...(page.runs ?? []).map((r: Json) => r.info.experiment_id));
        token = page.next_page_token;
      } while (token);
      assert.deepEqual(runs.sort(), ids.filter((id) => !hidden.includes(id)).sort());
      const none = await ok(as(BOB, api, 'POST', 'runs/search', { experiment_ids: hidden }));
      assert.deepEqual(none.runs ?? [], []);

      const lm = await ok(as(BOB, api, 'POST', 'logged-models/search', { experiment_ids: hidden }));
      assert.deepEqual(lm.models ?? [], []);
      await denied(
        as(BOB, api, 'POST', 'experiments/search-datasets', { experiment_ids: [ids[0], hidden[0]] }),
      );
    });

    test('registered models: creator manages, hidden models leave searches, grants follow renames', async () => {
      const { registered_model: rm } = await ok(
        as(ALICE, api, 'POST', 'registered-models/create', { name: 'secret-model' }),
      );
      assert.equal(rm.name, 'secret-model');
      await ok(as(ALICE, api, 'POST', 'registered-models/create', { name: 'open-model' }));
      await ok(as(ALICE, api, 'POST', 'model-versions/create', { name: 'secret-model', source: 's3://b/m' }));
      await ok(as(ALICE, api, 'POST', 'model-versions/create', { name: 'open-model', source: 's3://b/m' }));
      await denied(
        as(BOB, api, 'POST', 'registered-models/set-tag', { name: 'open-model', key: 'k', value: 'v' }),
      );
      await ok(
        as(ALICE, api, 'POST', 'registered-models/permissions/create', {
          name: 'secret-model',
          username: 'bob',
          permission: 'NO_PERMISSIONS',
        }),
      );
      await denied(as(BOB, api, 'GET', 'registered-models/get', { name: 'secret-model' }));
      const models = await ok(as(BOB, api, 'GET', 'registered-models/search', { max_results: 1 }));
      assert.deepEqual(
        models.registered_models.map((m: Json) => m.name),
        ['open-model'],
      );
      assert.equal(models.next_page_token, undefined);
      const versions = await ok(as(BOB, api, 'GET', 'model-versions/search', {}));
      assert.deepEqual(
        versions.model_versions.map((v: Json) => v.name),
        ['open-model'],
      );
      const adminView = await ok(as(ADMIN, api, 'GET', 'registered-models/search', {}));
      assert.equal(adminView.registered_models.length, 2);

      await ok(
        as(ALICE, api, 'POST', 'registered-models/rename', {
          name: 'secret-model',
          new_name: 'renamed-model',
        }),
      );
      await denied(as(BOB, api, 'GET', 'registered-models/get', { name: 'renamed-model' }));
      const moved = await ok(
        as(ALICE, api, 'GET', 'registered-models/permissions/get', {
          name: 'renamed-model',
          username: 'alice',
        }),
      );
      assert.equal(moved.registered_model_permission.permission, 'MANAGE');
      await ok(as(ALICE, api, 'DELETE', 'registered-models/delete', { name: 'renamed-model' }));
      const user = await ok(as(ADMIN, api, 'GET', 'users/get', { username: 'bob' }));
      assert.deepEqual(user.user.registered_model_permissions, []);
    });

    test('webhooks are for admins; the artifact proxy and GraphQL are checked', async () => {
      await denied(as(BOB, api, 'GET', 'webhooks', {}));
      await ok(as(ADMIN, api, 'GET', 'webhooks', {}));
      const { experiment_id: exp } = await ok(
        as(ALICE, api, 'POST', 'experiments/create', { name: 'proxy-exp' }),
      );
      const put = (who: typeof ALICE) =>
        fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/${exp}/r/artifacts/a.txt`, {
          method: 'PUT',
          headers: { Authorization: basic(who) },
          body: 'hello',
        });
      assert.equal((await put(BOB)).status, 403);
      assert.equal((await put(ALICE)).status, 200);
      const read = await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/${exp}/r/artifacts/a.txt`, {
        headers: { Authorization: basic(BOB) },
      });
      assert.equal(await read.text(), 'hello');

      await ok(
        as(ALICE, api, 'POST', 'experiments/permissions/create', {
          experiment_id: exp,
          username: 'bob',
          permission: 'NO_PERMISSIONS',
        }),
      );
      const gql = (query: string, variables?: Json) =>
        fetch(`${srv.url}/graphql`, {
          method: 'POST',
          headers: { Authorization: basic(BOB), 'Content-Type': 'application/json' },
          body: JSON.stringify({ query, variables }),
        });
      const q =
        'query Q($id: String) { mlflowGetExperiment(input: {experimentId: $id}) { experiment { name } } }';
      assert.equal((await gql(q, { id: exp })).status, 403);
      const open = await gql(q, { id: '0' });
      assert.equal(open.status, 200);
      assert.equal(((await open.json()) as Json).data.mlflowGetExperiment.experiment.name, 'Default');
    });

    test('a cached sign-in takes no shortcut: refusals, read filters and demotions hold on each request', async () => {
      const hidden = (await ok(as(ADMIN, api, 'POST', 'experiments/create', { name: 'cached-hidden' })))
        .experiment_id;
      await ok(
        as(ADMIN, api, 'POST', 'experiments/permissions/create', {
          experiment_id: hidden,
          username: ALICE.user,
          permission: 'NO_PERMISSIONS',
        }),
      );
      // The first request of each pair signs in; the second is answered from the credential cache.
      for (let i = 0; i < 2; i++) {
        await denied(as(ALICE, api, 'GET', 'webhooks'));
        await denied(as(ALICE, api, 'GET', 'experiments/get', { experiment_id: hidden }));
        const found = await ok(as(ALICE, api, 'GET', 'experiments/search', { max_results: 1000 }));
        const ids = (found.experiments ?? []).map((e: Json) => e.experiment_id);
        assert.ok(ids.length > 0);
        assert.ok(!ids.includes(hidden), `search ${i} shows the hidden experiment`);
        const all = await ok(as(ADMIN, api, 'GET', 'experiments/search', { max_results: 1000 }));
        assert.ok(all.experiments.some((e: Json) => e.experiment_id === hidden));
      }
      await ok(as(ADMIN, api, 'PATCH', 'users/update-admin', { username: BOB.user, is_admin: true }));
      await ok(as(BOB, api, 'GET', 'webhooks'));
      await ok(as(BOB, api, 'GET', 'webhooks'));
      await ok(as(ADMIN, api, 'PATCH', 'users/update-admin', { username: BOB.user, is_admin: false }));
      await denied(as(BOB, api, 'GET', 'webhooks'));
    });

    test('password and admin changes take effect at once; deleted users are out', async () => {
      const carol = { user: 'carol', password: 'carol-password-1' };
      await ok(as(ADMIN, api, 'POST', 'users/create', { username: carol.user, password: carol.password }));
      await ok(as(carol, api, 'GET', 'users/get', { username: 'carol' })); // now cached
      const next = { user: 'carol', password: 'carol-password-2' };
      await ok(
        as(carol, api, 'PATCH', 'users/update-password', { username: 'carol', password: next.password }),
      );
      assert.equal((await as(carol, api, 'GET', 'users/get', { username: 'carol' })).status, 401);
      await ok(as(next, api, 'GET', 'users/get', { username: 'carol' }));
      await denied(as(next, api, 'GET', 'webhooks', {}));
      await ok(as(ADMIN, api, 'PATCH', 'users/update-admin', { username: 'carol', is_admin: true }));
      await ok(as(next, api, 'GET', 'webhooks', {}));
      await ok(as(ADMIN, api, 'DELETE', 'users/delete', { username: 'carol' }));
      assert.equal((await as(next, api, 'GET', 'webhooks', {})).status, 401);
    });
  });
}

describe('basic auth configuration', () => {
  test("MLflow's defaults without a file; the file's keys; unsupported values are start-up errors", () => {
    assert.deepEqual(readAuthConfig(undefined), {
      defaultPermission: 'READ',
      databaseUri: 'sqlite:///basic_auth.db',
      adminUsername: 'admin',
      adminPassword: 'password1234',
      sessionLifetimeMs: 12 * 60 * 60_000,
    });
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'auth.ini');
      writeFileSync(
        file,
        '[mlflow]\ndefault_permission = NO_PERMISSIONS\ndatabase_uri = sqlite:///x.db\nadmin_username = root\nadmin_password = a-long-password\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n',
      );
      assert.deepEqual(readAuthConfig(file), {
        defaultPermission: 'NO_PERMISSIONS',
        databaseUri: 'sqlite:///x.db',
        adminUsername: 'root',
        adminPassword: 'a-long-password',
        sessionLifetimeMs: 12 * 60 * 60_000,
      });
      writeFileSync(file, '[mlflow]\nauthorization_function = my_module:my_auth\n');
      assert.throws(() => readAuthConfig(file), /my_module:my_auth .* is not supported: .*Basic.*Bearer/);
      writeFileSync(file, '[mlflow]\ndefault_permission = WRITE\n');
      assert.throws(() => readAuthConfig(file), /default_permission .*Invalid permission 'WRITE'/);
      assert.throws(() => readAuthConfig(path.join(dir, 'missing.ini')), /does not exist/);
    } finally {
      cleanup();
    }
  });
});

describe('mlflow-ts server --app-name basic-auth', () => {
  test('reads the ini file at MLFLOW_AUTH_CONFIG_PATH, creates the admin, refuses strangers', async () => {
    const { dir, cleanup } = tempDir();
    const ini = path.join(dir, 'auth.ini');
    writeFileSync(
      ini,
      `[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///${path.join(dir, 'users.db')}\nadmin_username = root\nadmin_password = root-password-1\n`,
    );
    process.env.MLFLOW_AUTH_CONFIG_PATH = ini;
    const server = await startServerProcess('sqlite', ['--app-name', 'basic-auth']);
    try {
      const api = `${server.url}/api/2.0/mlflow`;
      assert.equal((await as(undefined, api, 'GET', 'experiments/get', { experiment_id: '0' })).status, 401);
      const root = { user: 'root', password: 'root-password-1' };
      const me = await as(root, api, 'GET', 'users/get', { username: 'root' });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.user.is_admin, true);
    } finally {
      await server.close();
      delete process.env.MLFLOW_AUTH_CONFIG_PATH;
      cleanup();
    }
  });

  test('an unknown app or authorization_function is a start-up error naming what is supported', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const unknownApp = spawnSync(
        process.execPath,
        [CLI, 'server', '--app-name', 'oidc-auth', '--port', '0'],
        {
          encoding: 'utf8',
          cwd: dir,
        },
      );
      assert.notEqual(unknownApp.status, 0);
      assert.match(unknownApp.stderr, /--app-name oidc-auth .*supported name is: basic-auth/);
      const ini = path.join(dir, 'auth.ini');
      writeFileSync(ini, '[mlflow]\nauthorization_function = my_module:authenticate\n');
      const badFunction = spawnSync(
        process.execPath,
        [CLI, 'server', '--app-name', 'basic-auth', '--port', '0'],
        {
          encoding: 'utf8',
          cwd: dir,
          env: { ...process.env, MLFLOW_AUTH_CONFIG_PATH: ini },
        },
      );
      assert.notEqual(badFunction.status, 0);
      assert.match(badFunction.stderr, /authorization_function = my_module:authenticate .* is not supported/);
    } finally {
      cleanup();
    }
  });
});
