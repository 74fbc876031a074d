import { MlflowError } from '../entities/errors.js';

// MLflow's page tokens are base64 of the JSON {"offset": N}; clients treat them as opaque, but some
// tools decode them, so we keep the same format.

export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}

export function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
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
  const offset = (parsed as { offset?: unknown } | null)?.offset;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
    throw MlflowError.invalidParameter(`Invalid page token, parsed value=${decoded}`);
  }
  return offset;
}
