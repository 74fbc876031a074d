// The web UI's cookies: the session (an access token of the user, HMAC-signed, HttpOnly, SameSite=Lax,
// Secure on https) and the short-lived record of an OpenID Connect login in progress.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse, serialize } from 'cookie';
import type { PendingLogin } from './oidc-client.js';

export const SESSION_COOKIE = 'mlflow_ts_session';
export const LOGIN_COOKIE = 'mlflow_ts_oidc_login';
/** A login must come back from the provider within this time. */
const LOGIN_TTL_MS = 10 * 60_000;

/** Signs and reads the server's cookies with a key of the users store (every worker shares it). */
export class CookieSigner {
  private readonly key: Buffer;

  constructor(storeKey: string) {
    // A key of its own, derived, so a cookie signature is never also a token hash.
    this.key = createHmac('sha256', Buffer.from(storeKey, 'base64')).update('web-cookies').digest();
  }

  private mac(value: string): string {
    return createHmac('sha256', this.key).update(value).digest('base64url');
  }

  sign(value: string): string {
    return `${value}.${this.mac(value)}`;
  }

  /** The value of a signed cookie, or undefined when its signature does not match. */
  unsign(signed: string): string | undefined {
    const dot = signed.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const value = signed.slice(0, dot);
    const given = Buffer.from(signed.slice(dot + 1));
    const expected = Buffer.from(this.mac(value));
    return given.length === expected.length && timingSafeEqual(given, expected) ? value : undefined;
  }

  /** The signed session cookie's token, from a Cookie header. */
  sessionToken(cookieHeader: string | undefined): string | undefined {
    if (!cookieHeader) return undefined;
    const raw = parse(cookieHeader)[SESSION_COOKIE];
    return raw ? this.unsign(raw) : undefined;
  }

  /** The login in progress, when its cookie is genuine and not older than ten minutes. */
  pendingLogin(cookieHeader: string | undefined, now = Date.now()): PendingLogin | undefined {
    if (!cookieHeader) return undefined;
    const raw = parse(cookieHeader)[LOGIN_COOKIE];
    const value = raw && this.unsign(raw);
    if (!value) return undefined;
    try {
      const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as PendingLogin & {
        at: number;
      };
      if (typeof parsed.at !== 'number' || now - parsed.at > LOGIN_TTL_MS) return undefined;
      return {
        state: parsed.state,
        nonce: parsed.nonce,
        verifier: parsed.verifier,
        returnTo: parsed.returnTo,
      };
    } catch {
      return undefined;
    }
  }

  sessionCookie(token: string, secure: boolean, maxAgeMs: number): string {
    return serialize(SESSION_COOKIE, this.sign(token), {
      httpOnly: true,
      sameSite: 'lax',
      secure,
      path: '/',
      maxAge: Math.floor(maxAgeMs / 1000),
    });
  }

  loginCookie(pending: PendingLogin, secure: boolean, now = Date.now()): string {
    const value = Buffer.from(JSON.stringify({ ...pending, at: now })).toString('base64url');
    // Lax: the provider's redirect back is a top-level GET navigation, which carries it.
    return serialize(LOGIN_COOKIE, this.sign(value), {
      httpOnly: true,
      sameSite: 'lax',
      secure,
      path: '/auth/oidc/',
      maxAge: LOGIN_TTL_MS / 1000,
    });
  }
}

/** A Set-Cookie header that removes a cookie. */
export function clearedCookie(name: string, path: string, secure: boolean): string {
  return serialize(name, '', { httpOnly: true, sameSite: 'lax', secure, path, maxAge: 0 });
}
