// The axes of a parallel-coordinates plot: numeric ones on round ticks (niceTicks, the axis spanning
// the first to the last tick), categorical ones with their values spread evenly and thinned so that
// labels keep apart; and labels cut to the room between axes, so neighbours never overlap.
import { formatNumber } from './format.js';
import { niceTicks } from './nice-ticks.js';

export interface PcScale {
  /** Where a value sits on the axis, 0 (bottom) to 1 (top). */
  pos(v: string): number;
  ticks: { label: string; at: number }[];
}

/** Vertical room a tick label needs, in pixels (11 px text and a gap). */
export const TICK_GAP = 14;
/** Width of a character of the plot's 11-12 px labels, in pixels; generous so cut labels fit. */
const CHAR_WIDTH = 7;

export function pcScale(values: (string | undefined)[], axisHeight: number): PcScale {
  const present = values.filter((v): v is string => v !== undefined);
  const numeric = present.length > 0 && present.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
  if (numeric) {
    const nums = present.map(Number);
    const ticks = niceTicks(Math.min(...nums), Math.max(...nums), Math.max(2, Math.floor(axisHeight / 60)));
    const lo = ticks[0];
    const hi = ticks[ticks.length - 1];
    const pos = (v: string) => (hi === lo ? 0.5 : (Number(v) - lo) / (hi - lo));
    return { pos, ticks: ticks.map((t) => ({ label: formatNumber(t), at: pos(String(t)) })) };
  }
  const cats = [...new Set(present)].sort();
  const pos = (v: string) => (cats.length === 1 ? 0.5 : cats.indexOf(v) / (cats.length - 1));
  // Every k-th value is labelled, k chosen so labelled values are at least TICK_GAP apart.
  const spacing = cats.length > 1 ? axisHeight / (cats.length - 1) : axisHeight;
  const every = Math.max(1, Math.ceil(TICK_GAP / spacing));
  return {
    pos,
    ticks: cats.filter((_, i) => i % every === 0).map((c) => ({ label: c, at: pos(c) })),
  };
}

/** `text` cut (with an ellipsis) to fit `width` pixels. */
export function fitLabel(text: string, width: number): string {
  const max = Math.max(1, Math.floor(width / CHAR_WIDTH));
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}
