// Live updates of the runs page: the searches a poll makes, and a run's data version (what tells the
// chart grid that a run's histories grew). It imports only types, so the unit tests load it under Node.
import type { Run } from '../api.js';

/** MLflow's filter grammar has AND and no parentheses or OR: a clause is added with AND. */
export function andFilter(filter: string, clause: string): string {
  return filter.trim() ? `${filter.trim()} AND ${clause}` : clause;
}

/** The latest start time among the runs (new runs are those that start later), or 0. */
export function latestStart(runs: readonly Run[]): number {
  let max = 0;
  for (const r of runs) if ((r.info.start_time ?? 0) > max) max = r.info.start_time ?? 0;
  return max;
}

/**
 * A run's data version: changes when it logs a metric (a new latest value, step or time, or a new
 * key), or changes status. Computed from what a search returns, so it costs no request of its own.
 */
export function runVersion(run: Run): string {
  let t = 0;
  let step = 0;
  for (const m of run.data.metrics ?? []) {
    if (m.timestamp > t) t = m.timestamp;
    if (m.step > step) step = m.step;
  }
  return `${run.info.status}:${run.data.metrics?.length ?? 0}:${t}:${step}`;
}

/**
 * The list after a poll: fresh copies replace the loaded runs by id, and runs not loaded yet (new
 * ones) go on top, newest first. Returns the same list when nothing changed, so nothing redraws.
 */
export function mergePolled(runs: Run[], fresh: Run[]): Run[] {
  if (fresh.length === 0) return runs;
  const byId = new Map(fresh.map((r) => [r.info.run_id, r]));
  let changed = false;
  const merged = runs.map((r) => {
    const f = byId.get(r.info.run_id);
    if (!f) return r;
    byId.delete(r.info.run_id);
    if (runVersion(f) === runVersion(r) && f.info.end_time === r.info.end_time && sameTags(f, r)) return r;
    changed = true;
    return f;
  });
  const added = [...byId.values()].sort((a, b) => (b.info.start_time ?? 0) - (a.info.start_time ?? 0));
  if (!changed && added.length === 0) return runs;
  return [...added, ...merged];
}

function sameTags(a: Run, b: Run): boolean {
  const x = a.data.tags ?? [];
  const y = b.data.tags ?? [];
  return x.length === y.length && x.every((t, i) => t.key === y[i].key && t.value === y[i].value);
}
