// End-to-end tests of the trace views: Chromium against a real server on a fresh SQLite store. Traces
// are seeded as clients send them (spans over OTLP/JSON to /v1/traces, records through StartTraceV3);
// assessments edited in the page are read back through the API. Screenshots (1440x900) go to
// test-results/ui-screenshots/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page, Request } from 'playwright-core';
import { startTestServer, type TestServer } from '../../server/test/helpers.js';
import { launchChromium, screenshot, skipWithoutChromium } from './browser.js';
import { Seeder } from './seed.js';

const MS = 1_000_000n;
/** Fractional milliseconds as nanoseconds. */
const ns = (ms: number) => BigInt(Math.round(ms * 1000)) * 1000n;
const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');
const str = (v: unknown) => ({ stringValue: JSON.stringify(v) });

interface SpanSpec {
  id: number;
  parent?: number;
  name: string;
  /** Milliseconds from the trace's start. */
  start: number;
  end: number;
  type?: string;
  inputs?: unknown;
  outputs?: unknown;
  error?: string;
  attributes?: Record<string, unknown>;
  events?: { name: string; at: number; attributes?: Record<string, unknown> }[];
}

function otlpSpan(traceHex: string, t0: bigint, s: SpanSpec) {
  const attributes = [
    ...(s.type ? [{ key: 'mlflow.spanType', value: str(s.type) }] : []),
    ...(s.inputs === undefined ? [] : [{ key: 'mlflow.spanInputs', value: str(s.inputs) }]),
    ...(s.outputs === undefined ? [] : [{ key: 'mlflow.spanOutputs', value: str(s.outputs) }]),
    ...Object.entries(s.attributes ?? {}).map(([key, v]) => ({ key, value: str(v) })),
  ];
  return {
    traceId: traceHex,
    spanId: hex(s.id, 16),
    parentSpanId: s.parent === undefined ? undefined : hex(s.parent, 16),
    name: s.name,
    startTimeUnixNano: String(t0 + ns(s.start)),
    endTimeUnixNano: String(t0 + ns(s.end)),
    attributes,
    events: (s.events ?? []).map((e) => ({
      name: e.name,
      timeUnixNano: String(t0 + ns(e.at)),
      attributes: Object.entries(e.attributes ?? {}).map(([key, v]) => ({
        key,
        value: { stringValue: String(v) },
      })),
    })),
    status: s.error ? { code: 2, message: s.error } : { code: 1 },
  };
}

async function sendSpans(url: string, experimentId: string, spans: unknown[]): Promise<void> {
  const r = await fetch(`${url}/v1/traces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-mlflow-experiment-id': experimentId },
    body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }),
  });
  assert.equal(r.status, 200, await r.text());
}

async function v3<T = any>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`${url}/api/3.0/mlflow/${path}`, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : undefined,
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  assert.equal(r.status, 200, `${path}: ${text}`);
  return JSON.parse(text) as T;
}

const CHAT_HEX = 'c0ffee00000000000000000000000001';
const CHAT = `tr-${CHAT_HEX}`;
const FAIL = `tr-${'0bad'.padEnd(32, '0')}`;
const BIG = `tr-${'b19'.padEnd(32, '0')}`;
const BULK = 1_500;

describe('trace views end to end', { skip: skipWithoutChromium() }, () => {
  let server: TestServer;
  let browser: Browser;
  let exp: string;
  let runId: string;

  before(async () => {
    server = await startTestServer('sqlite');
    const seeder = new Seeder(server.url);
    exp = await seeder.experiment('Agent traces');
    runId = (await seeder.run(exp, { name: 'eval-run' })).runId;
    const now = BigInt(Date.now()) * MS;

    // A chat agent: nested spans, an LLM call with token counts, a failed tool call with an event.
    await v3(server.url, 'POST', 'traces', {
      trace: {
        trace_info: {
          trace_id: CHAT,
          trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: exp } },
          request_time: new Date(Number((now - 60_000n * MS) / MS)).toISOString(),
          execution_duration: '1s',
          state: 'OK',
          trace_metadata: {
            'mlflow.trace.tokenUsage': '{"input_tokens": 120, "output_tokens": 30, "total_tokens": 150}',
            'mlflow.sourceRun': runId,
          },
          tags: { team: 'search' },
        },
      },
    });
    const t0 = now - 60_000n * MS;
    await sendSpans(
      server.url,
      exp,
      [
        {
          id: 1,
          name: 'agent',
          start: 0,
          end: 1000,
          type: 'CHAIN',
          inputs: { question: 'What is MLflow?' },
          outputs: 'An ML lifecycle platform.',
        },
        { id: 2, parent: 1, name: 'retrieve', start: 100, end: 300, type: 'RETRIEVER', inputs: { k: 3 } },
        { id: 3, parent: 2, name: 'embed', start: 120, end: 180, type: 'EMBEDDING' },
        {
          id: 4,
          parent: 1,
          name: 'llm',
          start: 300,
          end: 800,
          type: 'LLM',
          inputs: { messages: [{ role: 'user', content: 'What is MLflow?' }], temperature: 0.2 },
          outputs: { choices: [{ message: { role: 'assistant', content: 'An ML lifecycle platform.' } }] },
          attributes: {
            model: 'gpt-test',
            'mlflow.chat.tokenUsage': { input_tokens: 120, output_tokens: 30 },
          },
        },
        {
          id: 5,
          parent: 1,
          name: 'lookup_tool',
          start: 800,
          end: 950,
          type: 'TOOL',
          error: 'timeout calling the index',
          events: [{ name: 'exception', at: 940, attributes: { 'exception.message': 'timeout' } }],
        },
      ].map((s) => otlpSpan(CHAT_HEX, t0, s)),
    );

    // A trace whose root failed.
    await sendSpans(server.url, exp, [
      otlpSpan(FAIL.slice(3), now - 30_000n * MS, {
        id: 1,
        name: 'failing',
        start: 0,
        end: 2500,
        inputs: { q: 'crash' },
        error: 'boom',
      }),
    ]);

    // A trace of 10,000 spans: a root, 99 steps, 100 calls under each step.
    const big: unknown[] = [];
    const tb = now - 10_000n * MS;
    big.push(
      otlpSpan(BIG.slice(3), tb, { id: 1, name: 'big-root', start: 0, end: 5000, inputs: { q: 'big' } }),
    );
    for (let i = 0; i < 99; i++) {
      const step = 2 + i * 101;
      big.push(
        otlpSpan(BIG.slice(3), tb, {
          id: step,
          parent: 1,
          name: `step-${i}`,
          start: i * 50,
          end: i * 50 + 50,
        }),
      );
      for (let j = 0; j < 100; j++)
        big.push(
          otlpSpan(BIG.slice(3), tb, {
            id: step + 1 + j,
            parent: step,
            name: `call-${i}-${j}`,
            start: i * 50 + j * 0.5,
            end: i * 50 + j * 0.5 + 0.5,
            inputs: { i, j },
          }),
        );
    }
    assert.equal(big.length, 10_000);
    await sendSpans(server.url, exp, big);

    // Many small traces, one root span each, older than the ones above, latencies 1..997 ms.
    const t1 = now - 10_000_000n * MS;
    for (let b = 0; b < BULK; b += 500) {
      const spans = [];
      for (let i = b; i < b + 500; i++)
        spans.push(
          otlpSpan(hex(0xa0000 + i, 32), t1 + BigInt(i) * 1000n * MS, {
            id: 1,
            name: `bulk-${i}`,
            start: 0,
            end: (i % 997) + 1,
            inputs: { n: i },
            outputs: `done ${i}`,
          }),
        );
      await sendSpans(server.url, exp, spans);
    }
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

  const firstCells = (page: Page, column: number) =>
    page.locator('.vt-row').evaluateAll(
      (rows, c) =>
        rows
          .map((r) => ({
            y: Number(/translateY\((\d+)px\)/.exec((r as HTMLElement).style.transform)?.[1]),
            text: r.querySelectorAll('[role=gridcell]')[c]?.textContent ?? '',
          }))
          .sort((a, b) => a.y - b.y)
          .map((r) => r.text),
      column,
    );

  test('traces tab: the table, previews, tokens, tags, run link; sorting on the server; paging as it scrolls', async () => {
    const page = await open(`/runs?ids=${exp}`);
    const searches: Request[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/ajax-api/3.0/mlflow/traces/search')) searches.push(r);
    });
    await page.getByRole('tab', { name: 'Traces' }).click();
    await page.waitForURL(/tab=traces/);
    const table = page.getByRole('grid', { name: 'Traces' });
    const chat = table.getByRole('row').filter({ hasText: CHAT });
    await chat.waitFor();
    const cells = await chat.getByRole('gridcell').allTextContents();
    assert.equal(cells[0], CHAT);
    assert.equal(cells[1], '{"question":"What is MLflow?"}');
    assert.equal(cells[2], '"An ML lifecycle platform."');
    assert.equal(cells[3], 'OK');
    assert.equal(cells[5], '1 s');
    assert.equal(cells[6], '150');
    assert.equal(await chat.locator('[title="150 (120 in / 30 out)"]').count(), 1);
    assert.equal(cells[7], 'team: search');
    assert.equal(cells[9], runId.slice(0, 8));
    const failing = await table
      .getByRole('row')
      .filter({ hasText: FAIL })
      .getByRole('gridcell')
      .allTextContents();
    assert.equal(failing[3], 'ERROR');
    assert.equal(failing[5], '2.5 s');
    // Newest first by default: the three recent traces, then the bulk ones newest first.
    assert.deepEqual((await firstCells(page, 0)).slice(0, 4), [
      BIG,
      FAIL,
      CHAT,
      `tr-${hex(0xa0000 + BULK - 1, 32)}`,
    ]);
    await page.getByText('100+ traces').waitFor();
    await screenshot(page, 'traces-tab');

    // Only the rows in view are in the page, and a page is fetched only when the table nears its end.
    assert.ok((await page.locator('.vt-row').count()) < 60);
    assert.equal(searches.length, 1);
    const body = JSON.parse(searches[0].postData() ?? '{}');
    assert.equal(body.max_results, 100);
    const scroller = page.locator('.traces-tab .vt');
    await scroller.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await page.getByText('200+ traces').waitFor();
    assert.equal(searches.length, 2);
    assert.ok(
      JSON.parse(searches[1].postData() ?? '{}').page_token,
      'the second page is asked for with a token',
    );
    assert.ok((await page.locator('.vt-row').count()) < 60);
    await scroller.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await page.getByText('300+ traces').waitFor();
    assert.equal(searches.length, 3, 'one request per page, never all the traces');

    // Sorting by latency happens on the server, both ways, and goes into the URL.
    await page.getByRole('button', { name: 'Latency' }).click();
    await page.waitForURL(/torder=execution_time_ms\+DESC/);
    await page.getByText('100+ traces').waitFor();
    await scroller.evaluate((el) => {
      el.scrollTop = 0;
    });
    await page.waitForFunction(
      (id) => document.querySelector('.vt-row [role=gridcell]')?.textContent === id,
      BIG,
    );
    assert.deepEqual((await firstCells(page, 5)).slice(0, 3), ['5 s', '2.5 s', '1 s']);
    await page.getByRole('button', { name: 'Latency' }).click();
    await page.waitForURL(/torder=execution_time_ms\+ASC/);
    await page.waitForFunction(
      () => document.querySelector('.vt-row [role=gridcell]:nth-child(6)')?.textContent === '1 ms',
    );
    await page.getByRole('button', { name: 'Request time' }).click();
    await page.waitForURL(/torder=timestamp_ms\+DESC/);
    await page.close();
  });

  test('traces tab: MLflow filter grammar, a bad filter shown inline, state kept in the URL', async () => {
    const page = await open(`/runs?ids=${exp}&tab=traces`);
    const runSearches: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/runs/search')) runSearches.push(r.url());
    });
    // Listening from the start of a load.
    await page.reload();
    await page.getByRole('heading', { name: 'Traces of Agent traces' }).waitFor();
    const filter = page.getByLabel('Filter traces (MLflow trace search syntax)');
    await filter.fill("trace.status = 'ERROR'");
    await filter.press('Enter');
    await page.waitForURL(/tfilter=/);
    await page.getByText(/^1 trace$/).waitFor();
    assert.deepEqual(await firstCells(page, 0), [FAIL]);

    await filter.fill("tags.team = 'search' AND trace.execution_time_ms >= 1000");
    await filter.press('Enter');
    await page.getByText(/^1 trace$/).waitFor();
    assert.deepEqual(await firstCells(page, 0), [CHAT]);

    await filter.fill("trace.execution_time_ms > 990 AND span.name LIKE 'bulk-%'");
    await filter.press('Enter');
    await page.waitForFunction(() =>
      /^\d+ traces$/.test(document.querySelector('.trace-count')?.textContent ?? ''),
    );
    const bulk = await firstCells(page, 5);
    assert.ok(bulk.length > 0 && bulk.every((c) => Number.parseInt(c, 10) > 990), bulk.join());

    await filter.fill('trace.nope = 1');
    await filter.press('Enter');
    await page.locator('#filter-error').waitFor();
    assert.equal(await filter.getAttribute('aria-invalid'), 'true');
    assert.match((await page.locator('#filter-error').textContent()) ?? '', /nope/);
    await page.getByText('No traces: see the message above.').waitFor();
    await screenshot(page, 'traces-filter-error');

    // A reload keeps the view; Back goes to the previous filter.
    await page.goBack();
    await page.waitForFunction(() =>
      /^\d+ traces$/.test(document.querySelector('.trace-count')?.textContent ?? ''),
    );
    assert.match(await filter.inputValue(), /span\.name LIKE/);
    assert.deepEqual(runSearches, [], 'the Traces tab loads no runs');
    await page.close();
  });

  test('drawer: span tree, waterfall bars by time, an ERROR span, inputs/outputs, attributes, events', async () => {
    const page = await open(`/runs?ids=${exp}&tab=traces`);
    await page.getByRole('button', { name: `Open ${CHAT}` }).click();
    const drawer = page.getByRole('dialog', { name: `Trace ${CHAT}` });
    await drawer.waitFor();
    assert.match(page.url(), new RegExp(`trace=${CHAT}`));
    const tree = drawer.getByRole('tree', { name: 'Spans' });
    const items = tree.getByRole('treeitem');
    await items.first().waitFor();
    assert.deepEqual(
      await items.evaluateAll((els) =>
        els.map((e) => `${e.getAttribute('aria-level')}:${e.querySelector('.wf-label')?.textContent}`),
      ),
      ['1:agent', '2:retrieve', '3:embed', '2:llm', '2:lookup_tool'],
    );
    // Bars: llm runs from 300 to 800 ms of a 1,000 ms trace.
    const bar = (name: string) =>
      tree
        .getByRole('treeitem')
        .filter({ has: page.locator('.wf-label', { hasText: new RegExp(`^${name}$`) }) })
        .locator('.wf-bar');
    const llmBar = await bar('llm').evaluate((e) => [
      (e as HTMLElement).style.left,
      (e as HTMLElement).style.width,
    ]);
    assert.deepEqual(
      llmBar.map((v) => Math.round(Number.parseFloat(v))),
      [30, 50],
    );
    assert.ok(await bar('lookup_tool').evaluate((e) => e.classList.contains('span-error')));
    assert.ok(await bar('llm').evaluate((e) => !e.classList.contains('span-error')));
    assert.match((await drawer.locator('.trace-facts').textContent()) ?? '', /150 \(120 in \/ 30 out\)/);
    await drawer.getByRole('link', { name: runId }).waitFor();

    // The root is selected first; pick the LLM call.
    await tree.getByText('llm', { exact: true }).click();
    await page.waitForURL(/span=0000000000000004/);
    const details = drawer.getByRole('region', { name: 'Span llm' });
    await details.getByText('"What is MLflow?"').waitFor();
    assert.ok(await details.getByText('"An ML lifecycle platform."').isVisible());
    // Collapse and expand the messages list.
    await details.getByRole('button', { name: 'Collapse messages' }).click();
    await details.getByText('[ 1 item ]').waitFor();
    await details.getByRole('button', { name: 'Expand messages' }).click();
    await details.getByText('"user"').waitFor();
    await details.getByRole('tab', { name: /Attributes/ }).click();
    await details.getByText('gpt-test').waitFor();
    await screenshot(page, 'trace-drawer');

    // Keyboard: Down moves to the tool span, whose error and event are shown.
    await tree.focus();
    await page.keyboard.press('ArrowDown');
    const tool = drawer.getByRole('region', { name: 'Span lookup_tool' });
    await tool.getByText('ERROR: timeout calling the index').waitFor();
    await tool.getByRole('tab', { name: 'Events (1)' }).click();
    await tool.getByText('exception', { exact: true }).waitFor();
    await tool.getByText('"timeout"').waitFor();
    // Left goes to the parent; Left again collapses it.
    await tree.focus();
    await page.keyboard.press('ArrowLeft');
    await drawer.getByRole('region', { name: 'Span agent' }).waitFor();
    await page.keyboard.press('ArrowLeft');
    assert.equal(await items.count(), 1);
    assert.equal(await items.first().getAttribute('aria-expanded'), 'false');

    // Feedback given in the drawer shows in the table's row without a reload.
    const add = drawer.getByRole('form', { name: 'Add feedback' });
    await add.getByLabel('Feedback name').fill('helpful');
    await add.getByLabel('Feedback value').fill('yes');
    await add.getByRole('button', { name: 'Add feedback' }).click();
    const row = page.getByRole('grid', { name: 'Traces' }).getByRole('row').filter({ hasText: CHAT });
    await row.getByText('helpful: yes').waitFor();
    const given = (await v3(server.url, 'GET', `traces/${CHAT}`)).trace.trace_info.assessments;
    assert.deepEqual(
      given.map((a: { assessment_name: string; feedback: { value: unknown } }) => [
        a.assessment_name,
        a.feedback.value,
      ]),
      [['helpful', 'yes']],
    );
    await v3(server.url, 'DELETE', `traces/${CHAT}/assessments/${given[0].assessment_id}`);

    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });
    assert.doesNotMatch(page.url(), /trace=/);
    await page.close();
  });

  test('trace page: assessments created, edited and deleted in the page, read back through the API', async () => {
    const page = await open(`/experiments/${exp}/traces/${CHAT}?span=0000000000000004`);
    await page.getByRole('region', { name: 'Span llm' }).waitFor();
    const panel = page.getByRole('region', { name: 'Assessments' });
    await panel.getByText('No assessments yet.').waitFor();
    const add = panel.getByRole('form', { name: 'Add feedback' });
    await add.getByLabel('Feedback name').fill('correctness');
    await add.getByLabel('Feedback value').fill('true');
    await add.getByLabel('Feedback rationale').fill('matches the docs');
    await add.getByRole('button', { name: 'Add feedback' }).click();
    await panel.getByText('correctness').waitFor();
    let info = (await v3(server.url, 'GET', `traces/${CHAT}`)).trace.trace_info;
    assert.equal(info.assessments.length, 1);
    const [created] = info.assessments;
    assert.equal(created.assessment_name, 'correctness');
    assert.equal(created.feedback.value, true);
    assert.equal(created.rationale, 'matches the docs');
    assert.equal(created.source.source_type, 'HUMAN');
    assert.equal(created.span_id, undefined);

    // Feedback on the selected span.
    await add.getByLabel('Feedback name').fill('relevance');
    await add.getByLabel('Feedback value').fill('0.5');
    await add.getByLabel('on span llm').check();
    await add.getByRole('button', { name: 'Add feedback' }).click();
    await panel.getByText('relevance').waitFor();
    info = (await v3(server.url, 'GET', `traces/${CHAT}`)).trace.trace_info;
    const relevance = info.assessments.find(
      (a: { assessment_name: string }) => a.assessment_name === 'relevance',
    );
    assert.equal(relevance.feedback.value, 0.5);
    assert.equal(relevance.span_id, '0000000000000004');

    // Edit the first: its value and rationale change on the server.
    await panel.getByRole('button', { name: 'Edit correctness' }).click();
    const edit = panel.getByRole('form', { name: 'Edit correctness' });
    await edit.getByLabel('Value').fill('false');
    await edit.getByLabel('Rationale').fill('misses the registry');
    await edit.getByRole('button', { name: 'Save' }).click();
    await panel.getByText('misses the registry').waitFor();
    const updated = (await v3(server.url, 'GET', `traces/${CHAT}/assessments/${created.assessment_id}`))
      .assessment;
    assert.equal(updated.feedback.value, false);
    assert.equal(updated.rationale, 'misses the registry');
    await screenshot(page, 'trace-page');

    // The table's assessment column shows them.
    const list = await open(`/runs?ids=${exp}&tab=traces`);
    const row = list.getByRole('grid', { name: 'Traces' }).getByRole('row').filter({ hasText: CHAT });
    await row.waitFor();
    assert.equal(
      (await row.getByRole('gridcell').allTextContents())[8],
      'correctness: false, relevance: 0.5',
    );
    await list.close();

    // Delete it: gone from the page and from the server.
    await panel.getByRole('button', { name: 'Delete correctness' }).click();
    await panel.getByText('correctness').waitFor({ state: 'detached' });
    info = (await v3(server.url, 'GET', `traces/${CHAT}`)).trace.trace_info;
    assert.deepEqual(
      info.assessments.map((a: { assessment_name: string }) => a.assessment_name),
      ['relevance'],
    );
    // The server's refusal is shown where it happened (editing an assessment deleted meanwhile).
    await v3(server.url, 'DELETE', `traces/${CHAT}/assessments/${relevance.assessment_id}`);
    await panel.getByRole('button', { name: 'Edit relevance' }).click();
    await panel.getByRole('form', { name: 'Edit relevance' }).getByRole('button', { name: 'Save' }).click();
    await panel.getByRole('alert').filter({ hasText: 'RESOURCE_DOES_NOT_EXIST' }).waitFor();
    await page.close();
  });

  test('trace page: expectations created on a span and edited in the page, read back through the API', async () => {
    const page = await open(`/experiments/${exp}/traces/${CHAT}?span=0000000000000004`);
    await page.getByRole('region', { name: 'Span llm' }).waitFor();
    const panel = page.getByRole('region', { name: 'Assessments' });
    await panel.getByRole('form', { name: 'Add feedback' }).waitFor();
    await panel.getByLabel('Assessment kind').selectOption('expectation');
    const add = panel.getByRole('form', { name: 'Add expectation' });
    // An expectation has no rationale, as in MLflow's clients.
    assert.equal(await add.getByLabel('Feedback rationale').count(), 0);
    await add.getByLabel('Expectation name').fill('expected_answer');
    await add.getByLabel('Expectation value').fill('{"answer": "MLflow", "sources": ["docs"]}');
    await add.getByLabel('on span llm').check();
    await add.getByRole('button', { name: 'Add expectation' }).click();
    const item = panel.getByRole('listitem').filter({ hasText: 'expected_answer' });
    await item.waitFor();
    assert.equal(await item.locator('.assessment-kind').textContent(), 'expectation');
    let info = (await v3(server.url, 'GET', `traces/${CHAT}`)).trace.trace_info;
    const created = info.assessments.find(
      (a: { assessment_name: string }) => a.assessment_name === 'expected_answer',
    );
    assert.ok(created, JSON.stringify(info.assessments));
    assert.deepEqual(created.expectation.value, { answer: 'MLflow', sources: ['docs'] });
    assert.equal(created.feedback, undefined);
    assert.equal(created.source.source_type, 'HUMAN');
    assert.equal(created.span_id, '0000000000000004');

    // A plain value too; then the first is edited: it stays an expectation, with the new value.
    await add.getByLabel('Expectation name').fill('expected_length');
    await add.getByLabel('Expectation value').fill('150');
    await add.getByRole('button', { name: 'Add expectation' }).click();
    await panel.getByText('expected_length').waitFor();
    await panel.getByRole('button', { name: 'Edit expected_answer' }).click();
    const edit = panel.getByRole('form', { name: 'Edit expected_answer' });
    assert.equal(await edit.getByLabel('Value').inputValue(), '{"answer":"MLflow","sources":["docs"]}');
    assert.equal(await edit.getByLabel('Rationale').count(), 0);
    await edit.getByLabel('Value').fill('MLflow, an open source platform');
    await edit.getByRole('button', { name: 'Save' }).click();
    await panel.getByText('MLflow, an open source platform').waitFor();
    const updated = (await v3(server.url, 'GET', `traces/${CHAT}/assessments/${created.assessment_id}`))
      .assessment;
    assert.equal(updated.expectation.value, 'MLflow, an open source platform');
    assert.equal(updated.feedback, undefined);
    info = (await v3(server.url, 'GET', `traces/${CHAT}`)).trace.trace_info;
    const length = info.assessments.find(
      (a: { assessment_name: string }) => a.assessment_name === 'expected_length',
    );
    assert.equal(length.expectation.value, 150);
    // The "on span" box stays as it was left.
    assert.equal(length.span_id, '0000000000000004');
    // The search grammar finds the trace by them.
    const found = await v3(server.url, 'POST', 'traces/search', {
      locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: exp } }],
      filter: "expectation.expected_length = '150'",
    });
    assert.deepEqual(
      found.traces.map((t: { trace_id: string }) => t.trace_id),
      [CHAT],
    );
    await screenshot(page, 'trace-page-expectations');
    for (const a of info.assessments)
      await v3(server.url, 'DELETE', `traces/${CHAT}/assessments/${a.assessment_id}`);
    await page.close();
  });

  test('a trace of 10,000 spans: few rows in the page, keyboard to the last span, collapse', async () => {
    const started = Date.now();
    const page = await open(`/experiments/${exp}/traces/${BIG}`);
    const tree = page.getByRole('tree', { name: 'Spans' });
    await tree.getByRole('treeitem').first().waitFor();
    const loadMs = Date.now() - started;
    assert.match((await page.locator('.trace-facts').textContent()) ?? '', /Spans\s*10000/);
    const rendered = await tree.getByRole('treeitem').count();
    assert.ok(rendered > 10 && rendered < 120, `${rendered} rows in the page`);
    assert.equal(
      await tree.evaluate((el) => (el.firstElementChild as HTMLElement).style.height),
      `${10_000 * 26}px`,
      'the list is as tall as 10,000 rows',
    );
    await screenshot(page, 'trace-10k-spans');

    // End selects the last span and brings it into view; still only a window of rows.
    await tree.focus();
    await page.keyboard.press('End');
    await page.getByRole('region', { name: 'Span call-98-99' }).waitFor();
    const last = tree.locator('[data-span-id="0000000000002710"]');
    // The details pane follows the selection at once; the list's window of rows is drawn for the new
    // scroll position a frame later, so wait for the row rather than look once.
    await last.waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await last.getAttribute('aria-selected'), 'true');
    assert.ok((await tree.getByRole('treeitem').count()) < 120);
    // Collapsing the step leaves 99 steps and the root.
    await page.keyboard.press('ArrowLeft');
    await page.getByRole('region', { name: 'Span step-98' }).waitFor();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => document.querySelectorAll('[role=treeitem]').length === 1);
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => document.querySelectorAll('[role=treeitem]').length > 20);
    console.log(`# 10,000-span trace: first rows after ${loadMs} ms`);
    await page.close();
  });

  test('dark theme and an unknown trace', async () => {
    const page = await open(`/experiments/${exp}/traces/${CHAT}`);
    await page.getByRole('tree', { name: 'Spans' }).getByRole('treeitem').first().waitFor();
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await screenshot(page, 'trace-page-dark');
    await page.goto(`${server.url}/experiments/${exp}/traces/tr-nope`);
    await page.getByRole('alert').filter({ hasText: 'RESOURCE_DOES_NOT_EXIST' }).waitFor();
    await page.close();
  });
});
