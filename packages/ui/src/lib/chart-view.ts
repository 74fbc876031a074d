// Pure arithmetic behind the line chart's keyboard zoom and its log-scale y range, kept out of the
// component so unit tests can pin it down without a browser.

export type ZoomAction = 'in' | 'out' | 'left' | 'right';

/** Share of the visible width one keyboard step zooms by or pans across. */
const STEP = 0.25;

/**
 * The x range after one keyboard zoom or pan step from `view`, kept inside `full` (the data's
 * extent). Zooming is around the centre; zooming out that reaches the full extent returns undefined,
 * meaning "no zoom", so the URL drops the range instead of storing the whole extent.
 */
export function stepZoom(
  view: [number, number],
  full: [number, number],
  action: ZoomAction,
): [number, number] | undefined {
  const [fullLo, fullHi] = full;
  const fullWidth = fullHi - fullLo;
  if (!(fullWidth > 0)) return undefined;
  let [lo, hi] = view;
  const width = hi - lo;
  const centre = (lo + hi) / 2;
  if (action === 'in') {
    // Never narrower than a thousandth of the data, so repeated presses stay meaningful.
    const next = Math.max(width * (1 - STEP * 2), fullWidth / 1000);
    lo = centre - next / 2;
    hi = centre + next / 2;
  } else if (action === 'out') {
    const next = width / (1 - STEP * 2);
    if (next >= fullWidth) return undefined;
    lo = centre - next / 2;
    hi = centre + next / 2;
  } else {
    const shift = width * STEP * (action === 'left' ? -1 : 1);
    lo += shift;
    hi += shift;
  }
  // Slide back inside the data rather than showing empty space past either end.
  if (lo < fullLo) {
    hi += fullLo - lo;
    lo = fullLo;
  }
  if (hi > fullHi) {
    lo -= hi - fullHi;
    hi = fullHi;
  }
  lo = Math.max(lo, fullLo);
  if (lo <= fullLo && hi >= fullHi) return undefined;
  return [lo, hi];
}

/**
 * A log-scale y range that fits positive data [min, max] with a small margin (5% of the span in
 * log space) instead of widening to whole decades, so values between 0.5 and 1.2 are not drawn in
 * the bottom fifth of a 0.1-10 chart.
 */
export function logRange(min: number, max: number): [number, number] {
  if (!(min > 0) || !(max > 0) || !Number.isFinite(min) || !Number.isFinite(max)) return [0.1, 10];
  if (min > max) [min, max] = [max, min];
  const span = Math.log10(max) - Math.log10(min);
  // A flat series still gets some height: +/- 10% around its value.
  const pad = span > 0 ? span * 0.05 : Math.log10(1.1);
  return [min / 10 ** pad, max * 10 ** pad];
}
