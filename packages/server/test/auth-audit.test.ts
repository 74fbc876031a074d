// The audit log over HTTP on both dialects: who created, changed the permissions of, or deleted what,
// newest first, in pages, filtered, and for admins only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, ALICE, as, BOB, type Json, startAuthServer } from './auth-client.js';
import { DIALECTS, type TestServer, tempDir } from './helpers.js';

for (const dialect of DIALECTS) {
  describe(`audit log (${dialect})`, () => {
    let srv: TestServer;
    let api: string;
    const dir = tempDir('mlflow-ts-audit-');
    const ok = async (r: ReturnType<typeof as>) => {
      const res = await r;
      assert.equal(res.status, 200, res.text);
      return res.body;
    };
    /** The whole log, newest first, read `pageSize` events at a time. */
    const readAll = async (filters: Json = {}, pageSize = 3): Promise<Json[]> => {
      const events: Json[] = [];
      let token: string | undefined;
      do {
        const page = await ok(
          as(ADMIN, api, 'GET', 'audit-log/list', {
            ...filters,
            max_results: String(pageSize),
            ...(token ? { page_token: token } : {}),
          }),
        );
        if (page.next_page_token)
          assert.equal(page.events.length, pageSize, 'a page before the last is full');
        events.push(...page.events);
        token = page.next_page_token;
      } while (token);
      return events;
    };

    before(async () => {
      srv = await startAuthServer(dialect, dir.dir);
      api = srv.api;
    });
    after(async () => {
      await srv.close();
      dir.cleanup();
    });

    test('users, grants, experiments, registered models and tokens are recorded with who and when', async () => {
      const start = Date.now();
      const { experiment_id: exp } = await ok(
        as(ALICE, api, 'POST', 'experiments/create', { name: 'audited' }),
      );
      await ok(
        as(ALICE, api, 'POST', 'experiments/permissions/create', {
          experiment_id: exp,
          username: 'bob',
          permission: 'EDIT',
        }),
      );
      await ok(
        as(ALICE, api, 'PATCH', 'experiments/permissions/update', {
          experiment_id: exp,
          username: 'bob',
          permission: 'READ',
        }),
      );
      await ok(
        as(ALICE, api, 'DELETE', 'experiments/permissions/delete', { experiment_id: exp, username: 'bob' }),
      );
      await ok(as(ALICE, api, 'POST', 'experiments/delete', { experiment_id: exp }));
      await ok(as(BOB, api, 'POST', 'registered-models/create', { name: 'm1' }));
      await ok(as(BOB, api, 'POST', 'registered-models/rename', { name: 'm1', new_name: 'm2' }));
      await ok(as(BOB, api, 'DELETE', 'registered-models/delete', { name: 'm2' }));
      await ok(as(BOB, api, 'POST', 'users/access-tokens/create', { name: 't' }));
      await ok(as(BOB, api, 'DELETE', 'users/access-tokens/delete', { name: 't' }));
      await ok(as(ADMIN, api, 'PATCH', 'users/update-admin', { username: 'bob', is_admin: true }));
      // A refused change is not recorded.
      assert.equal((await as(ALICE, api, 'DELETE', 'users/delete', { username: 'bob' })).status, 403);
      const missing = await as(ADMIN, api, 'DELETE', 'users/delete', { username: 'nobody' });
      assert.equal(missing.status, 404);

      const events = await readAll();
      const summary = events.map((e) => `${e.actor} ${e.action} ${e.resource_type} ${e.resource_id}`);
      assert.deepEqual(summary.reverse(), [
        '(server) create user admin',
        'admin create user alice',
        'admin create user bob',
        `alice create experiment ${exp}`,
        `alice create experiment_permission ${exp}`,
        `alice update experiment_permission ${exp}`,
        `alice delete experiment_permission ${exp}`,
        `alice delete experiment ${exp}`,
        'bob create registered_model m1',
        'bob rename registered_model m1',
        'bob delete registered_model m2',
        'bob create access_token bob/t',
        'bob delete access_token bob/t',
        'admin update user bob',
      ]);
      const byAction = new Map(events.map((e) => [`${e.action} ${e.resource_type}`, e]));
      assert.deepEqual(byAction.get('update experiment_permission')?.details, {
        username: 'bob',
        permission: 'READ',
      });
      assert.deepEqual(byAction.get('rename registered_model')?.details, { new_name: 'm2' });
      assert.deepEqual(byAction.get('update user')?.details, { is_admin: true });
      assert.equal(byAction.get('delete experiment')?.details, undefined);
      const ids = events.map((e) => e.id);
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        ids.reverse(),
        'newest first, by id',
      );
      // Newest first: all but the three users made before this test.
      for (const e of events.slice(0, -3)) assert.ok(e.timestamp >= start && e.timestamp <= Date.now());
    });

    test('filters by actor and resource type; bad requests and non-admins are refused', async () => {
      const bobs = await readAll({ actor: 'bob' }, 2);
      assert.ok(bobs.length >= 5);
      assert.ok(bobs.every((e) => e.actor === 'bob'));
      const tokens = await readAll({ resource_type: 'access_token' }, 1);
      assert.deepEqual(
        tokens.map((e) => e.action),
        ['delete', 'create'],
      );
      const bad = await as(ADMIN, api, 'GET', 'audit-log/list', { resource_type: 'run' });
      assert.equal(bad.status, 400);
      assert.match(bad.body.message, /^Invalid resource_type 'run'\. Valid resource types are: user, /);
      const big = await as(ADMIN, api, 'GET', 'audit-log/list', { max_results: '5000' });
      assert.equal(big.status, 400);
      assert.equal(big.body.error_code, 'INVALID_PARAMETER_VALUE');
      const token = await as(ADMIN, api, 'GET', 'audit-log/list', { page_token: 'not-a-token' });
      assert.equal(token.status, 400);
      assert.equal((await as(ALICE, api, 'GET', 'audit-log/list')).status, 403);
      assert.equal((await as(undefined, api, 'GET', 'audit-log/list')).status, 401);
    });
  });
}
