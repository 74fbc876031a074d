import type { Metric, Param, RunTag } from './entities.js';

/** MLflow's limits on one runs/log-batch request. */
export const MAX_METRICS_PER_BATCH = 1000;
export const MAX_PARAMS_PER_BATCH = 100;
export const MAX_TAGS_PER_BATCH = 100;
export const MAX_ENTITIES_PER_BATCH = 1000;

export interface Batch {
  metrics: Metric[];
  params: Param[];
  tags: RunTag[];
}

/**
 * Splits a batch into requests within MLflow's limits, keeping the given order of every list (so the
 * order of a metric key's values survives as long as the chunks are sent one after another).
 */
export function chunkBatch(batch: Partial<Batch>): Batch[] {
  const metrics = batch.metrics ?? [];
  const params = batch.params ?? [];
  const tags = batch.tags ?? [];
  const chunks: Batch[] = [];
  let m = 0;
  let p = 0;
  let t = 0;
  while (m < metrics.length || p < params.length || t < tags.length) {
    const chunkParams = params.slice(p, p + MAX_PARAMS_PER_BATCH);
    p += chunkParams.length;
    const chunkTags = tags.slice(
      t,
      t + Math.min(MAX_TAGS_PER_BATCH, MAX_ENTITIES_PER_BATCH - chunkParams.length),
    );
    t += chunkTags.length;
    const room = Math.min(
      MAX_METRICS_PER_BATCH,
      MAX_ENTITIES_PER_BATCH - chunkParams.length - chunkTags.length,
    );
    const chunkMetrics = metrics.slice(m, m + room);
    m += chunkMetrics.length;
    chunks.push({ metrics: chunkMetrics, params: chunkParams, tags: chunkTags });
  }
  return chunks;
}
