// End-to-end tests of the experiment page's round-two features in Chromium: grouped column headers and
// number formatting, the Charts tab (a card per metric for 100 runs x 20 metrics, card edits saved per
// experiment), the palette and the single legend. Screenshots go to test-results/ui-screenshots/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../../server/test/helpers.js';
import { launchChromium, screenshot, skipWithoutChromium } from './browser.js';
import { Seeder } from './seed.js';

const METRICS = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`);
const RUNS = 100;
const STEPS = 50;

/** 100 runs, each logging 20 metrics over 50 steps (one log-batch of 1,000 metrics per run). */
async function seedGrid(s: Seeder): Promise<string> {
  const grid = await s.experiment('Grid');
  const t0 = Date.now() - 3_600_000;
  const jobs = Array.from({ length: RUNS }, (_, i) => i);
  const worker = async () => {
    for (let i = jobs.shift(); i !== undefined; i = jobs.shift()) {
      const { runId } = await s.run(grid, {
        name: `run-${String(i).padStart(3, '0')}`,
        startTime: t0 + i,
        params: { lr: String(0.001 * (i + 1)), seed: String(i) },
      });
      const metrics = METRICS.flatMap((key, k) =>
        Array.from({ length: STEPS }, (_, step) => ({
          key,
          value: (k + 1) * Math.exp(-step / (10 + i / 5)) + i / 1000,
          step,
          timestamp: t0 + step * 1000,
        })),
      );
      await s.call('POST', 'runs/log-batch', { run_id: runId, metrics });
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return grid;
}

/** Why the CJK-and-emoji test cannot run here: scripts/services/chromium.sh installs the fonts. */
function missingFonts(): string | false {
  let list = '';
  try {
    list = execFileSync('fc-list', { encoding: 'utf8' });
  } catch {
    return 'fc-list is not available';
  }
  return list.includes('WenQuanYi Micro Hei') && list.includes('Noto Color Emoji')
    ? false
    : 'no CJK (WenQuanYi Micro Hei) or emoji (Noto Color Emoji) font installed';
}

describe('experiment page: headers, chart grid, colours', { skip: skipWithoutChromium() }, () => {
  let server: TestServer;
  let browser: Browser;
  let seeder: Seeder;
  let grid: string;
  let formats: string;

  before(async () => {
    server = await startTestServer('sqlite');
    seeder = new Seeder(server.url);
    grid = await seedGrid(seeder);
    formats = await seeder.experiment('Formats');
    await seeder.run(formats, {
      name: 'tiny-and-infinite',
      params: { lr: '0.01' },
      // MLflow's clients send +inf as the largest double after the store has clamped it.
      metrics: { lr: 0.000377354, inf: 1.7976931348623157e308, acc: 0.912345678 },
      tags: { team: 'growth' },
    });
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

  test('runs table: grouped Metrics / Parameters / Tags headers, significant digits, +Inf', async () => {
    const cols = 'tag:team,param:lr,metric:lr,attr:status,metric:inf,metric:acc';
    const page = await open(`/runs?ids=${formats}&cols=${cols}`);
    const table = page.getByRole('grid', { name: 'Runs' });
    await table.getByRole('link', { name: 'tiny-and-infinite' }).waitFor();
    const groups = await page
      .locator('.vt-groups [role=columnheader]')
      .evaluateAll((els) => els.map((e) => `${e.textContent}/${e.getAttribute('aria-colspan')}`));
    // Name, select and status share an unlabelled span; then each kind once, in a fixed order.
    assert.deepEqual(groups, ['/3', 'Metrics/3', 'Parameters/1', 'Tags/1']);
    const headers = await page.locator('.vt-head [role=columnheader]').allTextContents();
    assert.deepEqual(headers.slice(2), ['Status', 'lr', 'inf', 'acc', 'lr', 'team']);
    const cells = await page.locator('.vt-row [role=gridcell]').allTextContents();
    assert.deepEqual(cells.slice(2), ['✓ FINISHED', '3.774e-4', '+Inf', '0.9123', '0.01', 'growth']);
    // The tooltip keeps every digit.
    assert.equal(await page.getByText('3.774e-4').getAttribute('title'), '0.000377354');
    await screenshot(page, 'runs-grouped-headers');
    await page.close();
  });

  test('CJK and emoji text falls back to fonts that have the glyphs', { skip: missingFonts() }, async () => {
    const name = '训练 実験 모델 🚀✨';
    const { runId } = await seeder.run(formats, { name, params: { 说明: '学习率 🔥' } });
    const page = await open(`/runs/${runId}`);
    const heading = page.getByRole('heading', { name, level: 1 });
    await heading.waitFor();
    // Chromium reports which platform fonts drew a node's glyphs; a glyph no font has would be
    // drawn by the last resort (as a box), so every family used must be one the stack names.
    const cdp = await page.context().newCDPSession(page);
    const { root } = await cdp.send('DOM.getDocument');
    const { nodeId } = await cdp.send('DOM.querySelector', {
      nodeId: root.nodeId,
      selector: '.page-head h1',
    });
    await cdp.send('CSS.enable');
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    const families = fonts.map((f) => f.familyName);
    assert.ok(families.includes('WenQuanYi Micro Hei'), `CJK font: ${families.join(', ')}`);
    assert.ok(families.includes('Noto Color Emoji'), `emoji font: ${families.join(', ')}`);
    const glyphs = fonts.reduce((n, f) => n + f.glyphCount, 0);
    assert.equal(glyphs, [...name].length, 'every character drawn once');
    const box = await heading.boundingBox();
    assert.ok(box && box.height < 60, 'the name stays on one line');
    await page.setViewportSize({ width: 1440, height: 900 });
    await screenshot(page, 'run-cjk-emoji');
    await page.close();
  });

  test('experiment list: the ID column sits on the same baseline as the name', async () => {
    const page = await open('/');
    const row = page.getByRole('row').filter({ hasText: 'Formats' });
    await row.waitFor();
    // Each cell's baseline, probed with an empty inline-block (which sits on the baseline): the name is
    // a link in the body font, the id monospace and smaller.
    const baselines = await row.evaluate((tr) =>
      Array.from(tr.querySelectorAll('td'))
        .slice(1, 3)
        .map((td) => {
          const probe = document.createElement('span');
          probe.style.cssText = 'display:inline-block;width:0;height:0';
          td.append(probe);
          const y = probe.getBoundingClientRect().top;
          probe.remove();
          return y;
        }),
    );
    assert.ok(Math.abs(baselines[0] - baselines[1]) < 0.5, `name and id baselines: ${baselines.join(', ')}`);
    await screenshot(page, 'experiments-aligned');
    await page.close();
  });

  test('charts tab: a card per metric for 100 runs x 20 metrics, drawn at once', async () => {
    const page = await open(`/runs?ids=${grid}`);
    await page.getByRole('grid', { name: 'Runs' }).getByRole('link', { name: 'run-099' }).waitFor();
    const started = performance.now();
    await page.getByRole('tab', { name: 'Charts' }).click();
    await page.waitForFunction(
      (n) => document.querySelectorAll('.chart-card .card-chart[data-drawn]').length === n,
      METRICS.length,
      { timeout: 20_000 },
    );
    const ms = performance.now() - started;
    const requests = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .filter((e) => e.name.includes('-bulk-interval'))
        .map((e) => `${Math.round(e.startTime)}+${Math.round(e.duration)}`),
    );
    console.log(`history requests (ms): ${requests.join(' ')}`);
    console.log(`chart grid: ${METRICS.length} metrics x ${RUNS} runs drawn in ${ms.toFixed(0)} ms`);
    assert.match(page.url(), /tab=charts/);
    const titles = await page.locator('.chart-card h3').allTextContents();
    assert.deepEqual(titles, METRICS);
    // Every card drew every step, for every run (the legend lists the runs charted).
    const drawn = await page.locator('.card-chart').evaluateAll((els) => els.map((e) => e.dataset.drawn));
    assert.deepEqual(
      drawn,
      METRICS.map(() => String(STEPS)),
    );
    assert.equal(await page.locator('.run-legend li').count(), RUNS);
    // One colour per run, all different, and no per-chart legends.
    const colours = await page
      .locator('.run-legend input[type=color]')
      .evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    assert.equal(new Set(colours).size, RUNS, 'every charted run has its own colour');
    assert.equal(await page.locator('.chart-card .u-legend').count(), 0);
    await screenshot(page, 'charts-grid');

    // Hovering a run in the legend highlights it and fades the others.
    await page.locator('.run-legend li').nth(3).hover();
    assert.equal(await page.locator('.run-legend li.highlighted').count(), 1);
    assert.equal(await page.locator('.run-legend li.faded').count(), RUNS - 1);
    await page.mouse.move(0, 0);
    await page.close();
  });

  test('charts tab: cards removed, reordered, resized and added; the layout is saved per experiment', async () => {
    const page = await open(`/runs?ids=${grid}&tab=charts`);
    await page.locator('.chart-card[data-card="line:m00"] .card-chart[data-drawn]').waitFor();
    await page.getByRole('button', { name: 'Remove m19' }).click();
    await page.getByRole('button', { name: 'Move m00 later' }).click();
    await page.getByRole('button', { name: 'Resize m01 (now medium)' }).click();
    await page.getByLabel('Chart kind').selectOption('bar');
    await page.getByLabel('Chart metric').selectOption('m05');
    await page.getByRole('button', { name: 'Add chart' }).click();
    await page.getByLabel('Chart kind').selectOption('scatter');
    await page.getByLabel('Scatter X').selectOption('param:lr');
    await page.getByLabel('Scatter Y').selectOption('metric:m00');
    await page.getByRole('button', { name: 'Add chart' }).click();
    const expected = [
      'line:m01',
      'line:m00',
      ...METRICS.slice(2, 19).map((m) => `line:${m}`),
      'bar:m05',
      'scatter:param:lr:metric:m00',
    ];
    const cards = () =>
      page.locator('.chart-card').evaluateAll((els) => els.map((e) => e.getAttribute('data-card')));
    assert.deepEqual(await cards(), expected);
    assert.match(
      (await page.locator('.chart-card[data-card="line:m01"]').getAttribute('class')) ?? '',
      /size-l/,
    );
    assert.equal(await page.locator('.chart-card[data-card="bar:m05"] rect').count(), RUNS);
    assert.equal(await page.locator('.chart-card[data-card^="scatter"] circle').count(), RUNS);
    assert.ok(new URL(page.url()).searchParams.get('charts'), 'the layout is in the URL');
    await screenshot(page, 'charts-grid-edited');

    // Without the link's layout, the saved one comes back for this experiment.
    await page.goto(`${server.url}/runs?ids=${grid}&tab=charts`);
    await page.locator('.chart-card').first().waitFor();
    assert.deepEqual(await cards(), expected);
    // Drag and drop moves a card to where another is (here the scatter card onto its neighbour).
    await page
      .locator('.chart-card[data-card^="scatter"] .card-head')
      .dragTo(page.locator('.chart-card[data-card="bar:m05"] .card-head'));
    assert.deepEqual((await cards()).slice(-2), ['scatter:param:lr:metric:m00', 'bar:m05']);
    // Reset goes back to one line card per metric and forgets the saved layout.
    await page.getByRole('button', { name: 'Reset layout' }).click();
    assert.deepEqual(
      await cards(),
      METRICS.map((m) => `line:${m}`),
    );
    assert.equal(new URL(page.url()).searchParams.get('charts'), null);
    await page.close();
  });

  test('charts tab: the selection is charted, and a run keeps the colour the user gives it', async () => {
    const page = await open(`/runs?ids=${grid}`);
    const table = page.getByRole('grid', { name: 'Runs' });
    await table.getByRole('link', { name: 'run-099' }).waitFor();
    await page.getByLabel('Select run run-098').check();
    await page.getByLabel('Select run run-097').check();
    await page.getByRole('tab', { name: 'Charts' }).click();
    await page.locator('.chart-card .card-chart[data-drawn]').first().waitFor();
    assert.deepEqual(await page.locator('.run-legend li').allTextContents(), ['run-098', 'run-097']);
    await page.getByLabel('Colour of run-097').fill('#ff0000');
    await page.reload();
    await page.locator('.run-legend li').first().waitFor();
    assert.equal(await page.getByLabel('Colour of run-097').inputValue(), '#ff0000');
    await page.close();
  });

  test("metric chart page: one legend (uPlot's own), the runs still linked", async () => {
    const runs = await seeder.call('POST', 'runs/search', { experiment_ids: [grid], max_results: 5 });
    const ids = runs.runs.map((r: { info: { run_id: string } }) => r.info.run_id).join(',');
    const page = await open(`/metrics?runs=${ids}&key=m00`);
    await page.locator('.chart[data-drawn]').waitFor();
    assert.equal(await page.locator('.u-legend').count(), 1);
    assert.equal(await page.locator('.legend-links').count(), 0, 'no second legend under the chart');
    assert.equal(await page.locator('.run-links a').count(), 5, 'the runs are still linked');
    await screenshot(page, 'metric-chart-one-legend');
    await page.close();
  });
});
