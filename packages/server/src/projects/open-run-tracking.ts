import { DEFAULT_TRACKING_URI } from '@mlflow-ts/client';
import { ExecutionError } from './execution-error.js';
import { LocalRunTracking } from './local-run-tracking.js';
import { RestRunTracking, type RunTracking } from './run-tracking.js';
import { needsServing, ServedRunTracking } from './served-run-tracking.js';

/** Where runs are recorded when neither --tracking-uri nor MLFLOW_TRACKING_URI says: the SDK's default, MLflow 3's. */
export { DEFAULT_TRACKING_URI };

/** The tracking URI in effect: the explicit one, else MLFLOW_TRACKING_URI, else the default store. */
export function resolveTrackingUri(explicit?: string): string {
  return explicit || process.env.MLFLOW_TRACKING_URI || DEFAULT_TRACKING_URI;
}

/**
 * Opens tracking for a URI: http(s) servers through the REST client, sqlite:/// and postgresql://
 * stores in-process. MLflow's file store (a plain path or file:) does not exist in mlflow-ts.
 * With `serve`, a local store (also a directory, read as the SDK does) is served on a loopback port
 * instead, and the run's command gets that server's http:// URI.
 */
export async function openRunTracking(uri: string, options: { serve?: boolean } = {}): Promise<RunTracking> {
  if (/^https?:\/\//i.test(uri)) return new RestRunTracking(uri);
  if (options.serve && needsServing(uri)) return ServedRunTracking.start(uri);
  if (/^(sqlite|postgres|postgresql)(\+\w+)?:\/\//i.test(uri)) return LocalRunTracking.open(uri);
  if (uri === 'databricks' || uri.startsWith('databricks://')) {
    throw new ExecutionError('Databricks tracking URIs are not supported by mlflow-ts run yet.');
  }
  throw new ExecutionError(
    `Unsupported tracking URI '${uri}': mlflow-ts has no file store. Use a server (http://host:port) or a database (sqlite:///path/mlflow.db).`,
  );
}
