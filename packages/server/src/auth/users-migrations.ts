// The users store's own migrations, kept apart from the tracking store's (it is a separate database).
import { type Kysely, type Migration, Migrator } from 'kysely';

type SqlDialect = 'sqlite' | 'postgres';

const initial = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    const id = dialect === 'sqlite' ? 'integer' : 'serial';
    await db.schema
      .createTable('users')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('username', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
      .addColumn('is_admin', 'smallint', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('experiment_permissions')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('experiment_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('permission', 'varchar(255)', (c) => c.notNull())
      .addUniqueConstraint('unique_experiment_user', ['experiment_id', 'user_id'])
      .execute();
    await db.schema
      .createTable('registered_model_permissions')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('permission', 'varchar(255)', (c) => c.notNull())
      .addUniqueConstraint('unique_name_user', ['name', 'user_id'])
      .execute();
    // Listing a user's grants (search filtering) reads by user.
    await db.schema
      .createIndex('experiment_permissions_user_idx')
      .on('experiment_permissions')
      .column('user_id')
      .execute();
    await db.schema
      .createIndex('registered_model_permissions_user_idx')
      .on('registered_model_permissions')
      .column('user_id')
      .execute();
  },
});

/**
 * Access tokens (stored as keyed hashes, never in the clear) and the key they are hashed with, made
 * once per users store so every server process sharing it hashes alike.
 */
const accessTokens = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    const id = dialect === 'sqlite' ? 'integer' : 'serial';
    await db.schema
      .createTable('access_tokens')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('creation_time', 'bigint', (c) => c.notNull())
      .addColumn('expiration_time', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('unique_token_name_user', ['user_id', 'name'])
      .execute();
    await db.schema
      .createTable('mlflow_ts_auth_secrets')
      .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .execute();
  },
});

/** Who created, changed the permissions of, or deleted what, and when (read newest first, by id). */
const auditLog = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('audit_log')
      .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) => c.primaryKey())
      .addColumn('timestamp', 'bigint', (c) => c.notNull())
      .addColumn('actor', 'varchar(255)', (c) => c.notNull())
      .addColumn('action', 'varchar(32)', (c) => c.notNull())
      .addColumn('resource_type', 'varchar(64)', (c) => c.notNull())
      .addColumn('resource_id', 'varchar(512)', (c) => c.notNull())
      .addColumn('details', 'text')
      .execute();
    await db.schema.createIndex('audit_log_actor_idx').on('audit_log').columns(['actor', 'id']).execute();
  },
});

/** MLflow 3's per-scorer grants: a scorer is named by its experiment and its name (MLflow's table). */
const scorerPermissions = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('scorer_permissions')
      .addColumn('id', dialect === 'sqlite' ? 'integer' : 'serial', (c) => c.primaryKey())
      .addColumn('experiment_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('scorer_name', 'varchar(256)', (c) => c.notNull())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('permission', 'varchar(255)', (c) => c.notNull())
      .addUniqueConstraint('unique_scorer_user', ['experiment_id', 'scorer_name', 'user_id'])
      .execute();
    await db.schema
      .createIndex('scorer_permissions_user_idx')
      .on('scorer_permissions')
      .column('user_id')
      .execute();
  },
});

/** Users who signed in with OpenID Connect, by the provider's issuer and their subject there. */
const oidcIdentities = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('oidc_identities')
      .addColumn('issuer', 'varchar(512)', (c) => c.notNull())
      .addColumn('subject', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('oidc_identities_pk', ['issuer', 'subject'])
      .execute();
  },
});

function usersMigrations(dialect: SqlDialect): Record<string, Migration> {
  return {
    '0001_users_and_permissions': initial(dialect),
    '0002_access_tokens': accessTokens(dialect),
    '0003_audit_log': auditLog(dialect),
    '0004_scorer_permissions': scorerPermissions(dialect),
    '0005_oidc_identities': oidcIdentities(),
  };
}

/** Brings the users store up to date; its bookkeeping tables are named apart from the tracking store's. */
export async function migrateUsersStore(db: Kysely<unknown>, dialect: SqlDialect): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => usersMigrations(dialect) },
    migrationTableName: 'mlflow_ts_auth_migrations',
    migrationLockTableName: 'mlflow_ts_auth_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).map((r) => r.migrationName);
}
