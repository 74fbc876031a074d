// The basic-auth rules: who a request comes from, users and their grants, and what a user may do
// with an experiment or registered model (a grant, else the configured default; admins everything).

import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { IdFilter, ReadAccess } from '../entities/access.js';
import { MlflowError } from '../entities/errors.js';
import {
  checkTokenName,
  hashToken,
  looksLikeToken,
  newTokenKey,
  newTokenSecret,
  SESSION_TOKEN_PREFIX,
  tokenExpiry,
} from './access-tokens.js';
import {
  type AuditAction,
  type AuditEvent,
  type AuditResource,
  auditPageToken,
  checkAuditPageSize,
  checkAuditResource,
  parseAuditPageToken,
} from './audit-log.js';
import { type AuthConfig, AuthConfigError, DEFAULT_SESSION_MINUTES } from './auth-config.js';
import { currentCaller } from './caller-scope.js';
import { CredentialCache } from './credential-cache.js';
import { OidcClient, type OidcIdentity } from './oidc-client.js';
import { hashPassword, verifyPassword } from './password-hash.js';
import { allows, type Capability, checkPermission, type PermissionName } from './permissions.js';
import {
  type ResourceKind,
  type ScorerRef,
  type StoredToken,
  type StoredUser,
  UsersStore,
} from './users-store.js';
import { CookieSigner } from './web-session.js';

/** The signed-in user a request comes from. */
export interface Caller {
  id: number;
  username: string;
  isAdmin: boolean;
}

/** MLflow's User.to_json. */
export interface UserJson {
  id: number;
  username: string;
  is_admin: boolean;
  experiment_permissions: { experiment_id: string; user_id: number; permission: PermissionName }[];
  registered_model_permissions: { name: string; user_id: number; permission: PermissionName }[];
  scorer_permissions: ScorerGrantJson[];
}

/** MLflow's ScorerPermission.to_json. */
export interface ScorerGrantJson {
  experiment_id: string;
  scorer_name: string;
  user_id: number;
  permission: PermissionName;
}

/** An access token as the API shows it (its secret only once, in the answer that creates it). */
export interface TokenJson {
  id: number;
  name: string;
  username: string;
  creation_time: number;
  expiration_time: number;
}

function tokenJson(token: StoredToken): TokenJson {
  return {
    id: token.id,
    name: token.name,
    username: token.username,
    creation_time: token.creationTime,
    expiration_time: token.expirationTime,
  };
}

const GRANT_RESOURCE: Record<ResourceKind, AuditResource> = {
  experiment: 'experiment_permission',
  registered_model: 'registered_model_permission',
};

/** The cache keys Bearer successes under this name, which no user can have (it is not a user name). */
const BEARER_CACHE_USER = '\0bearer';

type Credentials = { username: string; password: string } | { token: string };

/** What an Authorization header offers: Basic user and password, a well-formed Bearer token, or nothing. */
function parseAuthorization(header: string | undefined): Credentials | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return looksLikeToken(value) ? { token: value } : undefined;
  if (scheme !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const KIND_LABEL: Record<ResourceKind, { what: string; key: string }> = {
  experiment: { what: 'Experiment permission', key: 'experiment_id' },
  registered_model: { what: 'Registered model permission', key: 'name' },
};

function scorerGrantJson(scorer: ScorerRef, userId: number, permission: PermissionName): ScorerGrantJson {
  return { experiment_id: scorer.experimentId, scorer_name: scorer.scorerName, user_id: userId, permission };
}

function scorerGrantNotFound(scorer: ScorerRef, username: string): MlflowError {
  return MlflowError.notFound(
    `Scorer permission with experiment_id=${scorer.experimentId}, scorer_name=${scorer.scorerName}, and username=${username} not found`,
  );
}

/** MLflow's rules for usernames and passwords (mlflow/utils/validation.py). */
function checkUsername(username: string): void {
  if (!username) throw MlflowError.invalidParameter('Username cannot be empty.');
}

function checkPassword(password: string): void {
  if (password.length < 12) {
    throw MlflowError.invalidParameter('Password must be a string longer than 12 characters.');
  }
}

/** How the audit log names a scorer. */
function scorerResourceId(scorer: ScorerRef): string {
  return `${scorer.experimentId}/${scorer.scorerName}`;
}
/** The audit log's actor for what an OpenID Connect sign-in changes (a user created, an admin flag). */
const OIDC_ACTOR: Caller = { id: 0, username: '(oidc)', isAdmin: false };

/** A cached Basic success: the caller, and the stored hash the password was checked against. */
interface CachedCheck {
  caller: Caller;
  passwordHash?: string;
}

export class AuthService {
  private readonly cache = new CredentialCache<CachedCheck>();
  /**
   * True when other processes may change the users store while this one runs: a PostgreSQL store
   * (several servers behind a load balancer) or a --workers process. A cached success is then never
   * taken on its own word: every request reads the user's row (or the token's), and only the scrypt
   * check is skipped when the stored hash is still the one the password was checked against. A
   * password changed, a user deleted or demoted, a token revoked or a session ended on another server
   * takes effect on the very next request here. Otherwise (one process over its SQLite file) this
   * process makes every change itself and forgets what it changes.
   */
  private readonly shared: boolean;
  /** Signs the web UI's cookies. */
  readonly cookies: CookieSigner;
  /** OpenID Connect sign-in, when configured. */
  oidc?: OidcClient;
  readonly sessionLifetimeMs: number;

  constructor(
    private readonly store: UsersStore,
    readonly defaultPermission: PermissionName,
    /** The users store's key for hashing access tokens. */
    private readonly tokenKey: string,
    sessionLifetimeMs = DEFAULT_SESSION_MINUTES * 60_000,
  ) {
    this.cookies = new CookieSigner(tokenKey);
    this.sessionLifetimeMs = sessionLifetimeMs;
    this.shared = store.dialect === 'postgres' || cluster.isWorker;
  }

  /** Opens the users store and creates the configured admin on first start (as MLflow does). */
  static async start(config: AuthConfig): Promise<AuthService> {
    let store: UsersStore;
    try {
      store = await UsersStore.open(config.databaseUri);
    } catch (error) {
      throw new AuthConfigError(
        `could not open the users store ${config.databaseUri} (database_uri): ${(error as Error).message}`,
      );
    }
    let service: AuthService;
    try {
      service = new AuthService(
        store,
        config.defaultPermission,
        await store.tokenKey(newTokenKey),
        config.sessionLifetimeMs,
      );
      if (!(await store.findUser(config.adminUsername))) {
        await service.createUser(config.adminUsername, config.adminPassword, true);
      }
    } catch (error) {
      await store.close();
      if (error instanceof MlflowError && error.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        // Another worker created it a moment ago.
        return AuthService.start(config);
      }
      throw new AuthConfigError(
        `could not create the admin user ${config.adminUsername}: ${(error as Error).message}`,
      );
    }
    if (config.oidc) {
      try {
        service.oidc = await OidcClient.discover(config.oidc);
      } catch (error) {
        await store.close();
        throw error;
      }
    }
    return service;
  }

  close(): Promise<void> {
    return this.store.close();
  }

  /**
   * The caller an Authorization header proves, or undefined. Basic credentials are checked against
   * the stored scrypt hash, Bearer tokens against their stored keyed hash and expiry; either way a
   * success is remembered for a while (the cache), so a warm check does no hashing of note.
   */
  async authenticate(header: string | undefined): Promise<Caller | undefined> {
    const cached = this.cachedCaller(header);
    if (cached) return cached;
    const credentials = parseAuthorization(header);
    if (!credentials) return undefined;
    if ('token' in credentials) return this.authenticateToken(credentials.token);
    const { username, password } = credentials;
    const user = await this.store.findUser(username);
    if (!user) return undefined;
    const caller = { id: user.id, username: user.username, isAdmin: user.isAdmin };
    // Shared store: the row just read is the truth; the cache only vouches for the password's hash.
    const checked = this.shared ? this.cache.get(username, password) : undefined;
    if (checked?.passwordHash === user.passwordHash) return caller;
    if (!(await verifyPassword(password, user.passwordHash))) return undefined;
    this.cache.set(username, password, { caller, passwordHash: user.passwordHash });
    return caller;
  }

  /**
   * The caller of a header whose check is still cached, without a promise (the auth hook's fast
   * path); undefined when it must be checked in full (authenticate), which is always the case when
   * other processes share the users store.
   */
  cachedCaller(header: string | undefined, now = Date.now()): Caller | undefined {
    if (this.shared) return undefined;
    const credentials = parseAuthorization(header);
    if (!credentials) return undefined;
    return 'token' in credentials
      ? this.cache.get(BEARER_CACHE_USER, credentials.token, now)?.caller
      : this.cache.get(credentials.username, credentials.password, now)?.caller;
  }

  private async authenticateToken(token: string, now = Date.now()): Promise<Caller | undefined> {
    const found = await this.store.findTokenOwner(hashToken(this.tokenKey, token));
    if (!found || found.expirationTime <= now) return undefined;
    const { user } = found;
    const caller = { id: user.id, username: user.username, isAdmin: user.isAdmin };
    // A token's check is its look-up (the hash is a cheap HMAC): nothing to remember when shared.
    if (!this.shared) {
      this.cache.set(
        BEARER_CACHE_USER,
        token,
        { caller },
        { now, until: found.expirationTime, owner: user.username },
      );
    }
    return caller;
  }

  /** Forgets every cached success of a user: Basic credentials and Bearer tokens alike. */
  private forget(username: string): void {
    this.cache.forget(username);
  }

  // ------------------------------------------------------------------ web sessions

  /** The user a name and password belong to (the web UI's sign-in form), or undefined. */
  async checkPassword(username: string, password: string): Promise<Caller | undefined> {
    return this.authenticate(`Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
  }

  /**
   * A new web session for a signed-in user: an access token of theirs that the UI keeps in a signed
   * HttpOnly cookie, ending after the session lifetime (checked here, whatever the browser does).
   */
  async startSession(caller: Caller, now = Date.now()): Promise<string> {
    const user = await this.store.getUser(caller.username);
    const token = newTokenSecret();
    const name = `${SESSION_TOKEN_PREFIX}${randomBytes(9).toString('base64url')}`;
    await this.store.createToken(
      user,
      name,
      hashToken(this.tokenKey, token),
      now,
      now + this.sessionLifetimeMs,
    );
    // Not the moment to sweep synchronously; expired sessions are refused meanwhile anyway.
    void this.store.deleteExpiredSessions(now).catch(() => {});
    return token;
  }

  /** Ends a web session at once, in every server process (see `shared`). */
  async endSession(token: string): Promise<void> {
    const hash = hashToken(this.tokenKey, token);
    const owner = await this.store.findTokenOwner(hash);
    if (!owner) return;
    await this.store.deleteTokenByHash(hash);
    this.forget(owner.user.username);
  }

  /**
   * The user an OpenID Connect identity signs in as: the one it signed in as before, else the user
   * named by its verified email, else a new user (named by the email, the preferred user name or the
   * subject, whichever is free first). With oidc_admin_groups set, the groups claim decides the
   * admin flag at every sign-in.
   */
  async oidcUser(identity: OidcIdentity): Promise<Caller> {
    const { emailVerified } = identity;
    let user = await this.store.findOidcUser(identity.issuer, identity.subject);
    if (!user && identity.email && emailVerified) {
      user = await this.store.findUser(identity.email);
    }
    if (!user) {
      const candidates = [
        emailVerified ? identity.email : undefined,
        identity.preferredUsername,
        `oidc:${identity.subject}`,
      ].filter((c): c is string => !!c);
      for (const name of candidates) {
        if (await this.store.findUser(name)) continue;
        // A password nobody knows: this user signs in through the provider (or gets one from an admin).
        const unusable = await hashPassword(randomBytes(32).toString('base64'));
        user = await this.store.createUser(name, unusable, false);
        await this.audit('create', 'user', name, { oidc_subject: identity.subject }, OIDC_ACTOR);
        break;
      }
      if (!user)
        throw new MlflowError('RESOURCE_ALREADY_EXISTS', `No free user name for ${identity.subject}.`);
    }
    await this.store.linkOidcIdentity(identity.issuer, identity.subject, user);
    const adminGroups = this.oidc?.config.adminGroups ?? [];
    if (adminGroups.length > 0) {
      const isAdmin = identity.groups.some((g) => adminGroups.includes(g));
      if (isAdmin !== user.isAdmin) {
        await this.store.updateAdmin(user.username, isAdmin);
        this.forget(user.username);
        await this.audit('update', 'user', user.username, { is_admin: isAdmin }, OIDC_ACTOR);
        user = { ...user, isAdmin };
      }
    }
    return { id: user.id, username: user.username, isAdmin: user.isAdmin };
  }

  // ------------------------------------------------------------------ users

  async createUser(username: string, password: string, isAdmin = false): Promise<UserJson> {
    checkUsername(username);
    checkPassword(password);
    const user = await this.store.createUser(username, await hashPassword(password), isAdmin);
    await this.audit('create', 'user', username, isAdmin ? { is_admin: true } : undefined);
    return this.userJson(user);
  }

  async getUser(username: string): Promise<UserJson> {
    return this.userJson(await this.store.getUser(username));
  }

  async updatePassword(username: string, password: string): Promise<void> {
    checkPassword(password);
    await this.store.updatePassword(username, await hashPassword(password));
    this.forget(username);
    await this.audit('update', 'user', username, { password: 'changed' });
  }

  async updateAdmin(username: string, isAdmin: boolean): Promise<void> {
    await this.store.updateAdmin(username, isAdmin);
    this.forget(username);
    await this.audit('update', 'user', username, { is_admin: isAdmin });
  }

  async deleteUser(username: string): Promise<void> {
    await this.store.deleteUser(username);
    this.forget(username);
    await this.audit('delete', 'user', username);
  }

  async listUsers(): Promise<StoredUser[]> {
    return this.store.listUsers();
  }

  // ------------------------------------------------------------------ access tokens

  /** A new token for `username`; the answer is the only place its secret ever appears. */
  async createToken(
    username: string,
    name: string,
    expirationTime?: number,
    now = Date.now(),
  ): Promise<{ access_token: TokenJson; token: string }> {
    checkTokenName(name);
    const expiry = tokenExpiry(expirationTime, now);
    const user = await this.store.getUser(username);
    const token = newTokenSecret();
    const stored = await this.store.createToken(user, name, hashToken(this.tokenKey, token), now, expiry);
    await this.audit('create', 'access_token', `${username}/${name}`, { expiration_time: expiry });
    return { access_token: tokenJson(stored), token };
  }

  async listTokens(username: string): Promise<TokenJson[]> {
    return (await this.store.tokensOf(await this.store.getUser(username))).map(tokenJson);
  }

  /** Revokes a token at once, in every server process (see `shared`). */
  async deleteToken(username: string, name: string): Promise<void> {
    const user = await this.store.getUser(username);
    if (!(await this.store.deleteToken(user, name))) {
      throw MlflowError.notFound(`Access token with name=${name} and username=${username} not found`);
    }
    this.forget(username);
    await this.audit('delete', 'access_token', `${username}/${name}`);
  }

  private async userJson(user: StoredUser): Promise<UserJson> {
    const [experiments, models, scorers] = await Promise.all([
      this.store.grantsOf('experiment', user.id),
      this.store.grantsOf('registered_model', user.id),
      this.store.scorerGrantsOf(user.id),
    ]);
    return {
      id: user.id,
      username: user.username,
      is_admin: user.isAdmin,
      experiment_permissions: experiments.map((g) => ({
        experiment_id: g.resource,
        user_id: g.userId,
        permission: g.permission,
      })),
      registered_model_permissions: models.map((g) => ({
        name: g.resource,
        user_id: g.userId,
        permission: g.permission,
      })),
      scorer_permissions: scorers.map((g) => scorerGrantJson(g, g.userId, g.permission)),
    };
  }

  // ------------------------------------------------------------------ grants

  private grantJson(kind: ResourceKind, resource: string, userId: number, permission: PermissionName) {
    return { [KIND_LABEL[kind].key]: resource, user_id: userId, permission };
  }

  private notFound(kind: ResourceKind, resource: string, username: string): MlflowError {
    const { what, key } = KIND_LABEL[kind];
    return MlflowError.notFound(`${what} with ${key}=${resource} and username=${username} not found`);
  }

  async createGrant(kind: ResourceKind, resource: string, username: string, permission: unknown) {
    const checked = checkPermission(permission);
    const user = await this.store.getUser(username);
    if (!(await this.store.createGrant(kind, resource, user.id, checked))) {
      const { what, key } = KIND_LABEL[kind];
      throw new MlflowError(
        'RESOURCE_ALREADY_EXISTS',
        `${what} (${key}=${resource}, username=${username}) already exists.`,
      );
    }
    await this.audit('create', GRANT_RESOURCE[kind], resource, { username, permission: checked });
    return this.grantJson(kind, resource, user.id, checked);
  }

  /** Who holds what on a resource (our extension: MLflow can only ask user by user). */
  async listGrants(kind: ResourceKind, resource: string) {
    return (await this.store.grantsOn(kind, resource)).map((g) => ({
      ...this.grantJson(kind, resource, g.userId, g.permission),
      username: g.username,
    }));
  }

  async getGrant(kind: ResourceKind, resource: string, username: string) {
    const user = await this.store.getUser(username);
    const permission = await this.store.findGrant(kind, resource, user.id);
    if (!permission) throw this.notFound(kind, resource, username);
    return this.grantJson(kind, resource, user.id, permission);
  }

  async updateGrant(kind: ResourceKind, resource: string, username: string, permission: unknown) {
    const checked = checkPermission(permission);
    const user = await this.store.getUser(username);
    if (!(await this.store.updateGrant(kind, resource, user.id, checked))) {
      throw this.notFound(kind, resource, username);
    }
    await this.audit('update', GRANT_RESOURCE[kind], resource, { username, permission: checked });
  }

  async deleteGrant(kind: ResourceKind, resource: string, username: string) {
    const user = await this.store.getUser(username);
    if (!(await this.store.deleteGrant(kind, resource, user.id)))
      throw this.notFound(kind, resource, username);
    await this.audit('delete', GRANT_RESOURCE[kind], resource, { username });
  }

  // ------------------------------------------------------------------ scorer grants (MLflow 3)

  async createScorerGrant(
    scorer: ScorerRef,
    username: string,
    permission: unknown,
  ): Promise<ScorerGrantJson> {
    const checked = checkPermission(permission);
    const user = await this.store.getUser(username);
    if (!(await this.store.createScorerGrant(scorer, user.id, checked))) {
      throw new MlflowError(
        'RESOURCE_ALREADY_EXISTS',
        `Scorer permission (experiment_id=${scorer.experimentId}, scorer_name=${scorer.scorerName}, username=${username}) already exists.`,
      );
    }
    await this.audit('create', 'scorer_permission', scorerResourceId(scorer), {
      username,
      permission: checked,
    });
    return scorerGrantJson(scorer, user.id, checked);
  }

  async getScorerGrant(scorer: ScorerRef, username: string): Promise<ScorerGrantJson> {
    const user = await this.store.getUser(username);
    const permission = await this.store.findScorerGrant(scorer, user.id);
    if (!permission) throw scorerGrantNotFound(scorer, username);
    return scorerGrantJson(scorer, user.id, permission);
  }

  async updateScorerGrant(scorer: ScorerRef, username: string, permission: unknown): Promise<void> {
    const checked = checkPermission(permission);
    const user = await this.store.getUser(username);
    if (!(await this.store.updateScorerGrant(scorer, user.id, checked)))
      throw scorerGrantNotFound(scorer, username);
    await this.audit('update', 'scorer_permission', scorerResourceId(scorer), {
      username,
      permission: checked,
    });
  }

  async deleteScorerGrant(scorer: ScorerRef, username: string): Promise<void> {
    const user = await this.store.getUser(username);
    if (!(await this.store.deleteScorerGrant(scorer, user.id))) throw scorerGrantNotFound(scorer, username);
    await this.audit('delete', 'scorer_permission', scorerResourceId(scorer), { username });
  }

  /** The caller's permission on a scorer: its own grant, else the default (not the experiment's). */
  async canOnScorer(caller: Caller, scorer: ScorerRef, capability: Capability): Promise<boolean> {
    if (caller.isAdmin) return true;
    const permission = (await this.store.findScorerGrant(scorer, caller.id)) ?? this.defaultPermission;
    return allows(permission, capability);
  }

  /** The caller who registers a scorer manages it (MLflow's after-request rule, as for experiments). */
  async grantScorerCreator(caller: Caller, scorer: ScorerRef): Promise<void> {
    if (!(await this.store.createScorerGrant(scorer, caller.id, 'MANAGE'))) {
      await this.store.updateScorerGrant(scorer, caller.id, 'MANAGE');
    }
  }

  /** A deleted scorer's grants go with it. */
  forgetScorer(scorer: ScorerRef): Promise<void> {
    return this.store.deleteScorerGrants(scorer);
  }

  // ------------------------------------------------------------------ audit log

  /**
   * Records a change made by the current caller (the CLI runs as `cli:<user>`; the admin created on
   * start is the server's own). Written after the change: a change that fails is never recorded.
   */
  async audit(
    action: AuditAction,
    resourceType: AuditResource,
    resourceId: string,
    details?: Record<string, unknown>,
    actor: Caller | undefined = currentCaller(),
  ): Promise<void> {
    await this.store.recordAudit({
      timestamp: Date.now(),
      actor: actor?.username ?? '(server)',
      action,
      resource_type: resourceType,
      resource_id: resourceId,
      details,
    });
  }

  /** A page of the log, newest first. */
  async auditLog(request: {
    maxResults?: number;
    pageToken?: string;
    actor?: string;
    resourceType?: string;
  }): Promise<{ events: AuditEvent[]; next_page_token?: string }> {
    const maxResults = checkAuditPageSize(request.maxResults);
    const rows = await this.store.auditEvents({
      maxResults,
      beforeId: parseAuditPageToken(request.pageToken),
      actor: request.actor,
      resourceType: checkAuditResource(request.resourceType),
    });
    const events = rows.slice(0, maxResults);
    return rows.length > maxResults
      ? { events, next_page_token: auditPageToken(events[events.length - 1].id) }
      : { events };
  }

  // ------------------------------------------------------------------ rules

  /** The caller's permission on a resource: its grant, else the default (MLflow's rule). */
  async permissionOn(caller: Caller, kind: ResourceKind, resource: string): Promise<PermissionName> {
    return (await this.store.findGrant(kind, resource, caller.id)) ?? this.defaultPermission;
  }

  async can(caller: Caller, kind: ResourceKind, resource: string, capability: Capability): Promise<boolean> {
    if (caller.isAdmin) return true;
    return allows(await this.permissionOn(caller, kind, resource), capability);
  }

  /** True when `caller` may read everything, so a search needs no read filter (admins). */
  readsEverything(caller: Caller): boolean {
    return caller.isAdmin;
  }

  /** What the caller may read, as filters a search hands to its SQL; admins read everything. */
  async readAccess(caller: Caller): Promise<ReadAccess> {
    if (this.readsEverything(caller)) return {};
    const [experiments, models] = await Promise.all([
      this.store.grantsOf('experiment', caller.id),
      this.store.grantsOf('registered_model', caller.id),
    ]);
    const filterOf = (grants: { resource: string; permission: PermissionName }[]): IdFilter =>
      allows(this.defaultPermission, 'read')
        ? { except: grants.filter((g) => !allows(g.permission, 'read')).map((g) => g.resource) }
        : { only: grants.filter((g) => allows(g.permission, 'read')).map((g) => g.resource) };
    return { experiments: filterOf(experiments), registeredModels: filterOf(models) };
  }

  /** The creator of an experiment or registered model manages it (MLflow's after-request rule). */
  async grantCreator(caller: Caller, kind: ResourceKind, resource: string): Promise<void> {
    if (!(await this.store.createGrant(kind, resource, caller.id, 'MANAGE'))) {
      await this.store.updateGrant(kind, resource, caller.id, 'MANAGE');
    }
  }

  /** Grants follow a registered model's rename and go with its deletion. */
  renameModel(oldName: string, newName: string): Promise<void> {
    return this.store.renameModelGrants(oldName, newName);
  }

  forgetModel(name: string): Promise<void> {
    return this.store.deleteResourceGrants('registered_model', name);
  }
}
