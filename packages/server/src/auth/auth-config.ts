// The basic-auth configuration: MLflow's ini file (MLFLOW_AUTH_CONFIG_PATH) with its keys and defaults.
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'ini';
import { checkPermission, type PermissionName } from './permissions.js';

/** MLflow's default, which names its Basic authentication; ours does Basic and Bearer. */
export const MLFLOW_AUTHORIZATION_FUNCTION = 'mlflow.server.auth:authenticate_request_basic_auth';

export interface AuthConfig {
  defaultPermission: PermissionName;
  /** Where users and permissions are kept: an SQLite or PostgreSQL URI, separate from the tracking store. */
  databaseUri: string;
  adminUsername: string;
  adminPassword: string;
}

/** The values of MLflow's bundled basic_auth.ini. */
const DEFAULTS = {
  default_permission: 'READ',
  database_uri: 'sqlite:///basic_auth.db',
  admin_username: 'admin',
  admin_password: 'password1234',
  authorization_function: MLFLOW_AUTHORIZATION_FUNCTION,
};

/** A configuration the server refuses to start with. */
export class AuthConfigError extends Error {}

/** Reads the [mlflow] section of the file at `path` (or MLflow's defaults when there is no file). */
export function readAuthConfig(path = process.env.MLFLOW_AUTH_CONFIG_PATH): AuthConfig {
  let section: Record<string, unknown> = {};
  if (path) {
    if (!existsSync(path)) {
      throw new AuthConfigError(`MLFLOW_AUTH_CONFIG_PATH names ${path}, which does not exist.`);
    }
    const parsed = parse(readFileSync(path, 'utf8'));
    section = (parsed.mlflow ?? {}) as Record<string, unknown>;
  }
  const value = (key: keyof typeof DEFAULTS): string => {
    const v = section[key];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : DEFAULTS[key];
  };
  const where = path ?? 'the default configuration';
  const authorizationFunction = value('authorization_function');
  if (authorizationFunction !== MLFLOW_AUTHORIZATION_FUNCTION) {
    throw new AuthConfigError(
      `authorization_function = ${authorizationFunction} (in ${where}) is not supported: mlflow-ts authenticates every request itself, with HTTP Basic credentials (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD) and Bearer tokens (MLFLOW_TRACKING_TOKEN). Leave the key out or set it to ${MLFLOW_AUTHORIZATION_FUNCTION}.`,
    );
  }
  let defaultPermission: PermissionName;
  try {
    defaultPermission = checkPermission(value('default_permission'));
  } catch (error) {
    throw new AuthConfigError(`default_permission (in ${where}): ${(error as Error).message}`);
  }
  return {
    defaultPermission,
    databaseUri: value('database_uri'),
    adminUsername: value('admin_username'),
    adminPassword: value('admin_password'),
  };
}
