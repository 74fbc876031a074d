// The OpenID Connect keys of the auth ini file: the provider, this server's client, and who is admin.
import { AuthConfigError } from './auth-config-error.js';

export interface OidcConfig {
  /** The provider's issuer URL; its /.well-known/openid-configuration is read at start. */
  issuerUrl: string;
  clientId: string;
  /** Absent for a public client (PKCE alone). */
  clientSecret?: string;
  /** This server's callback, as registered at the provider: https://host/auth/oidc/callback. */
  redirectUrl: string;
  scopes: string;
  /** The ID token claim that lists the user's groups. */
  groupsClaim: string;
  /** Members of any of these groups are admins; empty: the admin flag is left as it is. */
  adminGroups: string[];
  /** The name on the sign-in button. */
  providerName: string;
}

const KEYS = [
  'oidc_issuer_url',
  'oidc_client_id',
  'oidc_client_secret',
  'oidc_redirect_url',
  'oidc_scopes',
  'oidc_groups_claim',
  'oidc_admin_groups',
  'oidc_provider_name',
] as const;

function httpUrl(value: string, key: string, where: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AuthConfigError(`${key} = ${value} (in ${where}) is not a URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AuthConfigError(`${key} = ${value} (in ${where}) must be an http or https URL.`);
  }
  return value;
}

/** The OIDC settings of an ini section, or undefined when none of its keys is set. */
export function readOidcConfig(
  value: (key: string) => string | undefined,
  where: string,
): OidcConfig | undefined {
  if (KEYS.every((k) => value(k) === undefined)) return undefined;
  const required = (key: (typeof KEYS)[number]) => {
    const v = value(key);
    if (v === undefined) {
      throw new AuthConfigError(
        `${key} is missing (in ${where}): OpenID Connect sign-in needs oidc_issuer_url, oidc_client_id and oidc_redirect_url.`,
      );
    }
    return v;
  };
  const scopes = value('oidc_scopes') ?? 'openid email profile';
  if (!scopes.split(/\s+/).includes('openid')) {
    throw new AuthConfigError(`oidc_scopes = ${scopes} (in ${where}) must include openid.`);
  }
  return {
    issuerUrl: httpUrl(required('oidc_issuer_url'), 'oidc_issuer_url', where),
    clientId: required('oidc_client_id'),
    clientSecret: value('oidc_client_secret'),
    redirectUrl: httpUrl(required('oidc_redirect_url'), 'oidc_redirect_url', where),
    scopes,
    groupsClaim: value('oidc_groups_claim') ?? 'groups',
    adminGroups: (value('oidc_admin_groups') ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean),
    providerName: value('oidc_provider_name') ?? 'OpenID Connect',
  };
}
