// MLflow's four permissions and what each allows (mlflow/server/auth/permissions.py).
import { MlflowError } from '../entities/errors.js';

export const PERMISSION_NAMES = ['READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS'] as const;
export type PermissionName = (typeof PERMISSION_NAMES)[number];

/** The four things a permission can allow on an experiment or registered model. */
export type Capability = 'read' | 'update' | 'delete' | 'manage';

const ALLOWS: Record<PermissionName, ReadonlySet<Capability>> = {
  READ: new Set(['read']),
  EDIT: new Set(['read', 'update']),
  MANAGE: new Set(['read', 'update', 'delete', 'manage']),
  NO_PERMISSIONS: new Set(),
};

export function allows(permission: PermissionName, capability: Capability): boolean {
  return ALLOWS[permission].has(capability);
}

export function isPermissionName(value: unknown): value is PermissionName {
  return typeof value === 'string' && (PERMISSION_NAMES as readonly string[]).includes(value);
}

/** MLflow's check and message for a permission given in a request or the config file. */
export function checkPermission(value: unknown): PermissionName {
  if (isPermissionName(value)) return value;
  const valid = `(${PERMISSION_NAMES.map((p) => `'${p}'`).join(', ')})`;
  throw MlflowError.invalidParameter(
    `Invalid permission '${String(value)}'. Valid permissions are: ${valid}`,
  );
}
