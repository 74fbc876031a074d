// End-to-end tests of sign-in in the web UI: Chromium against a server with basic auth and a real
// OpenID Connect provider on loopback; every change made in a page is checked on the server.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, ALICE, as } from '../../server/test/auth-client.js';
import { startTestServer, type TestServer, tempDir } from '../../server/test/helpers.js';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  freePort,
  startProvider,
  type TestProvider,
} from '../../server/test/oidc-provider.js';
import { launchChromium, screenshot, skipWithoutChromium } from './browser.js';

describe('sign-in in the web UI', { skip: skipWithoutChromium() }, () => {
  let provider: TestProvider;
  let server: TestServer;
  let browser: Browser;
  let base: string;
  let experimentId: string;
  const dir = tempDir('mlflow-ts-ui-auth-');

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    provider = await startProvider(`${base}/auth/oidc/callback`, {
      'sub-ada': { email: 'ada@example.com', groups: [] },
    });
    server = await startTestServer('sqlite', {
      port,
      auth: {
        defaultPermission: 'READ',
        databaseUri: `sqlite:///${path.join(dir.dir, 'basic_auth.db')}`,
        adminUsername: 'admin',
        adminPassword: 'password1234',
        oidc: {
          issuerUrl: provider.issuer,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redirectUrl: `${base}/auth/oidc/callback`,
          scopes: 'openid email profile groups',
          groupsClaim: 'groups',
          adminGroups: [],
          providerName: 'Test IdP',
        },
      },
    });
    for (const [username, password] of [
      ['alice', 'alice-password-1'],
      ['bob', 'bob-password-123'],
    ]) {
      await as(ADMIN, server.api, 'POST', 'users/create', { username, password });
    }
    const created = await as(ALICE, server.api, 'POST', 'experiments/create', { name: 'alice-exp' });
    experimentId = created.body.experiment_id;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await provider?.close();
    dir.cleanup();
  });

  async function open(url: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}${url}`);
    return page;
  }

  async function signInWithPassword(page: Page, username: string, password: string) {
    await page.getByLabel('Username', { exact: true }).fill(username);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.user-name', { hasText: username }).waitFor();
  }

  test('the sign-in page, a wrong password, then the header names the user; sign-out ends it', async () => {
    const page = await open(`/runs?ids=${experimentId}`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Sign in with Test IdP' }).count(), 1);
    await page.getByLabel('Username', { exact: true }).fill('alice');
    await page.getByLabel('Password', { exact: true }).fill('not-her-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
    await signInWithPassword(page, 'alice', 'alice-password-1');
    await page.getByRole('heading', { name: /Runs of\s*alice-exp/ }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0);
    await screenshot(page, 'auth-signed-in');
    const cookies = await page.context().cookies(base);
    const session = cookies.find((c) => c.name === 'mlflow_ts_session');
    assert.ok(session?.httpOnly);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const after = await fetch(`${server.api}/users/current`, {
      headers: { Cookie: `mlflow_ts_session=${session.value}` },
    });
    assert.equal(after.status, 401);
    await page.context().close();
  });

  test('the permissions panel: its manager grants, changes and revokes; others do not see it', async () => {
    const page = await open(`/runs?ids=${experimentId}`);
    await signInWithPassword(page, 'alice', 'alice-password-1');
    const panel = page.getByRole('region', { name: 'Permissions' });
    await panel.getByRole('cell', { name: 'alice', exact: true }).waitFor();
    await panel.getByLabel('User to grant').fill('bob');
    await panel.getByLabel('Permission to grant').selectOption('READ');
    await panel.getByRole('button', { name: 'Grant' }).click();
    await panel.getByRole('cell', { name: 'bob', exact: true }).waitFor();
    const bobGrant = () =>
      as(ADMIN, server.api, 'GET', 'experiments/permissions/get', {
        experiment_id: experimentId,
        username: 'bob',
      });
    assert.equal((await bobGrant()).body.experiment_permission.permission, 'READ');
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('permissions/list') && r.status() === 200),
      panel.getByLabel('Permission of bob').selectOption('EDIT'),
    ]);
    assert.equal((await bobGrant()).body.experiment_permission.permission, 'EDIT');
    // An unknown user is refused with the server's message.
    await panel.getByLabel('User to grant').fill('nobody');
    await panel.getByRole('button', { name: 'Grant' }).click();
    await panel.getByRole('alert').filter({ hasText: 'User with username=nobody not found' }).waitFor();
    await screenshot(page, 'auth-permissions-panel');
    await panel.getByRole('button', { name: 'Revoke bob' }).click();
    await panel.getByRole('cell', { name: 'bob', exact: true }).waitFor({ state: 'detached' });
    assert.equal((await bobGrant()).status, 404);
    await page.context().close();

    const bobPage = await open(`/runs?ids=${experimentId}`);
    await signInWithPassword(bobPage, 'bob', 'bob-password-123');
    await bobPage.getByRole('heading', { name: /Runs of\s*alice-exp/ }).waitFor();
    await bobPage.waitForResponse((r) => r.url().includes('permissions/list')).catch(() => undefined);
    assert.equal(await bobPage.getByRole('region', { name: 'Permissions' }).count(), 0);
    await bobPage.context().close();
  });

  test('the admin page: create a user, make them admin, delete them; the audit log shows it', async () => {
    const page = await open('/admin');
    await signInWithPassword(page, 'admin', 'password1234');
    await page.getByRole('heading', { name: 'Users and audit log' }).waitFor();
    await page.getByLabel('New user name').fill('carol');
    await page.getByLabel("New user's password").fill('carol-password-1');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('cell', { name: 'carol', exact: true }).waitFor();
    assert.equal((await as('carol:carol-password-1', server.api, 'GET', 'users/current')).status, 200);
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('users/list')),
      page.getByLabel('carol is an admin').click(),
    ]);
    assert.equal(
      (await as(ADMIN, server.api, 'GET', 'users/get', { username: 'carol' })).body.user.is_admin,
      true,
    );
    const audit = page.getByRole('region', { name: 'Audit log' });
    await audit.getByRole('cell', { name: 'user carol' }).first().waitFor();
    await screenshot(page, 'auth-admin-page');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete carol' }).click();
    await page.getByRole('cell', { name: 'carol', exact: true }).waitFor({ state: 'detached' });
    assert.equal((await as(ADMIN, server.api, 'GET', 'users/get', { username: 'carol' })).status, 404);
    await page.context().close();
  });

  test('"Sign in with Test IdP" goes through the provider and back to the page', async () => {
    const page = await open(`/runs?ids=${experimentId}`);
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await page.waitForURL(`${provider.issuer}/**`, { waitUntil: 'domcontentloaded' });
    await page.fill('input[name=login]', 'sub-ada');
    await page.fill('input[name=password]', 'anything');
    await page.click('button[type=submit]');
    await page.waitForSelector('button[type=submit]');
    await page.click('button[type=submit]');
    await page.locator('.user-name', { hasText: 'ada@example.com' }).waitFor({ timeout: 15_000 });
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, `/runs?ids=${experimentId}`);
    await page.context().close();
  });
});
