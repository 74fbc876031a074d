// End-to-end tests of the UI's "beyond MLflow" features in Chromium: runs grouped by a param or tag
// (table and chart grid), the artifact viewers (image steps, text, CSV and Parquet tables, sandboxed
// HTML), cross-experiment compare and live updates. Screenshots go to test-results/ui-screenshots/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../../server/test/helpers.js';
import { launchChromium, screenshot, skipWithoutChromium } from './browser.js';
import { Seeder } from './seed.js';

const LRS = ['0.1', '0.01', '0.001'];

describe('beyond MLflow: grouping, artifact viewers, cross-experiment compare, live', {
  skip: skipWithoutChromium(),
}, () => {
  let server: TestServer;
  let browser: Browser;
  let seeder: Seeder;
  let sweep: string;

  before(async () => {
    server = await startTestServer('sqlite');
    seeder = new Seeder(server.url);
    sweep = await seeder.experiment('Sweep');
    const t0 = Date.now() - 3_600_000;
    // Three runs per learning rate; run i of group g ends its loss at g*10 + i, so the groups' means
    // of the latest loss are 1, 11 and 21, and each group's spread at the last step is 2.
    for (const [g, lr] of LRS.entries())
      for (let i = 0; i < 3; i++) {
        const { runId } = await seeder.run(sweep, {
          name: `lr${lr}-${i}`,
          startTime: t0 + g * 10 + i,
          params: { lr },
          tags: { opt: i === 0 ? 'sgd' : 'adam' },
        });
        await seeder.history(
          runId,
          'loss',
          Array.from({ length: 10 }, (_, j) => g * 10 + i + (9 - j)),
          t0,
        );
      }
    await seeder.run(sweep, { name: 'no-lr', startTime: t0 + 100, metrics: { loss: 50 } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('close', () => assert.deepEqual(errors, [], 'the page threw'));
    await page.goto(`${server.url}${path}`);
    return page;
  }

  test('group runs by a param: header rows with means in the table, collapsible, state in the URL', async () => {
    const page = await open(`/runs?ids=${sweep}&cols=metric:loss,param:lr&order=attributes.start_time%20ASC`);
    const table = page.getByRole('grid', { name: 'Runs' });
    await table.getByRole('link', { name: 'lr0.1-0' }).waitFor();
    await page.getByLabel('Group runs by').selectOption('param:lr');
    await page.waitForURL(/group=param%3Alr/);
    const groupRows = page.locator('.vt-row.group-row');
    await groupRows.first().waitFor();
    const names = await groupRows.locator('.group-name').allTextContents();
    // In the table's order (oldest first), runs without the param last; each with its run count.
    assert.deepEqual(names, ['▾lr = 0.13', '▾lr = 0.013', '▾lr = 0.0013', '▾lr: no value1']);
    const means = await groupRows.locator('.group-agg').allTextContents();
    assert.deepEqual(means, ['μ 1', 'μ 11', 'μ 21', 'μ 50']);
    assert.match(
      (await groupRows.first().locator('.group-agg').getAttribute('title')) ?? '',
      /mean of 3 runs: 1; min 0, max 2/,
    );
    // 4 headers and 10 runs.
    assert.equal(await page.locator('.vt-row').count(), 14);
    await screenshot(page, 'beyond-grouped-table');

    // Collapse the first group: its runs leave the table, and the link keeps it closed.
    await page.getByRole('button', { name: 'Collapse group lr = 0.1' }).click();
    await page.waitForURL(/gclosed=v%253A0\.1/);
    assert.equal(await page.locator('.vt-row').count(), 11);
    await page.reload();
    await page.locator('.vt-row.group-row').first().waitFor();
    assert.equal(await page.locator('.vt-row').count(), 11);
    assert.equal(await table.getByRole('link', { name: 'lr0.1-0' }).count(), 0);
    // The group's box selects all of its runs.
    await page.getByLabel('Select the runs of lr = 0.01').check();
    assert.equal(await page.getByText('3 selected').count(), 1);
    await page.close();
  });

  test('group runs by a tag: the chart grid draws a mean line and a min-max band per group', async () => {
    const page = await open(`/runs?ids=${sweep}&tab=charts&group=param:lr`);
    const legend = page.getByRole('list', { name: 'Groups charted' });
    await legend.waitFor();
    assert.deepEqual((await legend.locator('li').allTextContents()).sort(), [
      'lr = 0.001 (3 runs)',
      'lr = 0.01 (3 runs)',
      'lr = 0.1 (3 runs)',
      'lr: no value (1 run)',
    ]);
    const chart = page.locator('.chart-card[data-card="line:loss"] .card-chart[data-drawn]');
    await chart.waitFor();
    assert.equal(await chart.getAttribute('data-bands'), '4');
    assert.equal(await chart.getAttribute('aria-label'), 'loss of 4 groups (mean, min-max band)');
    // No per-run legend while grouped.
    assert.equal(await page.getByRole('list', { name: 'Runs charted' }).count(), 0);
    await screenshot(page, 'beyond-grouped-charts');

    // By a tag, from the same control: two groups (sgd, adam).
    await page.getByLabel('Group runs by').selectOption('tag:opt');
    await page.waitForURL(/group=tag%3Aopt/);
    await page.waitForFunction(() =>
      document.querySelector('.chart-card .card-chart')?.getAttribute('aria-label')?.includes('3 groups'),
    );
    assert.deepEqual((await legend.locator('li').allTextContents()).sort(), [
      'opt = adam (6 runs)',
      'opt = sgd (3 runs)',
      'opt: no value (1 run)',
    ]);
    // Ungrouped again: one line per run, the run legend back.
    await page.getByLabel('Group runs by').selectOption('');
    await page.getByRole('list', { name: 'Runs charted' }).waitFor();
    assert.equal(await page.locator('.card-chart').first().getAttribute('data-bands'), '0');
    await page.close();
  });
});
