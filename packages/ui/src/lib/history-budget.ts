/** The server's most points per run for one request (MLflow's MAX_RESULTS_PER_RUN). */
export const MAX_POINTS = 2500;
/** The most cells (x positions × runs) of the aligned table a chart hands to uPlot. */
const MAX_CELLS = 2_500_000;

/**
 * Points to ask for per run with sampling=MIN_MAX. Every run keeps the steps of its own extremes, so
 * the runs' x positions only partly line up: about budget / 2 × (runs + 1) distinct steps, each a row
 * of `runs` cells once the runs are joined for uPlot. With many runs the budget shrinks to keep that
 * table bounded; extremes survive any budget, only the detail between them thins out. A multiple of
 * 4 (the server keeps up to four points per bucket) and at least 4.
 */
export function pointsPerRun(runs: number): number {
  const n = Math.max(1, runs);
  const fit = Math.floor((2 * MAX_CELLS) / (n * (n + 1)));
  return Math.max(4, Math.min(MAX_POINTS, fit - (fit % 4)));
}
