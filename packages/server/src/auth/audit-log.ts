// The audit log's vocabulary: what is recorded about a change (who, what, which, when) and how a page
// of it is asked for and answered.
import { MlflowError } from '../entities/errors.js';

export type AuditAction = 'create' | 'update' | 'delete' | 'restore' | 'rename';

export type AuditResource =
  | 'user'
  | 'experiment'
  | 'registered_model'
  | 'experiment_permission'
  | 'registered_model_permission'
  | 'scorer_permission'
  | 'access_token';

export const AUDIT_RESOURCES: readonly AuditResource[] = [
  'user',
  'experiment',
  'registered_model',
  'experiment_permission',
  'registered_model_permission',
  'scorer_permission',
  'access_token',
];

/** One recorded change, as the API shows it. */
export interface AuditEvent {
  id: number;
  timestamp: number;
  actor: string;
  action: AuditAction;
  resource_type: AuditResource;
  resource_id: string;
  details?: Record<string, unknown>;
}

export interface AuditQuery {
  maxResults: number;
  /** Only events older than this id (the page token's position). */
  beforeId?: number;
  actor?: string;
  resourceType?: AuditResource;
}

export const AUDIT_PAGE_DEFAULT = 100;
export const AUDIT_PAGE_MAX = 1000;

export function checkAuditResource(value: string | undefined): AuditResource | undefined {
  if (value === undefined) return undefined;
  if ((AUDIT_RESOURCES as readonly string[]).includes(value)) return value as AuditResource;
  throw MlflowError.invalidParameter(
    `Invalid resource_type '${value}'. Valid resource types are: ${AUDIT_RESOURCES.join(', ')}`,
  );
}

export function checkAuditPageSize(value: number | undefined): number {
  if (value === undefined) return AUDIT_PAGE_DEFAULT;
  if (value < 1 || value > AUDIT_PAGE_MAX) {
    throw MlflowError.invalidParameter(
      `Invalid value ${value} for parameter 'max_results' supplied. It must be between 1 and ${AUDIT_PAGE_MAX}.`,
    );
  }
  return value;
}

/** A page token: the id the next page starts below, opaque to clients. */
export function auditPageToken(id: number): string {
  return Buffer.from(JSON.stringify({ before: id })).toString('base64');
}

export function parseAuditPageToken(token: string | undefined): number | undefined {
  if (!token) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    const before = (parsed as { before?: unknown }).before;
    if (typeof before === 'number' && Number.isSafeInteger(before)) return before;
  } catch {}
  throw MlflowError.invalidParameter(`Invalid page token '${token}'.`);
}
