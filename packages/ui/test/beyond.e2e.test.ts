// End-to-end tests of the UI's "beyond MLflow" features in Chromium: runs grouped by a param or tag
// (table and chart grid), the artifact viewers (image steps, text, CSV and Parquet tables, sandboxed
// HTML), cross-experiment compare and live updates. Screenshots go to test-results/ui-screenshots/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../../server/test/helpers.js';
import { launchChromium, screenshot, skipWithoutChromium } from './browser.js';
import { Seeder } from './seed.js';

const LRS = ['0.1', '0.01', '0.001'];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A 64x64 RGB PNG, white with a coloured square whose place tells the step it was drawn for. */
function png(step: number): Buffer {
  const size = 64;
  const raw = Buffer.alloc(size * (size * 3 + 1), 255);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      if (x >= step * 10 && x < step * 10 + 14 && y >= 25 && y < 39) {
        const o = y * (size * 3 + 1) + 1 + x * 3;
        raw[o] = 31;
        raw[o + 1] = 119;
        raw[o + 2] = 180;
      }
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * An HTML report whose script records what the sandbox let it do: its origin, reaching the parent
 * page, reading cookies, calling the server's API.
 */
const REPORT = `<!doctype html><html><head><style>body{font:14px sans-serif}</style></head><body>
<h1>Evaluation report</h1><ul id="out"></ul>
<script>
const out = (k, v) => { const li = document.createElement('li'); li.id = k; li.textContent = k + ': ' + v; document.getElementById('out').append(li); };
out('origin', String(self.origin));
try { out('parent', parent.document.title); } catch (e) { out('parent', 'blocked'); }
try { out('cookie', document.cookie === '' ? 'empty' : document.cookie); } catch (e) { out('cookie', 'blocked'); }
fetch('/api/2.0/mlflow/experiments/search?max_results=1').then(() => out('fetch', 'allowed'), () => out('fetch', 'blocked'));
</script></body></html>`;

describe('beyond MLflow: grouping, artifact viewers, cross-experiment compare, live', {
  skip: skipWithoutChromium(),
}, () => {
  let server: TestServer;
  let browser: Browser;
  let seeder: Seeder;
  let sweep: string;
  let artifactsRun: string;
  let other: string;
  const ids = new Map<string, string>();

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
        ids.set(`lr${lr}-${i}`, runId);
        await seeder.history(
          runId,
          'loss',
          Array.from({ length: 10 }, (_, j) => g * 10 + i + (9 - j)),
          t0,
        );
      }
    await seeder.run(sweep, { name: 'no-lr', startTime: t0 + 100, metrics: { loss: 50 } });

    other = await seeder.experiment('Other team');
    for (const name of ['other-a', 'other-b', 'other-c'])
      ids.set(
        name,
        (await seeder.run(other, { name, params: { lr: '0.5', layers: '4' }, metrics: { loss: 0.25 } }))
          .runId,
      );

    const viewers = await seeder.experiment('Viewers');
    const made = await seeder.run(viewers, { name: 'artifacts' });
    artifactsRun = made.runId;
    // Names with '%' and '#' (as MLflow's image names have) are sent percent-encoded.
    const put = (p: string, body: string | Buffer) =>
      seeder.artifact(made.artifactUri, p.split('/').map(encodeURIComponent).join('/'), body);
    // MLflow's log_image(key="pred", step=s): each image has a compressed copy; step 2 was logged
    // twice (the later one wins).
    for (const step of [0, 1, 2, 3, 4]) {
      const stem = `images/pred%step%${step}%timestamp%${1000 + step}%uuid${step}`;
      await put(`${stem}.png`, png(step));
      await put(`${stem}%compressed.webp`, png(step));
    }
    await put('images/pred%step%2%timestamp%900%older.png', png(0));
    await put('images/logo.png', png(1));
    await put('notes/readme.txt', 'plain text notes\nline two');
    const csv = ['id,name,score', ...Array.from({ length: 250 }, (_, i) => `${i},"row, ${i}",${i / 10}`)];
    await put('tables/scores.csv', `${csv.join('\n')}\n`);
    // Over the 2 MB preview limit: only its start is read.
    const big = ['n,text', ...Array.from({ length: 60_000 }, (_, i) => `${i},${'x'.repeat(40)}`)];
    await put('tables/big.csv', `${big.join('\n')}\n`);
    const n = 250;
    const parquet = parquetWriteBuffer({
      columnData: [
        { name: 'id', data: Array.from({ length: n }, (_, i) => BigInt(i)), type: 'INT64' },
        { name: 'label', data: Array.from({ length: n }, (_, i) => `label-${i}`), type: 'STRING' },
        { name: 'prob', data: Array.from({ length: n }, (_, i) => i / n), type: 'DOUBLE' },
      ],
      rowGroupSize: 100,
    });
    await put('tables/preds.parquet', Buffer.from(parquet));
    await put('reports/eval.html', REPORT);
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

  test('artifact viewer: image steps, text, paged CSV and Parquet, a sandboxed HTML report', async () => {
    // A link to one image of a series opens it with the slider (its folder open in the tree).
    const linked = encodeURIComponent('images/pred%step%3%timestamp%1003%uuid3.png');
    const page = await open(`/runs/${artifactsRun}?tab=artifacts&path=${linked}`);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(`${r.method()} ${r.url()} ${r.headers().range ?? ''}`));
    const tree = page.getByRole('tree', { name: 'Artifacts' });
    const slider = page.getByRole('slider', { name: 'Step' });
    await slider.waitFor();
    // Five steps (step 2 once, the later image), full-size images only.
    assert.equal(await slider.getAttribute('max'), '4');
    assert.ok(await page.getByText('Step 3 (4 of 5)').isVisible());
    assert.ok(await page.getByText('pred', { exact: true }).isVisible());
    await page.getByRole('button', { name: 'Next step' }).click();
    await page.getByText('Step 4 (5 of 5)').waitFor();
    await page.waitForURL(/path=images%2Fpred%25step%254%25/);
    await slider.fill('2');
    await page.getByText('Step 2 (3 of 5)').waitFor();
    const img = page.locator('.image-steps img.preview-image');
    assert.match((await img.getAttribute('src')) ?? '', /step%252%25timestamp%251002%25uuid2\.png/);
    await page.waitForFunction(() => {
      const i = document.querySelector<HTMLImageElement>('.image-steps img.preview-image');
      return i?.complete && i.naturalWidth === 64;
    });
    await page.keyboard.press('ArrowLeft');
    await page.getByText('Step 1 (2 of 5)').waitFor();
    await screenshot(page, 'beyond-image-steps');
    // An image of no series has no slider.
    await tree.getByText('logo.png').click();
    await page.locator('img.preview-image[alt="images/logo.png"]').waitFor();
    assert.equal(await slider.count(), 0);

    // Text.
    await tree.getByText('notes', { exact: true }).click();
    await tree.getByText('readme.txt').click();
    await page.getByText('plain text notes').waitFor();

    // CSV: 250 rows in pages of 100, quoted commas kept.
    await tree.getByText('tables', { exact: true }).click();
    await tree.getByText('scores.csv').click();
    const csv = page.getByRole('table', { name: 'CSV preview' });
    await csv.waitFor();
    assert.ok(await page.getByText('Rows 1–100 of 250').isVisible());
    assert.deepEqual(await csv.locator('tbody tr').first().locator('td').allTextContents(), [
      '1',
      '0',
      'row, 0',
      '0',
    ]);
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.getByText('Rows 101–200 of 250').waitFor();
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.getByText('Rows 201–250 of 250').waitFor();
    assert.equal(await csv.locator('tbody tr').count(), 50);
    assert.equal(await page.getByRole('button', { name: 'Next →' }).isDisabled(), true);

    // A CSV over 2 MB: only its first 2 MB are asked for, its complete rows shown.
    await tree.getByText('big.csv').click();
    await page.getByText(/^The first [\d,]+ rows \(the file's first 2/).waitFor();
    assert.ok(requests.some((r) => r.includes('big.csv') && r.endsWith('bytes=0-2097151')));

    // Parquet: read by ranges (the footer, then the row groups a page needs), paged.
    requests.length = 0;
    await tree.getByText('preds.parquet').click();
    const pq = page.getByRole('table', { name: 'Parquet preview' });
    await pq.waitFor();
    await page.getByText('Rows 1–100 of 250').waitFor();
    assert.deepEqual(await pq.locator('thead th').allTextContents(), ['#', 'id', 'label', 'prob']);
    assert.deepEqual(await pq.locator('tbody tr').nth(3).locator('td').allTextContents(), [
      '4',
      '3',
      'label-3',
      '0.012',
    ]);
    assert.ok(await page.getByText('3 columns, 3 row group(s).').isVisible());
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.getByText('Rows 101–200 of 250').waitFor();
    assert.deepEqual(await pq.locator('tbody tr').first().locator('td').allTextContents(), [
      '101',
      '100',
      'label-100',
      '0.4',
    ]);
    const ranged = requests.filter((r) => r.includes('preds.parquet'));
    // A small file's footer read (the last 512 KB) already covers it: one ranged request, cached.
    assert.ok(ranged.length >= 1 && ranged.every((r) => / bytes=\d+-\d+$/.test(r)), ranged.join('\n'));
    await screenshot(page, 'beyond-parquet');
    // A link straight to the file: its size is not known from a listing, so it is asked for (HEAD).
    const direct = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await direct.goto(`${server.url}/runs/${artifactsRun}?tab=artifacts&path=tables%2Fpreds.parquet`);
    await direct.getByText('Rows 1–100 of 250').waitFor();
    await direct.close();

    // HTML: a sandboxed frame (scripts, no same origin), the page served under the CSP.
    await tree.getByText('reports', { exact: true }).click();
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/get-artifact-html')),
      tree.getByText('eval.html').click(),
    ]);
    assert.match(response.headers()['content-security-policy'] ?? '', /^sandbox allow-scripts;/);
    const frame = page.locator('iframe.html-report');
    assert.equal(await frame.getAttribute('sandbox'), 'allow-scripts');
    const inside = page.frameLocator('iframe.html-report');
    await inside.getByRole('heading', { name: 'Evaluation report' }).waitFor();
    await inside.locator('#fetch').waitFor();
    assert.deepEqual(await inside.locator('#out li').allTextContents(), [
      'origin: null',
      'parent: blocked',
      'cookie: blocked',
      'fetch: blocked',
    ]);
    await screenshot(page, 'beyond-html-report');
    await page.close();
  });

  test('cross-experiment compare: runs picked from another experiment, removed, the list in the URL', async () => {
    const first = ids.get('lr0.1-1') as string;
    const page = await open(`/compare?runs=${first}`);
    await page.getByRole('heading', { name: 'Compare 1 run' }).waitFor();
    await page.getByText('Add runs from any experiment').click();
    await page.getByLabel('Experiment to pick runs from').selectOption({ label: 'Other team' });
    await page.waitForURL(new RegExp(`pick=${other}`));
    const listed = page.getByRole('list', { name: 'Runs to pick' });
    await listed.getByText('other-a').waitFor();
    // Narrowed by name on the server.
    await page.getByLabel('Run name contains').fill('-b');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.waitForFunction(
      () => document.querySelectorAll('[aria-label="Runs to pick"] li').length === 1,
    );
    await listed.getByLabel(/other-b/).check();
    await page.getByRole('button', { name: 'Add 1 to the comparison' }).click();
    await page.waitForURL(new RegExp(`runs=${first}%2C${ids.get('other-b')}`));
    await page.getByRole('heading', { name: 'Compare 2 runs from 2 experiments' }).waitFor();
    // Each column names its experiment; the params of both are side by side.
    const params = page.getByRole('region', { name: 'Parameters' });
    await params.locator('.run-experiment').getByText('Other team').waitFor();
    assert.deepEqual(await params.locator('.run-experiment').allTextContents(), ['Sweep', 'Other team']);
    const lrRow = params.locator('tbody tr').filter({ hasText: /^lr/ });
    assert.deepEqual(await lrRow.locator('td').allTextContents(), ['lr (differs)', '0.1', '0.5']);
    // The picker marks runs already compared.
    await page.getByLabel('Run name contains').fill('');
    await page.getByRole('button', { name: 'Find' }).click();
    await listed.getByText('(compared)').waitFor();
    // A third run, from the first experiment again.
    await page.getByLabel('Experiment to pick runs from').selectOption({ label: 'Sweep' });
    await listed.getByLabel(/lr0\.001-2/).check();
    await page.getByRole('button', { name: 'Add 1 to the comparison' }).click();
    await page.getByRole('heading', { name: 'Compare 3 runs from 2 experiments' }).waitFor();
    await screenshot(page, 'beyond-cross-experiment-compare');

    // Removing a run, then Back to undo it; a reload of the link gives the same comparison.
    await params.getByRole('button', { name: 'Remove other-b from the comparison' }).click();
    await page.getByRole('heading', { name: 'Compare 2 runs', exact: true }).waitFor();
    await page.goBack();
    await page.getByRole('heading', { name: 'Compare 3 runs from 2 experiments' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Compare 3 runs from 2 experiments' }).waitFor();
    await params.locator('.run-experiment').getByText('Other team').waitFor();
    assert.deepEqual(await params.locator('.run-experiment').allTextContents(), [
      'Sweep',
      'Other team',
      'Sweep',
    ]);
    await page.close();
  });

  test('live: the chart grid and the runs table follow a running run and show new runs, no reload', async () => {
    const exp = await seeder.experiment('Live');
    const t0 = Date.now() - 60_000;
    const { runId: running } = await seeder.run(exp, { name: 'live-a', startTime: t0, status: 'RUNNING' });
    const { runId: done } = await seeder.run(exp, { name: 'done-b', startTime: t0 - 1000 });
    const steps = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => ({
        key: 'loss',
        value: from + i,
        step: from + i,
        timestamp: t0 + i,
      }));
    await seeder.call('POST', 'runs/log-batch', { run_id: running, metrics: steps(0, 5) });
    await seeder.call('POST', 'runs/log-batch', { run_id: done, metrics: steps(0, 5) });

    const page = await open(`/runs?ids=${exp}&tab=charts&cols=attr:status,metric:loss`);
    await page.waitForFunction(
      () =>
        document
          .querySelector('.chart-card[data-card="line:loss"] .card-chart')
          ?.getAttribute('data-drawn') === '5',
    );
    // From here on, every request is the live updates'.
    const searches: string[] = [];
    const histories: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/runs/search')) searches.push(r.postData() ?? '');
      if (r.url().includes('get-histories-bulk-interval')) histories.push(decodeURIComponent(r.url()));
    });

    // The run logs five more steps: the card redraws with them, asking for that run's histories only.
    await seeder.call('POST', 'runs/log-batch', { run_id: running, metrics: steps(5, 10) });
    await page.waitForFunction(
      () =>
        document
          .querySelector('.chart-card[data-card="line:loss"] .card-chart')
          ?.getAttribute('data-drawn') === '10',
      undefined,
      { timeout: 15_000 },
    );
    assert.equal(histories.length, 1, histories.join('\n'));
    assert.match(histories[0], new RegExp(`run_ids=${running}`));
    assert.doesNotMatch(histories[0], new RegExp(done));
    await screenshot(page, 'beyond-live-charts');

    // The table (same page, no reload) has the new latest value; a new run appears; the run ends.
    await page.getByRole('tab', { name: 'Runs' }).click();
    const table = page.getByRole('grid', { name: 'Runs' });
    const row = (name: string) => page.getByRole('row').filter({ has: page.getByRole('link', { name }) });
    await row('live-a').getByRole('gridcell', { name: '9', exact: true }).waitFor();
    await seeder.run(exp, { name: 'new-c', startTime: Date.now(), metrics: { loss: 0.5 } });
    await table.getByRole('link', { name: 'new-c' }).waitFor({ timeout: 15_000 });
    await seeder.call('POST', 'runs/update', { run_id: running, status: 'FINISHED', end_time: Date.now() });
    await row('live-a').getByText('FINISHED').waitFor({ timeout: 15_000 });
    await screenshot(page, 'beyond-live-table');
    // Polls are filtered searches (running runs, runs started later, runs that stopped running); the
    // list itself was loaded once.
    const polls = searches.map((b) => JSON.parse(b) as { filter?: string; max_results?: number });
    assert.ok(polls.length >= 3);
    for (const p of polls)
      assert.match(
        p.filter ?? '',
        /attributes\.status = 'RUNNING'|attributes\.start_time > \d+|attributes\.run_id IN/,
      );
    assert.equal(await page.locator('.vt-row').count(), 3);

    // Live off (live=0): no more polls.
    await page.getByRole('checkbox', { name: /Live/ }).uncheck();
    await page.waitForURL(/live=0/);
    const before = searches.length;
    await page.waitForTimeout(7000);
    assert.equal(searches.length, before);
    await page.close();
  });
});
