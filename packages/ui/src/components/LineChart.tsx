// Metric line charts on uPlot (canvas): many runs overlaid, a legend, a log scale, and drag-to-zoom
// on x (double-click resets) reported to the caller so the zoom can live in the URL.
import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
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
}

function align(series: LineSeries[]): uPlot.AlignedData {
  if (series.length === 0) return [[]];
  if (series.length === 1) return [series[0].x, series[0].y] as uPlot.AlignedData;
  return uPlot.join(series.map((s) => [s.x, s.y] as uPlot.AlignedData));
}

export function LineChart(props: LineChartProps) {
  const { series, xKind, log, compact } = props;
  const height = props.height ?? (compact ? 60 : 360);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useTheme();
  const onZoom = useRef(props.onZoom);
  onZoom.current = props.onZoom;
  const zoomRef = useRef(props.zoom);
  zoomRef.current = props.zoom;
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
      cursor: compact ? { show: false } : { drag: { x: true, y: false, setScale: true } },
      scales: {
        x: { time: xKind === 'time' },
        y: log ? { distr: 3 } : {},
      },
      axes: compact ? [{ show: false }, { show: false }] : [{ ...axis, label: xLabel(xKind) }, { ...axis }],
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
            if (u.data !== measured) {
              measured = u.data;
              const [lo, hi] = yExtent(u.data);
              if (lo <= hi) el.setAttribute('data-y-extent', `${lo},${hi}`);
              else el.removeAttribute('data-y-extent');
            }
          },
        ],
        setSelect: [() => (userZoom = true)],
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
    // Double-click resets the zoom (uPlot's own gesture); tell the caller.
    const reset = () => onZoom.current?.(undefined);
    u.over.addEventListener('dblclick', reset);
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
    const z = zoomRef.current;
    if (z) u.setScale('x', { min: z[0], max: z[1] });
  }, [series]);

  useEffect(() => {
    const u = plot.current;
    if (!u || !props.zoom) return;
    const [min, max] = props.zoom;
    if (u.scales.x.min !== min || u.scales.x.max !== max) u.setScale('x', { min, max });
  }, [props.zoom?.[0], props.zoom?.[1]]);

  return (
    <div ref={box} className={compact ? 'chart compact' : 'chart'} role="img" aria-label={props.label} />
  );
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
