import { ArtifactLocations } from './artifact-locations.js';
import { type OpenOptions, openDatabase } from './database.js';
import type { Stores } from './store-set.js';
import { storesOver } from './store-set.js';
import { parseStoreUri } from './store-uri.js';
import { openThreadedSqliteStores } from './threaded-sqlite-store.js';

/**
 * Opens the stores at a backend store URI for a server: on an SQLite file their writes run on a writer
 * thread (see threaded-sqlite-store.ts); PostgreSQL and in-memory SQLite are used directly.
 */
export async function openStores(
  uri: string,
  artifactRoot: string,
  options: OpenOptions = {},
): Promise<Stores> {
  const location = parseStoreUri(uri);
  if (location.dialect === 'sqlite' && location.file !== ':memory:') {
    return openThreadedSqliteStores(location.file, artifactRoot, options);
  }
  const database = await openDatabase(uri, options);
  const stores = storesOver(database, new ArtifactLocations(artifactRoot));
  await stores.tracking.init();
  return { ...stores, close: () => database.close() };
}
