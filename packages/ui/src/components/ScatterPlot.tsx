// A scatter plot of two values across runs, in SVG (a compare view has at most a few hundred runs).
import { formatNumber } from '../lib/format';
import { niceTicks } from '../lib/nice-ticks';

export interface ScatterPoint {
  x: number;
  y: number;
  label: string;
  color: string;
}

const W = 640;
const H = 380;
// Room on the left for 4-significant-digit tick labels and, beyond them, the rotated axis title.
const PAD = { left: 76, right: 16, top: 16, bottom: 44 };

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
  // Round ticks, and the plot scaled to the first and last of them so every point is inside.
  const xt = niceTicks(Math.min(...xs), Math.max(...xs));
  const yt = niceTicks(Math.min(...ys), Math.max(...ys));
  const [x0, x1] = [xt[0], xt[xt.length - 1]];
  const [y0, y1] = [yt[0], yt[yt.length - 1]];
  const sx = (v: number) => PAD.left + ((v - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const sy = (v: number) => H - PAD.bottom - ((v - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  return (
    <svg
      className="plot"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`Scatter plot of ${yLabel} against ${xLabel}`}
    >
      <line x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} className="axis" />
      <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} className="axis" />
      {xt.map((t) => (
        <text key={`x${t}`} x={sx(t)} y={H - PAD.bottom + 16} textAnchor="middle" className="tick">
          {formatNumber(t, 4)}
        </text>
      ))}
      {yt.map((t) => (
        <text key={`y${t}`} x={PAD.left - 6} y={sy(t) + 4} textAnchor="end" className="tick">
          {formatNumber(t, 4)}
        </text>
      ))}
      <text x={(W + PAD.left) / 2} y={H - 6} textAnchor="middle" className="axis-label">
        {xLabel}
      </text>
      <text
        x={12}
        y={(H - PAD.bottom) / 2}
        textAnchor="middle"
        className="axis-label"
        transform={`rotate(-90 12 ${(H - PAD.bottom) / 2})`}
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
