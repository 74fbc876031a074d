// End-to-end tests of the web UI: Debian's Chromium (headless, through playwright-core) against a real
// mlflow-ts server on a fresh SQLite store, seeded through the REST API by the test. Each page's
// screenshot is kept under test-results/ui-screenshots/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../../server/test/helpers.js';
import { formatNumber } from '../src/lib/format.js';
import { launchChromium, screenshot, skipWithoutChromium } from './browser.js';
import { Seeder } from './seed.js';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
  'base64',
);
const NOTE = [
  '# Baseline',
  '',
  'Trained with **gradient boosting**.',
  '',
  '<img src=x onerror="window.__xss = 1">',
  '',
  '[bad link](javascript:window.__xss=2) and [docs](https://mlflow.org)',
  '',
  '| metric | value |',
  '|---|---|',
  '| acc | <img src=x onerror="window.__xss = 3"> ~~0.79~~ 0.81 |',
].join('\n');
const MLMODEL = `artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
  sklearn:
    sklearn_version: 1.5.0
model_uuid: 0a1b2c3d
signature:
  inputs: '[{"name": "age", "type": "long"}, {"name": "plan", "type": "string"}]'
  outputs: '[{"name": "churn", "type": "double"}]'
utc_time_created: '2026-01-01 10:00:00'
`;

interface Seeded {
  churn: string;
  old: string;
  big: string;
  baseline: string;
  sweep: string;
  trials: string[];
  live: string;
}

async function seed(s: Seeder): Promise<Seeded> {
  const churn = await s.experiment('Churn model');
  const old = await s.experiment('Old project');
  await s.experiment('Image classifier');
  const t0 = Date.now() - 3_600_000;
  const baselineRun = await s.run(churn, {
    name: 'baseline',
    startTime: t0,
    params: { lr: '0.1', depth: '6', model: 'gbm' },
    metrics: { acc: 0.81, loss: 0.52 },
    tags: {
      team: 'growth',
      'mlflow.user': 'ada',
      'mlflow.source.name': '/src/train.py',
      'mlflow.source.type': 'LOCAL',
      'mlflow.source.git.commit': '1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c',
      'mlflow.note.content': NOTE,
    },
  });
  const baseline = baselineRun.runId;
  await s.history(
    baseline,
    'loss',
    Array.from({ length: 300 }, (_, i) => 1 / (1 + i / 30) + (i === 150 ? 0.8 : 0)),
    t0,
  );
  await s.call('POST', 'runs/log-inputs', {
    run_id: baseline,
    datasets: [
      {
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
        dataset: {
          name: 'customers',
          digest: 'd41d8cd9',
          source_type: 'local',
          source: '{"uri": "/data/customers.parquet"}',
          schema: '{"mlflow_colspec": [{"name": "age", "type": "long"}]}',
          profile: '{"num_rows": 1200}',
        },
      },
    ],
  });
  for (const [p, body] of [
    ['notes.txt', 'plain text notes\nsecond line'],
    ['config.json', '{"lr":0.1,"layers":[64,32]}'],
    ['params.yaml', 'lr: 0.1\ndepth: 6\n'],
    ['data/table.csv', 'name,score\n"Smith, J",0.9\nLee,0.7\n'],
    ['plot.png', PNG],
    ['model/MLmodel', MLMODEL],
  ] as const) {
    await s.artifact(baselineRun.artifactUri, p, body);
  }

  const sweep = (
    await s.run(churn, {
      name: 'sweep',
      startTime: t0 + 1000,
      params: { model: 'gbm' },
      tags: { team: 'growth' },
    })
  ).runId;
  const trials: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const { runId } = await s.run(churn, {
      name: `trial-${i}`,
      startTime: t0 + 1000 + i,
      params: { lr: String(0.1 * i), depth: String(4 + i), model: 'gbm' },
      metrics: { acc: 0.7 + i * 0.05, loss: 0.6 - i * 0.1 },
      tags: { 'mlflow.parentRunId': sweep },
    });
    trials.push(runId);
  }
  await s.history(
    trials[0],
    'loss',
    Array.from({ length: 300 }, (_, i) => 1.2 / (1 + i / 20)),
    t0,
  );
  const live = (
    await s.run(churn, { name: 'live-run', startTime: t0 + 5000, status: 'RUNNING', metrics: { acc: 0.5 } })
  ).runId;

  const big = await s.experiment('Big sweep');
  const jobs = Array.from({ length: 1500 }, (_, i) => i);
  const worker = async () => {
    for (let i = jobs.shift(); i !== undefined; i = jobs.shift()) {
      await s.run(big, {
        name: `big-${String(i).padStart(4, '0')}`,
        startTime: t0 + i,
        metrics: { score: i },
        params: { i: String(i) },
      });
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return { churn, old, big, baseline, sweep, trials, live };
}

describe('web UI end to end', { skip: skipWithoutChromium() }, () => {
  let server: TestServer;
  let browser: Browser;
  let s: Seeded;
  let seeder: Seeder;

  before(async () => {
    server = await startTestServer('sqlite');
    seeder = new Seeder(server.url);
    s = await seed(seeder);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(path: string, opts: { width?: number; height?: number } = {}): Promise<Page> {
    const page = await browser.newPage({
      viewport: { width: opts.width ?? 1400, height: opts.height ?? 900 },
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('close', () => assert.deepEqual(errors, [], 'the page threw'));
    await page.goto(`${server.url}${path}`);
    return page;
  }

  test('experiments: list, search, create, rename, delete and restore', async () => {
    const page = await open('/');
    await page.getByRole('link', { name: 'Churn model' }).waitFor();
    await screenshot(page, 'experiments');
    assert.ok(await page.getByRole('link', { name: 'Old project' }).isVisible());

    await page.getByLabel('Search experiments by name').fill('churn');
    await page.waitForURL(/\?q=churn/);
    await page.getByRole('link', { name: 'Old project' }).waitFor({ state: 'detached' });
    assert.ok(await page.getByRole('link', { name: 'Churn model' }).isVisible());
    await page.getByLabel('Search experiments by name').fill('');

    // Rename, then delete and restore "Old project".
    const row = page.getByRole('row').filter({ hasText: 'Old project' });
    await row.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('textbox', { name: 'New experiment name' }).last().fill('Older project');
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'Older project' }).waitFor();
    const renamed = await seeder.call('GET', 'experiments/get', { experiment_id: s.old });
    assert.equal(renamed.experiment.name, 'Older project');

    page.once('dialog', (d) => d.accept());
    await page
      .getByRole('row')
      .filter({ hasText: 'Older project' })
      .getByRole('button', { name: 'Delete' })
      .click();
    await page.getByRole('link', { name: 'Older project' }).waitFor({ state: 'detached' });
    assert.equal(
      (await seeder.call('GET', 'experiments/get', { experiment_id: s.old })).experiment.lifecycle_stage,
      'deleted',
    );
    await page.getByText('Deleted', { exact: true }).click();
    await page.waitForURL(/view=DELETED_ONLY/);
    await page
      .getByRole('row')
      .filter({ hasText: 'Older project' })
      .getByRole('button', { name: 'Restore' })
      .click();
    await page.getByRole('link', { name: 'Older project' }).waitFor({ state: 'detached' });
    assert.equal(
      (await seeder.call('GET', 'experiments/get', { experiment_id: s.old })).experiment.lifecycle_stage,
      'active',
    );

    // A duplicate name shows the server's error; a new name creates and opens the experiment.
    await page.getByText('Active', { exact: true }).click();
    const create = page.getByPlaceholder('New experiment name');
    await create.fill('Churn model');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('alert').filter({ hasText: 'RESOURCE_ALREADY_EXISTS' }).waitFor();
    await create.fill('Fresh experiment');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/runs\?ids=\d+/);
    await page.getByRole('heading', { name: /Fresh experiment/ }).waitFor();
    await page.close();
  });

  test('runs: nested runs, sorting, columns remembered, filter errors inline', async () => {
    const page = await open(`/runs?ids=${s.churn}`);
    const grid = page.getByRole('grid', { name: 'Runs' });
    await grid.getByRole('link', { name: 'baseline' }).waitFor();
    // Children are grouped under "sweep" and hidden until expanded.
    assert.equal(await grid.getByRole('link', { name: 'trial-1' }).count(), 0);
    await grid.getByRole('button', { name: 'Expand 3 child runs' }).click();
    await grid.getByRole('link', { name: 'trial-3' }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('open'), s.sweep, 'the expanded parent is in the URL');
    await screenshot(page, 'runs');

    // Sorting by a metric column asks the server (order_by in the URL).
    await grid.getByRole('button', { name: 'acc' }).click();
    await page.waitForURL(/order=metrics\.%60acc%60\+DESC/);
    await page
      .waitForFunction(
        () =>
          Array.from(document.querySelectorAll('.vt-row .run-name a'))
            .map((a) => a.textContent)
            .join(',') === 'baseline,live-run,sweep,trial-3,trial-2,trial-1',
        undefined,
        { timeout: 5000 },
      )
      .catch(async (e) => {
        throw new Error(`${e.message}: rows ${await page.locator('.vt-row .run-name a').allTextContents()}`);
      });
    await grid.getByRole('button', { name: 'acc' }).click();
    await page.waitForURL(/order=metrics\.%60acc%60\+ASC/);

    // Add the "team" tag column; it is remembered for this experiment without the URL.
    await page.getByRole('button', { name: /^Columns/ }).click();
    await page.getByRole('dialog', { name: 'Choose columns' }).getByLabel('team').check();
    await page.keyboard.press('Escape');
    await page.waitForURL(/cols=/);
    await page.goto(`${server.url}/runs?ids=${s.churn}`);
    await page.getByRole('columnheader', { name: 'team' }).waitFor();
    // The header comes with the remembered columns, the rows with the search: wait for those too.
    await page.getByRole('gridcell', { name: 'growth' }).first().waitFor();

    // A syntax error is shown under the filter box; a good filter narrows the rows.
    const filter = page.getByLabel('Filter runs (MLflow search syntax)');
    await filter.fill('metrics.acc >> 1');
    await filter.press('Enter');
    const error = page.locator('#filter-error');
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /Invalid|syntax|Expected/i);
    assert.equal(await filter.getAttribute('aria-invalid'), 'true');
    // The header claims no count for a search that failed (not "0 runs").
    assert.equal(await page.locator('.page-head .run-count').count(), 0);
    assert.doesNotMatch((await page.locator('.page-head').textContent()) ?? '', /\d+ runs?\b/);
    await screenshot(page, 'runs-filter-error');
    await filter.fill("params.lr = '0.1'");
    await filter.press('Enter');
    // trial-1 matches too; without its parent in the result it is shown at the top level.
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('.vt-row .run-name a'))
          .map((a) => a.textContent)
          .sort()
          .join() === 'baseline,trial-1',
    );
    assert.match(page.url(), /filter=params\.lr/);
    assert.equal(await page.locator('.page-head .run-count').textContent(), '2 runs');
    await page.close();
  });

  test('runs: several experiments get an Experiment column with their names', async () => {
    const other = await seeder.experiment('Second project');
    await seeder.run(other, { name: 'elsewhere', startTime: Date.now() });
    const page = await open(`/runs?ids=${s.churn},${other}`);
    const grid = page.getByRole('grid', { name: 'Runs' });
    await grid.getByRole('link', { name: 'elsewhere' }).waitFor();
    await grid.getByRole('columnheader', { name: 'Experiment' }).waitFor();
    const row = (name: string) => grid.getByRole('row').filter({ has: page.getByRole('link', { name }) });
    await row('elsewhere').getByRole('gridcell', { name: 'Second project', exact: true }).waitFor();
    await row('baseline').getByRole('gridcell', { name: 'Churn model', exact: true }).waitFor();
    // One experiment: no such column unless chosen.
    await page.goto(`${server.url}/runs?ids=${other}`);
    await grid.getByRole('link', { name: 'elsewhere' }).waitFor();
    assert.equal(await grid.getByRole('columnheader', { name: 'Experiment' }).count(), 0);
    await page.close();
  });

  test('runs: keyboard, selection, delete, restore and compare', async () => {
    const page = await open(`/runs?ids=${s.churn}&order=attributes.run_name+ASC`);
    const grid = page.getByRole('grid', { name: 'Runs' });
    await grid.getByRole('link', { name: 'baseline' }).waitFor();
    // Keyboard: focus the grid, Space selects, Enter opens.
    await grid.focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Space');
    assert.ok(await page.getByText('1 selected').isVisible());
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Space');
    // The selection is part of the URL: a reload (or a shared link) keeps it.
    await page.waitForURL(/[?&]sel=[0-9a-f]{32}%2C[0-9a-f]{32}(&|$)/);
    await page.reload();
    await grid.getByRole('link', { name: 'baseline' }).waitFor();
    assert.ok(await page.getByText('2 selected').isVisible());
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.waitForURL(/\/compare\?runs=/);
    await page.getByRole('heading', { name: 'Compare 2 runs' }).waitFor();
    await page.goBack();
    await grid.getByRole('link', { name: 'baseline' }).waitFor();
    assert.ok(await page.getByText('2 selected').isVisible(), 'back from compare keeps the selection');
    const all = page.getByRole('checkbox', { name: 'Select all shown runs' });
    await all.check();
    await all.uncheck();
    await page.getByText(/\d+ selected/).waitFor({ state: 'detached' });
    assert.doesNotMatch(page.url(), /[?&]sel=/);
    await grid.focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/runs/${s.baseline}$`));
    await page.goBack();

    // Delete the "live-run" run, find it among the deleted ones, restore it.
    await grid.getByRole('checkbox', { name: 'Select run live-run' }).check();
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await grid.getByRole('link', { name: 'live-run' }).waitFor({ state: 'detached' });
    assert.equal(
      (await seeder.call('GET', 'runs/get', { run_id: s.live })).run.info.lifecycle_stage,
      'deleted',
    );
    await page.getByText('Deleted', { exact: true }).click();
    await grid.getByRole('checkbox', { name: 'Select run live-run' }).check();
    await page.getByRole('button', { name: 'Restore' }).click();
    await grid.getByRole('link', { name: 'live-run' }).waitFor({ state: 'detached' });
    assert.equal(
      (await seeder.call('GET', 'runs/get', { run_id: s.live })).run.info.lifecycle_stage,
      'active',
    );
    await page.close();
  });

  test('runs: Right and Left open and close nested runs from the keyboard', async () => {
    const page = await open(`/runs?ids=${s.churn}&order=attributes.run_name+ASC`);
    const grid = page.getByRole('grid', { name: 'Runs' });
    await grid.getByRole('link', { name: 'sweep' }).waitFor();
    const active = () => page.locator('.vt-row.active .run-name a').textContent();
    await grid.focus();
    await page.keyboard.press('End');
    assert.equal(await active(), 'sweep', 'sweep is the last top-level run by name');
    await page.keyboard.press('ArrowRight');
    await grid.getByRole('link', { name: 'trial-3' }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('open'), s.sweep, 'the expanded parent is in the URL');
    assert.equal(await active(), 'sweep', 'opening keeps the parent active');
    await page.keyboard.press('ArrowDown');
    assert.match((await active()) ?? '', /^trial-\d$/);
    // Left on a child goes to its parent; Left on an open parent closes it.
    await page.keyboard.press('ArrowLeft');
    assert.equal(await active(), 'sweep');
    await page.keyboard.press('ArrowLeft');
    await grid.getByRole('link', { name: 'trial-3' }).waitFor({ state: 'detached' });
    assert.equal(new URL(page.url()).searchParams.get('open'), null);
    // On a run without children the keys change nothing.
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    assert.equal(await active(), 'baseline');
    assert.equal(new URL(page.url()).searchParams.get('open'), null);
    await page.close();
  });

  test('runs: a RUNNING run updates live', async () => {
    const page = await open(`/runs?ids=${s.churn}&cols=attr:status`);
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'live-run' }) });
    await row.getByText('RUNNING').waitFor();
    await seeder.call('POST', 'runs/update', { run_id: s.live, status: 'FAILED', end_time: Date.now() });
    await row.getByText('FAILED').waitFor({ timeout: 10_000 });
    await page.close();
  });

  test('runs: a large experiment is windowed and scrolls to the end', async () => {
    const page = await open(`/runs?ids=${s.big}&order=attributes.run_name+ASC`);
    await page.getByText('1,500 runs').waitFor({ timeout: 20_000 });
    const rendered = await page.locator('.vt-row').count();
    assert.ok(rendered > 10 && rendered < 120, `only the rows in view are rendered (got ${rendered})`);
    await page.getByRole('grid', { name: 'Runs' }).focus();
    await page.keyboard.press('End');
    await page.getByRole('link', { name: 'big-1499' }).waitFor();
    assert.ok((await page.locator('.vt-row').count()) < 120);
    await screenshot(page, 'runs-large');
    await page.close();
  });

  test('run page: overview, description, params, metrics, tags, datasets', async () => {
    const page = await open(`/runs/${s.baseline}`);
    await page.getByRole('heading', { name: 'baseline', level: 1, exact: true }).waitFor();
    await page
      .getByRole('navigation', { name: 'Breadcrumb' })
      .getByRole('link', { name: 'Churn model' })
      .waitFor();
    for (const text of [
      'FINISHED',
      'ada',
      '/src/train.py (LOCAL)',
      '1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c',
      '1m 5s',
    ]) {
      assert.ok(await page.getByText(text, { exact: true }).first().isVisible(), text);
    }
    // The description is Markdown, rendered without running anything it contains.
    await page.getByRole('heading', { name: 'Baseline', level: 1, exact: true }).waitFor();
    assert.equal(await page.locator('.markdown strong').textContent(), 'gradient boosting');
    assert.equal(await page.locator('.markdown img').count(), 0);
    assert.equal(await page.evaluate(() => (window as any).__xss), undefined);
    assert.equal(await page.locator('.markdown a[href^="javascript"]').count(), 0);
    // GitHub-style tables and strikethrough render; HTML inside a cell is still text.
    const cells = page.locator('.markdown table tbody td');
    assert.deepEqual(await page.locator('.markdown table th').allTextContents(), ['metric', 'value']);
    assert.equal(await cells.count(), 2);
    assert.equal(await cells.nth(1).textContent(), '<img src=x onerror="window.__xss = 3"> 0.79 0.81');
    assert.equal(await cells.nth(1).locator('del').textContent(), '0.79');
    // The overview names the experiment (linked), not just its id.
    await page.locator('.facts').getByRole('link', { name: 'Churn model', exact: true }).waitFor();
    await screenshot(page, 'run-overview');
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Description (Markdown)').fill('Now with *emphasis*');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.markdown em').waitFor();
    const after = await seeder.call('GET', 'runs/get', { run_id: s.baseline });
    assert.equal(
      after.run.data.tags.find((t: any) => t.key === 'mlflow.note.content').value,
      'Now with *emphasis*',
    );

    // Parent and children links.
    await page.goto(`${server.url}/runs/${s.trials[0]}`);
    await page.getByRole('link', { name: s.sweep }).click();
    await page.waitForURL(new RegExp(`/runs/${s.sweep}$`));
    await page.getByRole('link', { name: 'trial-2' }).waitFor();

    await page.goto(`${server.url}/runs/${s.baseline}?tab=params`);
    await page.getByRole('table', { name: 'Parameters' }).getByText('gbm').waitFor();
    await screenshot(page, 'run-params');

    await page.getByRole('tab', { name: 'Metrics' }).click();
    await page.waitForURL(/tab=metrics/);
    await page.getByRole('table', { name: 'Metrics' }).getByRole('link', { name: 'loss' }).waitFor();
    // The sparkline asks for 200 points with MIN_MAX sampling: 50 buckets of 6 steps, of which a
    // falling curve keeps each bucket's first and last step, plus the spike at step 150.
    const spark = page.locator('.chart.compact[data-drawn]');
    await spark.waitFor();
    const drawn = Number(await spark.getAttribute('data-drawn'));
    assert.ok(drawn >= 100 && drawn <= 200, `sparkline drew ${drawn} points`);
    await screenshot(page, 'run-metrics');

    // Tags: add, edit, delete; each reaches the server.
    await page.getByRole('tab', { name: 'Tags' }).click();
    await page.getByRole('button', { name: 'Add tag' }).click();
    await page.getByLabel('Tag key').fill('stage');
    await page.getByLabel('Tag value').fill('candidate');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'candidate' }).waitFor();
    await page.getByRole('button', { name: 'Edit tag stage' }).click();
    // Editing starts in the value field (the key cannot change), so typing replaces the value.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Tag value');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('production');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'production' }).waitFor();
    await screenshot(page, 'run-tags');
    let tags = (await seeder.call('GET', 'runs/get', { run_id: s.baseline })).run.data.tags;
    assert.equal(tags.find((t: any) => t.key === 'stage').value, 'production');
    await page.getByRole('button', { name: 'Delete tag stage' }).click();
    await page.getByRole('cell', { name: 'production' }).waitFor({ state: 'detached' });
    tags = (await seeder.call('GET', 'runs/get', { run_id: s.baseline })).run.data.tags;
    assert.equal(
      tags.find((t: any) => t.key === 'stage'),
      undefined,
    );

    await page.getByRole('tab', { name: 'Datasets' }).click();
    await page.getByRole('region', { name: 'Dataset customers' }).waitFor();
    assert.ok(await page.getByText('training').isVisible());
    await screenshot(page, 'run-datasets');
    await page.close();
  });

  test('run page: the overview holds params, metric ranges, tags, datasets, models and project facts', async () => {
    // A project run of its own, with a logged model and a registered version made from it.
    const { runId } = await seeder
      .call('POST', 'runs/create', {
        experiment_id: s.churn,
        run_name: 'project-run',
        start_time: Date.now(),
        tags: [
          { key: 'mlflow.project.entryPoint', value: 'train' },
          { key: 'mlflow.project.backend', value: 'local' },
          { key: 'mlflow.source.git.repoURL', value: 'https://example.com/ml/churn.git' },
          { key: 'owner', value: 'ml-team' },
        ],
      })
      .then((r) => ({ runId: r.run.info.run_id as string }));
    await seeder.call('POST', 'runs/log-batch', {
      run_id: runId,
      params: [{ key: 'epochs', value: '12' }],
      metrics: [3, -2.5, 7, 4].map((value, step) => ({ key: 'score', value, step, timestamp: 1000 + step })),
    });
    const model = await seeder.call('POST', 'logged-models', {
      experiment_id: s.churn,
      name: 'churn-clf',
      source_run_id: runId,
    });
    await seeder.call('POST', 'registered-models/create', { name: 'churn-overview' });
    await seeder.call('POST', 'model-versions/create', {
      name: 'churn-overview',
      source: `runs:/${runId}/model`,
      run_id: runId,
    });

    const page = await open(`/runs/${runId}`);
    await page.getByRole('heading', { name: 'project-run', level: 1 }).waitFor();
    const facts = page.locator('.facts');
    for (const text of ['train', 'local', 'https://example.com/ml/churn.git'])
      assert.ok(await facts.getByText(text, { exact: true }).isVisible(), text);
    await page.getByRole('table', { name: 'Parameters' }).getByRole('cell', { name: '12' }).waitFor();
    const tagsTable = page.getByRole('table', { name: 'Tags' });
    assert.deepEqual(await tagsTable.locator('tbody td').allTextContents(), ['owner', 'ml-team']);
    // Latest, smallest and largest value: the latest is step 3's 4, the range -2.5 .. 7.
    const score = page
      .getByRole('table', { name: 'Metric summary' })
      .getByRole('row')
      .filter({ hasText: 'score' });
    await score.getByRole('cell', { name: '-2.5', exact: true }).waitFor();
    assert.deepEqual((await score.locator('td').allTextContents()).slice(1), ['4', '-2.5', '7', '3']);
    await page
      .getByRole('list', { name: 'Logged models' })
      .getByText(model.model.info.model_id, { exact: false })
      .waitFor();
    const version = page.getByRole('list', { name: 'Registered model versions' }).getByRole('link');
    assert.equal(await version.textContent(), 'churn-overview v1');
    assert.equal(await version.getAttribute('href'), '/models/churn-overview/versions/1');
    await page.setViewportSize({ width: 1440, height: 900 });
    await screenshot(page, 'run-overview-sections');

    // The baseline's spiky 300-step loss: the range comes from the whole history, not the last value.
    await page.goto(`${server.url}/runs/${s.baseline}`);
    const loss = page
      .getByRole('table', { name: 'Metric summary' })
      .getByRole('row')
      .filter({ hasText: 'loss' });
    await loss.getByRole('cell', { name: formatNumber(1), exact: true }).waitFor();
    const cells = await loss.locator('td').allTextContents();
    assert.equal(cells[2], formatNumber(1 / (1 + 299 / 30)));
    assert.equal(cells[3], formatNumber(1));
    await page.getByRole('region', { name: 'Dataset customers' }).waitFor();
    await page.close();
  });

  test('run page: artifact browser previews text, JSON, YAML, CSV, images and MLmodel', async () => {
    const page = await open(`/runs/${s.baseline}?tab=artifacts`);
    const tree = page.getByRole('tree', { name: 'Artifacts' });
    await tree.getByText('notes.txt').click();
    await page.locator('pre.code').filter({ hasText: 'plain text notes' }).waitFor();
    assert.match(page.url(), /path=notes\.txt/);
    await tree.getByText('config.json').click();
    await page.locator('pre.code').filter({ hasText: '"layers": [' }).waitFor();
    await tree.getByText('params.yaml').click();
    await page.locator('pre.code').filter({ hasText: 'depth: 6' }).waitFor();
    await tree.getByText('plot.png').click();
    await page.locator('img.preview-image').waitFor();
    assert.ok(
      await page
        .locator('img.preview-image')
        .evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 1),
    );
    await tree.getByText('data').click();
    await tree.getByText('table.csv').click();
    const csv = page.getByRole('table', { name: 'CSV preview' });
    await csv.getByRole('cell', { name: 'Smith, J' }).waitFor();
    // The row number, then the file's two columns.
    assert.equal(await csv.getByRole('columnheader').count(), 3);
    await screenshot(page, 'run-artifacts-csv');
    await tree.getByText('model', { exact: true }).click();
    await tree.getByText('MLmodel').click();
    await page.getByText('python_function, sklearn').waitFor();
    assert.ok(await page.getByText('age: long, plan: string').isVisible());
    await screenshot(page, 'run-artifacts-mlmodel');
    // A link to a file opens its preview directly.
    await page.goto(`${server.url}/runs/${s.baseline}?tab=artifacts&path=data%2Ftable.csv`);
    await page.getByRole('table', { name: 'CSV preview' }).waitFor();
    await page.close();
  });

  test('charts: overlaid runs, x axes, smoothing, log scale and zoom in the URL', async () => {
    const runs = `${s.baseline},${s.trials[0]}`;
    const page = await open(`/metrics?runs=${runs}&key=loss`);
    const chart = page.locator('.chart[data-drawn]');
    await chart.waitFor();
    // 300 steps each; trial-1 has two values at step 0 (one from its first log-batch), drawn as both.
    assert.equal(await chart.getAttribute('data-drawn'), '301');
    // uPlot's legend lists both runs.
    assert.ok(await page.locator('.u-legend').getByText('baseline').isVisible());
    assert.ok(await page.locator('.u-legend').getByText('trial-1').isVisible());
    await screenshot(page, 'metrics-chart');

    await page.getByLabel('X axis').selectOption('relative');
    await page.waitForURL(/x=relative/);
    await page.getByLabel('X axis').selectOption('time');
    await page.waitForURL(/x=time/);
    await page.getByLabel('Log scale').check();
    await page.waitForURL(/log=1/);
    await page.getByLabel(/Smoothing/).fill('0.8');
    await page.waitForURL(/smooth=0\.8/);
    await page.locator('.chart[data-drawn]').waitFor();

    // Drag to zoom on the step axis: the range goes into the URL and the server is asked for it.
    await page.goto(`${server.url}/metrics?runs=${runs}&key=loss`);
    await chart.waitFor();
    const over = page.locator('.u-over');
    const box = await over.boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL(/zoom=/);
    const zoom = new URL(page.url()).searchParams.get('zoom')?.split(',').map(Number) ?? [];
    assert.ok(zoom[0] > 40 && zoom[1] < 200 && zoom[0] < zoom[1], `zoom ${zoom}`);
    await page.getByRole('button', { name: 'Reset zoom' }).click();
    await page.waitForURL((u) => !u.searchParams.has('zoom'));
    await page.close();
  });

  test('charts: empty state, keyboard zoom and legend, y axis label, log range fits the data', async () => {
    const runs = `${s.baseline},${s.trials[0]}`;
    // No selected run has the key: a message naming it, not a blank chart.
    const page = await open(`/metrics?runs=${runs}&key=nonexistent`);
    const status = page.getByRole('status').filter({ hasText: 'nonexistent' });
    await status.waitFor();
    assert.match((await status.textContent()) ?? '', /None of the selected runs has the metric nonexistent/);
    assert.equal(await page.locator('.chart').count(), 0);

    await page.goto(`${server.url}/metrics?runs=${runs}&key=loss`);
    const chart = page.locator('.chart[data-drawn]');
    await chart.waitFor();
    // uPlot paints axis titles on its canvas; the chart names the y title it gave uPlot.
    assert.equal(await chart.getAttribute('data-y-label'), 'loss');

    // Zoom buttons from the keyboard: 300 steps (0..299) zoomed in around the centre.
    await page.getByRole('button', { name: 'Zoom in' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/zoom=/);
    const zoomOf = () => new URL(page.url()).searchParams.get('zoom')?.split(',').map(Number) ?? [];
    let zoom = zoomOf();
    assert.ok(Math.abs(zoom[0] - 74.75) < 0.01 && Math.abs(zoom[1] - 224.25) < 0.01, `zoom in ${zoom}`);
    // Keys on the focused chart: Right pans a quarter of the view, - zooms back out to everything.
    await page.getByRole('region', { name: /loss of 2 runs/ }).focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForURL((u) => u.searchParams.get('zoom') !== `${zoom[0]},${zoom[1]}`);
    zoom = zoomOf();
    assert.ok(Math.abs(zoom[0] - 112.125) < 0.01 && Math.abs(zoom[1] - 261.625) < 0.01, `pan ${zoom}`);
    await page.keyboard.press('-');
    await page.waitForURL((u) => !u.searchParams.has('zoom'));
    await page.keyboard.press('+');
    await page.waitForURL(/zoom=/);
    await page.keyboard.press('0');
    await page.waitForURL((u) => !u.searchParams.has('zoom'));

    // Legend entries are toggle buttons: Space hides a series, Enter shows it again.
    const toggle = page.locator('.u-legend').getByRole('button', { name: /baseline/ });
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    await toggle.focus();
    await page.keyboard.press(' ');
    await page.waitForFunction(
      () => document.querySelector('.u-legend .u-series.u-off th')?.getAttribute('aria-pressed') === 'false',
    );
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await page.keyboard.press('Enter');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    assert.equal(await page.locator('.u-legend .u-series.u-off').count(), 0);

    // Log scale: the data (about 0.075 to 1.2) is not padded up to 10 and down to 0.01.
    await page.goto(`${server.url}/metrics?runs=${runs}&key=loss&log=1`);
    await chart.waitFor();
    const [lo, hi] = ((await chart.getAttribute('data-y-scale')) ?? '').split(',').map(Number);
    assert.ok(hi > 1.2 && hi < 1.5, `log scale top ${hi}`);
    assert.ok(lo > 0.05 && lo < 0.076, `log scale bottom ${lo}`);
    await page.close();
  });

  test('compare: differences highlighted, scatter and parallel coordinates', async () => {
    const page = await open(`/compare?runs=${s.trials.join(',')},${s.baseline}`);
    await page.getByRole('heading', { name: 'Compare 4 runs' }).waitFor();
    const params = page.getByRole('region', { name: 'Parameters' });
    await params.getByRole('cell', { name: 'lr' }).waitFor();
    assert.equal(await params.locator('tr.differs').count(), 2, 'lr and depth differ, model does not');
    assert.equal(await params.locator('tr:not(.differs) td.mono').first().textContent(), 'model');
    assert.equal(await page.locator('svg[aria-label^="Scatter plot"] circle').count(), 4);
    assert.equal(await page.locator('svg[aria-label="Parallel coordinates plot"] polyline').count(), 4);
    // Round tick values (at most two significant digits here), and no two labels of a plot overlapping.
    for (const plot of ['svg[aria-label^="Scatter plot"]', 'svg[aria-label="Parallel coordinates plot"]']) {
      const numeric = (await page.locator(`${plot} text.tick`).allTextContents()).filter((t) =>
        Number.isFinite(Number(t)),
      );
      assert.ok(numeric.length >= 4, `${plot}: ${numeric.join(' ')}`);
      for (const t of numeric)
        assert.ok(
          /^-?\d*\.?\d*$/.test(t) && t.replace(/^[-0.]+/, '').replace('.', '').length <= 2,
          `${plot}: tick ${t}`,
        );
      const boxes = await page.locator(`${plot} text`).evaluateAll((els) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return { text: e.textContent, l: r.left, r: r.right, t: r.top, b: r.bottom };
        }),
      );
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const [a, b] = [boxes[i], boxes[j]];
          const overlap = a.l < b.r - 0.5 && b.l < a.r - 0.5 && a.t < b.b - 0.5 && b.t < a.b - 0.5;
          assert.ok(!overlap, `${plot}: "${a.text}" overlaps "${b.text}"`);
        }
    }
    await screenshot(page, 'compare');
    await page.getByLabel('Only show differences').check();
    await page.waitForURL(/diff=1/);
    assert.equal(await params.locator('tbody tr').count(), 2);
    await page.getByLabel('Y value').selectOption('metric:loss');
    await page.waitForURL(/y=metric%3Aloss/);

    // Unknown ids are named; the runs that exist are still compared.
    await page.goto(`${server.url}/compare?runs=${s.baseline},no-such-run,${s.trials[0]},0123abcd`);
    await page.getByRole('heading', { name: 'Compare 2 runs' }).waitFor();
    const notice = page.getByRole('status', { name: 'Runs not found' });
    assert.equal(
      await notice.textContent(),
      'No runs have the ids no-such-run, 0123abcd; the other runs are compared.',
    );
    assert.equal(await page.getByRole('alert').count(), 0);
    assert.ok(await params.getByRole('link', { name: 'baseline' }).isVisible());
    assert.ok(await params.getByRole('link', { name: 'trial-1' }).isVisible());
    await page.close();
  });

  test('a server that cannot be reached is explained, not shown as an empty list', async () => {
    const page = await open('/');
    await page.getByRole('link', { name: 'Churn model' }).waitFor();
    await page.route('**/ajax-api/**', (route) => route.abort('connectionrefused'));
    await page.getByPlaceholder('Search by name').fill('churn');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /Cannot reach the server/);
    assert.equal(await page.getByText('No experiments match.').count(), 0);
    await screenshot(page, 'experiments-server-unreachable');
    await page.close();
  });

  test('dark theme, kept across loads', async () => {
    const page = await open(`/runs?ids=${s.churn}`);
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.reload();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.getByRole('grid', { name: 'Runs' }).getByRole('link', { name: 'baseline' }).waitFor();
    await screenshot(page, 'runs-dark');
    await page.goto(`${server.url}/metrics?runs=${s.baseline},${s.trials[0]}&key=loss`);
    await page.locator('.chart[data-drawn]').waitFor();
    await screenshot(page, 'metrics-chart-dark');
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
    await page.close();
  });

  test('charts: one-step spikes in a long history are drawn at full zoom-out and when zoomed', async () => {
    const exp = await seeder.experiment('Long history');
    const { runId } = await seeder.run(exp, { name: 'long' });
    const spikes = new Map([
      [12_345, 50],
      [33_333, -50],
    ]);
    const values = Array.from({ length: 50_000 }, (_, i) => spikes.get(i) ?? 0.5 + 0.1 * Math.sin(i / 1000));
    await seeder.history(runId, 'loss', values);
    // MLflow's own sampling (evenly spaced steps) passes over both spikes: without the MIN_MAX
    // extension the chart would not show them.
    const mlflowSampled = await seeder.call('GET', 'metrics/get-history-bulk-interval', {
      run_ids: runId,
      metric_key: 'loss',
      max_results: 2500,
    });
    assert.ok(!mlflowSampled.metrics.some((m: { step: number }) => spikes.has(m.step)));

    const page = await open(`/metrics?runs=${runId}&key=loss`);
    const chart = page.locator('.chart[data-drawn]');
    await chart.waitFor();
    assert.equal(await chart.getAttribute('data-y-extent'), '-50,50');
    const drawn = Number(await chart.getAttribute('data-drawn'));
    assert.ok(drawn > 1000 && drawn <= 2500, `${drawn} points drawn`);
    await screenshot(page, 'metrics-chart-spikes');

    // Zoomed to 1,001 steps, the server sends every point of the range.
    await page.goto(`${server.url}/metrics?runs=${runId}&key=loss&zoom=12000,13000`);
    await page.waitForFunction(() => document.querySelector('.chart')?.getAttribute('data-drawn') === '1001');
    const [lo, hi] = ((await chart.getAttribute('data-y-extent')) ?? '').split(',').map(Number);
    assert.equal(hi, 50);
    assert.ok(lo > 0.39 && lo < 0.5, `zoomed low ${lo}`);

    // The run page's small chart samples the same way.
    await page.goto(`${server.url}/runs/${runId}?tab=metrics`);
    const spark = page.locator('.chart.compact[data-drawn]');
    await spark.waitFor();
    assert.equal(await spark.getAttribute('data-y-extent'), '-50,50');
    await page.close();
  });
});
