// The Model Registry's entities (the wire types shared with the SDK and the UI) and the stage names the
// server's rules use.

import type { ModelVersionStage } from '@mlflow-ts/client/wire';

/** The stages a client can move a version to, in MLflow's order and spelling. */
export const MODEL_VERSION_STAGES: readonly ModelVersionStage[] = [
  'None',
  'Staging',
  'Production',
  'Archived',
];
export type { ModelVersionStage };

/** The stage a deleted version keeps in the database; no API ever shows it. */
export const STAGE_DELETED_INTERNAL = 'Deleted_Internal';

/** The stages get-latest-versions reports when asked for none, and the only ones a transition may archive. */
export const ACTIVE_STAGES: readonly ModelVersionStage[] = ['Staging', 'Production'];

export type {
  ModelVersion,
  RegisteredModel,
  RegisteredModelAlias,
  RegistryTag,
} from '@mlflow-ts/client/wire';
