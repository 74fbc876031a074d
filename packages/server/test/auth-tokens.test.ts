// Access tokens over HTTP on both dialects: creation shown once, Bearer use, expiry, revocation, a
// deleted owner, who may manage whose tokens, and the SDK sending MLFLOW_TRACKING_TOKEN.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MlflowClient } from '@mlflow-ts/client';
import { ADMIN, ALICE, as, BOB, type Json, startAuthServer } from './auth-client.js';
import { DIALECTS, startTestServer, type TestServer, tempDir } from './helpers.js';
import { CLI } from './server-process.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const dialect of DIALECTS) {
  describe(`access tokens (${dialect})`, () => {
    let srv: TestServer;
    let api: string;
    const dir = tempDir('mlflow-ts-tokens-');
    const ok = async (r: ReturnType<typeof as>) => {
      const res = await r;
      assert.equal(res.status, 200, res.text);
      return res.body;
    };
    const fails = async (r: ReturnType<typeof as>, status: number, code: string, message?: RegExp) => {
      const res = await r;
      assert.equal(res.status, status, res.text);
      assert.equal(res.body.error_code, code);
      if (message) assert.match(res.body.message, message);
    };
    /** Whether `who` is let in (a cheap read every signed-in user may make). */
    const signedIn = async (who: string) =>
      (await as(who, api, 'GET', 'experiments/search', { max_results: '1' })).status;

    before(async () => {
      srv = await startAuthServer(dialect, dir.dir);
      api = srv.api;
    });
    after(async () => {
      await srv.close();
      dir.cleanup();
    });

    test('a token is shown once, lists without its secret, and signs its owner in', async () => {
      const before = Date.now();
      const created = await ok(as(ALICE, api, 'POST', 'users/access-tokens/create', { name: 'laptop' }));
      assert.match(created.token, /^mlts_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.access_token.name, 'laptop');
      assert.equal(created.access_token.username, 'alice');
      const lifetime = created.access_token.expiration_time - created.access_token.creation_time;
      assert.equal(lifetime, 30 * 24 * 3600 * 1000, 'the default lifetime is 30 days');
      assert.ok(created.access_token.creation_time >= before);

      const listed = await ok(as(ALICE, api, 'GET', 'users/access-tokens/list'));
      assert.deepEqual(listed.access_tokens, [created.access_token]);
      assert.ok(!JSON.stringify(listed).includes(created.token));

      // The token acts as alice: her experiment, her permissions.
      const { experiment_id } = await ok(
        as(created.token, api, 'POST', 'experiments/create', { name: 'via-token' }),
      );
      const me = await ok(as(created.token, api, 'GET', 'users/get', { username: 'alice' }));
      assert.ok(me.user.experiment_permissions.some((p: Json) => p.experiment_id === experiment_id));
      assert.equal((await as(created.token, api, 'GET', 'webhooks')).status, 403);
      // A token-shaped guess, or a token with a character changed, is nobody.
      assert.equal(await signedIn(`mlts_${'A'.repeat(43)}`), 401);
      assert.equal(await signedIn(`${created.token.slice(0, -1)}x`), 401);
    });

    test('bad names and expiries are refused; names are unique per user', async () => {
      const now = Date.now();
      await fails(
        as(ALICE, api, 'POST', 'users/access-tokens/create', { name: 'old', expiration_time: now - 1000 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /expiration_time must be a time in the future/,
      );
      await fails(
        as(ALICE, api, 'POST', 'users/access-tokens/create', {
          name: 'forever',
          expiration_time: now + 400 * 24 * 3600 * 1000,
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /366 days/,
      );
      await fails(
        as(ALICE, api, 'POST', 'users/access-tokens/create', { name: '  ' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Token name cannot be empty/,
      );
      await fails(
        as(ALICE, api, 'POST', 'users/access-tokens/create', {}),
        400,
        'INVALID_PARAMETER_VALUE',
        /'name'/,
      );
      await ok(as(ALICE, api, 'POST', 'users/access-tokens/create', { name: 'ci' }));
      await fails(
        as(ALICE, api, 'POST', 'users/access-tokens/create', { name: 'ci' }),
        400,
        'RESOURCE_ALREADY_EXISTS',
        /name=ci, username=alice/,
      );
      // Bob may have a token of the same name.
      await ok(as(BOB, api, 'POST', 'users/access-tokens/create', { name: 'ci' }));
    });

    test('a token stops working when it expires, cached or not', async () => {
      const created = await ok(
        as(ALICE, api, 'POST', 'users/access-tokens/create', {
          name: 'short',
          expiration_time: Date.now() + 1500,
        }),
      );
      assert.equal(await signedIn(created.token), 200); // now cached
      await sleep(1600);
      assert.equal(await signedIn(created.token), 401);
      // Expired tokens stay listed (with their expiry) until revoked.
      const listed = await ok(as(ALICE, api, 'GET', 'users/access-tokens/list'));
      assert.ok(listed.access_tokens.some((t: Json) => t.name === 'short'));
    });

    test('revoking a token refuses it at once; only the owner and admins manage tokens', async () => {
      const created = await ok(as(BOB, api, 'POST', 'users/access-tokens/create', { name: 'revoke-me' }));
      assert.equal(await signedIn(created.token), 200); // now cached
      assert.equal(
        (await as(ALICE, api, 'DELETE', 'users/access-tokens/delete', { name: 'revoke-me', username: 'bob' }))
          .status,
        403,
      );
      assert.equal(
        (await as(ALICE, api, 'GET', 'users/access-tokens/list', { username: 'bob' })).status,
        403,
      );
      assert.equal(
        (await as(ALICE, api, 'POST', 'users/access-tokens/create', { name: 'x', username: 'bob' })).status,
        403,
      );
      await ok(as(BOB, api, 'DELETE', 'users/access-tokens/delete', { name: 'revoke-me' }));
      assert.equal(await signedIn(created.token), 401);
      await fails(
        as(BOB, api, 'DELETE', 'users/access-tokens/delete', { name: 'revoke-me' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /^Access token with name=revoke-me and username=bob not found$/,
      );
      // Admins manage anyone's tokens.
      const forBob = await ok(
        as(ADMIN, api, 'POST', 'users/access-tokens/create', { name: 'by-admin', username: 'bob' }),
      );
      assert.equal(forBob.access_token.username, 'bob');
      const bobs = await ok(as(ADMIN, api, 'GET', 'users/access-tokens/list', { username: 'bob' }));
      assert.ok(bobs.access_tokens.some((t: Json) => t.name === 'by-admin'));
      await ok(as(ADMIN, api, 'DELETE', 'users/access-tokens/delete', { name: 'by-admin', username: 'bob' }));
      await fails(
        as(ADMIN, api, 'GET', 'users/access-tokens/list', { username: 'nobody' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
    });

    test("a deleted user's tokens are gone with them", async () => {
      await ok(as(ADMIN, api, 'POST', 'users/create', { username: 'dave', password: 'dave-password-1' }));
      const created = await ok(
        as('dave:dave-password-1', api, 'POST', 'users/access-tokens/create', { name: 'd' }),
      );
      assert.equal(await signedIn(created.token), 200); // now cached
      await ok(as(ADMIN, api, 'DELETE', 'users/delete', { username: 'dave' }));
      assert.equal(await signedIn(created.token), 401);
      // A new dave does not inherit the old one's tokens.
      await ok(as(ADMIN, api, 'POST', 'users/create', { username: 'dave', password: 'dave-password-2' }));
      assert.equal(await signedIn(created.token), 401);
      const listed = await ok(as(ADMIN, api, 'GET', 'users/access-tokens/list', { username: 'dave' }));
      assert.deepEqual(listed.access_tokens, []);
    });

    test('the SDK signs in with MLFLOW_TRACKING_TOKEN', async () => {
      const { token } = await ok(as(ALICE, api, 'POST', 'users/access-tokens/create', { name: 'sdk' }));
      const saved = { ...process.env };
      process.env.MLFLOW_TRACKING_URI = srv.url;
      process.env.MLFLOW_TRACKING_TOKEN = token;
      delete process.env.MLFLOW_TRACKING_USERNAME;
      delete process.env.MLFLOW_TRACKING_PASSWORD;
      try {
        const client = new MlflowClient({ maxRetries: 0 });
        const id = await client.createExperiment('sdk-with-token');
        const run = await client.createRun(id);
        await client.logParam(run.info.run_id, 'lr', '0.1');
        assert.equal((await client.getRun(run.info.run_id)).data.params?.[0]?.value, '0.1');
        process.env.MLFLOW_TRACKING_TOKEN = `mlts_${'B'.repeat(43)}`;
        await assert.rejects(new MlflowClient({ maxRetries: 0 }).getExperiment(id), /401|authenticat/i);
      } finally {
        process.env = saved;
      }
    });
  });
}

describe('mlflow-ts users / tokens (the users store, no server needed)', () => {
  test('an admin creates a user and a token offline; a server then accepts it; revocation refuses it', async () => {
    const { dir, cleanup } = tempDir('mlflow-ts-users-cli-');
    const uri = `sqlite:///${path.join(dir, 'users.db')}`;
    const cli = (args: string[], input?: string) =>
      spawnSync(process.execPath, [CLI, ...args, '--database-uri', uri], {
        encoding: 'utf8',
        input,
        cwd: dir,
      });
    let srv: TestServer | undefined;
    try {
      const created = cli(['users', 'create', 'erin', '--password-stdin'], 'erin-password-1\n');
      assert.equal(created.status, 0, created.stderr);
      const short = cli(['users', 'create', 'fay', '--password', 'short']);
      assert.equal(short.status, 1);
      assert.match(short.stderr, /^Error: Password must be a string longer than 12 characters\.$/m);
      const made = cli(['tokens', 'create', 'erin', '--name', 'ci', '--expires-in-days', '1']);
      assert.equal(made.status, 0, made.stderr);
      const token = made.stdout.trim();
      assert.match(token, /^mlts_/);
      assert.match(cli(['users', 'list']).stdout, /^admin\tadmin\nerin\n$/);
      assert.match(cli(['tokens', 'list', 'erin']).stdout, /^ci\t\S+Z\t\S+Z\n$/);

      srv = await startTestServer('sqlite', {
        auth: {
          defaultPermission: 'READ',
          databaseUri: uri,
          adminUsername: 'admin',
          adminPassword: 'password1234',
        },
      });
      const me = await as(token, srv.api, 'GET', 'users/get', { username: 'erin' });
      assert.equal(me.status, 200, me.text);
      assert.equal(cli(['tokens', 'revoke', 'erin', 'ci']).status, 0);
      const again = cli(['tokens', 'revoke', 'erin', 'ci']);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /Access token with name=ci and username=erin not found/);
      // A token the server has not seen yet is checked against the store: deleted with its user.
      const fresh = cli(['tokens', 'create', 'erin', '--name', 'ci2']).stdout.trim();
      assert.equal(cli(['users', 'delete', 'erin']).status, 0);
      assert.equal((await as(fresh, srv.api, 'GET', 'users/get', { username: 'erin' })).status, 401);
    } finally {
      await srv?.close();
      cleanup();
    }
  });
});
