import { ExecutionError } from '../execution-error.js';

// -b databricks --backend-config: a Databricks new_cluster spec, or MLflow's cluster-spec form
// {"new_cluster": {...}, "libraries": [...]}. The cluster spec itself is Databricks' to validate; we
// check only what decides how the job is built, so a mistake fails before a run exists.

export interface DatabricksClusterConfig {
  newCluster: Record<string, unknown>;
  /** Libraries from the config (Jobs API library objects), before mlflow is added. */
  libraries: Array<Record<string, unknown>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseDatabricksConfig(config: Record<string, unknown> | undefined): DatabricksClusterConfig {
  if (config === undefined) {
    throw new ExecutionError(
      'Backend spec must be provided when launching MLflow project runs on Databricks: pass a new_cluster spec with --backend-config (JSON text or a .json file).',
    );
  }
  if ('existing_cluster_id' in config) {
    throw new ExecutionError(
      'MLflow Project runs on Databricks must provide a *new cluster* specification. Project execution against existing clusters is not supported.',
    );
  }
  if ('new_cluster' in config) {
    if (!isRecord(config.new_cluster)) {
      throw new ExecutionError("Databricks backend config: 'new_cluster' must be a JSON object.");
    }
    const libraries = config.libraries ?? [];
    if (!Array.isArray(libraries) || !libraries.every(isRecord)) {
      throw new ExecutionError(
        'Databricks backend config: \'libraries\' must be a list of library objects, e.g. [{"pypi": {"package": "scikit-learn"}}].',
      );
    }
    const unknown = Object.keys(config).filter((k) => k !== 'new_cluster' && k !== 'libraries');
    if (unknown.length > 0) {
      throw new ExecutionError(
        `Databricks backend config: unknown key(s) ${unknown.map((k) => `'${k}'`).join(', ')} next to 'new_cluster'; only 'libraries' may accompany it.`,
      );
    }
    return { newCluster: config.new_cluster, libraries };
  }
  if (Object.keys(config).length === 0) {
    throw new ExecutionError(
      'Databricks backend config is empty: give a new_cluster spec (spark_version, node_type_id, num_workers, ...).',
    );
  }
  return { newCluster: config, libraries: [] };
}

const MLFLOW_GIT_URI = /^git\+https:\/\/github\.com\/[\w-]+\/mlflow/;
const MLFLOW_PACKAGE = /^['"]?mlflow(\[[^\]]*\])?\s*([<>=!~;]|$)/i;

/**
 * The libraries of the job: the configured ones plus MLflow (the cluster runs `mlflow run`), unless
 * the config already installs MLflow itself (a pinned version or a Git build).
 */
export function jobLibraries(
  config: DatabricksClusterConfig,
  mlflowPackage: string,
): Array<Record<string, unknown>> {
  const hasMlflow = config.libraries.some((lib) => {
    const pypi = lib.pypi;
    if (!isRecord(pypi) || typeof pypi.package !== 'string') return false;
    return MLFLOW_GIT_URI.test(pypi.package) || MLFLOW_PACKAGE.test(pypi.package.trim());
  });
  return hasMlflow ? config.libraries : [...config.libraries, { pypi: { package: mlflowPackage } }];
}
