// A bar per run of one value (a metric's latest value), in SVG with round ticks; for a chart-grid card.
import { formatNumber } from '../lib/format';
import { niceTicks } from '../lib/nice-ticks';

export interface Bar {
  id: string;
  label: string;
  value: number;
  color: string;
}

const W = 600;
const PAD = { left: 56, right: 8, top: 8, bottom: 8 };

export function BarChart({
  bars,
  height,
  label,
  onHover,
}: {
  bars: Bar[];
  height: number;
  label: string;
  onHover?(id: string | null): void;
}) {
  const finite = bars.filter((b) => Number.isFinite(b.value) && Math.abs(b.value) < Number.MAX_VALUE);
  if (finite.length === 0) return <p className="muted card-empty">No run shown has this metric.</p>;
  const values = finite.map((b) => b.value);
  // Bars grow from zero, so zero is always on the axis.
  const ticks = niceTicks(Math.min(0, ...values), Math.max(0, ...values), 4);
  const [lo, hi] = [ticks[0], ticks[ticks.length - 1]];
  const y = (v: number) => PAD.top + ((hi - v) / (hi - lo)) * (height - PAD.top - PAD.bottom);
  const slot = (W - PAD.left - PAD.right) / finite.length;
  return (
    <svg className="bars" viewBox={`0 0 ${W} ${height}`} role="img" aria-label={label}>
      {ticks.map((t) => (
        <g key={t}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} className="gridline" />
          <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" className="tick">
            {formatNumber(t, 4)}
          </text>
        </g>
      ))}
      {finite.map((b, i) => (
        // biome-ignore lint/a11y/noStaticElementInteractions: hover only highlights; the legend does it by keyboard
        <rect
          key={b.id}
          x={PAD.left + i * slot + slot * 0.1}
          width={Math.max(1, slot * 0.8)}
          y={Math.min(y(b.value), y(0))}
          height={Math.max(1, Math.abs(y(b.value) - y(0)))}
          fill={b.color}
          onMouseEnter={() => onHover?.(b.id)}
          onMouseLeave={() => onHover?.(null)}
        >
          <title>{`${b.label}: ${formatNumber(b.value)}`}</title>
        </rect>
      ))}
    </svg>
  );
}
