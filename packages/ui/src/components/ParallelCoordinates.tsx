// Parallel coordinates: one vertical axis per chosen param or metric, one line per run. Numeric axes
// are linear on round ticks; an axis with any non-numeric value places its distinct values evenly
// (categorical). Labels are cut to the room between axes (the full text is in their tooltip).
import { fitLabel, pcScale } from '../lib/pc-scales';

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
  const scales = axes.map((a) => pcScale(a.values, H - PAD.top - PAD.bottom));
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
              <FittedText text={a.label} width={step - 8} />
            </text>
            {scales[j].ticks.map((t) => (
              <text key={t.label} x={PAD.side + j * step + 6} y={y(t.at) + 4} className="tick">
                <FittedText text={t.label} width={step / 2 - 8} />
              </text>
            ))}
          </g>
        ))}
      </svg>
    </div>
  );
}

/** A label cut to `width`, with the full text as its tooltip when cut. */
function FittedText({ text, width }: { text: string; width: number }) {
  const shown = fitLabel(text, width);
  return shown === text ? (
    <>{text}</>
  ) : (
    <>
      <title>{text}</title>
      {shown}
    </>
  );
}
