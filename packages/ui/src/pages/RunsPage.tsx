// The runs of one or more experiments: a filtered, sorted, nested table with live status, columns to
// choose, and a selection to compare, chart, delete or restore.
import { useMemo, useRef, useState } from 'react';
import type { Run } from '../api';
import { api, MlflowError } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { Link } from '../components/Link';
import { PermissionsPanel } from '../components/PermissionsPanel';
import { VirtualTable } from '../components/VirtualTable';
import { groupedRows, isGroupRow, type TableRow, tableRowKey } from '../lib/grouped-rows';
import { runVersion } from '../lib/live';
import { runCountText } from '../lib/run-count';
import { groupByString, parseGroupBy } from '../lib/run-groups';
import { flattenRunTree, treeKey } from '../lib/run-tree';
import { useLoad } from '../lib/use-load';
import { navigate, type Route, setParams } from '../router';
import { ChartsTab } from './runs/ChartsTab';
import { FilterBox } from './runs/FilterBox';
import { RunsToolbar } from './runs/RunsToolbar';
import { runsColumns, useChosenColumns } from './runs/runs-columns';
import { useLiveRuns } from './runs/use-live-runs';
import { useRunsView } from './runs/use-runs-view';
import { useSelection } from './runs/use-selection';
import { TracesTab } from './traces/TracesTab';

const NO_EXPERIMENTS: string[] = [];

export function RunsPage({ route }: { route: Route }) {
  const view = useRunsView(route);
  const { ids, filter, orderBy, expanded } = view;
  const selection = useSelection(route);
  const { selected, setSelected } = selection;
  const [reloadTick, setReloadTick] = useState(0);
  const tabParam = route.params.get('tab');
  const tab = tabParam === 'charts' || tabParam === 'traces' ? tabParam : 'table';
  // The Traces tab shows no runs: none are loaded for it.
  const runsOf = tab === 'traces' ? NO_EXPERIMENTS : ids;
  // Live updates are on unless the link says live=0.
  const live = route.params.get('live') !== '0';
  const { loading, now, polledAt } = useLiveRuns(runsOf, filter, orderBy, view.view, reloadTick, live);
  const [actionError, setActionError] = useState<Error>();

  const experiments = useLoad(
    () => Promise.all(ids.map((id) => api.getExperiment(id).then((r) => r.experiment))),
    [ids],
  );
  const experimentNames = useMemo(
    () => new Map((experiments.data ?? []).map((e) => [e.experiment_id, e.name])),
    [experiments.data],
  );
  const { keys, chosen, setColumns } = useChosenColumns(ids, view.urlCols, loading.runs);

  const rows = useMemo(() => flattenRunTree(loading.runs, expanded), [loading.runs, expanded]);
  const groupText = route.params.get('group');
  const groupBy = useMemo(() => parseGroupBy(groupText), [groupText]);
  // Closed groups are in the URL too (gclosed=<group id>,... with each id URI-encoded).
  const closedText = route.params.get('gclosed') ?? '';
  const closed = useMemo(() => new Set(closedText.split(',').filter(Boolean).map(safeDecode)), [closedText]);
  const tableRows: TableRow[] = useMemo(
    () => (groupBy ? groupedRows(loading.runs, groupBy, closed, expanded) : rows),
    [groupBy, loading.runs, closed, expanded, rows],
  );
  const setGroupOpen = (group: { id: string }, open: boolean) => {
    const next = new Set(closed);
    if (open) next.delete(group.id);
    else next.add(group.id);
    setParams({ gclosed: [...next].map(encodeURIComponent).join(',') }, { replace: true });
  };
  // Tree keys: Right opens a closed parent, Left closes an open one or goes from a child to its parent.
  const onExpand = (i: number, open: boolean): boolean | number => {
    const row = tableRows[i];
    if (isGroupRow(row)) {
      if (row.open === open) return false;
      setGroupOpen(row.group, open);
      return true;
    }
    const target = treeKey(tableRows, i, open, expanded);
    if (target !== 'toggle') return target;
    view.setOpen(row.run.info.run_id, open);
    return true;
  };
  const columns = runsColumns({
    rows: tableRows,
    chosen,
    view,
    selection,
    now,
    experimentNames,
    groupBy,
    setGroupOpen,
  });
  const charted = useChartedRuns(
    rows.map((r) => r.run),
    selected,
  );

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
  return (
    <main className="page page-wide">
      <div className="page-head">
        <h1>
          <span className="muted">{tab === 'traces' ? 'Traces of ' : 'Runs of '}</span>
          {title}
        </h1>
        {countText && tab !== 'traces' ? <span className="muted run-count">{countText}</span> : null}
        {tab !== 'traces' && ids.length ? (
          <label className="check live-toggle" title="Poll for new runs and new metric values">
            <input
              type="checkbox"
              checked={live}
              onChange={(e) => setParams({ live: e.target.checked ? null : '0' }, { replace: true })}
            />
            Live
            <span className="muted" aria-live="off" data-polled-at={polledAt}>
              {live && polledAt ? ` · checked ${new Date(polledAt).toLocaleTimeString()}` : ''}
            </span>
          </label>
        ) : null}
      </div>
      {ids.length === 0 ? (
        <p>
          No experiment chosen. <Link href="/">Pick one from the experiments list</Link>.
        </p>
      ) : null}
      <ErrorBox error={experiments.error} />
      {tab === 'traces' ? null : <FilterBox filter={filter} error={loading.error} />}
      <div className="tabs" role="tablist" aria-label="Experiment views">
        {(
          [
            ['table', 'Runs'],
            ['charts', 'Charts'],
            ['traces', 'Traces'],
          ] as const
        ).map(([t, text]) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={t === tab}
            className={t === tab ? 'tab active' : 'tab'}
            onClick={() => setParams({ tab: t === 'table' ? null : t })}
          >
            {text}
          </button>
        ))}
      </div>
      {tab === 'traces' ? (
        <TracesTab ids={ids} route={route} />
      ) : (
        <>
          <RunsToolbar
            view={view.view}
            keys={keys}
            chosen={chosen}
            onColumns={setColumns}
            selected={selected}
            act={act}
            groupBy={groupBy ? groupByString(groupBy) : ''}
          />
          <ErrorBox
            error={
              actionError ??
              (loading.error instanceof MlflowError && loading.error.errorCode === 'INVALID_PARAMETER_VALUE'
                ? undefined
                : loading.error)
            }
          />
          {tab === 'charts' ? (
            <ChartsTab
              ids={ids}
              groupBy={groupBy}
              runs={charted.runs}
              note={charted.note}
              urlCharts={route.params.get('charts')}
            />
          ) : (
            <VirtualTable
              label="Runs"
              columns={columns}
              rowCount={tableRows.length}
              rowKey={(i) => tableRowKey(tableRows[i])}
              rowClassName={(i) => {
                const row = tableRows[i];
                if (isGroupRow(row)) return 'group-row';
                return row.run.info.lifecycle_stage === 'deleted' ? 'deleted' : undefined;
              }}
              onOpen={(i) => {
                const row = tableRows[i];
                if (isGroupRow(row)) setGroupOpen(row.group, !row.open);
                else navigate(`/runs/${encodeURIComponent(row.run.info.run_id)}`);
              }}
              onToggle={(i) => {
                const row = tableRows[i];
                if (isGroupRow(row)) selection.toggleAll(row.group.runs.map((r) => r.info.run_id));
                else selection.toggle(row.run.info.run_id);
              }}
              onExpand={onExpand}
              empty={
                loading.error
                  ? 'No runs: see the message above.'
                  : loading.done
                    ? 'No runs match.'
                    : 'Loading…'
              }
            />
          )}
          <p className="hint muted">
            Keys: ↑/↓ move, →/← expand and collapse child runs, Enter opens, Space selects, / filters. Click a
            column header to sort on the server.
          </p>
        </>
      )}
      {ids.length === 1 ? <PermissionsPanel target={{ kind: 'experiment', id: ids[0] }} /> : null}
    </main>
  );
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The most runs the Charts tab draws at once (MLflow's grid shows the first visible runs too). */
const MAX_CHARTED = 100;

/**
 * The runs the Charts tab draws: the selected ones when there is a selection, else the table's first
 * rows. The same list (by id and data version) keeps its identity, so the background loading of later
 * pages does not redraw every chart.
 */
function useChartedRuns(rows: Run[], selected: Set<string>): { runs: Run[]; note: string } {
  const picked = selected.size ? rows.filter((r) => selected.has(r.info.run_id)) : rows;
  const runs = picked.slice(0, MAX_CHARTED);
  // A poll that brings new metric values gives the runs new versions: the charts are told then.
  const key = runs.map((r) => `${r.info.run_id}@${runVersion(r)}`).join(',');
  const last = useRef<{ key: string; runs: Run[] }>({ key: '', runs: [] });
  if (last.current.key !== key) last.current = { key, runs };
  const what = selected.size ? 'selected run' : 'run';
  const note =
    picked.length > MAX_CHARTED
      ? `Charting the first ${MAX_CHARTED} of ${picked.length} ${what}s (select runs to chart others).`
      : `Charting ${runs.length} ${what}${runs.length === 1 ? '' : 's'}${selected.size ? '' : ' (select runs to chart only those)'}.`;
  return { runs: last.current.runs, note };
}
