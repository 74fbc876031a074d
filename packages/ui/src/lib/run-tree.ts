// Nested runs: a run whose mlflow.parentRunId tag names a run in the list is shown under it.
import type { Run } from '../api';
import { runIndex } from './run-columns';

export interface TreeRow {
  run: Run;
  depth: number;
  childCount: number;
}

/**
 * Flattens the runs into display rows, parents first in the server's order, each followed by its
 * children (in the server's order too) when expanded.
 */
export function flattenRunTree(runs: Run[], expanded: Set<string>): TreeRow[] {
  const byId = new Set(runs.map((r) => r.info.run_id));
  const children = new Map<string, Run[]>();
  const roots: Run[] = [];
  for (const run of runs) {
    const parent = runIndex(run).tags.get('mlflow.parentRunId');
    if (parent && parent !== run.info.run_id && byId.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(run);
      children.set(parent, list);
    } else {
      roots.push(run);
    }
  }
  const rows: TreeRow[] = [];
  const seen = new Set<string>();
  const visit = (run: Run, depth: number) => {
    // A cycle of parent tags cannot loop forever.
    if (seen.has(run.info.run_id)) return;
    seen.add(run.info.run_id);
    const kids = children.get(run.info.run_id) ?? [];
    rows.push({ run, depth, childCount: kids.length });
    if (expanded.has(run.info.run_id)) for (const k of kids) visit(k, depth + 1);
  };
  for (const r of roots) visit(r, 0);
  return rows;
}
