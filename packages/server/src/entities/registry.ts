// The Model Registry's entities in MLflow's JSON shape (model_registry.proto): version numbers are
// strings on the wire, timestamps are milliseconds.

/** The stages a client can move a version to, in MLflow's order and spelling. */
export const MODEL_VERSION_STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type ModelVersionStage = (typeof MODEL_VERSION_STAGES)[number];

/** The stage a deleted version keeps in the database; no API ever shows it. */
export const STAGE_DELETED_INTERNAL = 'Deleted_Internal';

/** The stages get-latest-versions reports when asked for none, and the only ones a transition may archive. */
export const ACTIVE_STAGES: readonly ModelVersionStage[] = ['Staging', 'Production'];

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
  current_stage?: string;
  source?: string;
  run_id?: string;
  run_link?: string;
  /** Always READY: versions are created synchronously. */
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
