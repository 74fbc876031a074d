// The runs table's columns: which ones are shown (link, saved choice or defaults) and how each renders.
import { useMemo } from 'react';
import type { Run } from '../../api';
import { Link } from '../../components/Link';
import type { Column } from '../../components/VirtualTable';
import { formatNumber, fullNumber } from '../../lib/format';
import { isGroupRow, type TableRow } from '../../lib/grouped-rows';
import {
  ATTRIBUTES,
  cellText,
  columnLabel,
  defaultColumns,
  discoverKeys,
  GROUPS,
  groupColumns,
  orderByFor,
  runIndex,
  TABLE_DIGITS,
} from '../../lib/run-columns';
import { type GroupBy, groupLabel, type RunGroup, summarizeMetric } from '../../lib/run-groups';
import { setParams } from '../../router';
import type { RunsView } from './use-runs-view';
import type { Selection } from './use-selection';

const STATUS_ICON: Record<string, string> = {
  RUNNING: '●',
  SCHEDULED: '◷',
  FINISHED: '✓',
  FAILED: '✕',
  KILLED: '■',
};

function storageKey(ids: string[]): string {
  return `mlflow-ts.columns.${ids.join(',')}`;
}

function readStoredColumns(ids: string[]): string[] | undefined {
  try {
    const v = localStorage.getItem(storageKey(ids));
    return v ? (JSON.parse(v) as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** The keys the runs have, and the chosen columns: from the link when it names them, else the user's last choice for these experiments. */
export function useChosenColumns(ids: string[], urlCols: string | null, runs: Run[]) {
  const keys = useMemo(() => discoverKeys(runs), [runs]);
  const chosen = useMemo(() => {
    if (urlCols !== null) return urlCols.split(',').filter(Boolean);
    return readStoredColumns(ids) ?? defaultColumns(keys, ids.length);
  }, [urlCols, ids, keys]);
  const setColumns = (next: string[]) => {
    try {
      localStorage.setItem(storageKey(ids), JSON.stringify(next));
    } catch {
      // Storage may be refused; the URL still carries the choice.
    }
    setParams({ cols: next.join(',') }, { replace: true });
  };
  return { keys, chosen, setColumns };
}

export interface RunsColumnsInput {
  /** Run rows, and group header rows when the runs are grouped. */
  rows: TableRow[];
  groupBy?: GroupBy;
  /** Opens or closes a group's header row. */
  setGroupOpen?(group: RunGroup, open: boolean): void;
  chosen: string[];
  view: RunsView;
  selection: Selection;
  /** Durations of running runs are counted to this time. */
  now: number;
  experimentNames: Map<string, string>;
}

/** The select box, the run name (with its tree twisty) and the chosen columns. */
export function runsColumns({
  rows,
  chosen,
  view,
  selection,
  now,
  experimentNames,
  groupBy,
  setGroupOpen,
}: RunsColumnsInput): Column[] {
  const { selected, setSelected, toggle } = selection;
  const { expanded, setOpen, sortKey, sortDir, sortBy } = view;
  const runRows = rows.filter((r) => !isGroupRow(r)) as Exclude<TableRow, { group: RunGroup }>[];
  const allSelected = runRows.length > 0 && runRows.every((r) => selected.has(r.run.info.run_id));
  return [
    {
      id: 'select',
      width: 36,
      className: 'center',
      label: (
        <input
          type="checkbox"
          aria-label="Select all shown runs"
          checked={allSelected}
          onChange={() =>
            setSelected(allSelected ? new Set() : new Set(runRows.map((r) => r.run.info.run_id)))
          }
        />
      ),
      cell: (i) => {
        const row = rows[i];
        if (isGroupRow(row)) {
          const ids = row.group.runs.map((r) => r.info.run_id);
          const all = ids.every((id) => selected.has(id));
          return (
            <input
              type="checkbox"
              tabIndex={-1}
              aria-label={`Select the runs of ${groupLabel(groupBy as GroupBy, row.group)}`}
              checked={all}
              onChange={() => selection.toggleAll(ids)}
            />
          );
        }
        return (
          <input
            type="checkbox"
            tabIndex={-1}
            aria-label={`Select run ${row.run.info.run_name ?? row.run.info.run_id}`}
            checked={selected.has(row.run.info.run_id)}
            onChange={() => toggle(row.run.info.run_id)}
          />
        );
      },
    },
    {
      id: 'name',
      width: 240,
      label: 'Run name',
      sort: sortKey === 'attributes.run_name' ? sortDir : undefined,
      onSort: () => sortBy('attributes.run_name'),
      cell: (i) => {
        const row = rows[i];
        if (isGroupRow(row)) {
          const text = groupLabel(groupBy as GroupBy, row.group);
          return (
            <span className="run-name group-name">
              <button
                type="button"
                className="twisty"
                tabIndex={-1}
                aria-expanded={row.open}
                aria-label={`${row.open ? 'Collapse' : 'Expand'} group ${text}`}
                onClick={() => setGroupOpen?.(row.group, !row.open)}
              >
                {row.open ? '▾' : '▸'}
              </button>
              <span title={text}>{text}</span>
              <span className="badge">{row.group.runs.length}</span>
            </span>
          );
        }
        const { run, depth, childCount } = row;
        const id = run.info.run_id;
        return (
          <span className="run-name" style={{ paddingLeft: depth * 18 }}>
            {childCount > 0 ? (
              <button
                type="button"
                className="twisty"
                tabIndex={-1}
                aria-expanded={expanded.has(id)}
                aria-label={`${expanded.has(id) ? 'Collapse' : 'Expand'} ${childCount} child runs`}
                onClick={() => setOpen(id, !expanded.has(id))}
              >
                {expanded.has(id) ? '▾' : '▸'}
              </button>
            ) : (
              <span className="twisty-space" />
            )}
            <Link href={`/runs/${encodeURIComponent(id)}`} tabIndex={-1}>
              {run.info.run_name || id}
            </Link>
            {childCount > 0 ? <span className="badge">{childCount}</span> : null}
          </span>
        );
      },
    },
    ...groupColumns(chosen).map((c, n, all): Column => {
      const idText = `${c.kind}:${c.key}`;
      const ob = orderByFor(c);
      const groupStart = c.kind !== 'attr' && all[n - 1]?.kind !== c.kind;
      const width = c.kind === 'attr' ? (ATTRIBUTES.find((a) => a.key === c.key)?.width ?? 120) : 120;
      return {
        id: idText,
        width,
        group: GROUPS[c.kind],
        label: <span title={`${c.kind}: ${c.key}`}>{columnLabel(c)}</span>,
        className: `kind-${c.kind}${c.kind === 'metric' ? ' num' : ''}${groupStart ? ' group-start' : ''}`,
        sort: ob && sortKey === ob ? sortDir : undefined,
        onSort: ob ? () => sortBy(ob) : undefined,
        cell: (i) => {
          const row = rows[i];
          if (isGroupRow(row)) return groupCell(row.group, c, groupBy);
          const run = row.run;
          const text = cellText(run, c, now, experimentNames);
          if (c.kind === 'attr' && c.key === 'status') {
            return (
              <span className={`status status-${text.toLowerCase()}`}>
                <span aria-hidden="true">{STATUS_ICON[text]} </span>
                {text}
              </span>
            );
          }
          const title = c.kind === 'metric' ? fullNumber(runIndex(run).metrics.get(c.key)) : text;
          return <span title={title}>{text}</span>;
        },
      };
    }),
  ];
}

/**
 * A group header's cell: a metric's mean over the group's runs (min and max in the tooltip), the
 * grouping key's own value, nothing for the rest.
 */
function groupCell(group: RunGroup, c: { kind: string; key: string }, groupBy: GroupBy | undefined) {
  if (c.kind === 'metric') {
    const s = summarizeMetric(group, c.key);
    if (!s) return null;
    return (
      <span
        className="group-agg"
        title={`mean of ${s.count} run${s.count === 1 ? '' : 's'}: ${fullNumber(s.mean)}; min ${fullNumber(s.min)}, max ${fullNumber(s.max)}`}
      >
        <span className="muted">μ </span>
        {formatNumber(s.mean, TABLE_DIGITS)}
      </span>
    );
  }
  if (groupBy && c.kind === groupBy.kind && c.key === groupBy.key && group.value !== null)
    return <span title={group.value}>{group.value}</span>;
  return null;
}
