// A metric's line chart inside a chart-grid card: uPlot with no legend of its own (the grid has one for
// all cards), the cursor synced across the grid's cards, and the run under the pointer highlighted in
// every card through the shared Highlight.
import { useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import type { Highlight } from '../lib/highlight';
import { cssVar, useTheme } from '../theme';
import type { LineSeries } from './LineChart';

export interface CardLineChartProps {
  /** One series per run that has the metric; `id` is the run id. */
  series: (LineSeries & { id: string })[];
  height: number;
  label: string;
  highlight: Highlight;
  /** Cards with the same key move their cursors together. */
  syncKey: string;
}

function align(series: LineSeries[]): uPlot.AlignedData {
  if (series.length === 1) return [series[0].x, series[0].y] as uPlot.AlignedData;
  return uPlot.join(series.map((s) => [s.x, s.y] as uPlot.AlignedData));
}

export function CardLineChart({ series, height, label, highlight, syncKey }: CardLineChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const theme = useTheme();

  // biome-ignore lint/correctness/useExhaustiveDependencies: a theme change rebuilds to re-read the colours
  useLayoutEffect(() => {
    const el = box.current;
    if (!el || series.length === 0) return;
    const text = cssVar('--text');
    const grid = cssVar('--grid');
    const axis: uPlot.Axis = {
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: '11px system-ui, sans-serif',
      size: 40,
    };
    const ids = series.map((s) => s.id);
    const opts: uPlot.Options = {
      width: Math.max(100, el.clientWidth),
      height,
      legend: { show: false },
      // Steps, not timestamps (uPlot's x scale is a time scale by default).
      scales: { x: { time: false } },
      focus: { alpha: 0.2 },
      cursor: {
        sync: { key: syncKey, setSeries: false },
        focus: { prox: 12 },
        points: { show: false },
      },
      axes: [axis, { ...axis, size: 52 }],
      series: [
        { label: 'Step' },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.25,
          spanGaps: true,
          points: { show: false },
        })),
      ],
      hooks: {
        draw: [(u) => el.setAttribute('data-drawn', String(u.data[0].length))],
        // The pointer's nearest line (or none, on leaving): tell the other cards and the legend.
        setSeries: [(_u, i) => highlight.set(i === null ? null : (ids[i - 1] ?? null))],
      },
    };
    const u = new uPlot(opts, align(series), el);
    const follow = () => {
      const i = ids.indexOf(highlight.get() ?? '');
      // Without firing the hook: this chart follows the highlight, it does not set it.
      u.setSeries(i < 0 ? null : i + 1, { focus: true }, false);
    };
    const unsubscribe = highlight.subscribe(follow);
    const observer = new ResizeObserver(() => u.setSize({ width: Math.max(100, el.clientWidth), height }));
    observer.observe(el);
    return () => {
      unsubscribe();
      observer.disconnect();
      u.destroy();
    };
  }, [series, height, theme, highlight, syncKey]);

  if (series.length === 0) return <p className="muted card-empty">No run shown has this metric.</p>;
  return <div ref={box} className="card-chart" role="img" aria-label={label} />;
}
