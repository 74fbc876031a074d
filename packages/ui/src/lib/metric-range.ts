// The smallest and largest value of each metric of a run, from its MIN_MAX-sampled histories: that
// sampling keeps every bucket's extremes, so the overall ones are exact however long the history.
import type { MetricSeries } from '../api.js';

export interface MetricRange {
  min: number;
  max: number;
}

/** Each key's smallest and largest non-NaN value; a key with only NaN points has no range. */
export function metricRanges(series: MetricSeries[]): Map<string, MetricRange> {
  const out = new Map<string, MetricRange>();
  for (const s of series)
    for (const v of s.values) {
      if (Number.isNaN(v)) continue;
      const r = out.get(s.metric_key);
      if (!r) out.set(s.metric_key, { min: v, max: v });
      else {
        if (v < r.min) r.min = v;
        if (v > r.max) r.max = v;
      }
    }
  return out;
}
