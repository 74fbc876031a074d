// Nested runs: a run whose mlflow.parentRunId tag names a run in the list is shown under it.
// With .js extensions: the unit tests also type-check this file under Node's module resolution.
import type { Run } from '../api.js';
import { runIndex } from './run-columns.js';

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

/**
 * What Right (open) or Left (close) does on row `i` of the tree: 'toggle' opens a closed parent or
 * closes an open one; from a child, Left gives the index of its parent row; otherwise nothing (false).
 */
export function treeKey(
  rows: readonly { depth: number }[],
  i: number,
  open: boolean,
  expanded: Set<string>,
): 'toggle' | number | false {
  // Row i is a run's; the others may be group headers (depth 0), which a child's Left also reaches.
  const { run, depth, childCount } = rows[i] as TreeRow;
  if (childCount > 0 && open !== expanded.has(run.info.run_id)) return 'toggle';
  if (!open && depth > 0) {
    for (let p = i - 1; p >= 0; p--) if (rows[p].depth < depth) return p;
  }
  return false;
}
