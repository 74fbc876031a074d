// Access tokens: their secret form (made once, shown once), the keyed hash the users store keeps, and
// MLflow-style checks of a token request's name and expiry.
import { createHmac, randomBytes } from 'node:crypto';
import { MlflowError } from '../entities/errors.js';

/** A prefix secret scanners can match; the rest is 32 random bytes. */
export const TOKEN_PREFIX = 'mlts_';

const DAY_MS = 24 * 60 * 60 * 1000;
/** A token asked for without an expiry lives this long. */
export const DEFAULT_TOKEN_LIFETIME_MS = 30 * DAY_MS;
/** The longest expiry a token may be given: a forgotten token should not outlive a year. */
export const MAX_TOKEN_LIFETIME_MS = 366 * DAY_MS;

export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** A new key to hash tokens with, kept in the users store. */
export function newTokenKey(): string {
  return randomBytes(32).toString('base64');
}

/**
 * The stored form of a token. A token is 256 random bits, so unlike a password it cannot be guessed
 * from a list and needs no slow hash: HMAC-SHA256 under the store's key (a copy of the hashes alone
 * is useless without it) costs microseconds, which keeps every Bearer request cheap.
 */
export function hashToken(key: string, token: string): string {
  return createHmac('sha256', Buffer.from(key, 'base64')).update(token).digest('hex');
}

/** Whether a Bearer value has the shape of one of our tokens (else it is not looked up at all). */
export function looksLikeToken(value: string): boolean {
  return value.startsWith(TOKEN_PREFIX) && value.length === TOKEN_PREFIX.length + 43;
}

/** Names of the tokens that are web sessions (auth/web-session.ts); users' token names may not start so. */
export const SESSION_TOKEN_PREFIX = 'web-session:';

export function checkTokenName(name: string): void {
  if (!name.trim()) throw MlflowError.invalidParameter('Token name cannot be empty.');
  if (name.startsWith(SESSION_TOKEN_PREFIX)) {
    throw MlflowError.invalidParameter(
      `Token names starting with '${SESSION_TOKEN_PREFIX}' are kept for web sessions.`,
    );
  }
  if (name.length > 255) {
    throw MlflowError.invalidParameter(`Token name '${name.slice(0, 20)}...' is longer than 255 characters.`);
  }
}

/** The expiry of a token asked for at `now`: the given time (ms since the epoch) or the default. */
export function tokenExpiry(requested: number | undefined, now: number): number {
  if (requested === undefined) return now + DEFAULT_TOKEN_LIFETIME_MS;
  if (!Number.isSafeInteger(requested) || requested <= now) {
    throw MlflowError.invalidParameter(
      `expiration_time must be a time in the future, in milliseconds since the epoch; got ${requested}.`,
    );
  }
  if (requested > now + MAX_TOKEN_LIFETIME_MS) {
    throw MlflowError.invalidParameter(
      `expiration_time ${requested} is more than 366 days away; the longest a token may live is 366 days.`,
    );
  }
  return requested;
}
