// A metric's line chart inside a chart-grid card: uPlot with no legend of its own (the grid has one for
// all cards), the cursor synced across the grid's cards, and the run under the pointer highlighted in
// every card through the shared Highlight.
import { useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import type { Highlight } from '../lib/highlight';
import { cssVar, useTheme } from '../theme';
import type { LineSeries } from './LineChart';

/**
 * A line of a card: a run's history, or a group's mean; `band` marks a group's max and min lines, drawn
 * faintly with the space between them filled (the group's spread).
 */
export type CardSeries = LineSeries & { id: string; band?: 'max' | 'min'; width?: number };

export interface CardLineChartProps {
  /** One series per run (or group line) that has the metric; `id` is the run (group) id. */
  series: CardSeries[];
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
    // Each group's max line is followed by its min line: the band between them is filled.
    const bands: uPlot.Band[] = [];
    series.forEach((s, i) => {
      if (s.band === 'max' && series[i + 1]?.band === 'min' && series[i + 1].id === s.id)
        bands.push({ series: [i + 1, i + 2], fill: `${s.color}33` });
    });
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
          stroke: s.band ? `${s.color}66` : s.color,
          width: s.width ?? (s.band ? 0.5 : 1.25),
          spanGaps: true,
          // A history of one point has no line to draw: show the point.
          points: { show: s.x.length === 1 && !s.band, size: 6 },
        })),
      ],
      bands,
      hooks: {
        draw: [
          (u) => {
            el.setAttribute('data-drawn', String(u.data[0].length));
            el.setAttribute('data-bands', String(bands.length));
          },
        ],
        // The pointer's nearest line (or none, on leaving): tell the other cards and the legend.
        setSeries: [(_u, i) => highlight.set(i === null ? null : (ids[i - 1] ?? null))],
      },
    };
    const u = new uPlot(opts, align(series), el);
    const follow = () => {
      // A group's first line is its mean.
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
