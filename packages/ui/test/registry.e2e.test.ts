// End-to-end tests of the registry pages: Chromium against a real server on a fresh SQLite store,
// seeded through the REST API; every change made in the page is checked on the server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../../server/test/helpers.js';
import { launchChromium, screenshot, skipWithoutChromium } from './browser.js';
import { Seeder } from './seed.js';

const MLMODEL =
  'artifact_path: model\nflavors:\n  sklearn:\n    sklearn_version: 1.5.0\nmodel_uuid: abc123\n';

describe('registry UI end to end', { skip: skipWithoutChromium() }, () => {
  let server: TestServer;
  let browser: Browser;
  let seeder: Seeder;
  let runId: string;

  before(async () => {
    server = await startTestServer('sqlite');
    seeder = new Seeder(server.url);
    const exp = await seeder.experiment('Registry');
    const run = await seeder.run(exp, { name: 'trainer' });
    runId = run.runId;
    await seeder.artifact(run.artifactUri, 'model/MLmodel', MLMODEL);
    await seeder.call('POST', 'registered-models/create', {
      name: 'churn',
      description: [
        '# Churn',
        '',
        '<img src=x onerror="window.__xss = 1">',
        '',
        '| stage | owner |',
        '|---|---|',
        '| ~~Staging~~ Production | <script>window.__xss = 2</script> |',
        '',
        '- [x] reviewed',
      ].join('\n'),
      tags: [{ key: 'team', value: 'growth' }],
    });
    for (let i = 0; i < 2; i++)
      await seeder.call('POST', 'model-versions/create', {
        name: 'churn',
        source: `runs:/${runId}/model`,
        run_id: runId,
      });
    await seeder.call('POST', 'model-versions/create', { name: 'churn', source: `runs:/${runId}/nothing` });
    for (const n of ['alpha', 'beta', 'gamma'])
      await seeder.call('POST', 'registered-models/create', { name: n });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('close', () => assert.deepEqual(errors, [], 'the page threw'));
    await page.goto(`${server.url}${path}`);
    return page;
  }

  test('models: list, filter (with a server error shown inline), paging, create', async () => {
    const page = await open('/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click();
    await page.waitForURL(/\/models$/);
    const churnRow = page.getByRole('row').filter({ hasText: 'churn' });
    await churnRow.waitFor();
    assert.match(await churnRow.innerText(), /Version 3/);
    assert.match(await churnRow.innerText(), /team: growth/);
    await screenshot(page, 'models');

    const filter = page.getByLabel('Filter models (MLflow search syntax)');
    await filter.fill("name LIKE 'a%'");
    await filter.press('Enter');
    await page.getByRole('link', { name: 'churn' }).waitFor({ state: 'detached' });
    assert.ok(await page.getByRole('link', { name: 'alpha' }).isVisible());

    // A bare word searches names, as in MLflow's registry UI.
    await filter.fill('urn');
    await filter.press('Enter');
    await page.getByRole('link', { name: 'alpha' }).waitFor({ state: 'detached' });
    assert.ok(await page.getByRole('link', { name: 'churn' }).isVisible());
    assert.equal(await filter.getAttribute('aria-invalid'), 'false');

    await filter.fill('name = ');
    await filter.press('Enter');
    const message = page.locator('#filter-error');
    await message.waitFor();
    assert.match(await message.innerText(), /filter/i);
    assert.equal(await filter.getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'models-filter-error');

    await page.goto(`${server.url}/models?size=2`);
    await page.getByRole('link', { name: 'alpha' }).waitFor();
    assert.equal(
      (await page.getByRole('table', { name: 'Registered models' }).getByRole('link').count()) >= 2,
      true,
    );
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.getByRole('link', { name: 'churn' }).waitFor();
    assert.match(page.url(), /pages=/);
    assert.equal(await page.getByRole('link', { name: 'alpha' }).count(), 0);
    await page.getByRole('button', { name: '← Previous' }).click();
    await page.getByRole('link', { name: 'alpha' }).waitFor();

    await page.getByLabel('New model name').fill('fraud');
    await page.getByRole('button', { name: 'Create model' }).click();
    await page.waitForURL(/\/models\/fraud$/);
    await page.getByRole('heading', { name: 'fraud' }).waitFor();
    const got = await seeder.call('GET', 'registered-models/get', { name: 'fraud' });
    assert.equal(got.registered_model.name, 'fraud');

    // A duplicate name gets the server's message.
    await page.goto(`${server.url}/models`);
    await page.getByLabel('New model name').fill('churn');
    await page.getByRole('button', { name: 'Create model' }).click();
    await page.getByRole('alert').filter({ hasText: 'RESOURCE_ALREADY_EXISTS' }).waitFor();
    await page.close();
  });

  test('model page: description is safe Markdown, alias set and delete, stage transition, delete version', async () => {
    const page = await open('/models/churn');
    await page.getByRole('heading', { name: 'Churn', exact: true }).waitFor();
    assert.equal(await page.evaluate(() => (window as { __xss?: number }).__xss), undefined);
    // GitHub-style Markdown: a table (HTML in its cells still text), strikethrough, a task list.
    const description = page.locator('.markdown');
    assert.deepEqual(await description.locator('table th').allTextContents(), ['stage', 'owner']);
    assert.deepEqual(await description.locator('table td').allTextContents(), [
      'Staging Production',
      '<script>window.__xss = 2</script>',
    ]);
    assert.equal(await description.locator('td del').textContent(), 'Staging');
    assert.equal(await description.locator('script, img').count(), 0);
    assert.equal(await description.locator('li input[type="checkbox"]:checked').count(), 1);
    const versions = page.getByRole('table', { name: 'Versions' });
    await versions.getByRole('link', { name: 'Version 1' }).waitFor();
    // The source run by name, linked, also for version 3 whose run is only in its runs:/ source.
    const runCells = versions.getByRole('link', { name: 'trainer', exact: true });
    await runCells.first().waitFor();
    assert.equal(await runCells.count(), 3);
    assert.equal(await runCells.first().getAttribute('href'), `/runs/${runId}`);
    assert.equal(await runCells.first().getAttribute('title'), runId);

    await page.getByLabel('Alias', { exact: true }).fill('champion');
    await page.getByLabel('Alias version').selectOption('2');
    await page.getByRole('button', { name: 'Set alias' }).click();
    await page.getByRole('link', { name: '@champion → v2' }).waitFor();
    // model-versions/search carries no aliases: the list takes them from the model's.
    await versions.getByRole('row').filter({ hasText: 'Version 2' }).getByText('@champion').waitFor();
    assert.equal(
      await versions.getByRole('row').filter({ hasText: 'Version 1' }).getByText('@champion').count(),
      0,
    );
    let model = (await seeder.call('GET', 'registered-models/get', { name: 'churn' })).registered_model;
    assert.deepEqual(model.aliases, [{ alias: 'champion', version: '2' }]);

    // A reserved alias gets the server's message.
    await page.getByLabel('Alias', { exact: true }).fill('latest');
    await page.getByRole('button', { name: 'Set alias' }).click();
    await page.getByRole('alert').filter({ hasText: 'INVALID_PARAMETER_VALUE' }).waitFor();

    // Version 1 to Production, then version 2 to Production archiving the others.
    await page.getByLabel('Version to transition').selectOption('1');
    await page.getByLabel('Target stage').selectOption('Production');
    await page.getByRole('button', { name: 'Transition' }).click();
    await versions.getByRole('row').filter({ hasText: 'Version 1' }).getByText('Production').waitFor();
    await page.getByLabel('Version to transition').selectOption('2');
    await page.getByLabel('Archive existing versions in that stage').check();
    await page.getByRole('button', { name: 'Transition' }).click();
    await versions.getByRole('row').filter({ hasText: 'Version 1' }).getByText('Archived').waitFor();
    const v1 = (await seeder.call('GET', 'model-versions/get', { name: 'churn', version: '1' }))
      .model_version;
    const v2 = (await seeder.call('GET', 'model-versions/get', { name: 'churn', version: '2' }))
      .model_version;
    assert.equal(v1.current_stage, 'Archived');
    assert.equal(v2.current_stage, 'Production');
    await screenshot(page, 'model');

    await page.getByRole('button', { name: 'Delete alias champion' }).click();
    await page.getByText('No aliases.').waitFor();
    model = (await seeder.call('GET', 'registered-models/get', { name: 'churn' })).registered_model;
    assert.equal(model.aliases, undefined);

    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Delete version 3' }).click();
    await versions.getByRole('link', { name: 'Version 3' }).waitFor({ state: 'detached' });
    const left = await seeder.call('GET', 'model-versions/search', { filter: "name = 'churn'" });
    assert.deepEqual(left.model_versions.map((v: { version: string }) => v.version).sort(), ['1', '2']);

    // The models list separates each latest version from its stage.
    await page.goto(`${server.url}/models`);
    const latest = page.getByRole('row').filter({ hasText: 'churn' }).locator('.inline-list li');
    await latest.first().waitFor();
    assert.ok((await latest.allTextContents()).includes('Version 2 Production'), 'a space before the stage');
    await page.close();
  });

  test('version page: source run, storage location, MLmodel, and a clear message without one', async () => {
    await seeder.call('POST', 'model-versions/create', { name: 'alpha', source: `runs:/${runId}/nothing` });
    const page = await open('/models/churn/versions/2');
    await page.getByRole('heading', { name: 'churn · version 2' }).waitFor();
    await page.getByText('sklearn').first().waitFor();
    assert.ok(await page.getByText('abc123').first().isVisible());
    assert.ok(await page.getByText(`runs:/${runId}/model`).first().isVisible());
    await screenshot(page, 'model-version');
    // The runs:/ source links to its run too.
    assert.equal(
      await page.getByRole('link', { name: `runs:/${runId}/model` }).getAttribute('href'),
      `/runs/${runId}`,
    );
    await page.getByRole('link', { name: 'trainer', exact: true }).click();
    await page.waitForURL(new RegExp(`/runs/${runId}`));

    await page.goto(`${server.url}/models/alpha/versions/1`);
    await page.getByText('no MLmodel file').waitFor();
    await page.close();
  });
});
