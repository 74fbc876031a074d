import type { ResourceLimits } from '../entities/resource-limits.js';
import { ArtifactLocations } from './artifact-locations.js';
import { type OpenOptions, openDatabase } from './database.js';
import type { Stores } from './store-set.js';
import { repositoriesOver, storesOver } from './store-set.js';
import { parseStoreUri } from './store-uri.js';
import { openThreadedSqliteStores } from './threaded-sqlite-store.js';

/**
 * Opens the stores at a backend store URI for a server: on an SQLite file their writes run on a writer
 * thread (see threaded-sqlite-store.ts); PostgreSQL and in-memory SQLite are used directly.
 */
export interface StoreOptions extends OpenOptions {
  /** Quotas the stores' writes enforce (none by default). */
  limits?: ResourceLimits;
}

export async function openStores(
  uri: string,
  artifactRoot: string,
  options: StoreOptions = {},
): Promise<Stores> {
  const location = parseStoreUri(uri);
  if (location.dialect === 'sqlite' && location.file !== ':memory:') {
    return openThreadedSqliteStores(location.file, artifactRoot, options);
  }
  const database = await openDatabase(uri, options);
  const locations = new ArtifactLocations(artifactRoot);
  const stores = storesOver(database, locations, repositoriesOver(database, locations, options.limits));
  await stores.tracking.init();
  return { ...stores, close: () => database.close() };
}
