import { useMemo } from 'react';
import { api, type MetricWithRunId } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { LineChart, type LineSeries } from '../components/LineChart';
import { Link } from '../components/Link';
import { pointsPerRun } from '../lib/history-budget';
import { runColor } from '../lib/palette';
import { discoverKeys } from '../lib/run-columns';
import { loadRuns } from '../lib/runs-by-id';
import { smooth } from '../lib/smoothing';
import { useLoad } from '../lib/use-load';
import { type Route, setParams } from '../router';

type XAxis = 'step' | 'time' | 'relative';

/**
 * Sampled histories of one metric for many runs, 100 runs per request (the server's limit). The
 * server's MIN_MAX sampling (our extension of get-history-bulk-interval) keeps each step bucket's
 * smallest and largest value, so a one-step spike in a million points is still drawn.
 */
async function loadHistories(
  runIds: string[],
  key: string,
  range: [number, number] | undefined,
  signal: AbortSignal,
): Promise<MetricWithRunId[]> {
  const out: MetricWithRunId[] = [];
  const perRun = pointsPerRun(runIds.length);
  for (let i = 0; i < runIds.length; i += 100) {
    const page = await api.metricHistoryInterval(
      {
        run_ids: runIds.slice(i, i + 100),
        metric_key: key,
        max_results: perRun,
        sampling: 'MIN_MAX',
        start_step: range ? Math.floor(range[0]) : undefined,
        end_step: range ? Math.ceil(range[1]) : undefined,
      },
      signal,
    );
    out.push(...(page.metrics ?? []));
  }
  return out;
}

export function toSeries(
  points: MetricWithRunId[],
  runOrder: string[],
  names: Map<string, string>,
  x: XAxis,
  weight: number,
  log: boolean,
): (LineSeries & { id: string })[] {
  const byRun = new Map<string, MetricWithRunId[]>();
  for (const p of points) {
    const list = byRun.get(p.run_id) ?? [];
    list.push(p);
    byRun.set(p.run_id, list);
  }
  const series: (LineSeries & { id: string })[] = [];
  runOrder.forEach((runId, i) => {
    const list = byRun.get(runId);
    if (!list || list.length === 0) return;
    if (x === 'step') list.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
    else list.sort((a, b) => a.timestamp - b.timestamp);
    const t0 = list[0].timestamp;
    const xs = list.map((p) =>
      x === 'step' ? p.step : x === 'time' ? p.timestamp / 1000 : (p.timestamp - t0) / 1000,
    );
    // Values arrive as numbers, or as "NaN"/"Infinity" strings for non-finite ones.
    let ys = list.map((p) => {
      const v = Number(p.value);
      return Number.isFinite(v) && (!log || v > 0) ? v : null;
    });
    ys = smooth(ys, weight);
    series.push({ id: runId, label: names.get(runId) ?? runId, color: runColor(runId, i), x: xs, y: ys });
  });
  return series;
}

export function MetricsPage({ route }: { route: Route }) {
  const runsText = route.params.get('runs') ?? '';
  const runIds = useMemo(() => runsText.split(',').filter(Boolean), [runsText]);
  const x = (route.params.get('x') as XAxis | null) ?? 'step';
  const weight = Math.min(0.99, Math.max(0, Number(route.params.get('smooth') ?? 0) || 0));
  const log = route.params.get('log') === '1';
  const zoomText = route.params.get('zoom');
  const zoom = useMemo((): [number, number] | undefined => {
    const parts = (zoomText ?? '').split(',').map(Number);
    return parts.length === 2 && parts.every(Number.isFinite) && parts[0] < parts[1]
      ? [parts[0], parts[1]]
      : undefined;
  }, [zoomText]);

  const runs = useLoad(() => loadRuns(runIds), [runIds]);
  const keys = useMemo(() => discoverKeys(runs.data ?? []).metric, [runs.data]);
  const key = route.params.get('key') ?? keys[0] ?? '';
  const names = useMemo(
    () => new Map((runs.data ?? []).map((r) => [r.info.run_id, r.info.run_name || r.info.run_id])),
    [runs.data],
  );
  // On the step axis a zoom asks the server for that range alone, so long histories gain detail.
  const stepRange = x === 'step' ? zoom : undefined;
  const history = useLoad(
    (signal) => (key ? loadHistories(runIds, key, stepRange, signal) : Promise.resolve([])),
    [runIds, key, stepRange],
  );
  const series = useMemo(
    () => toSeries(history.data ?? [], runIds, names, x, weight, log),
    [history.data, runIds, names, x, weight, log],
  );

  return (
    <main className="page page-wide">
      <div className="page-head">
        <h1>Metric charts</h1>
        <span className="muted">{runIds.length} run(s)</span>
      </div>
      <ErrorBox error={runs.error ?? history.error} />
      <fieldset className="toolbar plain" aria-label="Chart settings">
        <label>
          Metric{' '}
          <select
            aria-label="Metric"
            value={key}
            onChange={(e) => setParams({ key: e.target.value, zoom: null })}
          >
            {keys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          X axis{' '}
          <select
            aria-label="X axis"
            value={x}
            onChange={(e) => setParams({ x: e.target.value === 'step' ? null : e.target.value, zoom: null })}
          >
            <option value="step">Step</option>
            <option value="time">Wall time</option>
            <option value="relative">Relative time</option>
          </select>
        </label>
        <label>
          Smoothing{' '}
          <input
            type="range"
            aria-label="Smoothing"
            min={0}
            max={0.99}
            step={0.01}
            value={weight}
            aria-valuetext={weight.toFixed(2)}
            onChange={(e) => setParams({ smooth: Number(e.target.value) || null }, { replace: true })}
          />{' '}
          <output>{weight.toFixed(2)}</output>
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={log}
            onChange={(e) => setParams({ log: e.target.checked ? '1' : null })}
          />
          Log scale
        </label>
        {zoom ? (
          <button type="button" onClick={() => setParams({ zoom: null })}>
            Reset zoom
          </button>
        ) : null}
      </fieldset>
      {key && !history.loading && !history.error && series.length === 0 ? (
        <p className="muted" role="status">
          {stepRange ? (
            <>
              No point of <code>{key}</code> in the zoomed steps.
            </>
          ) : (
            <>
              None of the selected runs has the metric <code>{key}</code>
              {keys.length > 0 ? '; choose another metric above.' : '.'}
            </>
          )}
        </p>
      ) : key ? (
        <LineChart
          yLabel={key}
          label={`${key} of ${runIds.length} runs`}
          series={series}
          xKind={x}
          log={log}
          zoom={zoom}
          onZoom={(r) => setParams({ zoom: r ? `${r[0]},${r[1]}` : null }, { replace: false })}
        />
      ) : (
        <p className="muted">{runs.loading ? 'Loading…' : 'These runs have no metrics.'}</p>
      )}
      <p className="hint muted">
        Drag across the chart to zoom, double-click to reset; from the keyboard use the zoom buttons, or focus
        the chart and press + or - to zoom, Left or Right to pan and 0 to reset. Long histories are sampled by
        the server (up to {pointsPerRun(runIds.length).toLocaleString()} points per run, keeping every
        stretch's lowest and highest value); zooming on steps fetches the range in full detail.
      </p>
      {/* The chart's legend is the one legend (colours, values, toggles); this line only links the runs. */}
      <nav className="run-links" aria-label="Runs charted">
        <span className="muted">Open a run: </span>
        {(runs.data ?? []).map((r, i) => (
          <span key={r.info.run_id}>
            {i > 0 ? ' · ' : null}
            <Link href={`/runs/${encodeURIComponent(r.info.run_id)}`}>
              {r.info.run_name || r.info.run_id}
            </Link>
          </span>
        ))}
      </nav>
    </main>
  );
}
