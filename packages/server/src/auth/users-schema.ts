// Tables of the users store: MLflow's basic-auth tables (users and per-resource permissions).
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

export interface AuthDatabase {
  users: UsersTable;
  experiment_permissions: ExperimentPermissionsTable;
  registered_model_permissions: RegisteredModelPermissionsTable;
}
