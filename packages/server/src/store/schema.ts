import type { ColumnType } from 'kysely';

// Row types of the SQL schema (see migrations.ts). Column names follow MLflow's own SQL schema where
// one exists, so that anyone who knows MLflow's database finds their way around ours.

/** An experiment id: read as its exact decimal string (see exact-ids.ts), written and compared as one. */
export type ExperimentIdColumn = ColumnType<string, string, string>;

export interface ExperimentsTable {
  experiment_id: ColumnType<string, string | undefined, string>;
  name: string;
  artifact_location: string | null;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
}

export interface ExperimentTagsTable {
  experiment_id: ExperimentIdColumn;
  key: string;
  value: string;
}

export interface RunsTable {
  run_uuid: string;
  experiment_id: ExperimentIdColumn;
  name: string;
  user_id: string;
  status: string;
  start_time: number;
  end_time: number | null;
  deleted_time: number | null;
  lifecycle_stage: string;
  artifact_uri: string;
  /** Raised by every write to the run's params, tags or latest metrics (see run-data-cache.ts). */
  data_version: number;
}

export interface MetricsTable {
  run_uuid: string;
  key: string;
  value: number;
  timestamp: number;
  step: number;
  /** SQLite cannot store NaN in a REAL column, so NaN is kept as value 0 with this flag, as MLflow does. */
  is_nan: number;
}

export type LatestMetricsTable = MetricsTable;

export interface KeyValueTable {
  run_uuid: string;
  key: string;
  value: string;
}

export interface DatasetsTable {
  dataset_uuid: string;
  experiment_id: ExperimentIdColumn;
  name: string;
  digest: string;
  dataset_source_type: string;
  dataset_source: string;
  dataset_schema: string | null;
  dataset_profile: string | null;
}

export interface InputsTable {
  input_uuid: string;
  source_type: string;
  source_id: string;
  destination_type: string;
  destination_id: string;
  /** Step of a model output (0 for other links); added by 0005. */
  step?: number;
}

export interface InputTagsTable {
  input_uuid: string;
  name: string;
  value: string;
}

export interface WebhooksTable {
  webhook_id: string;
  name: string;
  description: string | null;
  url: string;
  status: string;
  /** Encrypted when the server has MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY (services/webhook-secrets.ts). */
  secret: string | null;
  creation_timestamp: number;
  last_updated_timestamp: number;
  /** Webhooks are deleted softly, as MLflow does. */
  deleted_timestamp: number | null;
}

export interface ServingEndpointsTable {
  name: string;
  model_uri: string;
  registered_model_name: string;
  workers: number;
  creation_timestamp: number;
  last_updated_timestamp: number;
}

export interface WebhookEventsTable {
  webhook_id: string;
  entity: string;
  action: string;
}

export interface LoggedModelsTable {
  model_id: string;
  experiment_id: ExperimentIdColumn;
  name: string;
  artifact_location: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  /** MLflow's LoggedModelStatus as a number: 1 pending, 2 ready, 3 upload failed. */
  status: number;
  lifecycle_stage: string;
  model_type: string | null;
  source_run_id: string | null;
  status_message: string | null;
}

export interface LoggedModelTagsTable {
  model_id: string;
  experiment_id: ExperimentIdColumn;
  tag_key: string;
  tag_value: string;
}

export interface LoggedModelParamsTable {
  model_id: string;
  experiment_id: ExperimentIdColumn;
  param_key: string;
  param_value: string;
}

export interface LoggedModelMetricsTable {
  model_id: string;
  metric_name: string;
  metric_timestamp_ms: number;
  metric_step: number;
  /** NULL stands for NaN. */
  metric_value: number | null;
  experiment_id: ExperimentIdColumn;
  run_id: string;
  dataset_uuid: string | null;
  dataset_name: string | null;
  dataset_digest: string | null;
}

export interface RegisteredModelsTable {
  name: string;
  creation_time: number | null;
  last_updated_time: number | null;
  description: string | null;
}

export interface ModelVersionsTable {
  name: string;
  version: number;
  creation_time: number | null;
  last_updated_time: number | null;
  description: string | null;
  user_id: string | null;
  /** None, Staging, Production, Archived, or Deleted_Internal for a deleted version. */
  current_stage: string | null;
  source: string | null;
  storage_location: string | null;
  run_id: string | null;
  run_link: string | null;
  status: string | null;
  status_message: string | null;
}

export interface RegisteredModelTagsTable {
  name: string;
  key: string;
  value: string | null;
}

export interface ModelVersionTagsTable {
  name: string;
  version: number;
  key: string;
  value: string | null;
}

export interface RegisteredModelAliasesTable {
  name: string;
  alias: string;
  version: number;
}

export interface TraceInfoTable {
  request_id: string;
  experiment_id: ExperimentIdColumn;
  timestamp_ms: number;
  execution_time_ms: number | null;
  status: string;
  client_request_id: string | null;
  request_preview: string | null;
  response_preview: string | null;
}

export interface TraceKeyValueTable {
  request_id: string;
  key: string;
  value: string | null;
}

/** Times in nanoseconds exceed a double's exact range: written as decimal text, read back as numbers. */
export interface SpansTable {
  trace_id: string;
  experiment_id: ExperimentIdColumn;
  span_id: string;
  parent_span_id: string | null;
  name: string | null;
  type: string | null;
  status: string;
  start_time_unix_nano: ColumnType<number, string, string>;
  end_time_unix_nano: ColumnType<number | null, string | null, string | null>;
  content: string;
}

export interface AssessmentsTable {
  assessment_id: string;
  trace_id: string;
  name: string;
  assessment_type: string;
  value: string;
  error: string | null;
  created_timestamp: number;
  last_updated_timestamp: number;
  source_type: string;
  source_id: string | null;
  run_id: string | null;
  span_id: string | null;
  rationale: string | null;
  overrides: string | null;
  valid: ColumnType<boolean | number, boolean | number, boolean | number>;
  assessment_metadata: string | null;
}

export interface EntityAssociationsTable {
  association_id: string;
  source_type: string;
  source_id: string;
  destination_type: string;
  destination_id: string;
  created_time: number | null;
}

export interface ScorersTable {
  experiment_id: ExperimentIdColumn;
  scorer_name: string;
  scorer_id: string;
}

export interface ScorerVersionsTable {
  scorer_id: string;
  scorer_version: number;
  serialized_scorer: string;
  creation_time: number | null;
}

/** MLflow 3's evaluation datasets (evaluation-dataset-migrations.ts). */
export interface EvaluationDatasetsTable {
  dataset_id: string;
  name: string;
  schema: string | null;
  profile: string | null;
  digest: string | null;
  created_time: number | null;
  last_update_time: number | null;
  created_by: string | null;
  last_updated_by: string | null;
}

export interface EvaluationDatasetTagsTable {
  dataset_id: string;
  key: string;
  value: string | null;
}

export interface EvaluationDatasetRecordsTable {
  dataset_record_id: string;
  dataset_id: string;
  inputs: string;
  outputs: string | null;
  expectations: string | null;
  tags: string | null;
  source: string | null;
  source_id: string | null;
  source_type: string | null;
  created_time: number | null;
  last_update_time: number | null;
  created_by: string | null;
  last_updated_by: string | null;
  input_hash: string;
}

/** An upload in flight holding room under the artifact_bytes_per_run quota until it ends or expires. */
export interface ArtifactReservationsTable {
  reservation_id: string;
  run_uuid: string;
  bytes: number;
  /** Milliseconds since the epoch; renewed while the upload streams. */
  expires_at: number;
}

/** The bytes each run's uploads have stored through the quota, ever: a counter that only grows. */
export interface ArtifactLandedBytesTable {
  run_uuid: string;
  bytes: number;
}

export interface Database {
  artifact_reservations: ArtifactReservationsTable;
  artifact_landed_bytes: ArtifactLandedBytesTable;
  experiments: ExperimentsTable;
  experiment_tags: ExperimentTagsTable;
  runs: RunsTable;
  metrics: MetricsTable;
  latest_metrics: LatestMetricsTable;
  params: KeyValueTable;
  tags: KeyValueTable;
  datasets: DatasetsTable;
  inputs: InputsTable;
  input_tags: InputTagsTable;
  webhooks: WebhooksTable;
  webhook_events: WebhookEventsTable;
  serving_endpoints: ServingEndpointsTable;
  logged_models: LoggedModelsTable;
  logged_model_tags: LoggedModelTagsTable;
  logged_model_params: LoggedModelParamsTable;
  logged_model_metrics: LoggedModelMetricsTable;
  registered_models: RegisteredModelsTable;
  model_versions: ModelVersionsTable;
  registered_model_tags: RegisteredModelTagsTable;
  model_version_tags: ModelVersionTagsTable;
  registered_model_aliases: RegisteredModelAliasesTable;
  trace_info: TraceInfoTable;
  trace_tags: TraceKeyValueTable;
  trace_request_metadata: TraceKeyValueTable;
  spans: SpansTable;
  assessments: AssessmentsTable;
  entity_associations: EntityAssociationsTable;
  scorers: ScorersTable;
  scorer_versions: ScorerVersionsTable;
  evaluation_datasets: EvaluationDatasetsTable;
  evaluation_dataset_tags: EvaluationDatasetTagsTable;
  evaluation_dataset_records: EvaluationDatasetRecordsTable;
}
