import { MlflowError } from '../entities/errors.js';
import type { PageStart } from '../store/tracking-store.js';

// Page tokens are base64 of a JSON object and opaque to clients. MLflow's own are {"offset": N}; ours
// carry the position of the last item returned (see store/keyset.ts), so that a page starts right
// after it even when items were added since. Offset tokens are still accepted, so a client holding
// one from an older server or from MLflow itself can go on paging. A malformed token gets MLflow's
// messages.

export function encodePageToken(position: object): string {
  return Buffer.from(JSON.stringify(position)).toString('base64');
}

export function decodePageToken(token: string | undefined): PageStart | undefined {
  if (token === undefined || token === '') return undefined;
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(token)) {
    throw MlflowError.invalidParameter('Invalid page token, could not base64-decode');
  }
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoded);
  } catch {
    throw MlflowError.invalidParameter(`Invalid page token, decoded value=${decoded}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw MlflowError.invalidParameter(`Invalid page token, parsed value=${decoded}`);
  }
  if (!('offset' in parsed)) return { after: parsed };
  const offset = (parsed as { offset: unknown }).offset;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
    throw MlflowError.invalidParameter(`Invalid page token, parsed value=${decoded}`);
  }
  return { offset };
}
