// Metric line charts on uPlot (canvas): many runs overlaid, a legend, a log scale, and zoom on x by
// mouse drag (double-click resets) or by keyboard, reported to the caller so the zoom can live in
// the URL.
import { type KeyboardEvent, type RefObject, useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import { logRange, stepZoom, type ZoomAction } from '../lib/chart-view';
import { cssVar, useTheme } from '../theme';

export interface LineSeries {
  label: string;
  color: string;
  x: number[];
  y: (number | null)[];
}

export interface LineChartProps {
  series: LineSeries[];
  /** step: plain numbers; time: x in seconds since the epoch; relative: seconds since the run's start. */
  xKind: 'step' | 'time' | 'relative';
  log?: boolean;
  height?: number;
  zoom?: [number, number];
  onZoom?(range: [number, number] | undefined): void;
  compact?: boolean;
  label: string;
  /** Title of the y axis, e.g. the metric's key. */
  yLabel?: string;
}

function align(series: LineSeries[]): uPlot.AlignedData {
  if (series.length === 0) return [[]];
  if (series.length === 1) return [series[0].x, series[0].y] as uPlot.AlignedData;
  return uPlot.join(series.map((s) => [s.x, s.y] as uPlot.AlignedData));
}

export function LineChart(props: LineChartProps) {
  const { series, xKind, log, compact } = props;
  const height = props.height ?? (compact ? 60 : 360);
  const box = useRef<HTMLElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useTheme();
  const onZoom = useRef(props.onZoom);
  onZoom.current = props.onZoom;
  const zoomRef = useRef(props.zoom);
  zoomRef.current = props.zoom;
  // The data's x extent seen while not zoomed: on the step axis a zoomed chart holds only the zoomed
  // range (fetched alone), so keyboard zoom-out and pan need the wider extent remembered.
  const fullX = useRef<[number, number] | undefined>(undefined);
  const shape = `${series.map((s) => `${s.label}|${s.color}`).join(',')}`;

  // biome-ignore lint/correctness/useExhaustiveDependencies: rebuilt only when the chart's shape changes
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const text = cssVar('--text');
    const grid = cssVar('--grid');
    const axis: uPlot.Axis = {
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
    };
    let userZoom = false;
    let measured: uPlot.AlignedData | undefined;
    const opts: uPlot.Options = {
      width: Math.max(100, el.clientWidth),
      height,
      legend: { show: !compact, live: true },
      // Hovering a line (or its legend entry) fades the others, so one run stands out among many.
      focus: { alpha: 0.25 },
      cursor: compact
        ? { show: false }
        : { drag: { x: true, y: false, setScale: true }, focus: { prox: 16 } },
      scales: {
        x: { time: xKind === 'time' },
        // uPlot's own log range widens to whole decades; fit the data instead.
        y: log ? { distr: 3, range: (_u, min, max) => logRange(min, max) } : {},
      },
      axes: compact
        ? [{ show: false }, { show: false }]
        : [
            { ...axis, label: xLabel(xKind) },
            { ...axis, label: props.yLabel },
          ],
      series: [
        { label: xLabel(xKind) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: compact ? 1.25 : 1.5,
          spanGaps: true,
          points: { show: false },
        })),
      ],
      hooks: {
        // Marks the drawn chart for tests and bench/ui.ts: how many x positions it drew, and the
        // smallest and largest y value it was given (the e2e tests check that spikes reach the chart).
        draw: [
          (u) => {
            if (u.data[0].length > 0) el.setAttribute('data-drawn', String(u.data[0].length));
            else el.removeAttribute('data-drawn');
            // And the y range drawn, so tests can check the log scale fits the data.
            const { min, max } = u.scales.y;
            if (min !== undefined && max !== undefined) el.setAttribute('data-y-scale', `${min},${max}`);
            // The axis titles are painted on the canvas; name the y one for tests too.
            const yTitle = u.axes[1]?.label;
            if (typeof yTitle === 'string') el.setAttribute('data-y-label', yTitle);
            if (u.data !== measured) {
              measured = u.data;
              const [lo, hi] = yExtent(u.data);
              if (lo <= hi) el.setAttribute('data-y-extent', `${lo},${hi}`);
              else el.removeAttribute('data-y-extent');
            }
          },
        ],
        setSelect: [() => (userZoom = true)],
        setSeries: [() => markLegend(el)],
        setScale: [
          (u, key) => {
            if (key !== 'x' || !userZoom) return;
            userZoom = false;
            const min = u.scales.x.min;
            const max = u.scales.x.max;
            if (min !== undefined && max !== undefined) onZoom.current?.([min, max]);
          },
        ],
      },
    };
    const u = new uPlot(opts, align(series), el);
    plot.current = u;
    if (!zoomRef.current) fullX.current = xExtent(u.data);
    // Double-click resets the zoom (uPlot's own gesture); tell the caller.
    const reset = () => onZoom.current?.(undefined);
    u.over.addEventListener('dblclick', reset);
    if (!compact) makeLegendKeyboard(el);
    const observer = new ResizeObserver(() => u.setSize({ width: Math.max(100, el.clientWidth), height }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, xKind, log, compact, height, theme]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData(align(series), !zoomRef.current);
    if (!zoomRef.current) fullX.current = xExtent(u.data);
    const z = zoomRef.current;
    if (z) u.setScale('x', { min: z[0], max: z[1] });
  }, [series]);

  useEffect(() => {
    const u = plot.current;
    if (!u || !props.zoom) return;
    const [min, max] = props.zoom;
    if (u.scales.x.min !== min || u.scales.x.max !== max) u.setScale('x', { min, max });
  }, [props.zoom?.[0], props.zoom?.[1]]);

  const zoomBy = (action: ZoomAction | 'reset') => {
    const u = plot.current;
    if (!u) return;
    if (action === 'reset') {
      onZoom.current?.(undefined);
      u.setData(u.data, true);
      return;
    }
    const full = union(fullX.current, xExtent(u.data));
    const min = u.scales.x.min;
    const max = u.scales.x.max;
    if (!full || min === undefined || max === undefined) return;
    const next = stepZoom([min, max], full, action);
    onZoom.current?.(next);
    if (next) u.setScale('x', { min: next[0], max: next[1] });
    else u.setScale('x', { min: full[0], max: full[1] });
  };
  const onKey = (e: KeyboardEvent<HTMLElement>) => {
    const action = KEYS[e.key];
    if (!action || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    zoomBy(action);
  };

  if (compact || !props.onZoom) {
    return (
      <div
        ref={box as RefObject<HTMLDivElement>}
        className={compact ? 'chart compact' : 'chart'}
        role="img"
        aria-label={props.label}
      />
    );
  }
  return (
    <div className="chart-frame">
      <fieldset className="toolbar plain chart-zoom" aria-label="Zoom">
        <button type="button" onClick={() => zoomBy('in')} title="Zoom in (+)">
          Zoom in
        </button>
        <button type="button" onClick={() => zoomBy('out')} title="Zoom out (-)">
          Zoom out
        </button>
        <button type="button" onClick={() => zoomBy('left')} title="Pan left (Left arrow)">
          Pan left
        </button>
        <button type="button" onClick={() => zoomBy('right')} title="Pan right (Right arrow)">
          Pan right
        </button>
      </fieldset>
      {/* A labelled region, not an image: the legend inside holds buttons that must stay reachable. */}
      <section
        ref={box}
        className="chart"
        aria-roledescription="chart"
        aria-label={`${props.label}. Keys: + and - zoom, Left and Right pan, 0 resets.`}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the focused chart takes the zoom keys
        tabIndex={0}
        onKeyDown={onKey}
      />
    </div>
  );
}

const KEYS: Record<string, ZoomAction | 'reset'> = {
  '+': 'in',
  '=': 'in',
  '-': 'out',
  _: 'out',
  ArrowLeft: 'left',
  ArrowRight: 'right',
  '0': 'reset',
  Home: 'reset',
};

/**
 * uPlot's legend labels hide or show a series on click but are plain table cells; make each one a
 * toggle button for the keyboard (Enter or Space clicks it) with aria-pressed telling whether the
 * series is shown.
 */
function makeLegendKeyboard(el: HTMLElement) {
  el.querySelectorAll<HTMLElement>('.u-legend .u-series > th').forEach((label, i) => {
    if (i === 0) return; // the x row is a readout, not a toggle
    label.tabIndex = 0;
    label.setAttribute('role', 'button');
    label.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
      e.stopPropagation();
      label.click();
    });
  });
  markLegend(el);
}

function markLegend(el: HTMLElement) {
  el.querySelectorAll<HTMLElement>('.u-legend .u-series').forEach((row, i) => {
    const label = row.querySelector('th');
    if (i > 0 && label) label.setAttribute('aria-pressed', String(!row.classList.contains('u-off')));
  });
}

function union(a?: [number, number], b?: [number, number]): [number, number] | undefined {
  if (!a || !b) return a ?? b;
  return [Math.min(a[0], b[0]), Math.max(a[1], b[1])];
}

function xExtent(data: uPlot.AlignedData): [number, number] | undefined {
  const xs = data[0] as number[];
  if (xs.length === 0) return undefined;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of xs) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo < hi ? [lo, hi] : undefined;
}

function yExtent(data: uPlot.AlignedData): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 1; i < data.length; i++) {
    for (const v of data[i] as (number | null | undefined)[]) {
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

function xLabel(kind: LineChartProps['xKind']): string {
  return kind === 'step' ? 'Step' : kind === 'time' ? 'Time' : 'Relative time (s)';
}
