// OpenID Connect sign-in against a real provider (oidc-provider on loopback) with Chromium doing the
// browser's part, and the bad paths: a wrong state, a replayed code, a forged or expired session, a
// provider that is down when the server starts; password sessions, sign-out and the /signup form.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from '../../ui/test/browser.js';
import type { AuthConfig } from '../src/auth/auth-config.js';
import { readAuthConfig } from '../src/auth/auth-config.js';
import { startServer } from '../src/server.js';
import { ADMIN, ALICE, as, authorization, type Json } from './auth-client.js';
import {
  DIALECTS,
  type DialectName,
  freshPostgresUri,
  startTestServer,
  type TestServer,
  tempDir,
} from './helpers.js';
import { CLIENT_ID, CLIENT_SECRET, freePort, startProvider, type TestProvider } from './oidc-provider.js';

const ACCOUNTS = {
  'sub-ada': { email: 'ada@example.com', groups: ['ml-team'] },
  'sub-ops': { email: 'ops@example.com', groups: ['ml-team', 'mlflow-admins'] },
  'sub-alice': { email: 'alice', emailVerified: true, groups: [] },
  'sub-eve': { email: 'admin', emailVerified: false, preferredUsername: 'eve', groups: [] },
};

/** Where the users store is: an SQLite file in `dir`, or a fresh PostgreSQL database. */
async function usersStore(dialect: DialectName, dir: string): Promise<string> {
  return dialect === 'postgres' ? freshPostgresUri() : `sqlite:///${path.join(dir, 'basic_auth.db')}`;
}

function authConfig(dir: string, extra: Partial<AuthConfig> = {}): AuthConfig {
  return {
    defaultPermission: 'READ',
    databaseUri: `sqlite:///${path.join(dir, 'basic_auth.db')}`,
    adminUsername: 'admin',
    adminPassword: 'password1234',
    ...extra,
  };
}

/** The value of a Set-Cookie header's cookie, as a Cookie header would carry it. */
function cookiePair(setCookie: string | null, name: string): string {
  const found = (setCookie ?? '').split(/,(?=\s*\w+=)/).find((c) => c.trim().startsWith(`${name}=`));
  assert.ok(found, `no ${name} cookie in ${setCookie}`);
  return found.trim().split(';')[0];
}

async function withCookie(cookie: string | undefined, url: string, init: RequestInit = {}) {
  const res = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers as Record<string, string>), ...(cookie ? { Cookie: cookie } : {}) },
  });
  const text = await res.text();
  let body: Json = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {}
  return { status: res.status, body, text, headers: res.headers };
}

for (const dialect of DIALECTS) {
  describe(`OpenID Connect sign-in (users store on ${dialect})`, () => {
    let provider: TestProvider;
    let srv: TestServer;
    let base: string;
    const dir = tempDir('mlflow-ts-oidc-');

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      provider = await startProvider(`${base}/auth/oidc/callback`, ACCOUNTS);
      srv = await startTestServer('sqlite', {
        port,
        auth: authConfig(dir.dir, {
          databaseUri: await usersStore(dialect, dir.dir),
          oidc: {
            issuerUrl: provider.issuer,
            clientId: CLIENT_ID,
            clientSecret: CLIENT_SECRET,
            redirectUrl: `${base}/auth/oidc/callback`,
            scopes: 'openid email profile groups',
            groupsClaim: 'groups',
            adminGroups: ['mlflow-admins'],
            providerName: 'Test IdP',
          },
        }),
      });
      await as(ADMIN, srv.api, 'POST', 'users/create', { username: 'alice', password: 'alice-password-1' });
    });
    after(async () => {
      await srv?.close();
      await provider?.close();
      dir.cleanup();
    });

    test('the sign-in methods on offer name the provider', async () => {
      const res = await withCookie(undefined, `${base}/auth/config`);
      assert.deepEqual(res.body, { basic_auth: true, oidc: { provider_name: 'Test IdP' } });
    });

    describe('in Chromium', { skip: skipWithoutChromium() }, () => {
      let browser: Browser;
      before(async () => {
        browser = await launchChromium();
      });
      after(async () => {
        await browser?.close();
      });

      /** Signs in at the provider as `login` and returns the context (with its cookies) and the callback URL. */
      async function signIn(login: string): Promise<{ context: BrowserContext; callbackUrl: string }> {
        const context = await browser.newContext();
        const page = await context.newPage();
        let callbackUrl = '';
        page.on('request', (r) => {
          if (r.url().startsWith(`${base}/auth/oidc/callback`)) callbackUrl = r.url();
        });
        await page.goto(`${base}/auth/oidc/login?return_to=/%23/experiments`, {
          waitUntil: 'domcontentloaded',
        });
        assert.ok(page.url().startsWith(provider.issuer), `not at the provider: ${page.url()}`);
        await page.fill('input[name=login]', login);
        await page.fill('input[name=password]', 'anything');
        await page.click('button[type=submit]');
        // The consent page the provider shows a client the first time.
        await page.waitForSelector('button[type=submit]', { timeout: 10_000 });
        await Promise.all([
          page.waitForURL(`${base}/**`, { waitUntil: 'domcontentloaded', timeout: 15_000 }),
          page.click('button[type=submit]'),
        ]);
        assert.equal(new URL(page.url()).pathname, '/');
        assert.equal(new URL(page.url()).hash, '#/experiments');
        return { context, callbackUrl };
      }

      async function currentUser(context: BrowserContext) {
        const page = context.pages()[0];
        return page.evaluate(async () => {
          const r = await fetch('/api/2.0/mlflow/users/current');
          return { status: r.status, body: r.status === 200 ? await r.json() : await r.text() };
        });
      }

      test('a new user signs in through the provider and gets a session cookie', async () => {
        const { context } = await signIn('sub-ada');
        const cookies = await context.cookies(base);
        const session = cookies.find((c) => c.name === 'mlflow_ts_session');
        assert.ok(session, JSON.stringify(cookies));
        assert.equal(session.httpOnly, true);
        assert.equal(session.sameSite, 'Lax');
        assert.equal(session.secure, false); // plain http here; https sets Secure
        assert.ok(
          !cookies.some((c) => c.name === 'mlflow_ts_oidc_login'),
          'the login cookie outlived the callback',
        );
        const me = await currentUser(context);
        assert.equal(me.status, 200);
        assert.equal(me.body.user.username, 'ada@example.com');
        assert.equal(me.body.user.is_admin, false);
        // The session works for the API, and the creator of an experiment manages it.
        const page = context.pages()[0];
        const created = await page.evaluate(async () => {
          const r = await fetch('/api/2.0/mlflow/experiments/create', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ name: 'from-sso' }),
          });
          return r.status;
        });
        assert.equal(created, 200);
        await context.close();
      });

      test('the admin group makes an admin; the second sign-in is the same user', async () => {
        const first = await signIn('sub-ops');
        assert.equal((await currentUser(first.context)).body.user.is_admin, true);
        const page = first.context.pages()[0];
        const audit = await page.evaluate(async () => (await fetch('/api/2.0/mlflow/audit-log/list')).status);
        assert.equal(audit, 200);
        await first.context.close();
        const again = await signIn('sub-ops');
        const me = await currentUser(again.context);
        assert.equal(me.body.user.username, 'ops@example.com');
        await again.context.close();
        const users = await as(ADMIN, srv.api, 'GET', 'users/get', { username: 'ops@example.com' });
        assert.equal(users.status, 200);
        assert.equal(users.body.user.is_admin, true);
      });

      test('a verified email matches an existing user; an unverified one does not', async () => {
        const alice = await signIn('sub-alice');
        assert.equal((await currentUser(alice.context)).body.user.username, 'alice');
        await alice.context.close();
        // Claims the admin's name without the provider vouching for it: a user of its own instead.
        const eve = await signIn('sub-eve');
        const me = await currentUser(eve.context);
        assert.equal(me.body.user.username, 'eve');
        assert.equal(me.body.user.is_admin, false);
        await eve.context.close();
      });

      test('a replayed callback (the code used twice) is refused', async () => {
        const { context, callbackUrl } = await signIn('sub-ada');
        assert.ok(callbackUrl.includes('code='), callbackUrl);
        await context.close();
        // The attacker has the callback URL and even a genuine login cookie of its own.
        const login = await withCookie(undefined, `${base}/auth/oidc/login`);
        const state = new URL(login.headers.get('location') ?? '').searchParams.get('state');
        const cookie = cookiePair(login.headers.get('set-cookie'), 'mlflow_ts_oidc_login');
        const replay = new URL(callbackUrl);
        replay.searchParams.set('state', state ?? '');
        const res = await withCookie(cookie, replay.href);
        assert.equal(res.status, 400, res.text);
        assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
        assert.match(res.body.message, /^OpenID Connect sign-in failed: invalid_grant/);
        assert.equal(res.headers.get('set-cookie')?.includes('mlflow_ts_session='), false);
      });
    });

    test('a callback with a wrong state, or without a login in progress, is refused', async () => {
      const login = await withCookie(undefined, `${base}/auth/oidc/login?return_to=https://evil.example/`);
      assert.equal(login.status, 302);
      const location = new URL(login.headers.get('location') ?? '');
      assert.equal(location.origin, provider.issuer);
      assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(location.searchParams.get('nonce'));
      const cookie = cookiePair(login.headers.get('set-cookie'), 'mlflow_ts_oidc_login');
      const wrong = await withCookie(
        cookie,
        `${base}/auth/oidc/callback?code=abc&state=not-the-state&iss=${encodeURIComponent(provider.issuer)}`,
      );
      assert.equal(wrong.status, 400);
      assert.match(wrong.body.message, /^OpenID Connect sign-in failed: .*state/i);
      const none = await withCookie(undefined, `${base}/auth/oidc/callback?code=abc&state=x`);
      assert.equal(none.status, 400);
      assert.match(none.body.message, /No OpenID Connect sign-in is in progress/);
      // A login cookie with a forged signature counts as none.
      const forged = await withCookie(
        `${cookie.slice(0, -3)}AAA`,
        `${base}/auth/oidc/callback?code=abc&state=x`,
      );
      assert.match(forged.body.message, /No OpenID Connect sign-in is in progress/);
    });

    test('the provider refusing the sign-in (error in the callback) is said so', async () => {
      const login = await withCookie(undefined, `${base}/auth/oidc/login`);
      const state = new URL(login.headers.get('location') ?? '').searchParams.get('state');
      const cookie = cookiePair(login.headers.get('set-cookie'), 'mlflow_ts_oidc_login');
      const res = await withCookie(
        cookie,
        `${base}/auth/oidc/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(provider.issuer)}`,
      );
      assert.equal(res.status, 400);
      assert.match(res.body.message, /access_denied/);
    });
  });

  describe(`password sessions and sign-out (users store on ${dialect})`, () => {
    let srv: TestServer;
    const dir = tempDir('mlflow-ts-sessions-');
    before(async () => {
      srv = await startTestServer('sqlite', {
        auth: authConfig(dir.dir, {
          databaseUri: await usersStore(dialect, dir.dir),
          sessionLifetimeMs: 1500,
        }),
      });
      await as(ADMIN, srv.api, 'POST', 'users/create', { username: 'alice', password: 'alice-password-1' });
    });
    after(async () => {
      await srv?.close();
      dir.cleanup();
    });

    const signIn = (username: string, password: string) =>
      withCookie(undefined, `${srv.url}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });

    test('a wrong password gets no session', async () => {
      const res = await signIn('alice', 'wrong-password-1');
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { error_code: 'UNAUTHENTICATED', message: 'Wrong username or password.' });
      assert.equal(res.headers.get('set-cookie'), null);
      assert.equal((await withCookie(undefined, `${srv.url}/auth/login`, { method: 'POST' })).status, 400);
    });

    test('a session signs in until sign-out; a forged one never', async () => {
      const res = await signIn('alice', 'alice-password-1');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { user: { username: 'alice', is_admin: false } });
      const setCookie = res.headers.get('set-cookie') ?? '';
      assert.match(setCookie, /HttpOnly/);
      assert.match(setCookie, /SameSite=Lax/);
      const cookie = cookiePair(setCookie, 'mlflow_ts_session');
      const me = await withCookie(cookie, `${srv.api}/users/current`);
      assert.equal(me.status, 200);
      assert.equal(me.body.user.username, 'alice');
      // Sessions are not among the user's access tokens.
      assert.deepEqual((await as(ALICE, srv.api, 'GET', 'users/access-tokens/list')).body, {
        access_tokens: [],
      });
      const forged = await withCookie(`${cookie.slice(0, -2)}xx`, `${srv.api}/users/current`);
      assert.equal(forged.status, 401);
      // The UI's own calls get no Basic challenge (it shows its sign-in page instead).
      const fromUi = await withCookie(undefined, `${srv.api}/users/current`, {
        headers: { 'X-MLflow-TS-UI': '1' },
      });
      assert.equal(fromUi.status, 401);
      assert.equal(fromUi.headers.get('www-authenticate'), null);
      const out = await withCookie(cookie, `${srv.url}/auth/logout`, { method: 'POST' });
      assert.equal(out.status, 200);
      assert.match(out.headers.get('set-cookie') ?? '', /mlflow_ts_session=;.*Max-Age=0/);
      assert.equal((await withCookie(cookie, `${srv.api}/users/current`)).status, 401);
    });

    test('a session ends at its server-side expiry, whatever the browser keeps', async () => {
      const cookie = cookiePair(
        (await signIn('alice', 'alice-password-1')).headers.get('set-cookie'),
        'mlflow_ts_session',
      );
      assert.equal((await withCookie(cookie, `${srv.api}/users/current`)).status, 200);
      await new Promise((r) => setTimeout(r, 1700));
      assert.equal((await withCookie(cookie, `${srv.api}/users/current`)).status, 401);
    });

    test("the UI's listings: users for admins, grants for those who manage the resource", async () => {
      const users = await as(ADMIN, srv.api, 'GET', 'users/list');
      assert.deepEqual(
        users.body.users.map((u: Json) => [u.username, u.is_admin]),
        [
          ['admin', true],
          ['alice', false],
        ],
      );
      assert.equal((await as(ALICE, srv.api, 'GET', 'users/list')).status, 403);
      const { experiment_id } = (await as(ALICE, srv.api, 'POST', 'experiments/create', { name: 'listed' }))
        .body;
      await as(ALICE, srv.api, 'POST', 'experiments/permissions/create', {
        experiment_id,
        username: 'admin',
        permission: 'READ',
      });
      const grants = await as(ALICE, srv.api, 'GET', 'experiments/permissions/list', { experiment_id });
      assert.deepEqual(
        grants.body.experiment_permissions.map((g: Json) => [g.username, g.permission, g.experiment_id]),
        [
          ['admin', 'READ', experiment_id],
          ['alice', 'MANAGE', experiment_id],
        ],
      );
      await as(ADMIN, srv.api, 'POST', 'users/create', { username: 'bob', password: 'bob-password-123' });
      const bob = await as('bob:bob-password-123', srv.api, 'GET', 'experiments/permissions/list', {
        experiment_id,
      });
      assert.equal(bob.status, 403);
      await as(ALICE, srv.api, 'POST', 'registered-models/create', { name: 'm1' });
      const models = await as(ALICE, srv.api, 'GET', 'registered-models/permissions/list', { name: 'm1' });
      assert.deepEqual(
        models.body.registered_model_permissions.map((g: Json) => [g.username, g.permission, g.name]),
        [['alice', 'MANAGE', 'm1']],
      );
      const missing = await as(ALICE, srv.api, 'GET', 'experiments/permissions/list', {});
      assert.equal(missing.status, 400);
    });

    test("MLflow's /signup form: for admins, posts users/create as a form, refuses a forged form", async () => {
      assert.equal(
        (
          await withCookie(undefined, `${srv.url}/signup`, {
            headers: { Authorization: authorization(ALICE) },
          })
        ).status,
        403,
      );
      const page = await withCookie(undefined, `${srv.url}/signup`, {
        headers: { Authorization: authorization(ADMIN) },
      });
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      const token = /name="csrf_token" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
      assert.ok(token);
      const post = (fields: Record<string, string>, who = ADMIN) =>
        withCookie(undefined, `${srv.api}/users/create`, {
          method: 'POST',
          headers: { Authorization: authorization(who), 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields).toString(),
        });
      const made = await post({ csrf_token: token, username: 'carol', password: 'carol-password-1' });
      assert.equal(made.status, 200);
      assert.match(made.text, /alert\("Successfully signed up user: carol"\); window\.location\.href = "\/"/);
      assert.equal((await as('carol:carol-password-1', srv.api, 'GET', 'users/current')).status, 200);
      const taken = await post({ csrf_token: token, username: 'carol', password: 'carol-password-1' });
      assert.match(taken.text, /Username has already been taken: carol.*"\/signup"/);
      const empty = await post({ csrf_token: token, username: '', password: '' });
      assert.equal(empty.status, 400);
      assert.equal(empty.text, 'Username and password cannot be empty.');
      const short = await post({ csrf_token: token, username: 'dave', password: 'short' });
      assert.equal(short.status, 400);
      assert.equal(short.body.message, 'Password must be a string longer than 12 characters.');
      const forged = await post({
        csrf_token: 'made-up.token',
        username: 'mallory',
        password: 'mallory-password',
      });
      assert.equal(forged.status, 400);
      assert.match(forged.text, /signup form has expired or did not come from this server/);
      assert.equal(
        (await post({ csrf_token: token, username: 'x', password: 'y-long-password' }, ALICE)).status,
        403,
      );
      // JSON is still MLflow's users/create.
      const json = await as(ADMIN, srv.api, 'POST', 'users/create', {
        username: 'erin',
        password: 'erin-password-1',
      });
      assert.equal(json.body.user.username, 'erin');
    });
  });
}

describe('OpenID Connect configured but the provider is down', () => {
  test('the server does not start, and says why', async () => {
    const dir = tempDir('mlflow-ts-oidc-down-');
    const port = await freePort();
    try {
      await assert.rejects(
        startServer({
          backendStoreUri: `sqlite:///${path.join(dir.dir, 'mlflow.db')}`,
          serveArtifacts: false,
          host: '127.0.0.1',
          port: 0,
          auth: authConfig(dir.dir, {
            oidc: {
              issuerUrl: `http://127.0.0.1:${port}`,
              clientId: CLIENT_ID,
              redirectUrl: 'http://127.0.0.1:5000/auth/oidc/callback',
              scopes: 'openid',
              groupsClaim: 'groups',
              adminGroups: [],
              providerName: 'Down',
            },
          }),
        }),
        new RegExp(
          `^Error: OpenID Connect discovery at http://127\\.0\\.0\\.1:${port}/\\.well-known/openid-configuration \\(oidc_issuer_url\\) failed: .*Check that the provider is running`,
        ),
      );
    } finally {
      dir.cleanup();
    }
  });
});

describe('OpenID Connect configuration', () => {
  test('the oidc_ keys of the ini file, their defaults, and clear errors', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'auth.ini');
      writeFileSync(
        file,
        '[mlflow]\noidc_issuer_url = https://idp.example.com/realms/ml\noidc_client_id = mlflow\noidc_redirect_url = https://mlflow.example.com/auth/oidc/callback\noidc_admin_groups = admins, ops\nsession_lifetime_minutes = 60\n',
      );
      const config = readAuthConfig(file);
      assert.deepEqual(config.oidc, {
        issuerUrl: 'https://idp.example.com/realms/ml',
        clientId: 'mlflow',
        clientSecret: undefined,
        redirectUrl: 'https://mlflow.example.com/auth/oidc/callback',
        scopes: 'openid email profile',
        groupsClaim: 'groups',
        adminGroups: ['admins', 'ops'],
        providerName: 'OpenID Connect',
      });
      assert.equal(config.sessionLifetimeMs, 3_600_000);
      writeFileSync(file, '[mlflow]\noidc_issuer_url = https://idp.example.com\n');
      assert.throws(
        () => readAuthConfig(file),
        /oidc_client_id is missing .*needs oidc_issuer_url, oidc_client_id and oidc_redirect_url/,
      );
      writeFileSync(
        file,
        '[mlflow]\noidc_issuer_url = idp.example.com\noidc_client_id = x\noidc_redirect_url = https://a/cb\n',
      );
      assert.throws(() => readAuthConfig(file), /oidc_issuer_url = idp\.example\.com .* is not a URL/);
      writeFileSync(
        file,
        '[mlflow]\noidc_issuer_url = https://i\noidc_client_id = x\noidc_redirect_url = https://a/cb\noidc_scopes = email profile\n',
      );
      assert.throws(() => readAuthConfig(file), /oidc_scopes = email profile .* must include openid/);
      writeFileSync(file, '[mlflow]\nsession_lifetime_minutes = 0\n');
      assert.throws(() => readAuthConfig(file), /session_lifetime_minutes = 0 .* whole number of minutes/);
      writeFileSync(file, '[mlflow]\n');
      assert.equal(readAuthConfig(file).oidc, undefined);
    } finally {
      cleanup();
    }
  });
});
