import type { ArtifactLocations } from './artifact-locations.js';
import type { StoreDatabase } from './database.js';
import { SqlRegistryStore } from './sql-registry-store.js';
import { SqlTrackingStore } from './sql-tracking-store.js';
import { SqlWebhookStore } from './webhook-store.js';

// The server's stores, all over one backend database. On an SQLite file their writes run on the writer
// thread (threaded-sqlite-store.ts), which needs to know, per store, which methods write.

export interface StoreMembers {
  tracking: SqlTrackingStore;
  registry: SqlRegistryStore;
  webhooks: SqlWebhookStore;
}
export type StoreName = keyof StoreMembers;

export interface Stores extends StoreMembers {
  /** Commits pending writes and closes the database (and the writer thread). */
  close(): Promise<void>;
}

/** The methods of each store that write; every other method reads. */
export const WRITE_METHODS = {
  tracking: [
    'init',
    'createExperiment',
    'renameExperiment',
    'deleteExperiment',
    'restoreExperiment',
    'setExperimentTag',
    'deleteExperimentTag',
    'createRun',
    'updateRun',
    'deleteRun',
    'restoreRun',
    'logBatch',
    'deleteTag',
    'logInputs',
    'hardDeleteRun',
    'hardDeleteExperiment',
    'createLoggedModel',
    'finalizeLoggedModel',
    'deleteLoggedModel',
    'setLoggedModelTags',
    'deleteLoggedModelTag',
    'replaceLoggedModelTag',
    'logLoggedModelParams',
    'logOutputs',
  ],
  registry: [
    'createRegisteredModel',
    'updateRegisteredModel',
    'renameRegisteredModel',
    'deleteRegisteredModel',
    'setRegisteredModelTag',
    'deleteRegisteredModelTag',
    'createModelVersion',
    'updateModelVersion',
    'transitionModelVersionStage',
    'deleteModelVersion',
    'setModelVersionTag',
    'deleteModelVersionTag',
    'setRegisteredModelAlias',
    'deleteRegisteredModelAlias',
  ],
  webhooks: ['createWebhook', 'updateWebhook', 'deleteWebhook'],
} as const satisfies { [S in StoreName]: readonly (keyof StoreMembers[S])[] };

/** Builds every store over `database`; the tracking store still needs its init(). */
export function storesOver(database: StoreDatabase, locations: ArtifactLocations): StoreMembers {
  return {
    tracking: new SqlTrackingStore(database, locations),
    registry: new SqlRegistryStore(database),
    webhooks: new SqlWebhookStore(database),
  };
}
