// The runs of one or more experiments: a filtered, sorted, nested table with live status, columns to
// choose, and a selection to compare, chart, delete or restore.
import { useMemo, useState } from 'react';
import { api, MlflowError } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { Link } from '../components/Link';
import { VirtualTable } from '../components/VirtualTable';
import { runCountText } from '../lib/run-count';
import { flattenRunTree, treeKey } from '../lib/run-tree';
import { useLoad } from '../lib/use-load';
import { navigate, type Route } from '../router';
import { FilterBox } from './runs/FilterBox';
import { RunsToolbar } from './runs/RunsToolbar';
import { runsColumns, useChosenColumns } from './runs/runs-columns';
import { useLiveRuns } from './runs/use-live-runs';
import { useRunsView } from './runs/use-runs-view';
import { useSelection } from './runs/use-selection';

export function RunsPage({ route }: { route: Route }) {
  const view = useRunsView(route);
  const { ids, filter, orderBy, expanded } = view;
  const selection = useSelection(route);
  const { selected, setSelected } = selection;
  const [reloadTick, setReloadTick] = useState(0);
  const { loading, now } = useLiveRuns(ids, filter, orderBy, view.view, reloadTick);
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
  // Tree keys: Right opens a closed parent, Left closes an open one or goes from a child to its parent.
  const onExpand = (i: number, open: boolean): boolean | number => {
    const target = treeKey(rows, i, open, expanded);
    if (target !== 'toggle') return target;
    view.setOpen(rows[i].run.info.run_id, open);
    return true;
  };
  const columns = runsColumns({ rows, chosen, view, selection, now, experimentNames });

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
      <RunsToolbar
        view={view.view}
        keys={keys}
        chosen={chosen}
        onColumns={setColumns}
        selected={selected}
        act={act}
      />
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
        onToggle={(i) => selection.toggle(rows[i].run.info.run_id)}
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
