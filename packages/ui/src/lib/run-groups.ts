// Grouping runs by a param or tag value: the groups in the list's order, the summary of a metric over a
// group, and a group's aggregated history (mean line, min-max band) for the chart cards.
// With .js extensions: the unit tests also type-check this file under Node's module resolution.
import type { Run } from '../api.js';
import { runIndex } from './run-columns.js';

export interface GroupBy {
  kind: 'param' | 'tag';
  key: string;
}

export interface RunGroup {
  /** Stable identity (React key, URL, highlight): `v:<value>`, or `none` for runs without the key. */
  id: string;
  /** The value, or null when the runs do not have the param or tag. */
  value: string | null;
  runs: Run[];
}

/** `param:lr` or `tag:team` (the `group=` URL value) as a GroupBy; anything else is no grouping. */
export function parseGroupBy(text: string | null | undefined): GroupBy | undefined {
  const m = /^(param|tag):(.+)$/s.exec(text ?? '');
  return m ? { kind: m[1] as GroupBy['kind'], key: m[2] } : undefined;
}

export function groupByString(g: GroupBy): string {
  return `${g.kind}:${g.key}`;
}

export function groupValue(run: Run, by: GroupBy): string | undefined {
  const idx = runIndex(run);
  return by.kind === 'param' ? idx.params.get(by.key) : idx.tags.get(by.key);
}

/**
 * The runs split by their value of `by`, groups in the order their first run comes in the list (so the
 * table's sort orders the groups too), runs in list order within a group; runs without the key last.
 */
export function groupRuns(runs: Run[], by: GroupBy): RunGroup[] {
  const groups = new Map<string, RunGroup>();
  let none: RunGroup | undefined;
  for (const run of runs) {
    const value = groupValue(run, by);
    if (value === undefined) {
      none ??= { id: 'none', value: null, runs: [] };
      none.runs.push(run);
      continue;
    }
    const id = `v:${value}`;
    let g = groups.get(id);
    if (!g) {
      g = { id, value, runs: [] };
      groups.set(id, g);
    }
    g.runs.push(run);
  }
  const list = [...groups.values()];
  if (none) list.push(none);
  return list;
}

/** A group's label: `lr = 0.01`, or `lr: no value`. */
export function groupLabel(by: GroupBy, g: RunGroup): string {
  return g.value === null ? `${by.key}: no value` : `${by.key} = ${g.value}`;
}

export interface Summary {
  mean: number;
  min: number;
  max: number;
  count: number;
}

/** Mean, min and max of the finite values; undefined when there are none. */
export function summarize(values: Iterable<number | undefined | null>): Summary | undefined {
  let sum = 0;
  let count = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v === undefined || v === null || !Number.isFinite(v)) continue;
    sum += v;
    count++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return count ? { mean: sum / count, min, max, count } : undefined;
}

/** The latest value of a metric over a group's runs. */
export function summarizeMetric(g: RunGroup, key: string): Summary | undefined {
  return summarize(g.runs.map((r) => runIndex(r).metrics.get(key)));
}

export interface XY {
  x: number[];
  y: (number | null)[];
}

/**
 * One group's history from its runs' histories (each sorted by x): at every x any run has, the mean,
 * min and max over the runs whose history covers that x. A run that has no point at exactly that x
 * (histories logged at other steps, or sampled into different buckets) counts with its last value
 * before it, so a group's line does not jump as runs drop in and out between their points.
 */
export interface Aggregated {
  x: number[];
  mean: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
}

export function aggregateHistories(runs: XY[]): Aggregated {
  const xs = new Set<number>();
  for (const r of runs) for (const x of r.x) xs.add(x);
  const x = [...xs].sort((a, b) => a - b);
  const mean: (number | null)[] = [];
  const min: (number | null)[] = [];
  const max: (number | null)[] = [];
  const at = runs.map(() => -1);
  const held: (number | null)[] = runs.map(() => null);
  for (const step of x) {
    let sum = 0;
    let count = 0;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    runs.forEach((r, i) => {
      while (at[i] + 1 < r.x.length && r.x[at[i] + 1] <= step) {
        at[i]++;
        const v = r.y[at[i]];
        if (v !== null && Number.isFinite(v)) held[i] = v;
      }
      // Before a run's first point or after its last one it does not count.
      if (at[i] < 0 || (step > r.x[r.x.length - 1] && r.x.length > 0)) return;
      const v = held[i];
      if (v === null) return;
      sum += v;
      count++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    });
    mean.push(count ? sum / count : null);
    min.push(count ? lo : null);
    max.push(count ? hi : null);
  }
  return { x, mean, min, max };
}
