// Tracking entities in the JSON shape of MLflow's REST API (snake_case, as the server sends them).
// These mirror the server's entities on purpose rather than importing them: the SDK never depends on
// server code.

export type LifecycleStage = 'active' | 'deleted';
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface Tag {
  key: string;
  value: string;
}
export type Param = Tag;
export type RunTag = Tag;
export type ExperimentTag = Tag;

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  creation_time?: number;
  last_update_time?: number;
  tags: ExperimentTag[];
}

export interface Metric {
  key: string;
  /** NaN and +/-Infinity travel as MLflow sends them and come back as numbers. */
  value: number;
  timestamp: number;
  step: number;
  /** MLflow 3: the logged model the value is also recorded against. */
  model_id?: string;
  /** MLflow 3: the dataset the value was computed on (name, and optionally digest). */
  dataset_name?: string;
  dataset_digest?: string;
}

export interface MetricWithRunId extends Metric {
  run_id: string;
}

export interface RunInfo {
  run_id: string;
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
}

export interface Dataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInput {
  tags: Tag[];
  dataset: Dataset;
}

export interface RunData {
  metrics: Metric[];
  params: Param[];
  tags: RunTag[];
}

/** MLflow 3: a logged model a run produced (runs/outputs) or used (log-inputs). */
export interface ModelOutput {
  model_id: string;
  step: number;
}
export interface ModelInput {
  model_id: string;
}

export interface Run {
  info: RunInfo;
  data: RunData;
  /** model_inputs is there when the run used logged models. */
  inputs: { dataset_inputs: DatasetInput[]; model_inputs?: ModelInput[] };
  /** There when the run produced logged models. */
  outputs?: { model_outputs: ModelOutput[] };
}

/** One entry of an artifact listing. Directories have no size. */
export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

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
