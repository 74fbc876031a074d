// The registry store the services see: RegistryStore as one facade over the registry repository
// (registry-repository.ts), whose reads and writes are split by type (repository.ts). It works on the
// database the tracking store opened (the registry's tables live beside the tracking tables, as in
// MLflow) and leaves closing it to that store.
import type { ModelVersion, ModelVersionStage, RegisteredModel, RegistryTag } from '../entities/registry.js';
import type { StoreDatabase } from './database.js';
import { RegistryReads, RegistryWrites } from './registry-repository.js';
import type { CreateModelVersionInput, RegistrySearchQuery, RegistryStore } from './registry-store.js';
import { type Repository, readView, writeView } from './repository.js';
import type { Page } from './tracking-store.js';

export type RegistryRepositories = { registry: Repository<RegistryReads, RegistryWrites> };

export function registryRepositories(database: StoreDatabase): RegistryRepositories {
  return {
    registry: {
      reads: new RegistryReads(readView(database)),
      writes: new RegistryWrites(writeView(database)),
    },
  };
}

export class SqlRegistryStore implements RegistryStore {
  private readonly reads: RegistryReads;
  private readonly writes: RegistryWrites;

  /** `repositories` are by default over `database`; the SQLite writer-thread set-up passes its own. */
  constructor(database: StoreDatabase, repositories: RegistryRepositories = registryRepositories(database)) {
    this.reads = repositories.registry.reads;
    this.writes = repositories.registry.writes;
  }

  createRegisteredModel(name: string, tags: RegistryTag[], description?: string): Promise<RegisteredModel> {
    return this.writes.createRegisteredModel(name, tags, description);
  }
  getRegisteredModel(name: string): Promise<RegisteredModel> {
    return this.reads.getRegisteredModel(name);
  }
  updateRegisteredModel(name: string, description: string | undefined): Promise<RegisteredModel> {
    return this.writes.updateRegisteredModel(name, description);
  }
  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    return this.writes.renameRegisteredModel(name, newName);
  }
  deleteRegisteredModel(name: string): Promise<void> {
    return this.writes.deleteRegisteredModel(name);
  }
  searchRegisteredModels(query: RegistrySearchQuery): Promise<Page<RegisteredModel>> {
    return this.reads.searchRegisteredModels(query);
  }
  getLatestVersions(name: string, stages: ModelVersionStage[]): Promise<ModelVersion[]> {
    return this.reads.getLatestVersions(name, stages);
  }
  setRegisteredModelTag(name: string, tag: RegistryTag): Promise<void> {
    return this.writes.setRegisteredModelTag(name, tag);
  }
  deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    return this.writes.deleteRegisteredModelTag(name, key);
  }

  createModelVersion(input: CreateModelVersionInput): Promise<ModelVersion> {
    return this.writes.createModelVersion(input);
  }
  getModelVersion(name: string, version: number): Promise<ModelVersion> {
    return this.reads.getModelVersion(name, version);
  }
  updateModelVersion(name: string, version: number, description: string | undefined): Promise<ModelVersion> {
    return this.writes.updateModelVersion(name, version, description);
  }
  transitionModelVersionStage(
    name: string,
    version: number,
    stage: ModelVersionStage,
    archiveExistingVersions: boolean,
  ): Promise<ModelVersion> {
    return this.writes.transitionModelVersionStage(name, version, stage, archiveExistingVersions);
  }
  deleteModelVersion(name: string, version: number): Promise<void> {
    return this.writes.deleteModelVersion(name, version);
  }
  getModelVersionDownloadUri(name: string, version: number): Promise<string> {
    return this.reads.getModelVersionDownloadUri(name, version);
  }
  searchModelVersions(query: RegistrySearchQuery): Promise<Page<ModelVersion>> {
    return this.reads.searchModelVersions(query);
  }
  setModelVersionTag(name: string, version: number, tag: RegistryTag): Promise<void> {
    return this.writes.setModelVersionTag(name, version, tag);
  }
  deleteModelVersionTag(name: string, version: number, key: string): Promise<void> {
    return this.writes.deleteModelVersionTag(name, version, key);
  }

  setRegisteredModelAlias(name: string, alias: string, version: number): Promise<void> {
    return this.writes.setRegisteredModelAlias(name, alias, version);
  }
  deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    return this.writes.deleteRegisteredModelAlias(name, alias);
  }
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return this.reads.getModelVersionByAlias(name, alias);
  }
  latestVersionNumber(name: string, stage?: ModelVersionStage): Promise<number | undefined> {
    return this.reads.latestVersionNumber(name, stage);
  }
}
