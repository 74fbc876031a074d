import type { ResourceLimits } from '../entities/resource-limits.js';
import type { ArtifactLocations } from './artifact-locations.js';
import type { StoreDatabase } from './database.js';
import {
  type EvaluationDatasetRepositories,
  evaluationDatasetRepositories,
  SqlEvaluationDatasetStore,
} from './evaluation-dataset-store.js';
import { mapWrites } from './repository.js';
import { type ScorerRepositories, SqlScorerStore, scorerRepositories } from './scorer-store.js';
import {
  type ServingEndpointRepositories,
  SqlServingEndpointStore,
  servingEndpointRepositories,
} from './serving-endpoint-store.js';
import { type RegistryRepositories, registryRepositories, SqlRegistryStore } from './sql-registry-store.js';
import { SqlTrackingStore, type TrackingRepositories, trackingRepositories } from './sql-tracking-store.js';
import { SqlTraceStore, type TraceRepositories, traceRepositories } from './trace-store.js';
import { SqlWebhookStore, type WebhookRepositories, webhookRepositories } from './webhook-store.js';

// The server's stores, all over one backend database, each a facade over its repositories. On an SQLite
// file the writes of every repository run on the writer thread (threaded-sqlite-store.ts); which
// methods those are is each repository's own reads/writes split (repository.ts), never a list here.

/** Each store's repositories; a new store is one line here, in StoreMembers and in the two builders. */
export interface StoreRepositories {
  tracking: TrackingRepositories;
  registry: RegistryRepositories;
  webhooks: WebhookRepositories;
  traces: TraceRepositories;
  scorers: ScorerRepositories;
  evaluationDatasets: EvaluationDatasetRepositories;
  servingEndpoints: ServingEndpointRepositories;
}
export type StoreName = keyof StoreRepositories;

export interface StoreMembers {
  tracking: SqlTrackingStore;
  registry: SqlRegistryStore;
  webhooks: SqlWebhookStore;
  traces: SqlTraceStore;
  scorers: SqlScorerStore;
  evaluationDatasets: SqlEvaluationDatasetStore;
  servingEndpoints: SqlServingEndpointStore;
}

export interface Stores extends StoreMembers {
  /** Commits pending writes and closes the database (and the writer thread). */
  close(): Promise<void>;
}

/** Every store's repositories over `database`; `limits` are the quotas their writes enforce. */
export function repositoriesOver(
  database: StoreDatabase,
  locations: ArtifactLocations,
  limits: ResourceLimits = {},
): StoreRepositories {
  return {
    tracking: trackingRepositories(database, locations, limits),
    registry: registryRepositories(database),
    webhooks: webhookRepositories(database),
    traces: traceRepositories(database),
    scorers: scorerRepositories(database),
    evaluationDatasets: evaluationDatasetRepositories(database),
    servingEndpoints: servingEndpointRepositories(database),
  };
}

/** `repositories` with the writes of each repository of each store passed through `wrap`. */
export function mapStoreWrites(
  repositories: StoreRepositories,
  wrap: (store: StoreName, repository: string, writes: object) => object,
): StoreRepositories {
  const each = <S extends StoreName>(store: S): StoreRepositories[S] =>
    mapWrites(repositories[store], (repository, writes) => wrap(store, repository, writes));
  return {
    tracking: each('tracking'),
    registry: each('registry'),
    webhooks: each('webhooks'),
    traces: each('traces'),
    scorers: each('scorers'),
    evaluationDatasets: each('evaluationDatasets'),
    servingEndpoints: each('servingEndpoints'),
  };
}

/**
 * The stores over `database`, each a facade over its repositories (by default over `database` too; the
 * threaded SQLite set-up passes them with their writes sent to the writer thread). The tracking store
 * still needs its init().
 */
export function storesOver(
  database: StoreDatabase,
  locations: ArtifactLocations,
  repositories: StoreRepositories = repositoriesOver(database, locations),
): StoreMembers {
  return {
    tracking: new SqlTrackingStore(database, locations, repositories.tracking),
    registry: new SqlRegistryStore(database, repositories.registry),
    webhooks: new SqlWebhookStore(database, repositories.webhooks),
    traces: new SqlTraceStore(database, repositories.traces),
    scorers: new SqlScorerStore(database, repositories.scorers),
    evaluationDatasets: new SqlEvaluationDatasetStore(database, repositories.evaluationDatasets),
    servingEndpoints: new SqlServingEndpointStore(database, repositories.servingEndpoints),
  };
}
