// Row types of the SQL schema (see migrations.ts). Column names follow MLflow's own SQL schema where
// one exists, so that anyone who knows MLflow's database finds their way around ours.

export interface ExperimentsTable {
  experiment_id: number;
  name: string;
  artifact_location: string | null;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
}

export interface ExperimentTagsTable {
  experiment_id: number;
  key: string;
  value: string;
}

export interface RunsTable {
  run_uuid: string;
  experiment_id: number;
  name: string;
  user_id: string;
  status: string;
  start_time: number;
  end_time: number | null;
  deleted_time: number | null;
  lifecycle_stage: string;
  artifact_uri: string;
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
  experiment_id: number;
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
}

export interface InputTagsTable {
  input_uuid: string;
  name: string;
  value: string;
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

export interface Database {
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
  registered_models: RegisteredModelsTable;
  model_versions: ModelVersionsTable;
  registered_model_tags: RegisteredModelTagsTable;
  model_version_tags: ModelVersionTagsTable;
  registered_model_aliases: RegisteredModelAliasesTable;
}
