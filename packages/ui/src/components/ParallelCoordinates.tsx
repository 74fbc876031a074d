// Parallel coordinates: one vertical axis per chosen param or metric, one line per run. Numeric axes
// are linear; an axis with any non-numeric value places its distinct values evenly (categorical).
import { formatNumber } from '../lib/format';

export interface PcAxis {
  label: string;
  values: (string | undefined)[];
}

const H = 360;
const PAD = { top: 28, bottom: 28, side: 60 };

export function ParallelCoordinates({
  axes,
  runs,
}: {
  axes: PcAxis[];
  runs: { label: string; color: string }[];
}) {
  if (axes.length < 2)
    return <p className="muted">Choose at least two values to draw parallel coordinates.</p>;
  const W = Math.max(480, axes.length * 140);
  const step = (W - 2 * PAD.side) / (axes.length - 1);
  const scales = axes.map((a) => {
    const present = a.values.filter((v): v is string => v !== undefined);
    const numeric = present.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
    if (numeric) {
      const nums = present.map(Number);
      const [lo, hi] = [Math.min(...nums), Math.max(...nums)];
      return {
        pos: (v: string) => (hi === lo ? 0.5 : (Number(v) - lo) / (hi - lo)),
        ticks:
          hi === lo ? [formatNumber(lo)] : [formatNumber(lo), formatNumber((lo + hi) / 2), formatNumber(hi)],
        tickPos: hi === lo ? [0.5] : [0, 0.5, 1],
      };
    }
    const cats = [...new Set(present)].sort();
    const at = (v: string) => (cats.length === 1 ? 0.5 : cats.indexOf(v) / (cats.length - 1));
    return { pos: at, ticks: cats, tickPos: cats.map(at) };
  });
  const y = (p: number) => H - PAD.bottom - p * (H - PAD.top - PAD.bottom);
  return (
    <div className="scroll-x">
      <svg
        className="plot"
        width={W}
        height={H}
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label="Parallel coordinates plot"
      >
        {runs.map((r, i) => {
          const pts: string[] = [];
          axes.forEach((a, j) => {
            const v = a.values[i];
            if (v !== undefined) pts.push(`${PAD.side + j * step},${y(scales[j].pos(v))}`);
          });
          return (
            <polyline
              key={r.label}
              points={pts.join(' ')}
              fill="none"
              stroke={r.color}
              strokeWidth={2}
              opacity={0.85}
            >
              <title>{r.label}</title>
            </polyline>
          );
        })}
        {axes.map((a, j) => (
          <g key={a.label}>
            <line
              x1={PAD.side + j * step}
              x2={PAD.side + j * step}
              y1={PAD.top}
              y2={H - PAD.bottom}
              className="axis"
            />
            <text x={PAD.side + j * step} y={PAD.top - 10} textAnchor="middle" className="axis-label">
              {a.label}
            </text>
            {scales[j].ticks.map((t, k) => (
              <text key={t} x={PAD.side + j * step + 6} y={y(scales[j].tickPos[k]) + 4} className="tick">
                {t}
              </text>
            ))}
          </g>
        ))}
      </svg>
    </div>
  );
}
