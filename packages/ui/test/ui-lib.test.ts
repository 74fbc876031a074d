import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCsv } from '../src/lib/csv.js';
import { MAX_POINTS, pointsPerRun } from '../src/lib/history-budget.js';
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
