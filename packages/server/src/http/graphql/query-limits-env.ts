// MLflow's GraphQL query limits as its environment variables set them; apart from the checks
// (query-limits.ts) so that the server reads them at start-up without loading graphql.

export interface QueryLimits {
  /** Top-level fields over all operations (MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS, default 10). */
  maxRootFields: number;
  /** Aliased fields in any one selection set (MLFLOW_SERVER_GRAPHQL_MAX_ALIASES, default 10). */
  maxAliases: number;
}

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got '${raw}'`);
  return value;
}

/** The limits MLflow's environment variables set. */
export function queryLimitsFromEnv(): QueryLimits {
  return {
    maxRootFields: envInt('MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS', 10),
    maxAliases: envInt('MLFLOW_SERVER_GRAPHQL_MAX_ALIASES', 10),
  };
}
