// The runs table's rows when runs are grouped: a header row per group (open or closed), then the
// group's runs as a tree (nested runs under their parent when both are in the group).
// With .js extensions: the unit tests also type-check this file under Node's module resolution.
import type { Run } from '../api.js';
import { type GroupBy, groupRuns, type RunGroup } from './run-groups.js';
import { flattenRunTree, type TreeRow } from './run-tree.js';

export interface GroupRow {
  group: RunGroup;
  depth: 0;
  open: boolean;
}

export type TableRow = TreeRow | GroupRow;

export const isGroupRow = (row: TableRow): row is GroupRow => 'group' in row;

/** A row's key: the run id, or `group:<group id>` (which no run id looks like). */
export function tableRowKey(row: TableRow): string {
  return isGroupRow(row) ? `group:${row.group.id}` : row.run.info.run_id;
}

/** Header rows and, under each open group, its runs one level in. */
export function groupedRows(
  runs: Run[],
  by: GroupBy,
  closed: Set<string>,
  expanded: Set<string>,
): TableRow[] {
  const rows: TableRow[] = [];
  for (const group of groupRuns(runs, by)) {
    const open = !closed.has(group.id);
    rows.push({ group, depth: 0, open });
    if (open) for (const r of flattenRunTree(group.runs, expanded)) rows.push({ ...r, depth: r.depth + 1 });
  }
  return rows;
}
