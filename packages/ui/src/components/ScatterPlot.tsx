// A scatter plot of two values across runs, in SVG (a compare view has at most a few hundred runs).
import { formatNumber } from '../lib/format';

export interface ScatterPoint {
  x: number;
  y: number;
  label: string;
  color: string;
}

const W = 640;
const H = 380;
const PAD = { left: 64, right: 16, top: 16, bottom: 44 };

function ticks(min: number, max: number, n = 5): number[] {
  if (min === max) return [min];
  return Array.from({ length: n }, (_, i) => min + ((max - min) * i) / (n - 1));
}

export function ScatterPlot({
  points,
  xLabel,
  yLabel,
}: {
  points: ScatterPoint[];
  xLabel: string;
  yLabel: string;
}) {
  if (points.length === 0) return <p className="muted">No run has both values as numbers.</p>;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (v: number) => PAD.left + (x1 === x0 ? 0.5 : (v - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const sy = (v: number) =>
    H - PAD.bottom - (y1 === y0 ? 0.5 : (v - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  return (
    <svg
      className="plot"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`Scatter plot of ${yLabel} against ${xLabel}`}
    >
      <line x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} className="axis" />
      <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} className="axis" />
      {ticks(x0, x1).map((t) => (
        <text key={`x${t}`} x={sx(t)} y={H - PAD.bottom + 16} textAnchor="middle" className="tick">
          {formatNumber(t)}
        </text>
      ))}
      {ticks(y0, y1).map((t) => (
        <text key={`y${t}`} x={PAD.left - 6} y={sy(t) + 4} textAnchor="end" className="tick">
          {formatNumber(t)}
        </text>
      ))}
      <text x={(W + PAD.left) / 2} y={H - 6} textAnchor="middle" className="axis-label">
        {xLabel}
      </text>
      <text
        x={14}
        y={(H - PAD.bottom) / 2}
        textAnchor="middle"
        className="axis-label"
        transform={`rotate(-90 14 ${(H - PAD.bottom) / 2})`}
      >
        {yLabel}
      </text>
      {points.map((p) => (
        <circle key={p.label} cx={sx(p.x)} cy={sy(p.y)} r={6} fill={p.color} className="dot">
          <title>{`${p.label}: ${xLabel}=${formatNumber(p.x)}, ${yLabel}=${formatNumber(p.y)}`}</title>
        </circle>
      ))}
    </svg>
  );
}
