// The basic-auth app's calls the UI makes: users (admins), permissions on an experiment or registered
// model (their MANAGE holders), and the audit log.
import { request } from './api';

export const PERMISSIONS = ['READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface UserRow {
  id: number;
  username: string;
  is_admin: boolean;
}

export interface GrantRow {
  username: string;
  permission: Permission;
}

export interface AuditEvent {
  id: number;
  timestamp: number;
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  details?: Record<string, unknown>;
}

/** Where an experiment's or a registered model's permission endpoints are, and what names it. */
export interface PermissionTarget {
  kind: 'experiment' | 'registered_model';
  /** The experiment id or the model name. */
  id: string;
}

function target(t: PermissionTarget) {
  return t.kind === 'experiment'
    ? { base: 'experiments/permissions', key: 'experiment_id', answer: 'experiment_permissions' }
    : { base: 'registered-models/permissions', key: 'name', answer: 'registered_model_permissions' };
}

export const authApi = {
  listUsers: () => request<{ users?: UserRow[] }>('GET', 'users/list').then((r) => r.users ?? []),
  createUser: (username: string, password: string) =>
    request<object>('POST', 'users/create', { username, password }),
  setAdmin: (username: string, isAdmin: boolean) =>
    request<object>('PATCH', 'users/update-admin', { username, is_admin: isAdmin }),
  setPassword: (username: string, password: string) =>
    request<object>('PATCH', 'users/update-password', { username, password }),
  deleteUser: (username: string) => request<object>('DELETE', 'users/delete', { username }),
  auditLog: (maxResults = 50) =>
    request<{ events?: AuditEvent[] }>('GET', 'audit-log/list', { max_results: maxResults }).then(
      (r) => r.events ?? [],
    ),

  /** The grants on a resource; refused (403) unless the caller may manage it. */
  listGrants: (t: PermissionTarget) => {
    const { base, key, answer } = target(t);
    return request<Record<string, GrantRow[] | undefined>>('GET', `${base}/list`, { [key]: t.id }).then(
      (r) => r[answer] ?? [],
    );
  },
  grant: (t: PermissionTarget, username: string, permission: Permission) => {
    const { base, key } = target(t);
    return request<object>('POST', `${base}/create`, { [key]: t.id, username, permission });
  },
  change: (t: PermissionTarget, username: string, permission: Permission) => {
    const { base, key } = target(t);
    return request<object>('PATCH', `${base}/update`, { [key]: t.id, username, permission });
  },
  revoke: (t: PermissionTarget, username: string) => {
    const { base, key } = target(t);
    return request<object>('DELETE', `${base}/delete`, { [key]: t.id, username });
  },
};
