// Recently verified credentials, so a request does not pay scrypt again (tens of ms) for a pair seen
// moments ago. Keys hold an HMAC of the password under a per-process key, never the password.
import { createHmac, randomBytes } from 'node:crypto';

export class CredentialCache<T> {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, { value: T; username: string; expires: number }>();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 10_000,
  ) {}

  private cacheKey(username: string, secret: string): string {
    return `${username}\0${createHmac('sha256', this.key).update(secret).digest('base64')}`;
  }

  get(username: string, secret: string, now = Date.now()): T | undefined {
    const k = this.cacheKey(username, secret);
    const entry = this.entries.get(k);
    if (!entry) return undefined;
    if (entry.expires <= now) {
      this.entries.delete(k);
      return undefined;
    }
    return entry.value;
  }

  /**
   * Remembers a success until the TTL, or `until` (a token's expiry) if that is sooner. `owner` is
   * the user whose changes forget the entry (the user name, unless the entry is a token's).
   */
  set(
    username: string,
    secret: string,
    value: T,
    { now = Date.now(), until = Number.POSITIVE_INFINITY, owner = username } = {},
  ): void {
    // Map keeps insertion order: the first key is the oldest entry.
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(this.cacheKey(username, secret), {
      value,
      username: owner,
      expires: Math.min(now + this.ttlMs, until),
    });
  }

  /** Forgets every entry owned by a user whose password, admin flag or existence changed. */
  forget(username: string): void {
    for (const [k, entry] of this.entries) if (entry.username === username) this.entries.delete(k);
  }
}
