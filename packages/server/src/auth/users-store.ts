// Persistence of users and their per-resource permissions, over SQLite or PostgreSQL (Kysely).
import { type CompiledQuery, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import { MlflowError } from '../entities/errors.js';
import { pgDriver } from '../store/drivers.js';
import { watchLostConnections } from '../store/pg-pool-errors.js';
import { openSqliteConnection } from '../store/sqlite-connection.js';
import { parseStoreUri } from '../store/store-uri.js';
import { isUniqueViolation } from '../store/unique-violation.js';
import { SESSION_TOKEN_PREFIX } from './access-tokens.js';
import type { AuditAction, AuditEvent, AuditQuery, AuditResource } from './audit-log.js';
import { isPermissionName, type PermissionName } from './permissions.js';
import { migrateUsersStore } from './users-migrations.js';
import type { AuthDatabase } from './users-schema.js';

export interface StoredUser {
  id: number;
  username: string;
  passwordHash: string;
  isAdmin: boolean;
}

/** The two kinds of resource MLflow grants permissions on, and where each kind's grants live. */
export type ResourceKind = 'experiment' | 'registered_model';

/** An access token as stored (its secret is never kept, only its hash). */
export interface StoredToken {
  id: number;
  name: string;
  username: string;
  creationTime: number;
  expirationTime: number;
}

/** A scorer, as MLflow names it for its grants: its experiment and its name. */
export interface ScorerRef {
  experimentId: string;
  scorerName: string;
}

export interface ScorerGrant extends ScorerRef {
  userId: number;
  permission: PermissionName;
}

export interface Grant {
  /** The experiment id, or the registered model's name. */
  resource: string;
  userId: number;
  permission: PermissionName;
}

const TABLES = {
  experiment: { table: 'experiment_permissions', key: 'experiment_id' },
  registered_model: { table: 'registered_model_permissions', key: 'name' },
} as const;

function toPermission(value: string): PermissionName {
  // Rows are written only through checkPermission; anything else is a damaged row, read as no access.
  return isPermissionName(value) ? value : 'NO_PERMISSIONS';
}

export class UsersStore {
  private readonly grantQueries = new Map<ResourceKind, CompiledQuery<{ permission: string }>>();

  private constructor(
    private readonly db: Kysely<AuthDatabase>,
    /** Where the store lives: a PostgreSQL store may be shared by several server processes. */
    readonly dialect: 'sqlite' | 'postgres',
  ) {}

  /** Opens (creating and migrating if needed) the users store at `uri`. */
  static async open(uri: string): Promise<UsersStore> {
    const location = parseStoreUri(uri);
    const db =
      location.dialect === 'sqlite'
        ? new Kysely<AuthDatabase>({
            dialect: new SqliteDialect({ database: openSqliteConnection(location.file) }),
          })
        : new Kysely<AuthDatabase>({
            dialect: new PostgresDialect({ pool: watchedPool(location.connectionString) }),
          });
    try {
      await migrateUsersStore(db as Kysely<unknown>, location.dialect);
    } catch (error) {
      await db.destroy();
      throw error;
    }
    return new UsersStore(db, location.dialect);
  }

  close(): Promise<void> {
    return this.db.destroy();
  }

  async createUser(username: string, passwordHash: string, isAdmin: boolean): Promise<StoredUser> {
    try {
      const row = await this.db
        .insertInto('users')
        .values({ username, password_hash: passwordHash, is_admin: isAdmin ? 1 : 0 })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { id: row.id, username, passwordHash, isAdmin };
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new MlflowError('RESOURCE_ALREADY_EXISTS', `User (username=${username}) already exists.`);
      }
      throw error;
    }
  }

  async findUser(username: string): Promise<StoredUser | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    return (
      row && { id: row.id, username: row.username, passwordHash: row.password_hash, isAdmin: !!row.is_admin }
    );
  }

  async getUser(username: string): Promise<StoredUser> {
    const user = await this.findUser(username);
    if (!user) throw MlflowError.notFound(`User with username=${username} not found`);
    return user;
  }

  async updatePassword(username: string, passwordHash: string): Promise<void> {
    const result = await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('username', '=', username)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw MlflowError.notFound(`User with username=${username} not found`);
  }

  async updateAdmin(username: string, isAdmin: boolean): Promise<void> {
    const result = await this.db
      .updateTable('users')
      .set({ is_admin: isAdmin ? 1 : 0 })
      .where('username', '=', username)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw MlflowError.notFound(`User with username=${username} not found`);
  }

  async deleteUser(username: string): Promise<void> {
    const user = await this.getUser(username);
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('experiment_permissions').where('user_id', '=', user.id).execute();
      await tx.deleteFrom('registered_model_permissions').where('user_id', '=', user.id).execute();
      await tx.deleteFrom('scorer_permissions').where('user_id', '=', user.id).execute();
      await tx.deleteFrom('access_tokens').where('user_id', '=', user.id).execute();
      await tx.deleteFrom('users').where('id', '=', user.id).execute();
    });
  }

  /** Every user, by name. */
  async listUsers(): Promise<StoredUser[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map((row) => ({
      id: row.id,
      username: row.username,
      passwordHash: row.password_hash,
      isAdmin: !!row.is_admin,
    }));
  }

  // ------------------------------------------------------------------ access tokens

  /** The key tokens are hashed with, made by `make` on first use (once, whichever process is first). */
  async tokenKey(make: () => string): Promise<string> {
    const read = () =>
      this.db
        .selectFrom('mlflow_ts_auth_secrets')
        .select('value')
        .where('name', '=', 'token_key')
        .executeTakeFirst();
    const found = await read();
    if (found) return found.value;
    try {
      await this.db
        .insertInto('mlflow_ts_auth_secrets')
        .values({ name: 'token_key', value: make() })
        .execute();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const made = await read();
    if (!made) throw new Error('the token key could not be stored');
    return made.value;
  }

  async createToken(
    user: StoredUser,
    name: string,
    tokenHash: string,
    creationTime: number,
    expirationTime: number,
  ): Promise<StoredToken> {
    try {
      const row = await this.db
        .insertInto('access_tokens')
        .values({
          user_id: user.id,
          name,
          token_hash: tokenHash,
          creation_time: creationTime,
          expiration_time: expirationTime,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { id: row.id, name, username: user.username, creationTime, expirationTime };
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new MlflowError(
          'RESOURCE_ALREADY_EXISTS',
          `Access token (name=${name}, username=${user.username}) already exists.`,
        );
      }
      throw error;
    }
  }

  /** The user a token hash belongs to and when the token expires. */
  async findTokenOwner(tokenHash: string): Promise<{ user: StoredUser; expirationTime: number } | undefined> {
    const row = await this.db
      .selectFrom('access_tokens')
      .innerJoin('users', 'users.id', 'access_tokens.user_id')
      .select([
        'users.id',
        'users.username',
        'users.password_hash',
        'users.is_admin',
        'access_tokens.expiration_time',
      ])
      .where('access_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();
    return (
      row && {
        user: {
          id: row.id,
          username: row.username,
          passwordHash: row.password_hash,
          isAdmin: !!row.is_admin,
        },
        expirationTime: Number(row.expiration_time),
      }
    );
  }

  /** A user's tokens (expired ones too, until revoked), by name; web sessions are not listed. */
  async tokensOf(user: StoredUser): Promise<StoredToken[]> {
    const rows = await this.db
      .selectFrom('access_tokens')
      .select(['id', 'name', 'creation_time', 'expiration_time'])
      .where('user_id', '=', user.id)
      .where('name', 'not like', `${SESSION_TOKEN_PREFIX}%`)
      .orderBy('name')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      username: user.username,
      creationTime: Number(r.creation_time),
      expirationTime: Number(r.expiration_time),
    }));
  }

  /** Revokes a token; false when the user has no token of that name. */
  async deleteToken(user: StoredUser, name: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('access_tokens')
      .where('user_id', '=', user.id)
      .where('name', '=', name)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Ends a web session (a token found by its hash); false when there was none. */
  async deleteTokenByHash(tokenHash: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('access_tokens')
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Drops web sessions past their expiry (they are refused anyway; this keeps the table small). */
  async deleteExpiredSessions(now: number): Promise<void> {
    await this.db
      .deleteFrom('access_tokens')
      .where('name', 'like', `${SESSION_TOKEN_PREFIX}%`)
      .where('expiration_time', '<=', now)
      .execute();
  }

  // ------------------------------------------------------------------ OpenID Connect identities

  /** The user an identity signed in as before. */
  async findOidcUser(issuer: string, subject: string): Promise<StoredUser | undefined> {
    const row = await this.db
      .selectFrom('oidc_identities')
      .innerJoin('users', 'users.id', 'oidc_identities.user_id')
      .select(['users.id', 'users.username', 'users.password_hash', 'users.is_admin'])
      .where('oidc_identities.issuer', '=', issuer)
      .where('oidc_identities.subject', '=', subject)
      .executeTakeFirst();
    return (
      row && { id: row.id, username: row.username, passwordHash: row.password_hash, isAdmin: !!row.is_admin }
    );
  }

  /** Records that an identity signs in as `user` (a second link of the same identity is ignored). */
  async linkOidcIdentity(issuer: string, subject: string, user: StoredUser): Promise<void> {
    try {
      await this.db.insertInto('oidc_identities').values({ issuer, subject, user_id: user.id }).execute();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }

  // ------------------------------------------------------------------ audit log

  async recordAudit(event: Omit<AuditEvent, 'id'>): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        timestamp: event.timestamp,
        actor: event.actor,
        action: event.action,
        resource_type: event.resource_type,
        resource_id: event.resource_id,
        details: event.details ? JSON.stringify(event.details) : null,
      })
      .execute();
  }

  /** Events newest first, one more than asked for (so the caller knows whether a next page exists). */
  async auditEvents(query: AuditQuery): Promise<AuditEvent[]> {
    let q = this.db.selectFrom('audit_log').selectAll();
    if (query.beforeId !== undefined) q = q.where('id', '<', query.beforeId);
    if (query.actor !== undefined) q = q.where('actor', '=', query.actor);
    if (query.resourceType !== undefined) q = q.where('resource_type', '=', query.resourceType);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(query.maxResults + 1)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      timestamp: Number(r.timestamp),
      actor: r.actor,
      action: r.action as AuditAction,
      resource_type: r.resource_type as AuditResource,
      resource_id: r.resource_id,
      ...(r.details ? { details: JSON.parse(r.details) as Record<string, unknown> } : {}),
    }));
  }

  // ------------------------------------------------------------------ grants

  async createGrant(
    kind: ResourceKind,
    resource: string,
    userId: number,
    permission: PermissionName,
  ): Promise<boolean> {
    const { table, key } = TABLES[kind];
    try {
      await this.db
        .insertInto(table)
        .values({ [key]: resource, user_id: userId, permission } as never)
        .execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async findGrant(kind: ResourceKind, resource: string, userId: number): Promise<PermissionName | undefined> {
    const { rows } = await this.db.executeQuery<{ permission: string }>({
      ...this.grantQuery(kind),
      parameters: [resource, userId],
    });
    return rows[0] && toPermission(rows[0].permission);
  }

  /**
   * findGrant's statement, built once per kind: it runs on every checked request of a user who is not
   * an admin, and building it with Kysely cost more than running it. Its parameters are the resource
   * and the user id, in that order.
   */
  private grantQuery(kind: ResourceKind): CompiledQuery<{ permission: string }> {
    let compiled = this.grantQueries.get(kind);
    if (!compiled) {
      const { table, key } = TABLES[kind];
      compiled = this.db
        .selectFrom(table)
        .select('permission')
        .where(key as 'name', '=', '')
        .where('user_id', '=', 0)
        .compile();
      this.grantQueries.set(kind, compiled);
    }
    return compiled;
  }

  /** Changes a grant's permission; false when there is no such grant. */
  async updateGrant(
    kind: ResourceKind,
    resource: string,
    userId: number,
    permission: PermissionName,
  ): Promise<boolean> {
    const { table, key } = TABLES[kind];
    const result = await this.db
      .updateTable(table)
      .set({ permission })
      .where(key as 'name', '=', resource)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async deleteGrant(kind: ResourceKind, resource: string, userId: number): Promise<boolean> {
    const { table, key } = TABLES[kind];
    const result = await this.db
      .deleteFrom(table)
      .where(key as 'name', '=', resource)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Every grant a user holds on one kind of resource. */
  /** Every grant on one experiment or registered model, with the user's name, by user name. */
  async grantsOn(kind: ResourceKind, resource: string): Promise<(Grant & { username: string })[]> {
    const { table, key } = TABLES[kind];
    const rows = await this.db
      .selectFrom(table)
      .innerJoin('users', 'users.id', `${table}.user_id`)
      .select(['users.id as user_id', 'users.username as username', `${table}.permission as permission`])
      .where(sql.ref(`${table}.${key}`), '=', resource)
      .orderBy('users.username')
      .execute();
    return rows.map((r) => ({
      resource,
      userId: r.user_id,
      username: r.username,
      permission: toPermission(r.permission),
    }));
  }

  async grantsOf(kind: ResourceKind, userId: number): Promise<Grant[]> {
    const { table, key } = TABLES[kind];
    const rows = await this.db
      .selectFrom(table)
      .select([sql<string>`${sql.ref(key)}`.as('resource'), 'permission'])
      .where('user_id', '=', userId)
      .execute();
    return rows.map((r) => ({ resource: r.resource, userId, permission: toPermission(r.permission) }));
  }

  async renameModelGrants(oldName: string, newName: string): Promise<void> {
    await this.db
      .updateTable('registered_model_permissions')
      .set({ name: newName })
      .where('name', '=', oldName)
      .execute();
  }

  async deleteResourceGrants(kind: ResourceKind, resource: string): Promise<void> {
    const { table, key } = TABLES[kind];
    await this.db
      .deleteFrom(table)
      .where(key as 'name', '=', resource)
      .execute();
  }

  // ------------------------------------------------------------------ scorer grants
  // Scorers are keyed by two columns, so their grants have their own statements.

  async createScorerGrant(scorer: ScorerRef, userId: number, permission: PermissionName): Promise<boolean> {
    try {
      await this.db
        .insertInto('scorer_permissions')
        .values({
          experiment_id: scorer.experimentId,
          scorer_name: scorer.scorerName,
          user_id: userId,
          permission,
        })
        .execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async findScorerGrant(scorer: ScorerRef, userId: number): Promise<PermissionName | undefined> {
    const row = await this.db
      .selectFrom('scorer_permissions')
      .select('permission')
      .where('experiment_id', '=', scorer.experimentId)
      .where('scorer_name', '=', scorer.scorerName)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row && toPermission(row.permission);
  }

  /** Changes a scorer grant's permission; false when there is no such grant. */
  async updateScorerGrant(scorer: ScorerRef, userId: number, permission: PermissionName): Promise<boolean> {
    const result = await this.db
      .updateTable('scorer_permissions')
      .set({ permission })
      .where('experiment_id', '=', scorer.experimentId)
      .where('scorer_name', '=', scorer.scorerName)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async deleteScorerGrant(scorer: ScorerRef, userId: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('scorer_permissions')
      .where('experiment_id', '=', scorer.experimentId)
      .where('scorer_name', '=', scorer.scorerName)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Every user's grants on a scorer go with it. */
  async deleteScorerGrants(scorer: ScorerRef): Promise<void> {
    await this.db
      .deleteFrom('scorer_permissions')
      .where('experiment_id', '=', scorer.experimentId)
      .where('scorer_name', '=', scorer.scorerName)
      .execute();
  }

  async scorerGrantsOf(userId: number): Promise<ScorerGrant[]> {
    const rows = await this.db
      .selectFrom('scorer_permissions')
      .select(['experiment_id', 'scorer_name', 'permission'])
      .where('user_id', '=', userId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      experimentId: r.experiment_id,
      scorerName: r.scorer_name,
      userId,
      permission: toPermission(r.permission),
    }));
  }
}

/** The users store's pool, which must survive PostgreSQL dropping idle connections as the main one does. */
function watchedPool(connectionString: string): pg.Pool {
  const pool = new (pgDriver().Pool)({ connectionString, max: 4 });
  watchLostConnections(pool);
  return pool;
}
