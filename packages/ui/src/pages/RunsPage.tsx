import { type FormEvent, useEffect, useMemo, useRef, useState } from 'react';
import { api, MlflowError, type Run, type ViewType } from '../api';
import { ColumnPicker } from '../components/ColumnPicker';
import { ErrorBox } from '../components/ErrorBox';
import { Link } from '../components/Link';
import { type Column, VirtualTable } from '../components/VirtualTable';
import {
  ATTRIBUTES,
  cellText,
  columnLabel,
  defaultColumns,
  discoverKeys,
  orderByFor,
  parseColumn,
} from '../lib/run-columns';
import { runCountText } from '../lib/run-count';
import { flattenRunTree } from '../lib/run-tree';
import { useLoad } from '../lib/use-load';
import { href, navigate, type Route, setParams } from '../router';

const FIRST_PAGE = 100;
const PAGE = 1000;
const POLL_MS = 3000;

interface Loading {
  runs: Run[];
  done: boolean;
  error?: Error;
}

/** Loads every matching run: a small first page for a fast first paint, then large pages. */
function useRuns(ids: string[], filter: string, orderBy: string, view: ViewType, reloadTick: number) {
  const [state, setState] = useState<Loading>({ runs: [], done: false });
  // biome-ignore lint/correctness/useExhaustiveDependencies: reloadTick is a reload trigger, not an input
  useEffect(() => {
    const controller = new AbortController();
    setState({ runs: [], done: false });
    (async () => {
      let token: string | undefined;
      let runs: Run[] = [];
      let size = FIRST_PAGE;
      do {
        const page = await api.searchRuns(
          {
            experiment_ids: ids,
            filter: filter || undefined,
            order_by: orderBy ? [orderBy] : undefined,
            run_view_type: view,
            max_results: size,
            page_token: token,
          },
          controller.signal,
        );
        if (controller.signal.aborted) return;
        runs = runs.concat(page.runs ?? []);
        token = page.next_page_token;
        size = PAGE;
        setState({ runs, done: !token });
      } while (token);
    })().catch((error: Error) => {
      if (!controller.signal.aborted) setState((s) => ({ ...s, done: true, error }));
    });
    return () => controller.abort();
    // reloadTick is not read: changing it (after a delete or restore) reloads the list.
  }, [ids, filter, orderBy, view, reloadTick]);
  return [state, setState] as const;
}

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

function FilterBox({ filter, error }: { filter: string; error?: Error }) {
  const [text, setText] = useState(filter);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => setText(filter), [filter]);
  useEffect(() => {
    // "/" jumps to the filter box, as in many search UIs.
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key === '/' && !['INPUT', 'TEXTAREA'].includes(t.tagName)) {
        e.preventDefault();
        input.current?.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setParams({ filter: text.trim() });
  };
  const syntax = error instanceof MlflowError && error.errorCode === 'INVALID_PARAMETER_VALUE';
  return (
    <form className="filter" onSubmit={submit} aria-label="Filter runs">
      <input
        ref={input}
        type="search"
        className={syntax ? 'invalid' : undefined}
        aria-label="Filter runs (MLflow search syntax)"
        aria-invalid={syntax}
        aria-describedby={syntax ? 'filter-error' : undefined}
        placeholder="metrics.rmse < 1 and params.model = 'tree'   (press / to focus)"
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="submit">Search</button>
      {filter ? (
        <button type="button" className="ghost" onClick={() => setParams({ filter: null })}>
          Clear
        </button>
      ) : null}
      {syntax ? (
        <div id="filter-error" className="filter-error" role="alert">
          {error.message}
        </div>
      ) : null}
    </form>
  );
}

const STATUS_ICON: Record<string, string> = {
  RUNNING: '●',
  SCHEDULED: '◷',
  FINISHED: '✓',
  FAILED: '✕',
  KILLED: '■',
};

/** Above this many selected runs the selection is not written into the URL. */
const MAX_SELECTION_IN_URL = 200;

export function RunsPage({ route }: { route: Route }) {
  const idsText = route.params.get('ids') ?? '';
  const ids = useMemo(() => idsText.split(',').filter(Boolean), [idsText]);
  const filter = route.params.get('filter') ?? '';
  const orderBy = route.params.get('order') ?? '';
  const view = (route.params.get('view') as ViewType | null) ?? 'ACTIVE_ONLY';
  const [reloadTick, setReloadTick] = useState(0);
  const [loading, setLoading] = useRuns(ids, filter, orderBy, view, reloadTick);
  // Expanded parents are part of the view, so they are in the URL too (open=<run id>,...).
  const openText = route.params.get('open') ?? '';
  const expanded = useMemo(() => new Set(openText.split(',').filter(Boolean)), [openText]);
  // Selected runs are in the URL too (sel=<run id>,...), replacing the history entry so the back button
  // does not step through checkbox clicks. A selection too large for a shareable link (select-all on
  // thousands of runs) is kept in memory only.
  const selText = route.params.get('sel') ?? '';
  const urlSelected = useMemo(() => new Set(selText.split(',').filter(Boolean)), [selText]);
  const [largeSelection, setLargeSelection] = useState<Set<string> | null>(null);
  const selected = largeSelection ?? urlSelected;
  const setSelected = (next: Set<string>) => {
    const large = next.size > MAX_SELECTION_IN_URL;
    setLargeSelection(large ? next : null);
    setParams({ sel: large ? null : [...next].join(',') }, { replace: true });
  };
  const [actionError, setActionError] = useState<Error>();
  const [now, setNow] = useState(Date.now());

  const experiments = useLoad(
    () => Promise.all(ids.map((id) => api.getExperiment(id).then((r) => r.experiment))),
    [ids],
  );
  const experimentNames = useMemo(
    () => new Map((experiments.data ?? []).map((e) => [e.experiment_id, e.name])),
    [experiments.data],
  );

  // Columns: from the URL when the link names them, else the user's last choice for these experiments.
  const urlCols = route.params.get('cols');
  const keys = useMemo(() => discoverKeys(loading.runs), [loading.runs]);
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

  // Live status: while any loaded run is RUNNING, ask for those runs again every few seconds.
  const runningKey = loading.runs
    .filter((r) => r.info.status === 'RUNNING')
    .map((r) => r.info.run_id)
    .slice(0, 100)
    .join(',');
  useEffect(() => {
    if (!runningKey) return;
    const running = runningKey.split(',');
    const timer = setInterval(async () => {
      setNow(Date.now());
      try {
        const page = await api.searchRuns({
          experiment_ids: ids,
          filter: `attributes.run_id IN (${running.map((id) => `'${id}'`).join(', ')})`,
          run_view_type: 'ALL',
          max_results: 100,
        });
        const fresh = new Map((page.runs ?? []).map((r) => [r.info.run_id, r]));
        setLoading((s) => ({ ...s, runs: s.runs.map((r) => fresh.get(r.info.run_id) ?? r) }));
      } catch {
        // A failed poll is retried on the next tick.
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [runningKey, ids, setLoading]);

  const rows = useMemo(() => flattenRunTree(loading.runs, expanded), [loading.runs, expanded]);
  const [sortKey, sortDir] = orderBy.endsWith(' ASC')
    ? [orderBy.slice(0, -4), 'ASC' as const]
    : orderBy.endsWith(' DESC')
      ? [orderBy.slice(0, -5), 'DESC' as const]
      : [orderBy, orderBy ? ('ASC' as const) : undefined];

  const toggleSelect = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const setOpen = (id: string, open: boolean) => {
    const next = new Set(expanded);
    if (open) next.add(id);
    else next.delete(id);
    setParams({ open: [...next].join(',') }, { replace: true });
  };
  // Tree keys: Right opens a closed parent, Left closes an open one or goes from a child to its parent.
  const onExpand = (i: number, open: boolean): boolean | number => {
    const { run, depth, childCount } = rows[i];
    const id = run.info.run_id;
    if (childCount > 0 && open !== expanded.has(id)) {
      setOpen(id, open);
      return true;
    }
    if (!open && depth > 0) {
      for (let p = i - 1; p >= 0; p--) if (rows[p].depth < depth) return p;
    }
    return false;
  };
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.run.info.run_id));

  const columns: Column[] = [
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
          onChange={() => toggleSelect(rows[i].run.info.run_id)}
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
    ...chosen.flatMap((idText): Column[] => {
      const c = parseColumn(idText);
      if (!c) return [];
      const ob = orderByFor(c);
      const width = c.kind === 'attr' ? (ATTRIBUTES.find((a) => a.key === c.key)?.width ?? 120) : 120;
      return [
        {
          id: idText,
          width,
          label: <span title={`${c.kind}: ${c.key}`}>{columnLabel(c)}</span>,
          className: c.kind === 'metric' ? 'num' : undefined,
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
            return <span title={text}>{text}</span>;
          },
        },
      ];
    }),
  ];

  function sortBy(key: string) {
    const dir = sortKey === key && sortDir === 'DESC' ? 'ASC' : 'DESC';
    setParams({ order: `${key} ${dir}` });
  }

  const act = async (fn: (id: string) => Promise<unknown>) => {
    setActionError(undefined);
    try {
      for (const id of selected) await fn(id);
      setSelected(new Set());
      setReloadTick((t) => t + 1);
    } catch (error) {
      setActionError(error as Error);
    }
  };

  const title = experiments.data?.map((e) => e.name).join(', ') ?? ids.join(', ');
  const countText = runCountText(loading.runs.length, loading.done, loading.error !== undefined);
  const selectedIds = [...selected];
  return (
    <main className="page page-wide">
      <div className="page-head">
        <h1>
          <span className="muted">Runs of </span>
          {title}
        </h1>
        {countText ? <span className="muted run-count">{countText}</span> : null}
      </div>
      {ids.length === 0 ? (
        <p>
          No experiment chosen. <Link href="/">Pick one from the experiments list</Link>.
        </p>
      ) : null}
      <ErrorBox error={experiments.error} />
      <FilterBox filter={filter} error={loading.error} />
      <div className="toolbar">
        <fieldset className="segmented" aria-label="Which runs">
          {(
            [
              ['ACTIVE_ONLY', 'Active'],
              ['DELETED_ONLY', 'Deleted'],
              ['ALL', 'All'],
            ] as const
          ).map(([v, label]) => (
            <label key={v}>
              <input
                type="radio"
                name="run-view"
                checked={view === v}
                onChange={() => setParams({ view: v === 'ACTIVE_ONLY' ? null : v })}
              />
              {label}
            </label>
          ))}
        </fieldset>
        <ColumnPicker keys={keys} chosen={chosen} onChange={setColumns} />
        <span className="spacer" />
        <span className="muted">{selected.size ? `${selected.size} selected` : ''}</span>
        <button
          type="button"
          disabled={selected.size < 2}
          onClick={() => navigate(href('/compare', { runs: selectedIds.join(',') }))}
        >
          Compare
        </button>
        <button
          type="button"
          disabled={selected.size === 0}
          onClick={() => navigate(href('/metrics', { runs: selectedIds.join(',') }))}
        >
          Chart
        </button>
        {view !== 'ACTIVE_ONLY' ? (
          <button type="button" disabled={selected.size === 0} onClick={() => act(api.restoreRun)}>
            Restore
          </button>
        ) : null}
        {view !== 'DELETED_ONLY' ? (
          <button
            type="button"
            className="danger"
            disabled={selected.size === 0}
            onClick={() => {
              if (confirm(`Delete ${selected.size} run(s)? They can be restored later.`)) act(api.deleteRun);
            }}
          >
            Delete
          </button>
        ) : null}
      </div>
      <ErrorBox
        error={
          actionError ??
          (loading.error instanceof MlflowError && loading.error.errorCode === 'INVALID_PARAMETER_VALUE'
            ? undefined
            : loading.error)
        }
      />
      <VirtualTable
        label="Runs"
        columns={columns}
        rowCount={rows.length}
        rowKey={(i) => rows[i].run.info.run_id}
        rowClassName={(i) => (rows[i].run.info.lifecycle_stage === 'deleted' ? 'deleted' : undefined)}
        onOpen={(i) => navigate(`/runs/${encodeURIComponent(rows[i].run.info.run_id)}`)}
        onToggle={(i) => toggleSelect(rows[i].run.info.run_id)}
        onExpand={onExpand}
        empty={
          loading.error ? 'No runs: see the message above.' : loading.done ? 'No runs match.' : 'Loading…'
        }
      />
      <p className="hint muted">
        Keys: ↑/↓ move, →/← expand and collapse child runs, Enter opens, Space selects, / filters. Click a
        column header to sort on the server.
      </p>
    </main>
  );
}
