import { ArtifactLocations } from './artifact-locations.js';
import { openDatabase } from './database.js';
import type { RegistryStore } from './registry-store.js';
import { SqlRegistryStore } from './sql-registry-store.js';
import { SqlTrackingStore } from './sql-tracking-store.js';
import { parseStoreUri } from './store-uri.js';
import { openThreadedSqliteStores } from './threaded-sqlite-store.js';

/**
 * Opens the tracking store at a backend store URI for a server: an SQLite file gets its writes on a
 * writer thread (see threaded-sqlite-store.ts); PostgreSQL and in-memory SQLite are used directly.
 */
export async function openTrackingStore(uri: string, artifactRoot: string): Promise<SqlTrackingStore> {
  return (await openStores(uri, artifactRoot)).tracking;
}

/**
 * Opens the tracking store and the model registry store over the same backend store URI (one
 * database, as in MLflow). Closing the tracking store closes the database both use.
 */
export async function openStores(
  uri: string,
  artifactRoot: string,
): Promise<{ tracking: SqlTrackingStore; registry: RegistryStore }> {
  const location = parseStoreUri(uri);
  if (location.dialect === 'sqlite' && location.file !== ':memory:') {
    return openThreadedSqliteStores(location.file, artifactRoot);
  }
  const database = await openDatabase(uri);
  const tracking = new SqlTrackingStore(database, new ArtifactLocations(artifactRoot));
  await tracking.init();
  return { tracking, registry: new SqlRegistryStore(database) };
}
