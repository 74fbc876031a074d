// The runs table's columns: which ones are shown (link, saved choice or defaults) and how each renders.
import { useMemo } from 'react';
import type { Run } from '../../api';
import { Link } from '../../components/Link';
import type { Column } from '../../components/VirtualTable';
import { fullNumber } from '../../lib/format';
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
} from '../../lib/run-columns';
import type { TreeRow } from '../../lib/run-tree';
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
  rows: TreeRow[];
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
}: RunsColumnsInput): Column[] {
  const { selected, setSelected, toggle } = selection;
  const { expanded, setOpen, sortKey, sortDir, sortBy } = view;
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.run.info.run_id));
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
          onChange={() => setSelected(allSelected ? new Set() : new Set(rows.map((r) => r.run.info.run_id)))}
        />
      ),
      cell: (i) => (
        <input
          type="checkbox"
          tabIndex={-1}
          aria-label={`Select run ${rows[i].run.info.run_name ?? rows[i].run.info.run_id}`}
          checked={selected.has(rows[i].run.info.run_id)}
          onChange={() => toggle(rows[i].run.info.run_id)}
        />
      ),
    },
    {
      id: 'name',
      width: 240,
      label: 'Run name',
      sort: sortKey === 'attributes.run_name' ? sortDir : undefined,
      onSort: () => sortBy('attributes.run_name'),
      cell: (i) => {
        const { run, depth, childCount } = rows[i];
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
          const run = rows[i].run;
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
