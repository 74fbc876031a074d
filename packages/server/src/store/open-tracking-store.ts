import { ArtifactLocations } from './artifact-locations.js';
import { openDatabase } from './database.js';
import { SqlTrackingStore } from './sql-tracking-store.js';
import { parseStoreUri } from './store-uri.js';
import { openThreadedSqliteStore } from './threaded-sqlite-store.js';

/**
 * Opens the tracking store at a backend store URI for a server: an SQLite file gets its writes on a
 * writer thread (see threaded-sqlite-store.ts); PostgreSQL and in-memory SQLite are used directly.
 */
export async function openTrackingStore(uri: string, artifactRoot: string): Promise<SqlTrackingStore> {
  const location = parseStoreUri(uri);
  if (location.dialect === 'sqlite' && location.file !== ':memory:') {
    return openThreadedSqliteStore(location.file, artifactRoot);
  }
  const store = new SqlTrackingStore(await openDatabase(uri), new ArtifactLocations(artifactRoot));
  await store.init();
  return store;
}
