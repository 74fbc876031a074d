import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MlflowError, type Run } from '../src/api.js';
import { logRange, stepZoom } from '../src/lib/chart-view.js';
import { defaultAxes, defaultScatter } from '../src/lib/compare-defaults.js';
import { parseCsv } from '../src/lib/csv.js';
import { MAX_POINTS, pointsPerRun } from '../src/lib/history-budget.js';
import { renderMarkdown } from '../src/lib/markdown.js';
import { modelSearchFilter } from '../src/lib/model-filter.js';
import { cellText, defaultColumns } from '../src/lib/run-columns.js';
import { runCountText } from '../src/lib/run-count.js';
import { flattenRunTree, treeKey } from '../src/lib/run-tree.js';
import { loadFoundRuns } from '../src/lib/runs-found.js';
import { smooth } from '../src/lib/smoothing.js';

test('CSV preview: quoted separators, doubled quotes, newlines in quotes, CRLF, row limit', () => {
  assert.deepEqual(parseCsv('a,b\r\n"x, y","say ""hi"""\n"multi\nline",2\n'), [
    ['a', 'b'],
    ['x, y', 'say "hi"'],
    ['multi\nline', '2'],
  ]);
  assert.deepEqual(parseCsv('a\tb\n1\t2', 10, '\t'), [
    ['a', 'b'],
    ['1', '2'],
  ]);
  assert.equal(parseCsv('x\n'.repeat(1000), 500).length, 500);
  assert.deepEqual(parseCsv(''), []);
});

test('smoothing: weight 0 is identity, no start-up bias, gaps pass through', () => {
  const values = [1, 2, null, 4, Number.NaN, 6];
  assert.equal(smooth(values, 0), values);
  const s = smooth(values, 0.5);
  assert.equal(s[0], 1, 'the first point is not pulled towards zero');
  assert.equal(s[1], (0.25 * 1 + 0.5 * 2) / 0.75);
  assert.equal(s[2], null);
  assert.ok(Number.isNaN(s[4] as number));
  const flat = smooth([3, 3, 3, 3], 0.9);
  for (const v of flat) assert.ok(Math.abs((v as number) - 3) < 1e-12);
});

test('models search: a bare word searches names, a filter is sent as typed', () => {
  assert.equal(modelSearchFilter('  churn '), "name ILIKE '%churn%'");
  assert.equal(modelSearchFilter("bob's model"), 'name ILIKE "%bob\'s model%"');
  assert.equal(modelSearchFilter("name LIKE 'a%'"), "name LIKE 'a%'");
  assert.equal(modelSearchFilter("tags.team = 'growth'"), "tags.team = 'growth'");
  assert.equal(modelSearchFilter('name = '), 'name =', 'an incomplete filter still reaches the server');
  assert.equal(modelSearchFilter(''), '');
  assert.equal(modelSearchFilter(`a'b"c`), `a'b"c`, 'both quote kinds: sent as typed');
});

test('compare defaults: plot numeric values that differ between runs', () => {
  const params = [
    { id: 'param:features', values: ['v3', undefined, undefined] },
    { id: 'param:lr', values: ['0.1', '0.01', '0.3'] },
    { id: 'param:model', values: ['gbm', 'gbm', 'gbm'] },
    { id: 'param:n', values: ['300', '300', '300'] },
  ];
  const metrics = [
    { id: 'metric:train_loss', values: ['0.3', undefined, undefined] },
    { id: 'metric:auc', values: ['0.8', '0.7', '0.9'] },
  ];
  assert.deepEqual(defaultScatter(params, metrics), { x: 'param:lr', y: 'metric:auc' });
  assert.deepEqual(defaultAxes(params, metrics), ['param:lr', 'metric:auc']);
  // Without params the x axis is another metric than y.
  assert.deepEqual(defaultScatter([], metrics), { x: 'metric:auc', y: 'metric:train_loss' });
  // When nothing varies, the first axes are shown rather than none.
  const same = [
    { id: 'param:a', values: ['1', '1'] },
    { id: 'param:b', values: ['x', 'x'] },
  ];
  assert.deepEqual(defaultAxes(same, []), ['param:a', 'param:b']);
  assert.deepEqual(defaultScatter([], []), { x: '', y: '' });
  const many = Array.from({ length: 8 }, (_, i) => ({ id: `param:p${i}`, values: ['1', String(i + 2)] }));
  const ms = Array.from({ length: 3 }, (_, i) => ({ id: `metric:m${i}`, values: ['1', String(i + 2)] }));
  assert.deepEqual(defaultAxes(many, ms), [
    'param:p0',
    'param:p1',
    'param:p2',
    'param:p3',
    'metric:m0',
    'metric:m1',
  ]);
});

test('markdown: GitHub tables, strikethrough, task lists and autolinks; raw HTML stays text', () => {
  const html = renderMarkdown(
    [
      '| model | note |',
      '|---|:-:|',
      '| gbm | <script>alert(1)</script> <img src=x onerror="x()"> |',
      '| old | ~~dropped~~ |',
      '',
      '- [x] tuned',
      '- [ ] shipped',
      '',
      'Docs at https://mlflow.org and www.example.com.',
    ].join('\n'),
  );
  assert.match(html, /<table>\s*<thead>\s*<tr>\s*<th>model<\/th>\s*<th align="center">note<\/th>/);
  assert.match(html, /<td>gbm<\/td>\s*<td align="center">&lt;script&gt;alert\(1\)&lt;\/script&gt; &lt;img /);
  assert.doesNotMatch(html, /<script|<img/);
  assert.match(html, /<del>dropped<\/del>/);
  assert.match(html, /<li><input type="checkbox" disabled="" checked="" \/> tuned<\/li>/);
  assert.match(html, /<li><input type="checkbox" disabled="" \/> shipped<\/li>/);
  assert.match(html, /<a href="https:\/\/mlflow\.org">https:\/\/mlflow\.org<\/a>/);
  assert.match(html, /<a href="http:\/\/www\.example\.com">www\.example\.com<\/a>/);
  // Unsafe protocols are dropped from links and autolinks alike.
  const links = renderMarkdown(
    '[x](javascript:alert(1)) <javascript:alert(2)> | a |\n|---|\n| [y](javascript:z) |',
  );
  assert.doesNotMatch(links, /href="[^"]*javascript/i);
  assert.equal((links.match(/<a href="">/g) ?? []).length, 3);
});

test('runs header: no count for a failed search, loading and partial lists said so', () => {
  assert.equal(runCountText(0, true, true), '', 'a bad filter claims no "0 runs"');
  assert.equal(runCountText(100, true, true), '100 runs loaded, list incomplete (see the error)');
  assert.equal(runCountText(0, true, false), '0 runs');
  assert.equal(runCountText(1, true, false), '1 run');
  assert.equal(runCountText(100, false, false), '100 runs, loading…');
  assert.equal(runCountText(1500, true, false), `${(1500).toLocaleString()} runs`);
});

function fakeRun(id: string, experimentId = '1'): Run {
  return {
    info: { run_id: id, experiment_id: experimentId, status: 'FINISHED', lifecycle_stage: 'active' },
    data: {},
  } as unknown as Run;
}

test('runs table: the experiment column is a default with several experiments, and shows names', () => {
  const keys = { metric: ['acc'], param: ['lr'] };
  assert.ok(!defaultColumns(keys, 1).includes('attr:experiment_id'));
  assert.deepEqual(defaultColumns(keys, 2), [
    'attr:status',
    'attr:start_time',
    'attr:duration',
    'attr:user_id',
    'attr:experiment_id',
    'metric:acc',
    'param:lr',
  ]);
  const c = { kind: 'attr' as const, key: 'experiment_id' };
  assert.equal(cellText(fakeRun('r', '7'), c, 0, new Map([['7', 'Churn model']])), 'Churn model');
  assert.equal(cellText(fakeRun('r', '7'), c, 0), '7', 'the id until the names arrive');
});

test('runs by id: unknown ids are set aside, other errors fail the load', async () => {
  const asked: string[] = [];
  const getRun = async (id: string) => {
    asked.push(id);
    if (id.startsWith('bogus')) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run ${id} not found`, 404);
    return { run: fakeRun(id) };
  };
  const ids = ['a', 'bogus1', ...Array.from({ length: 9 }, (_, i) => `r${i}`), 'bogus2'];
  const got = await loadFoundRuns(ids, getRun);
  assert.deepEqual(
    got.runs.map((r) => r.info.run_id),
    ids.filter((id) => !id.startsWith('bogus')),
  );
  assert.deepEqual(got.missing, ['bogus1', 'bogus2']);
  assert.deepEqual(asked.sort(), [...ids].sort());
  await assert.rejects(
    loadFoundRuns(['a', 'b'], async (id) => {
      if (id === 'b') throw new MlflowError('INTERNAL_ERROR', 'disk on fire', 500);
      return { run: fakeRun(id) };
    }),
    /disk on fire/,
  );
});

test("chart budget: the server's 2,500 points for few runs, less as runs multiply, always a multiple of 4", () => {
  assert.equal(pointsPerRun(0), MAX_POINTS);
  assert.equal(pointsPerRun(1), MAX_POINTS);
  assert.equal(pointsPerRun(30), MAX_POINTS);
  let last = MAX_POINTS;
  for (const runs of [31, 50, 100, 500, 5000]) {
    const n = pointsPerRun(runs);
    assert.ok(n <= last && n >= 4 && n % 4 === 0, `${runs} runs: ${n}`);
    // The joined table stays near 2.5 million cells (budget / 2 x (runs + 1) steps of `runs` cells).
    if (n > 4) assert.ok((n / 2) * (runs + 1) * runs <= 2_500_000, `${runs} runs: ${n}`);
    last = n;
  }
  assert.equal(pointsPerRun(100), 492);
  assert.equal(pointsPerRun(5000), 4);
});

test('keyboard zoom: centred zoom in and out, pans clamped to the data, full extent means no zoom', () => {
  const full: [number, number] = [0, 100];
  assert.deepEqual(stepZoom([0, 100], full, 'in'), [25, 75]);
  assert.deepEqual(stepZoom([25, 75], full, 'in'), [37.5, 62.5]);
  assert.deepEqual(stepZoom([37.5, 62.5], full, 'out'), [25, 75]);
  assert.equal(stepZoom([25, 75], full, 'out'), undefined);
  assert.deepEqual(stepZoom([25, 75], full, 'left'), [12.5, 62.5]);
  assert.deepEqual(stepZoom([25, 75], full, 'right'), [37.5, 87.5]);
  // Panning past an end slides back inside instead of showing empty space.
  assert.deepEqual(stepZoom([10, 60], full, 'left'), [0, 50]);
  assert.deepEqual(stepZoom([45, 95], full, 'right'), [50, 100]);
  // Zooming in stops at a thousandth of the data.
  const tiny = stepZoom([50, 50.1], full, 'in') ?? [0, 0];
  assert.ok(Math.abs(tiny[1] - tiny[0] - 0.1) < 1e-9, `tiny ${tiny}`);
  assert.equal(stepZoom([0, 0], [5, 5], 'in'), undefined);
});

test('log scale range fits the data instead of padding to whole decades', () => {
  const [lo, hi] = logRange(0.5, 1.2);
  assert.ok(lo < 0.5 && lo > 0.45, `low ${lo}`);
  assert.ok(hi > 1.2 && hi < 1.3, `high ${hi}`);
  const [flo, fhi] = logRange(2, 2);
  assert.ok(Math.abs(flo - 2 / 1.1) < 1e-9 && Math.abs(fhi - 2.2) < 1e-9, `${flo},${fhi}`);
  const [wlo, whi] = logRange(0.001, 1000);
  assert.ok(wlo < 0.001 && wlo > 0.0005 && whi > 1000 && whi < 2000, `${wlo},${whi}`);
  assert.deepEqual(logRange(Number.NaN, 1), [0.1, 10]);
});

test('tree keys: Right and Left open and close parents, Left from a child goes to its parent', () => {
  const child = (id: string, parent: string): Run => {
    const run = fakeRun(id);
    run.data = { metrics: [], params: [], tags: [{ key: 'mlflow.parentRunId', value: parent }] };
    return run;
  };
  const runs = [fakeRun('p'), child('c1', 'p'), child('c2', 'p'), fakeRun('q')];
  const closed = new Set<string>();
  const closedRows = flattenRunTree(runs, closed);
  assert.deepEqual(
    closedRows.map((r) => r.run.info.run_id),
    ['p', 'q'],
  );
  assert.equal(treeKey(closedRows, 0, true, closed), 'toggle', 'Right opens a closed parent');
  assert.equal(
    treeKey(closedRows, 0, false, closed),
    false,
    'Left on a closed top-level parent does nothing',
  );
  assert.equal(treeKey(closedRows, 1, true, closed), false, 'a run without children has nothing to open');
  const open = new Set(['p']);
  const rows = flattenRunTree(runs, open);
  assert.deepEqual(
    rows.map((r) => [r.run.info.run_id, r.depth]),
    [
      ['p', 0],
      ['c1', 1],
      ['c2', 1],
      ['q', 0],
    ],
  );
  assert.equal(treeKey(rows, 0, false, open), 'toggle', 'Left closes an open parent');
  assert.equal(treeKey(rows, 0, true, open), false, 'Right on an open parent does nothing');
  assert.equal(treeKey(rows, 2, false, open), 0, "Left from a child goes to its parent's row");
});

test('numbers: 4 significant digits in the table, exponents for tiny and huge, +Inf for the stored infinity', async () => {
  const { formatNumber, fullNumber } = await import('../src/lib/format.js');
  assert.equal(formatNumber(0.000377354, 4), '3.774e-4');
  assert.equal(formatNumber(0.123456789, 4), '0.1235');
  assert.equal(formatNumber(1234.5678, 4), '1235');
  assert.equal(formatNumber(0.00001, 4), '1e-5', 'trailing zeros of the mantissa dropped');
  assert.equal(formatNumber(2.5e15, 4), '2.5e15');
  assert.equal(formatNumber(1234567891.5, 4), '1.235e9');
  assert.equal(formatNumber(42, 4), '42', 'integers stay whole');
  // MLflow's SQL stores keep ±inf as ±1.7976931348623157e308.
  assert.equal(formatNumber(1.7976931348623157e308), '+Inf');
  assert.equal(formatNumber(-1.7976931348623157e308, 4), '-Inf');
  assert.equal(formatNumber(Number.POSITIVE_INFINITY), '+Inf');
  assert.equal(formatNumber(Number.NaN), 'NaN');
  assert.equal(formatNumber(undefined), '');
  assert.equal(fullNumber(0.000377354), '0.000377354');
  assert.equal(fullNumber(1.7976931348623157e308), '+Inf');
  const run = {
    info: { run_id: 'r', experiment_id: '1' },
    data: { metrics: [{ key: 'lr', value: 0.000377354 }], params: [{ key: 'lr', value: '0.01' }] },
  } as unknown as Run;
  assert.equal(cellText(run, { kind: 'metric', key: 'lr' }, 0), '3.774e-4');
  assert.equal(cellText(run, { kind: 'param', key: 'lr' }, 0), '0.01', 'params are text, shown as logged');
});

test('runs table header groups: attributes, then metrics, params and tags, each in the chosen order', async () => {
  const { groupColumns } = await import('../src/lib/run-columns.js');
  const ids = groupColumns([
    'tag:team',
    'metric:b',
    'param:lr',
    'attr:status',
    'metric:a',
    'bogus',
    'param:x',
  ]);
  assert.deepEqual(
    ids.map((c) => `${c.kind}:${c.key}`),
    ['attr:status', 'metric:b', 'metric:a', 'param:lr', 'param:x', 'tag:team'],
  );
});

test('palette: 100 distinct colours, the first 50 far apart in OKLab, user colours override', async () => {
  const { PALETTE, hexToOklab, distance, colorAt, runColor, setRunColor } = await import(
    '../src/lib/palette.js'
  );
  assert.equal(new Set(PALETTE.slice(0, 100)).size, 100);
  const labs = PALETTE.slice(0, 50).map(hexToOklab);
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < labs.length; i++)
    for (let j = 0; j < i; j++) min = Math.min(min, distance(labs[i], labs[j]));
  // 0.02 is about a just-noticeable difference in OKLab; lines need several times that.
  assert.ok(min > 0.04, `closest pair of the first 50 colours is ${min.toFixed(3)} apart`);
  assert.match(colorAt(57), /^#[0-9a-f]{6}$/);
  assert.equal(runColor('run-a', 3), colorAt(3));
  setRunColor('run-a', '#123456');
  assert.equal(runColor('run-a', 3), '#123456');
  setRunColor('run-a', undefined);
  assert.equal(runColor('run-a', 3), colorAt(3));
});

test('chart cards: URL form round-trips any key, bad parts are dropped, edits', async () => {
  const c = await import('../src/lib/chart-cards.js');
  const cards: import('../src/lib/chart-cards.js').ChartCard[] = [
    { kind: 'line', size: 'm', metric: 'val/loss, a|b %x' },
    { kind: 'bar', size: 's', metric: 'acc' },
    { kind: 'scatter', size: 'l', x: 'param:lr', y: 'metric:acc' },
    { kind: 'parallel', size: 'l', axes: ['param:lr', 'metric:acc', 'metric:loss'] },
  ];
  const text = c.serializeCards(cards);
  assert.deepEqual(c.parseCards(text), cards);
  assert.deepEqual(c.parseCards(`${text},line|xl|a,pie|m|a,line|m|,scatter|m|x,line|m|%E0%A4%A`), cards);
  assert.deepEqual(c.parseCards('-'), [], 'the empty layout');
  assert.deepEqual(c.defaultCards(['a', 'b']), [
    { kind: 'line', size: 'm', metric: 'a' },
    { kind: 'line', size: 'm', metric: 'b' },
  ]);
  const keys = (l: typeof cards) => l.map(c.cardKey);
  assert.deepEqual(
    keys(c.moveCard(cards, 0, 1)),
    [1, 0, 2, 3].map((i) => c.cardKey(cards[i])),
  );
  assert.equal(c.moveCard(cards, 0, -1), cards, 'moving past the start changes nothing');
  assert.deepEqual(
    keys(c.dropCard(cards, 3, 0)),
    [3, 0, 1, 2].map((i) => c.cardKey(cards[i])),
  );
  assert.equal(c.addCard(cards, { kind: 'bar', size: 'l', metric: 'acc' }), cards, 'no duplicate card');
  assert.equal(c.addCard(cards, { kind: 'line', size: 'm', metric: 'acc' }).length, 5);
  assert.deepEqual(
    ['s', 'm', 'l'].map((s) => c.nextSize(s as 's')),
    ['m', 'l', 's'],
  );
});

test('nice ticks: round steps covering the data', async () => {
  const { niceTicks } = await import('../src/lib/nice-ticks.js');
  assert.deepEqual(niceTicks(0.778332, 0.933749), [0.75, 0.8, 0.85, 0.9, 0.95]);
  assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(-3, 7, 5), [-4, -2, 0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(0.1, 0.3, 2), [0.1, 0.2, 0.3], 'no 0.30000000000000004');
  assert.deepEqual(niceTicks(5, 5), [4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6], 'a flat series gets ±10%');
  assert.deepEqual(niceTicks(Number.NaN, 1), []);
});
