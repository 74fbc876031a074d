/**
 * bench/ui.ts: how fast the web UI feels, measured in Debian's Chromium (headless, playwright-core)
 * against an mlflow-ts server process on a seeded SQLite store.
 *
 *   npx tsx bench/ui.ts [--runs 10000] [--points 1000000] [--repeat 5] [--dir /tmp/mlflow-ts-bench-ui]
 *
 * Measures, each --repeat times in a fresh browser context (cold cache):
 *   - first rows: from navigation start to the first row of the runs table of an experiment of --runs runs;
 *   - all rows loaded: until every run has arrived (the table pages through them in the background);
 *   - scroll: frame times while the table scrolls through all runs, 200 px a frame;
 *   - chart: from navigation start to the drawn chart of one metric of --points points (downsampled by
 *     the server's get-history-bulk-interval with sampling=MIN_MAX, as the chart asks), and that
 *     request's own time, with the time of MLflow's step sampling of the same history for comparison.
 *   - live poll: the two filtered searches the runs page sends every few seconds once all runs are
 *     loaded (running runs, runs started after the latest), sent together, 20 times: wall time and the
 *     server process's CPU time per poll (from /proc).
 * Targets: first rows < 1 s, chart < 1 s. The seeded store is reused by later runs with the same --dir.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { ArtifactLocations } from '../packages/server/src/store/artifact-locations.js';
import { openDatabase } from '../packages/server/src/store/database.js';
import { SqlTrackingStore } from '../packages/server/src/store/sql-tracking-store.js';
import { CHROMIUM_ARGS, chromiumPath } from '../packages/ui/test/browser.js';
import { commandLine, markdownTable, percentile } from './common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: tsx bench/ui.ts [--runs N] [--points N] [--repeat N] [--dir DIR]';

const options = { runs: 10_000, points: 1_000_000, repeat: 5, dir: '/tmp/mlflow-ts-bench-ui' };
const cli = commandLine('bench/ui.ts', USAGE);
cli.parse(
  process.argv.slice(2),
  { runs: 'string', points: 'string', repeat: 'string', dir: 'string' },
  (name, value, flag) => {
    if (name === 'dir') options.dir = value;
    else options[name as 'runs' | 'points' | 'repeat'] = cli.count(flag, value);
  },
);
const log = (s: string) => console.error(`bench/ui: ${s}`);

/** Inserts the runs and the long history straight into the store (the REST API would take minutes). */
async function seed(uri: string): Promise<void> {
  const db = await openDatabase(uri);
  const store = new SqlTrackingStore(db, new ArtifactLocations('mlflow-artifacts:'));
  await store.init();
  const started = performance.now();
  const now = Date.now();
  const insert = async (trx: any, table: string, values: Record<string, unknown>[]) => {
    const per = Math.floor(30_000 / Object.keys(values[0]).length);
    for (let i = 0; i < values.length; i += per)
      await trx
        .insertInto(table)
        .values(values.slice(i, i + per))
        .execute();
  };
  const experiment = (name: string) =>
    db.writer.run(async (trx: any) => {
      const row = await trx
        .insertInto('experiments')
        .values({
          name,
          lifecycle_stage: 'active',
          creation_time: now,
          last_update_time: now,
          artifact_location: `mlflow-artifacts:/${name}`,
        })
        .returning('experiment_id')
        .executeTakeFirstOrThrow();
      return Number(row.experiment_id);
    });
  const runsExp = await experiment('ui-bench-runs');
  const historyExp = await experiment('ui-bench-history');
  const runRow = (id: string, exp: number, name: string, start: number) => ({
    run_uuid: id,
    experiment_id: exp,
    name,
    user_id: 'bench',
    status: 'FINISHED',
    start_time: start,
    end_time: start + 60_000,
    lifecycle_stage: 'active',
    artifact_uri: `mlflow-artifacts:/${exp}/${id}/artifacts`,
  });
  const hex = (i: number) => i.toString(16).padStart(32, '0');
  for (let from = 0; from < options.runs; from += 2000) {
    const runs: Record<string, unknown>[] = [];
    const params: Record<string, unknown>[] = [];
    const tags: Record<string, unknown>[] = [];
    const metrics: Record<string, unknown>[] = [];
    for (let i = from; i < Math.min(options.runs, from + 2000); i++) {
      const id = hex(i + 1);
      const start = now - (options.runs - i) * 1000;
      runs.push(runRow(id, runsExp, `run-${i}`, start));
      tags.push(
        { run_uuid: id, key: 'mlflow.runName', value: `run-${i}` },
        { run_uuid: id, key: 'team', value: `team-${i % 7}` },
      );
      for (let k = 0; k < 4; k++)
        params.push({ run_uuid: id, key: `p${k}`, value: String((i * (k + 3)) % 97) });
      for (let k = 0; k < 4; k++)
        metrics.push({
          run_uuid: id,
          key: `m${k}`,
          value: ((i * (k + 7)) % 1000) / 1000,
          timestamp: start,
          step: 0,
          is_nan: 0,
        });
    }
    await db.writer.run(async (trx: any) => {
      await insert(trx, 'runs', runs);
      await insert(trx, 'tags', tags);
      await insert(trx, 'params', params);
      await insert(trx, 'metrics', metrics);
      await insert(trx, 'latest_metrics', metrics);
    });
  }
  const historyRun = hex(0xffffff);
  await db.writer.run(async (trx: any) => {
    await insert(trx, 'runs', [runRow(historyRun, historyExp, 'history', now - options.points * 1000)]);
    await insert(trx, 'tags', [{ run_uuid: historyRun, key: 'mlflow.runName', value: 'history' }]);
  });
  let last: Record<string, unknown> = {};
  for (let from = 0; from < options.points; from += 50_000) {
    const points: Record<string, unknown>[] = [];
    for (let step = from; step < Math.min(options.points, from + 50_000); step++) {
      last = {
        run_uuid: historyRun,
        key: 'loss',
        value: 1 / (1 + step / 1000) + ((step * 7919) % 100) / 10_000,
        timestamp: now - (options.points - step) * 1000,
        step,
        is_nan: 0,
      };
      points.push(last);
    }
    await db.writer.run((trx: any) => insert(trx, 'metrics', points));
  }
  await db.writer.run((trx: any) => insert(trx, 'latest_metrics', [last]));
  await store.close();
  log(
    `seeded ${options.runs} runs and a ${options.points}-point history in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function startServer(uri: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'packages/server/bin/mlflow-ts.js'),
      'server',
      '--backend-store-uri',
      uri,
      '--port',
      String(port),
      '--artifacts-destination',
      path.join(options.dir, 'artifacts'),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, child };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('the server did not start within 10 s');
}

async function api(url: string, endpoint: string, body: unknown): Promise<any> {
  const r = await fetch(`${url}/api/2.0/mlflow/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${endpoint}: ${r.status} ${await r.text()}`);
  return r.json();
}

// Records, in the page, when the first table row and the drawn chart appear (ms since navigation start).
const MARKS = `
  window.__marks = {};
  new MutationObserver(() => {
    const m = window.__marks;
    if (m.firstRow === undefined && document.querySelector('.vt-row')) m.firstRow = performance.now();
    if (m.chart === undefined && document.querySelector('.chart[data-drawn]')) m.chart = performance.now();
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-drawn'] });
`;

// Scrolls the runs table to its end, 200 px a frame, and returns the frame intervals. A string, so that
// tsx's helpers for named functions do not leak into the page.
const SCROLL = `new Promise((resolve) => {
  const el = document.querySelector('.vt');
  const times = [];
  let last = performance.now();
  function step() {
    const t = performance.now();
    times.push(t - last);
    last = t;
    if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1 || times.length > 2000) resolve(times.slice(1));
    else {
      el.scrollTop += 200;
      requestAnimationFrame(step);
    }
  }
  requestAnimationFrame(step);
})`;

async function measure(browser: Browser, url: string, ids: { runsExp: string; historyRun: string }) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript(MARKS);
  const page = await context.newPage();
  await page.goto(`${url}/runs?ids=${ids.runsExp}`);
  await page.waitForFunction(() => (window as any).__marks.firstRow !== undefined, undefined, {
    timeout: 60_000,
  });
  const firstRow = await page.evaluate(() => (window as any).__marks.firstRow as number);
  await page.waitForFunction(
    (n) =>
      document.body.textContent?.includes(`${n.toLocaleString('en-US')} runs`) &&
      !document.body.textContent?.includes('loading…'),
    options.runs,
    { timeout: 120_000 },
  );
  const allRows = await page.evaluate(() => performance.now());
  const frames = (await page.evaluate(SCROLL)) as number[];
  const rendered = await page.locator('.vt-row').count();
  await page.goto(`${url}/metrics?runs=${ids.historyRun}&key=loss`);
  await page.waitForFunction(() => (window as any).__marks.chart !== undefined, undefined, {
    timeout: 60_000,
  });
  const chart = await page.evaluate(() => (window as any).__marks.chart as number);
  const drawn = Number(await page.locator('.chart[data-drawn]').getAttribute('data-drawn'));
  await context.close();
  return { firstRow, allRows, frames, rendered, chart, drawn };
}

/** A process's user + system CPU time in ms, from /proc (Linux); undefined elsewhere. */
function processCpuMs(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** The runs page's live poll (packages/ui/src/pages/runs/use-live-runs.ts) against the 10,000 runs. */
async function measurePoll(url: string, experimentId: string, pid: number | undefined) {
  const latest = await api(url, 'runs/search', {
    experiment_ids: [experimentId],
    order_by: ['attributes.start_time DESC'],
    max_results: 1,
  });
  const since = latest.runs[0].info.start_time;
  const search = (filter: string) =>
    api(url, 'runs/search', {
      experiment_ids: [experimentId],
      filter,
      run_view_type: 'ACTIVE_ONLY',
      max_results: 1000,
    });
  const wall: number[] = [];
  let returned = 0;
  const cpu0 = processCpuMs(pid);
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const answers = await Promise.all([
      search("attributes.status = 'RUNNING'"),
      search(`attributes.start_time > ${since}`),
    ]);
    wall.push(performance.now() - t);
    returned += answers.reduce((n, a) => n + (a.runs?.length ?? 0), 0);
  }
  const cpu1 = processCpuMs(pid);
  return {
    wall,
    cpuPerPoll: cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / 20,
    returned,
  };
}

async function main(): Promise<void> {
  const c = chromiumPath();
  if (!c.path) throw new Error(`${c.reason}; run scripts/services/chromium.sh start`);
  if (!existsSync(path.join(ROOT, 'packages/ui/dist/index.html')))
    throw new Error('the UI is not built: run `npm run build`');
  mkdirSync(options.dir, { recursive: true });
  const file = path.join(options.dir, `ui-${options.runs}-${options.points}.db`);
  const uri = `sqlite:///${file}`;
  if (existsSync(file)) log(`reusing ${file}`);
  else await seed(uri);
  const server = await startServer(uri);
  const browser = await chromium.launch({ executablePath: c.path, headless: true, args: CHROMIUM_ARGS });
  try {
    const exps = await api(server.url, 'experiments/search', {
      filter: "name LIKE 'ui-bench-%'",
      max_results: 10,
    });
    const byName = Object.fromEntries(exps.experiments.map((e: any) => [e.name, e.experiment_id]));
    const history = await api(server.url, 'runs/search', {
      experiment_ids: [byName['ui-bench-history']],
      max_results: 1,
    });
    const ids = { runsExp: byName['ui-bench-runs'], historyRun: history.runs[0].info.run_id };

    // The request the chart sends (sampling=MIN_MAX, our extension), and MLflow's step sampling that
    // MLflow clients get, each timed on its own.
    const intervalTimes = { MIN_MAX: [] as number[], STEPS: [] as number[] };
    const drawnBySampling: Record<string, number> = {};
    for (let i = 0; i < options.repeat; i++) {
      for (const sampling of ['MIN_MAX', 'STEPS'] as const) {
        const t = performance.now();
        const r = await fetch(
          `${server.url}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids=${ids.historyRun}&metric_key=loss&max_results=2500&sampling=${sampling}`,
        );
        const body = (await r.json()) as { metrics?: unknown[] };
        if (!r.ok) throw new Error(`get-history-bulk-interval: ${r.status} ${JSON.stringify(body)}`);
        intervalTimes[sampling].push(performance.now() - t);
        drawnBySampling[sampling] = body.metrics?.length ?? 0;
      }
    }
    const poll = await measurePoll(server.url, ids.runsExp, server.child.pid);
    const results = [];
    for (let i = 0; i < options.repeat; i++) {
      const r = await measure(browser, server.url, ids);
      log(
        `round ${i + 1}: first rows ${r.firstRow.toFixed(0)} ms, all ${r.allRows.toFixed(0)} ms, chart ${r.chart.toFixed(0)} ms (${r.drawn} points), ${r.frames.length} frames, ${r.rendered} rows in the DOM`,
      );
      results.push(r);
    }
    const med = (xs: number[]) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      );
    const p95 = (xs: number[]) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        95,
      );
    const frames = results.flatMap((r) => r.frames).sort((a, b) => a - b);
    const slow = frames.filter((f) => f > 1000 / 60 + 2).length;
    const ms = (v: number) => v.toFixed(0);
    console.log(
      `\nUI benchmark: ${options.runs.toLocaleString('en-US')} runs, a ${options.points.toLocaleString('en-US')}-point metric, ${options.repeat} rounds, headless Chromium\n`,
    );
    console.log(
      markdownTable(
        ['measure', 'median', 'p95', 'target'],
        [
          [
            'first rows of the runs table (ms from navigation)',
            ms(med(results.map((r) => r.firstRow))),
            ms(p95(results.map((r) => r.firstRow))),
            '< 1000',
          ],
          [
            `all ${options.runs.toLocaleString('en-US')} runs loaded (ms)`,
            ms(med(results.map((r) => r.allRows))),
            ms(p95(results.map((r) => r.allRows))),
            '',
          ],
          [
            'scroll frame time (ms)',
            percentile(frames, 50).toFixed(1),
            percentile(frames, 95).toFixed(1),
            '16.7 (60 fps)',
          ],
          ['scroll frames over 18.7 ms', `${slow} of ${frames.length}`, '', ''],
          ['rows in the DOM while scrolling', String(med(results.map((r) => r.rendered))), '', ''],
          [
            `${options.points.toLocaleString('en-US')}-point metric drawn (ms from navigation)`,
            ms(med(results.map((r) => r.chart))),
            ms(p95(results.map((r) => r.chart))),
            '< 1000',
          ],
          [
            '  of which get-history-bulk-interval, sampling=MIN_MAX (ms)',
            ms(med(intervalTimes.MIN_MAX)),
            ms(p95(intervalTimes.MIN_MAX)),
            '',
          ],
          ['  points drawn', String(results[0].drawn), '', ''],
          [
            `get-history-bulk-interval, MLflow's step sampling (ms, ${drawnBySampling.STEPS} points)`,
            ms(med(intervalTimes.STEPS)),
            ms(p95(intervalTimes.STEPS)),
            '',
          ],
          [
            `live poll: 2 filtered searches over ${options.runs.toLocaleString('en-US')} runs (ms; ${poll.returned} runs returned in 20 polls)`,
            ms(med(poll.wall)),
            ms(p95(poll.wall)),
            '',
          ],
          [
            '  server CPU per poll (ms)',
            poll.cpuPerPoll === undefined ? 'n/a' : poll.cpuPerPoll.toFixed(1),
            '',
            '',
          ],
        ],
      ),
    );
  } finally {
    await browser.close();
    server.child.kill();
  }
}

main().catch((error) => {
  console.error(`bench/ui: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
