import { useMemo } from 'react';
import { api, type Run } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { Link } from '../components/Link';
import { ParallelCoordinates } from '../components/ParallelCoordinates';
import { RunPicker } from '../components/RunPicker';
import { ScatterPlot } from '../components/ScatterPlot';
import { defaultAxes, defaultScatter } from '../lib/compare-defaults';
import { formatNumber } from '../lib/format';
import { runColor } from '../lib/palette';
import { discoverKeys, runValue } from '../lib/run-columns';
import { loadFoundRuns } from '../lib/runs-found';
import { useLoad } from '../lib/use-load';
import { href, navigate, type Route, setParams } from '../router';

function DiffTable({
  runs,
  ids,
  title,
  onlyDiff,
  experimentNames,
  onRemove,
}: {
  runs: Run[];
  ids: string[];
  title: string;
  onlyDiff: boolean;
  /** Set when the runs come from more than one experiment: each column names its experiment. */
  experimentNames?: Map<string, string>;
  onRemove(runId: string): void;
}) {
  const rows = ids
    .map((id) => {
      const values = runs.map((r) => runValue(r, id));
      const differs = new Set(values.map((v) => v ?? '\u0000')).size > 1;
      return { id, values, differs };
    })
    .filter((r) => !onlyDiff || r.differs);
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      <div className="scroll-x">
        <table className="grid compare">
          <thead>
            <tr>
              <th>Key</th>
              {runs.map((r, i) => (
                <th key={r.info.run_id}>
                  <span className="swatch" style={{ background: runColor(r.info.run_id, i) }} />
                  <Link href={`/runs/${encodeURIComponent(r.info.run_id)}`}>
                    {r.info.run_name || r.info.run_id}
                  </Link>
                  <button
                    type="button"
                    className="ghost remove-run"
                    aria-label={`Remove ${r.info.run_name || r.info.run_id} from the comparison`}
                    onClick={() => onRemove(r.info.run_id)}
                  >
                    ✕
                  </button>
                  {experimentNames ? (
                    <div className="muted run-experiment">
                      <Link href={href('/runs', { ids: r.info.experiment_id })}>
                        {experimentNames.get(r.info.experiment_id) ?? r.info.experiment_id}
                      </Link>
                    </div>
                  ) : null}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id} className={row.differs ? 'differs' : undefined}>
                <td className="mono">
                  {row.id.slice(row.id.indexOf(':') + 1)}
                  {row.differs ? <span className="sr-only"> (differs)</span> : null}
                </td>
                {row.values.map((v, i) => (
                  <td key={runs[i].info.run_id} className={row.id.startsWith('metric:') ? 'num' : undefined}>
                    {v === undefined ? (
                      <span className="muted">—</span>
                    ) : row.id.startsWith('metric:') ? (
                      formatNumber(Number(v))
                    ) : (
                      v
                    )}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length === 0 ? <p className="muted">{onlyDiff ? 'No differences.' : 'None.'}</p> : null}
    </section>
  );
}

function ValueSelect({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: string;
  options: string[];
  onChange(v: string): void;
}) {
  return (
    <label>
      {label}{' '}
      <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o.replace(':', ': ')}
          </option>
        ))}
      </select>
    </label>
  );
}

export function ComparePage({ route }: { route: Route }) {
  const runIds = (route.params.get('runs') ?? '').split(',').filter(Boolean);
  const onlyDiff = route.params.get('diff') === '1';
  const runs = useLoad(() => loadFoundRuns(runIds), [runIds.join(',')]);
  const list = runs.data?.runs ?? [];
  const missing = runs.data?.missing ?? [];
  const foundIds = list.map((r) => r.info.run_id);
  const shown = runs.data ? list.length : runIds.length;
  const keys = useMemo(() => discoverKeys(list), [list]);
  const experimentIds = [...new Set(list.map((r) => r.info.experiment_id))];
  const experiments = useLoad(
    () =>
      experimentIds.length > 1
        ? Promise.all(experimentIds.map((id) => api.getExperiment(id).then((r) => r.experiment)))
        : Promise.resolve([]),
    [experimentIds.join(',')],
  );
  const experimentNames =
    experimentIds.length > 1
      ? new Map((experiments.data ?? []).map((e) => [e.experiment_id, e.name]))
      : undefined;
  const pick = route.params.get('pick') ?? '';
  const setRuns = (ids: string[]) =>
    // Each change is a history entry: Back undoes an addition or a removal.
    navigate(href('/compare', { ...Object.fromEntries(route.params), runs: ids.join(',') }));
  const paramIds = keys.param.map((k) => `param:${k}`);
  const metricIds = keys.metric.map((k) => `metric:${k}`);
  const all = [...paramIds, ...metricIds];
  const compared = (ids: string[]) => ids.map((id) => ({ id, values: list.map((r) => runValue(r, id)) }));
  const params = compared(paramIds);
  const metrics = compared(metricIds);
  const defaults = { ...defaultScatter(params, metrics), axes: defaultAxes(params, metrics) };
  const x = route.params.get('x') ?? defaults.x;
  const y = route.params.get('y') ?? defaults.y;
  const axesParam = route.params.get('axes');
  const axes = axesParam !== null ? axesParam.split(',').filter((a) => all.includes(a)) : defaults.axes;

  const points = list.flatMap((r, i) => {
    const xv = Number(runValue(r, x));
    const yv = Number(runValue(r, y));
    const ok =
      runValue(r, x) !== undefined &&
      runValue(r, y) !== undefined &&
      Number.isFinite(xv) &&
      Number.isFinite(yv);
    return ok
      ? [{ x: xv, y: yv, label: r.info.run_name || r.info.run_id, color: runColor(r.info.run_id, i) }]
      : [];
  });

  return (
    <main className="page page-wide">
      <div className="page-head">
        <h1>
          Compare {shown === 1 ? '1 run' : `${shown} runs`}
          {experimentNames ? <span className="muted"> from {experimentIds.length} experiments</span> : null}
        </h1>
        {list[0] ? (
          <Link href={href('/metrics', { runs: foundIds.join(',') })}>Chart their metrics</Link>
        ) : null}
      </div>
      <ErrorBox error={runs.error} />
      {missing.length ? (
        <div className="notice" role="status" aria-label="Runs not found">
          {missing.length === 1 ? 'No run has the id ' : 'No runs have the ids '}
          {missing.map((id, i) => (
            <span key={id}>
              {i > 0 ? ', ' : null}
              <code>{id}</code>
            </span>
          ))}
          {list.length ? '; the other runs are compared.' : '.'}
        </div>
      ) : null}
      {runs.loading && !runs.data ? <p className="muted">Loading…</p> : null}
      <details className="picker" open={Boolean(pick) || runIds.length === 0}>
        <summary>Add runs from any experiment</summary>
        <RunPicker
          experimentId={pick}
          chosen={new Set(runIds)}
          onAdd={(ids) => setRuns([...runIds, ...ids.filter((id) => !runIds.includes(id))])}
        />
      </details>
      {list.length ? (
        <>
          <label className="check">
            <input
              type="checkbox"
              checked={onlyDiff}
              onChange={(e) => setParams({ diff: e.target.checked ? '1' : null })}
            />
            Only show differences
          </label>
          {(['Parameters', 'Metrics'] as const).map((title) => (
            <DiffTable
              key={title}
              runs={list}
              ids={title === 'Parameters' ? paramIds : metricIds}
              title={title}
              onlyDiff={onlyDiff}
              experimentNames={experimentNames}
              onRemove={(id) => setRuns(runIds.filter((r) => r !== id))}
            />
          ))}
          <section aria-label="Scatter plot">
            <h2>Scatter plot</h2>
            <div className="toolbar">
              <ValueSelect label="X value" value={x} options={all} onChange={(v) => setParams({ x: v })} />
              <ValueSelect label="Y value" value={y} options={all} onChange={(v) => setParams({ y: v })} />
            </div>
            <ScatterPlot points={points} xLabel={x.replace(':', ': ')} yLabel={y.replace(':', ': ')} />
          </section>
          <section aria-label="Parallel coordinates">
            <h2>Parallel coordinates</h2>
            <fieldset className="axes-picker">
              <legend>Axes</legend>
              {all.map((id) => (
                <label key={id} className="check">
                  <input
                    type="checkbox"
                    checked={axes.includes(id)}
                    onChange={(e) =>
                      setParams({
                        axes:
                          (e.target.checked ? [...axes, id] : axes.filter((a) => a !== id)).join(',') || ',',
                      })
                    }
                  />
                  {id.replace(':', ': ')}
                </label>
              ))}
            </fieldset>
            <ParallelCoordinates
              axes={axes.map((id) => ({
                label: id.slice(id.indexOf(':') + 1),
                values: list.map((r) => runValue(r, id)),
              }))}
              runs={list.map((r, i) => ({
                label: r.info.run_name || r.info.run_id,
                color: runColor(r.info.run_id, i),
              }))}
            />
          </section>
        </>
      ) : null}
    </main>
  );
}
