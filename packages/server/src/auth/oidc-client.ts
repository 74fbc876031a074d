// OpenID Connect sign-in (authorization code with PKCE) through openid-client: the provider's
// discovery document, the redirect to it, and the callback's checks (state, PKCE, nonce, the ID
// token's signature against the provider's JWKS, issuer, audience and expiry).
import * as oidc from 'openid-client';
import { MlflowError } from '../entities/errors.js';
import { AuthConfigError } from './auth-config-error.js';
import type { OidcConfig } from './oidc-config.js';

/** What the server keeps (in a signed cookie) between the redirect and the callback. */
export interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
  /** Where in the UI to go back to afterwards (a path on this server). */
  returnTo: string;
}

/** Who the provider says signed in. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  email?: string;
  /** The provider vouches for the email (email_verified); only then does it match an existing user. */
  emailVerified: boolean;
  preferredUsername?: string;
  groups: string[];
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A groups claim as a list: providers send an array of names, some a single string. */
function groupsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  return typeof value === 'string' ? [value] : [];
}

export class OidcClient {
  private constructor(
    readonly config: OidcConfig,
    private readonly client: oidc.Configuration,
  ) {}

  /** Reads the provider's discovery document; a provider that cannot be reached stops the start. */
  static async discover(config: OidcConfig): Promise<OidcClient> {
    const issuer = new URL(config.issuerUrl);
    try {
      const client = await oidc.discovery(
        issuer,
        config.clientId,
        config.clientSecret,
        config.clientSecret ? undefined : oidc.None(),
        // A provider on plain http is only for local set-ups and tests; openid-client refuses it unless told.
        issuer.protocol === 'http:'
          ? { execute: [oidc.allowInsecureRequests], timeout: 10 }
          : { timeout: 10 },
      );
      return new OidcClient(config, client);
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause;
      throw new AuthConfigError(
        `OpenID Connect discovery at ${config.issuerUrl}/.well-known/openid-configuration (oidc_issuer_url) failed: ${(error as Error).message}${cause ? ` (${cause.message})` : ''}. Check that the provider is running and the URL is its issuer.`,
      );
    }
  }

  /** The provider's sign-in URL for a new login, and what the callback must check it against. */
  async begin(returnTo: string): Promise<{ url: string; pending: PendingLogin }> {
    const pending: PendingLogin = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      returnTo,
    };
    const url = oidc.buildAuthorizationUrl(this.client, {
      redirect_uri: this.config.redirectUrl,
      scope: this.config.scopes,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, pending };
  }

  /**
   * Exchanges the callback's code for tokens and returns the identity of the verified ID token;
   * a wrong state, a used or forged code or a bad token is an INVALID_PARAMETER_VALUE saying which.
   */
  async finish(callbackUrl: URL, pending: PendingLogin): Promise<OidcIdentity> {
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(this.client, callbackUrl, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      // openid-client's message is general ("invalid response encountered"); its cause says what.
      const e = error as Error & { error?: string; error_description?: string; cause?: unknown };
      const cause = e.cause instanceof Error ? e.cause.message : undefined;
      const detail = e.error
        ? `${e.error}${e.error_description ? `: ${e.error_description}` : ''}`
        : `${e.message}${cause && cause !== e.message ? ` (${cause})` : ''}`;
      throw MlflowError.invalidParameter(`OpenID Connect sign-in failed: ${detail}`);
    }
    const claims = tokens.claims();
    if (!claims)
      throw MlflowError.invalidParameter('OpenID Connect sign-in failed: the provider sent no ID token.');
    return {
      issuer: claims.iss,
      subject: claims.sub,
      email: stringClaim(claims.email),
      emailVerified: claims.email_verified === true,
      preferredUsername: stringClaim(claims.preferred_username),
      groups: groupsOf(claims[this.config.groupsClaim]),
    };
  }
}
