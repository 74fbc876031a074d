// The SDK's view of the tracking entities: the wire types (wire.ts), a page of results, and the
// functions that fill in what the server leaves out.

import type { Experiment, Metric, Run, RunData, RunInfo } from './wire.js';

export type * from './wire.js';
/** A page of results and the token for the next one (absent on the last page). */
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/** Fills in the lists the server leaves out when empty, so callers can always iterate. */
export function normalizeRun(run: Partial<Run> & { info: RunInfo }): Run {
  const data = (run.data ?? {}) as Partial<RunData>;
  const normalized: Run = {
    info: run.info,
    data: { metrics: data.metrics ?? [], params: data.params ?? [], tags: data.tags ?? [] },
    inputs: { dataset_inputs: run.inputs?.dataset_inputs ?? [] },
  };
  if (run.inputs?.model_inputs) normalized.inputs.model_inputs = run.inputs.model_inputs;
  if (run.outputs?.model_outputs) {
    normalized.outputs = {
      model_outputs: run.outputs.model_outputs.map((o) => ({ ...o, step: Number(o.step ?? 0) })),
    };
  }
  return normalized;
}

export function normalizeExperiment(e: Experiment): Experiment {
  return { ...e, tags: e.tags ?? [] };
}

/** Reads a metric value as MLflow's JSON writes it: NaN and the infinities may arrive as strings. */
export function metricValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number(value);
}

export function normalizeMetric<M extends Metric>(m: M): M {
  return { ...m, value: metricValue(m.value), step: Number(m.step ?? 0), timestamp: Number(m.timestamp) };
}
