// What the compare page shows before the user picks anything: plot values that are numbers in the
// most runs and that differ between them, so the first scatter and parallel-coordinates plots say
// something (a param only one run has, or one every run shares, draws nothing useful).

/** A compared param or metric ("param:lr", "metric:acc") and its value in each run. */
export interface Compared {
  id: string;
  values: (string | undefined)[];
}

function numbers(c: Compared): number[] {
  return c.values.flatMap((v) =>
    v !== undefined && v.trim() !== '' && Number.isFinite(Number(v)) ? [Number(v)] : [],
  );
}

/** Defined in at least two runs, with at least two different values among them. */
function varies(c: Compared): boolean {
  const defined = c.values.filter((v) => v !== undefined);
  return defined.length >= 2 && new Set(defined).size >= 2;
}

/** The candidate with the most numeric values, preferring ones that vary; ties keep list order. */
function bestNumeric(list: Compared[], exclude?: string): string | undefined {
  let best: { id: string; score: number } | undefined;
  for (const c of list) {
    if (c.id === exclude) continue;
    const n = numbers(c);
    if (n.length === 0) continue;
    const score = n.length + (new Set(n).size >= 2 ? 1_000_000 : 0);
    if (!best || score > best.score) best = { id: c.id, score };
  }
  return best?.id;
}

/** The scatter plot's default x (a param, else a metric) and y (a metric, else a param). */
export function defaultScatter(params: Compared[], metrics: Compared[]): { x: string; y: string } {
  const x = bestNumeric(params) ?? bestNumeric(metrics) ?? params[0]?.id ?? metrics[0]?.id ?? '';
  const y = bestNumeric(metrics, x) ?? bestNumeric(params, x) ?? metrics[0]?.id ?? '';
  return { x, y };
}

/**
 * The parallel-coordinates plot's default axes: the params that vary (at most 4), then the metrics
 * that vary, up to `max` axes; the first `max` of everything when fewer than two vary.
 */
export function defaultAxes(params: Compared[], metrics: Compared[], max = 6): string[] {
  const p = params.filter(varies).slice(0, Math.min(4, max));
  const m = metrics.filter(varies).slice(0, max - p.length);
  const axes = [...p, ...m].map((c) => c.id);
  return axes.length >= 2 ? axes : [...params, ...metrics].slice(0, max).map((c) => c.id);
}
