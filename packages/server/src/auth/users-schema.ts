// Tables of the users store: MLflow's basic-auth tables (users and per-resource permissions), and ours
// (access tokens, the audit log).
import type { Generated } from 'kysely';

export interface UsersTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
  /** 0 or 1 (SQLite has no booleans; the same column type on both dialects keeps one code path). */
  is_admin: number;
}

export interface ExperimentPermissionsTable {
  id: Generated<number>;
  experiment_id: string;
  user_id: number;
  permission: string;
}

export interface RegisteredModelPermissionsTable {
  id: Generated<number>;
  name: string;
  user_id: number;
  permission: string;
}

export interface ScorerPermissionsTable {
  id: Generated<number>;
  experiment_id: string;
  scorer_name: string;
  user_id: number;
  permission: string;
}

export interface AccessTokensTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  /** HMAC-SHA256 of the token under the store's token key, hex. */
  token_hash: string;
  creation_time: number;
  expiration_time: number;
}

/** Secrets the users store keeps for itself (the token-hashing key). */
export interface AuthSecretsTable {
  name: string;
  value: string;
}

export interface AuditLogTable {
  id: Generated<number>;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** The user who acted, or `cli:<os user>` for the CLI, `(server)` for the server itself. */
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  /** A JSON object with what changed (a permission, a new name), or null. */
  details: string | null;
}

/** Which user an OpenID Connect identity (issuer and subject) signs in as. */
export interface OidcIdentitiesTable {
  issuer: string;
  subject: string;
  user_id: number;
}

export interface AuthDatabase {
  users: UsersTable;
  experiment_permissions: ExperimentPermissionsTable;
  registered_model_permissions: RegisteredModelPermissionsTable;
  scorer_permissions: ScorerPermissionsTable;
  access_tokens: AccessTokensTable;
  mlflow_ts_auth_secrets: AuthSecretsTable;
  audit_log: AuditLogTable;
  oidc_identities: OidcIdentitiesTable;
}
