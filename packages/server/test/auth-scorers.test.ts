import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, ALICE, as, BOB, type Json, startAuthServer } from './auth-client.js';
import { DIALECTS, type TestServer, tempDir } from './helpers.js';

// Scorer permissions under basic auth (MLflow 3's auth app), on both users-store dialects: the rule of
// each scorer route (registering and listing by the experiment; reading and deleting one by the
// scorer's own grant, else the default), the registrant managing the scorer, the four permission
// endpoints with MLflow's JSON and errors, and grants going with a deleted scorer.

type Res = { status: number; body: Json; text: string };

for (const dialect of DIALECTS) {
  describe(`scorer permissions (${dialect})`, () => {
    let srv: TestServer;
    let api: string;
    let v3: string;
    let exp: string;
    const dir = tempDir('mlflow-ts-auth-scorers-');
    const ok = async (r: Promise<Res>) => {
      const res = await r;
      assert.equal(res.status, 200, res.text);
      return res.body;
    };
    const denied = async (r: Promise<Res>) => {
      const res = await r;
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.error_code, 'PERMISSION_DENIED');
    };
    const register = (who: string, name: string, experimentId = exp) =>
      as(who, v3, 'POST', 'scorers/register', { experiment_id: experimentId, name, serialized_scorer: '{}' });
    const grant = (scorer: string, username: string, permission: string, experimentId = exp) =>
      as(ADMIN, v3, 'POST', 'scorers/permissions/create', {
        experiment_id: experimentId,
        scorer_name: scorer,
        username,
        permission,
      });

    before(async () => {
      srv = await startAuthServer(dialect, dir.dir);
      api = srv.api;
      v3 = api.replace('/api/2.0/', '/api/3.0/');
      // Alice owns the experiment (MANAGE); Bob has the default READ on it.
      exp = (await ok(as(ALICE, api, 'POST', 'experiments/create', { name: 'alice-scorers' }))).experiment_id;
    });
    after(async () => {
      await srv.close();
      dir.cleanup();
    });

    test('registering needs EDIT on the experiment, and the registrant then manages the scorer', async () => {
      await denied(register(BOB, 'bobs'));
      const registered = await ok(register(ALICE, 'quality'));
      assert.equal(registered.version, 1);
      const mine = await ok(
        as(ADMIN, v3, 'GET', 'scorers/permissions/get', {
          experiment_id: exp,
          scorer_name: 'quality',
          username: 'alice',
        }),
      );
      assert.deepEqual(Object.keys(mine.scorer_permission).sort(), [
        'experiment_id',
        'permission',
        'scorer_name',
        'user_id',
      ]);
      assert.equal(mine.scorer_permission.experiment_id, exp);
      assert.equal(mine.scorer_permission.scorer_name, 'quality');
      assert.equal(mine.scorer_permission.permission, 'MANAGE');
      // The user's record lists it among scorer_permissions, as MLflow 3's User.to_json does.
      const alice = await ok(as(ALICE, api, 'GET', 'users/get', { username: 'alice' }));
      assert.deepEqual(
        alice.user.scorer_permissions.map((p: Json) => [p.scorer_name, p.permission]),
        [['quality', 'MANAGE']],
      );
      const bob = await ok(as(BOB, api, 'GET', 'users/get', { username: 'bob' }));
      assert.deepEqual(bob.user.scorer_permissions, []);
    });

    test("reading and deleting a scorer go by the scorer's grant, else the default", async () => {
      await ok(register(ALICE, 'guarded'));
      // Listing needs READ on the experiment; Bob has the default READ.
      await ok(as(BOB, v3, 'GET', 'scorers/list', { experiment_id: exp }));
      await ok(as(BOB, v3, 'GET', 'scorers/get', { experiment_id: exp, name: 'guarded' }));
      await ok(as(BOB, v3, 'GET', 'scorers/versions', { experiment_id: exp, name: 'guarded' }));
      await denied(as(BOB, v3, 'DELETE', 'scorers/delete', { experiment_id: exp, name: 'guarded' }));
      // A grant on the scorer overrides the default, whatever the experiment allows.
      await ok(grant('guarded', 'bob', 'NO_PERMISSIONS'));
      await denied(as(BOB, v3, 'GET', 'scorers/get', { experiment_id: exp, name: 'guarded' }));
      await denied(as(BOB, v3, 'GET', 'scorers/versions', { experiment_id: exp, name: 'guarded' }));
      await ok(as(BOB, v3, 'GET', 'scorers/list', { experiment_id: exp }));
      await ok(
        as(ADMIN, v3, 'PATCH', 'scorers/permissions/update', {
          experiment_id: exp,
          scorer_name: 'guarded',
          username: 'bob',
          permission: 'MANAGE',
        }),
      );
      await ok(as(BOB, v3, 'DELETE', 'scorers/delete', { experiment_id: exp, name: 'guarded', version: 1 }));
    });

    test('the permission endpoints need MANAGE on the scorer; MLflow errors for bad requests', async () => {
      await ok(register(ALICE, 'shared'));
      // Alice manages her scorer, so she may grant on it; Bob may not.
      const created = await ok(
        as(ALICE, v3, 'POST', 'scorers/permissions/create', {
          experiment_id: exp,
          scorer_name: 'shared',
          username: 'bob',
          permission: 'EDIT',
        }),
      );
      assert.equal(created.scorer_permission.permission, 'EDIT');
      assert.equal(typeof created.scorer_permission.user_id, 'number');
      await denied(
        as(BOB, v3, 'PATCH', 'scorers/permissions/update', {
          experiment_id: exp,
          scorer_name: 'shared',
          username: 'bob',
          permission: 'MANAGE',
        }),
      );
      const again = await grant('shared', 'bob', 'READ');
      assert.equal(again.status, 400, again.text);
      assert.equal(again.body.error_code, 'RESOURCE_ALREADY_EXISTS');
      assert.equal(
        again.body.message,
        `Scorer permission (experiment_id=${exp}, scorer_name=shared, username=bob) already exists.`,
      );
      const bad = await grant('shared', 'alice', 'OWNER');
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(bad.body.message, /Invalid permission 'OWNER'/);
      const nobody = await grant('shared', 'nobody', 'READ');
      assert.equal(nobody.status, 404, nobody.text);
      const missing = await as(ADMIN, v3, 'GET', 'scorers/permissions/get', {
        experiment_id: exp,
        username: 'bob',
      });
      assert.equal(missing.status, 400, missing.text);
      assert.equal(missing.body.error_code, 'INVALID_PARAMETER_VALUE');
      await ok(
        as(ALICE, v3, 'DELETE', 'scorers/permissions/delete', {
          experiment_id: exp,
          scorer_name: 'shared',
          username: 'bob',
        }),
      );
      const gone = await as(ADMIN, v3, 'GET', 'scorers/permissions/get', {
        experiment_id: exp,
        scorer_name: 'shared',
        username: 'bob',
      });
      assert.equal(gone.status, 404, gone.text);
      assert.deepEqual(gone.body, {
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: `Scorer permission with experiment_id=${exp}, scorer_name=shared, and username=bob not found`,
      });
      // The audit log records grant changes on scorers.
      const log = await ok(as(ADMIN, api, 'GET', 'audit-log/list', { resource_type: 'scorer_permission' }));
      assert.deepEqual(
        log.events.slice(0, 2).map((e: Json) => [e.action, e.resource_id, e.actor]),
        [
          ['delete', `${exp}/shared`, 'alice'],
          ['create', `${exp}/shared`, 'alice'],
        ],
      );
    });

    test('deleting a whole scorer drops its grants; deleting one version keeps them', async () => {
      await ok(register(ALICE, 'temp'));
      await ok(register(ALICE, 'temp'));
      await ok(grant('temp', 'bob', 'READ'));
      const bobsGrant = () =>
        as(ADMIN, v3, 'GET', 'scorers/permissions/get', {
          experiment_id: exp,
          scorer_name: 'temp',
          username: 'bob',
        });
      await ok(as(ALICE, v3, 'DELETE', 'scorers/delete', { experiment_id: exp, name: 'temp', version: 2 }));
      assert.equal((await bobsGrant()).status, 200);
      await ok(as(ALICE, v3, 'DELETE', 'scorers/delete', { experiment_id: exp, name: 'temp' }));
      assert.equal((await bobsGrant()).status, 404);
      // Registered anew by Bob (now with EDIT on the experiment), it is his to manage, not Alice's.
      await ok(
        as(ALICE, api, 'POST', 'experiments/permissions/create', {
          experiment_id: exp,
          username: 'bob',
          permission: 'EDIT',
        }),
      );
      await ok(register(BOB, 'temp'));
      const alices = await as(ADMIN, v3, 'GET', 'scorers/permissions/get', {
        experiment_id: exp,
        scorer_name: 'temp',
        username: 'alice',
      });
      assert.equal(alices.status, 404, alices.text);
      await ok(as(BOB, v3, 'DELETE', 'scorers/delete', { experiment_id: exp, name: 'temp' }));
    });

    test('without credentials every scorer route is 401; admins pass every check', async () => {
      for (const [method, path] of [
        ['POST', 'scorers/register'],
        ['GET', 'scorers/list'],
        ['GET', 'scorers/get'],
        ['GET', 'scorers/versions'],
        ['DELETE', 'scorers/delete'],
        ['POST', 'scorers/permissions/create'],
        ['GET', 'scorers/permissions/get'],
        ['PATCH', 'scorers/permissions/update'],
        ['DELETE', 'scorers/permissions/delete'],
      ]) {
        const res = await as(undefined, v3, method, path);
        assert.equal(res.status, 401, `${method} ${path}: ${res.text}`);
      }
      await ok(grant('quality', 'admin', 'NO_PERMISSIONS'));
      await ok(as(ADMIN, v3, 'GET', 'scorers/get', { experiment_id: exp, name: 'quality' }));
    });
  });
}
