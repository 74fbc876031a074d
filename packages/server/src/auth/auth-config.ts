// The basic-auth configuration: MLflow's ini file (MLFLOW_AUTH_CONFIG_PATH) with its keys and defaults.
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'ini';
import { AuthConfigError } from './auth-config-error.js';
import { type OidcConfig, readOidcConfig } from './oidc-config.js';
import { checkPermission, type PermissionName } from './permissions.js';

/** MLflow's default, which names its Basic authentication; ours does Basic and Bearer. */
export const MLFLOW_AUTHORIZATION_FUNCTION = 'mlflow.server.auth:authenticate_request_basic_auth';

export interface AuthConfig {
  defaultPermission: PermissionName;
  /** Where users and permissions are kept: an SQLite or PostgreSQL URI, separate from the tracking store. */
  databaseUri: string;
  adminUsername: string;
  adminPassword: string;
  /** OpenID Connect sign-in for the web UI (our extension); absent when no oidc_ key is set. */
  oidc?: OidcConfig;
  /** How long a web session (a sign-in through the UI) lasts, server-side. */
  sessionLifetimeMs?: number;
}

export const DEFAULT_SESSION_MINUTES = 12 * 60;

/** The values of MLflow's bundled basic_auth.ini. */
const DEFAULTS = {
  default_permission: 'READ',
  database_uri: 'sqlite:///basic_auth.db',
  admin_username: 'admin',
  admin_password: 'password1234',
  authorization_function: MLFLOW_AUTHORIZATION_FUNCTION,
};

export { AuthConfigError };

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
  const optional = (key: string): string | undefined => {
    const v = section[key];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const minutesText = optional('session_lifetime_minutes');
  const minutes = minutesText === undefined ? DEFAULT_SESSION_MINUTES : Number(minutesText);
  if (!Number.isSafeInteger(minutes) || minutes < 1) {
    throw new AuthConfigError(
      `session_lifetime_minutes = ${minutesText} (in ${where}) must be a whole number of minutes, 1 or more.`,
    );
  }
  const oidc = readOidcConfig(optional, where);
  return {
    defaultPermission,
    databaseUri: value('database_uri'),
    adminUsername: value('admin_username'),
    adminPassword: value('admin_password'),
    sessionLifetimeMs: minutes * 60_000,
    ...(oidc ? { oidc } : {}),
  };
}
