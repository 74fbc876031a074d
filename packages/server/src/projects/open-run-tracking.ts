import { ExecutionError } from './execution-error.js';
import { LocalRunTracking } from './local-run-tracking.js';
import { RestRunTracking, type RunTracking } from './run-tracking.js';

/** Where runs are recorded when neither --tracking-uri nor MLFLOW_TRACKING_URI says: the server's default store. */
export const DEFAULT_TRACKING_URI = 'sqlite:///mlflow.db';

/** The tracking URI in effect: the explicit one, else MLFLOW_TRACKING_URI, else the default store. */
export function resolveTrackingUri(explicit?: string): string {
  return explicit || process.env.MLFLOW_TRACKING_URI || DEFAULT_TRACKING_URI;
}

/**
 * Opens tracking for a URI: http(s) servers through the REST client, sqlite:/// and postgresql://
 * stores in-process. MLflow's file store (a plain path or file:) does not exist in mlflow-ts.
 */
export async function openRunTracking(uri: string): Promise<RunTracking> {
  if (/^https?:\/\//i.test(uri)) return new RestRunTracking(uri);
  if (/^(sqlite|postgres|postgresql)(\+\w+)?:\/\//i.test(uri)) return LocalRunTracking.open(uri);
  if (uri === 'databricks' || uri.startsWith('databricks://')) {
    throw new ExecutionError('Databricks tracking URIs are not supported by mlflow-ts run yet.');
  }
  throw new ExecutionError(
    `Unsupported tracking URI '${uri}': mlflow-ts has no file store. Use a server (http://host:port) or a database (sqlite:///path/mlflow.db).`,
  );
}
