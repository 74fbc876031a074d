import type { IdFilter } from '../entities/access.js';
import type { ModelVersion, ModelVersionStage, RegisteredModel, RegistryTag } from '../entities/registry.js';
import type { FilterNode, OrderByClause } from '../search/filter-ast.js';
import type { Page, PageStart } from './tracking-store.js';

export interface RegistrySearchQuery {
  filter?: FilterNode;
  /** Only registered models (and their versions) the caller may read, by name; absent: all. */
  access?: IdFilter;
  orderBy: OrderByClause[];
  maxResults: number;
  start?: PageStart;
}

export interface CreateModelVersionInput {
  name: string;
  source: string;
  /** Where the version's files are: the source, or what a models:/ source resolves to. */
  storageLocation: string;
  runId?: string;
  runLink?: string;
  description?: string;
  tags: RegistryTag[];
}

/**
 * Persistence for registered models, their versions, tags and aliases. Implementations check that
 * the model or version exists inside the transaction of the write, and throw MlflowError with
 * MLflow's code and message when it does not; input rules (names, stages, alias names, limits) are
 * the service's, checked before a call. `version` is a whole number (the service has parsed it).
 */
export interface RegistryStore {
  createRegisteredModel(name: string, tags: RegistryTag[], description?: string): Promise<RegisteredModel>;
  getRegisteredModel(name: string): Promise<RegisteredModel>;
  updateRegisteredModel(name: string, description: string | undefined): Promise<RegisteredModel>;
  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel>;
  deleteRegisteredModel(name: string): Promise<void>;
  searchRegisteredModels(query: RegistrySearchQuery): Promise<Page<RegisteredModel>>;
  /** The newest version in each of `stages` (every stage when empty), in MLflow's order. */
  getLatestVersions(name: string, stages: ModelVersionStage[]): Promise<ModelVersion[]>;
  setRegisteredModelTag(name: string, tag: RegistryTag): Promise<void>;
  deleteRegisteredModelTag(name: string, key: string): Promise<void>;

  createModelVersion(input: CreateModelVersionInput): Promise<ModelVersion>;
  getModelVersion(name: string, version: number): Promise<ModelVersion>;
  updateModelVersion(name: string, version: number, description: string | undefined): Promise<ModelVersion>;
  transitionModelVersionStage(
    name: string,
    version: number,
    stage: ModelVersionStage,
    archiveExistingVersions: boolean,
  ): Promise<ModelVersion>;
  deleteModelVersion(name: string, version: number): Promise<void>;
  /** The version's storage location (its source unless that was a models:/ URI). */
  getModelVersionDownloadUri(name: string, version: number): Promise<string>;
  searchModelVersions(query: RegistrySearchQuery): Promise<Page<ModelVersion>>;
  setModelVersionTag(name: string, version: number, tag: RegistryTag): Promise<void>;
  deleteModelVersionTag(name: string, version: number, key: string): Promise<void>;

  setRegisteredModelAlias(name: string, alias: string, version: number): Promise<void>;
  deleteRegisteredModelAlias(name: string, alias: string): Promise<void>;
  /** The version an alias points to; MLflow's INVALID_PARAMETER_VALUE when the alias is not set. */
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  /** The highest live version number of a model (in `stage` when given); undefined when there is none. */
  latestVersionNumber(name: string, stage?: ModelVersionStage): Promise<number | undefined>;
}
