// The JSON shapes of MLflow's REST API (snake_case, as MLflow's protos name them): the one definition
// the SDK, the server's entities and the web UI share. Types only, so importing it costs no code.
//
// Lists are typed as always present, which is what the server builds and what the SDK hands out; on
// the wire a server may leave an empty list out, and the SDK's normalize* functions put it back.

export type LifecycleStage = 'active' | 'deleted';
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
/**
 * How get-history-bulk-interval thins a long history: STEPS is MLflow's rule (evenly spaced steps);
 * MIN_MAX, an mlflow-ts extension, keeps each bucket's first, last, smallest and largest point.
 */
export type HistorySampling = 'STEPS' | 'MIN_MAX';

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
  /** May be NaN or +/-Infinity, which MLflow's JSON writes as the strings "NaN", "Infinity", "-Infinity". */
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
  /** MLflow's older name for run_id, still sent. */
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

/** One dataset an experiment's runs used, in one context (MLflow's SearchDatasets). */
export interface DatasetSummary {
  experiment_id: string;
  name: string;
  digest: string;
  /** The input's mlflow.data.context tag (training, evaluation, ...), when it has one. */
  context?: string;
}

export interface RunData {
  metrics: Metric[];
  params: Param[];
  tags: RunTag[];
}

/** MLflow 3: a logged model a run used (LogInputs' models). */
export interface ModelInput {
  model_id: string;
}

/** MLflow 3: a logged model a run produced, at a step (LogOutputs). */
export interface ModelOutput {
  model_id: string;
  step: number;
}

export interface RunInputs {
  dataset_inputs: DatasetInput[];
  /** Present only when the run used logged models. */
  model_inputs?: ModelInput[];
}

export interface Run {
  info: RunInfo;
  data: RunData;
  inputs: RunInputs;
  /** Present only when the run produced logged models. */
  outputs?: { model_outputs: ModelOutput[] };
}

/** One entry of an artifact listing. Directories have no size. */
export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

// --- the Model Registry (model_registry.proto): version numbers are strings, times milliseconds ---

/** MLflow's (deprecated) stages, the only ones the API shows. */
export type ModelVersionStage = 'None' | 'Staging' | 'Production' | 'Archived';

/** A key/value tag on a registered model or a model version. */
export interface RegistryTag {
  key: string;
  value: string;
}

export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp?: number;
  description?: string;
  user_id?: string;
  /** One of ModelVersionStage; a string in MLflow's proto. */
  current_stage?: string;
  source?: string;
  run_id?: string;
  run_link?: string;
  /** MLflow 3: the logged model the version was made from. */
  model_id?: string;
  /** READY for every version mlflow-ts creates (versions are created synchronously). */
  status?: string;
  status_message?: string;
  tags: RegistryTag[];
  aliases: string[];
}

export interface RegisteredModelAlias {
  alias: string;
  version: string;
}

export interface RegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  /** The newest version in each stage. */
  latest_versions: ModelVersion[];
  tags: RegistryTag[];
  aliases: RegisteredModelAlias[];
}

// --- MLflow 3's logged models (LoggedModel, LoggedModelInfo, LoggedModelData) ---

export type LoggedModelStatus =
  | 'LOGGED_MODEL_STATUS_UNSPECIFIED'
  | 'LOGGED_MODEL_PENDING'
  | 'LOGGED_MODEL_READY'
  | 'LOGGED_MODEL_UPLOAD_FAILED';

/** A metric point recorded against a model, with the run it was logged in and its dataset, if any. */
export interface LoggedModelMetric {
  key: string;
  /** NaN when the logged value was NaN. */
  value: number;
  timestamp: number;
  step: number;
  model_id: string;
  /** Always set by mlflow-ts; MLflow's proto leaves it optional. */
  run_id?: string;
  dataset_name?: string;
  dataset_digest?: string;
}

export interface LoggedModelInfo {
  model_id: string;
  experiment_id: string;
  name: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  /** Where the model's files go, e.g. mlflow-artifacts:/<exp>/models/<model_id>/artifacts. */
  artifact_uri: string;
  status: LoggedModelStatus;
  model_type?: string;
  source_run_id?: string;
  status_message?: string;
  tags: Tag[];
}

export interface LoggedModel {
  info: LoggedModelInfo;
  data: { params: Tag[]; metrics: LoggedModelMetric[] };
}

// --- MLflow 3's registry webhooks: on the wire, entities, actions and statuses are proto enum names ---

export type WebhookEntity =
  | 'REGISTERED_MODEL'
  | 'MODEL_VERSION'
  | 'MODEL_VERSION_TAG'
  | 'MODEL_VERSION_ALIAS'
  | 'PROMPT'
  | 'PROMPT_VERSION'
  | 'PROMPT_TAG'
  | 'PROMPT_VERSION_TAG'
  | 'PROMPT_ALIAS';
export type WebhookAction = 'CREATED' | 'UPDATED' | 'DELETED' | 'SET';
export type WebhookStatus = 'ACTIVE' | 'DISABLED';

/** What a webhook is called for, e.g. { entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' }. */
export interface WebhookEvent {
  entity: WebhookEntity;
  action: WebhookAction;
}

/** A webhook as the server answers it; the secret is write-only and never returned. */
export interface Webhook {
  webhook_id: string;
  name: string;
  description?: string;
  url: string;
  events: WebhookEvent[];
  status: WebhookStatus;
  creation_timestamp: number;
  last_updated_timestamp: number;
}

/** The answer of webhooks/<id>/test: the receiver's status and body, or why nothing was delivered. */
export interface WebhookTestResult {
  success: boolean;
  response_status?: number;
  response_body?: string;
  error_message?: string;
}

// --- MLflow 3's registered scorers (the scorers endpoints below /api/3.0/mlflow) ---

/** A version of a scorer, as MLflow's Scorer message has it (experiment_id an int32 there). */
export interface Scorer {
  experiment_id: number;
  scorer_name: string;
  scorer_version: number;
  /** The scorer as its client serialized it (JSON text); the server keeps it as it is. */
  serialized_scorer: string;
  creation_time: number;
  scorer_id: string;
}

/** The answer of scorers/register (RegisterScorer.Response: its own field names, experiment_id a string). */
export interface RegisteredScorer {
  version: number;
  scorer_id: string;
  experiment_id: string;
  name: string;
  serialized_scorer: string;
  creation_time: number;
}

// --- MLflow 3 tracing (service.proto's TraceInfoV3, assessments.proto's Assessment) ---

export type TraceState = 'STATE_UNSPECIFIED' | 'OK' | 'ERROR' | 'IN_PROGRESS';
export type AssessmentSourceType = 'SOURCE_TYPE_UNSPECIFIED' | 'HUMAN' | 'LLM_JUDGE' | 'CODE';

export interface AssessmentSource {
  source_type: AssessmentSourceType;
  source_id?: string;
}

export interface Assessment {
  assessment_id: string;
  assessment_name: string;
  trace_id: string;
  span_id?: string;
  source?: AssessmentSource;
  /** Timestamps in protobuf's JSON text. */
  create_time?: string;
  last_update_time?: string;
  feedback?: { value?: unknown; error?: { error_code?: string; error_message?: string } };
  expectation?: { value?: unknown };
  rationale?: string;
  metadata?: Record<string, string>;
  /** The id of the assessment this one replaces (which is then invalid). */
  overrides?: string;
  valid?: boolean;
  run_id?: string;
}

export interface TraceInfoV3 {
  /** `tr-` and 32 hex digits. */
  trace_id: string;
  client_request_id?: string;
  trace_location: { type: string; mlflow_experiment?: { experiment_id: string } };
  request_preview?: string;
  response_preview?: string;
  /** protobuf's Timestamp JSON, e.g. 2026-12-07T17:42:11.748Z. */
  request_time: string;
  /** protobuf's Duration JSON, e.g. 0.250s. */
  execution_duration?: string;
  state: TraceState;
  trace_metadata: Record<string, string>;
  tags: Record<string, string>;
  assessments: Assessment[];
}

// --- MLflow 3's evaluation datasets (datasets.proto) ---

/** A dataset as the server answers it: tags, schema and profile are JSON text, as in MLflow's proto. */
export interface EvaluationDataset {
  dataset_id: string;
  name: string;
  /** A JSON object of the dataset's tags (`{}` when it has none). */
  tags?: string;
  schema?: string;
  profile?: string;
  digest?: string;
  created_time: number;
  last_update_time: number;
  created_by?: string;
  last_updated_by?: string;
  experiment_ids: string[];
}

export type DatasetRecordSourceType = 'TRACE' | 'HUMAN' | 'DOCUMENT' | 'CODE';

export interface DatasetRecordSource {
  source_type: DatasetRecordSourceType;
  source_data: Record<string, unknown>;
}

/** A record as UpsertDatasetRecords takes it; records with equal `inputs` are one record. */
export interface DatasetRecordInput {
  inputs: Record<string, unknown>;
  outputs?: unknown;
  expectations?: Record<string, unknown>;
  tags?: Record<string, string>;
  source?: DatasetRecordSource;
  source_id?: string;
}

/** A stored record, as GetDatasetRecords lists it (MLflow's DatasetRecord.to_dict(): absent fields left out). */
export interface DatasetRecord {
  dataset_record_id: string;
  dataset_id: string;
  inputs: Record<string, unknown>;
  outputs?: unknown;
  expectations?: Record<string, unknown>;
  tags: Record<string, string>;
  source?: DatasetRecordSource;
  source_id?: string;
  source_type?: DatasetRecordSourceType;
  created_time: number;
  last_update_time: number;
  created_by?: string;
  last_updated_by?: string;
}

// ---------------------------------------------------------------- serving endpoints (mlflow-ts's own API)

/** READY: a version answers; LOADING: none yet; FAILED: none, and the last load failed (see `error`). */
export type ServingEndpointState = 'LOADING' | 'READY' | 'FAILED';

/** A serving endpoint hosted by an mlflow-ts server (/api/2.0/serving-endpoints). */
export interface ServingEndpoint {
  name: string;
  /** models:/<name>@<alias> or models:/<name>/<version>. */
  model_uri: string;
  registered_model_name: string;
  workers: number;
  creation_timestamp: number;
  last_updated_timestamp: number;
  state: ServingEndpointState;
  /** The version answering invocations. */
  serving_version?: string;
  /** A version being loaded beside the serving one. */
  loading_version?: string;
  /** Why the last load (or resolving the URI) failed; the serving version, if any, goes on. */
  error?: string;
}
