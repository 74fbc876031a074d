import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { evaluationDatasetTables } from './evaluation-dataset-migrations.js';
import { scorerTables } from './scorer-migrations.js';
import { traceTables } from './trace-migrations.js';

// Migrations are code, not files on disk, so that the compiled package carries them and the order is
// explicit. Never edit a released migration: add a new one.

type SqlDialect = 'sqlite' | 'postgres';

const initialSchema = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    // Experiment ids come from the database: SQLite's rowid (an "integer primary key") or a sequence.
    await db.schema
      .createTable('experiments')
      .addColumn('experiment_id', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) => c.primaryKey())
      .addColumn('name', 'varchar(500)', (c) => c.notNull().unique())
      .addColumn('artifact_location', 'varchar(1000)')
      .addColumn('lifecycle_stage', 'varchar(32)', (c) => c.notNull())
      .addColumn('creation_time', 'bigint', (c) => c.notNull())
      .addColumn('last_update_time', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('experiment_tags')
      .addColumn('experiment_id', 'bigint', (c) => c.notNull().references('experiments.experiment_id'))
      .addColumn('key', 'varchar(250)', (c) => c.notNull())
      .addColumn('value', 'varchar(5000)', (c) => c.notNull())
      .addPrimaryKeyConstraint('experiment_tags_pk', ['experiment_id', 'key'])
      .execute();
    await db.schema
      .createTable('runs')
      .addColumn('run_uuid', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('experiment_id', 'bigint', (c) => c.notNull().references('experiments.experiment_id'))
      .addColumn('name', 'varchar(250)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(256)', (c) => c.notNull())
      .addColumn('status', 'varchar(20)', (c) => c.notNull())
      .addColumn('start_time', 'bigint', (c) => c.notNull())
      .addColumn('end_time', 'bigint')
      .addColumn('deleted_time', 'bigint')
      .addColumn('lifecycle_stage', 'varchar(20)', (c) => c.notNull())
      .addColumn('artifact_uri', 'varchar(1000)', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('runs_experiment_start_idx')
      .on('runs')
      .columns(['experiment_id', 'start_time', 'run_uuid'])
      .execute();

    for (const table of ['metrics', 'latest_metrics'] as const) {
      await db.schema
        .createTable(table)
        .addColumn('run_uuid', 'varchar(32)', (c) => c.notNull().references('runs.run_uuid'))
        .addColumn('key', 'varchar(250)', (c) => c.notNull())
        .addColumn('value', 'double precision', (c) => c.notNull())
        .addColumn('timestamp', 'bigint', (c) => c.notNull())
        .addColumn('step', 'bigint', (c) => c.notNull())
        .addColumn('is_nan', 'smallint', (c) => c.notNull())
        .execute();
    }
    // Identical points are logged once (clients retry); the index also serves history reads by step.
    await db.schema
      .createIndex('metrics_point_uq')
      .on('metrics')
      .columns(['run_uuid', 'key', 'step', 'timestamp', 'value', 'is_nan'])
      .unique()
      .execute();
    await db.schema
      .createIndex('latest_metrics_pk')
      .on('latest_metrics')
      .columns(['run_uuid', 'key'])
      .unique()
      .execute();
    await db.schema
      .createIndex('latest_metrics_key_value_idx')
      .on('latest_metrics')
      .columns(['key', 'value'])
      .execute();

    for (const [table, width] of [
      ['params', 8000],
      ['tags', 8000],
    ] as const) {
      await db.schema
        .createTable(table)
        .addColumn('run_uuid', 'varchar(32)', (c) => c.notNull().references('runs.run_uuid'))
        .addColumn('key', 'varchar(250)', (c) => c.notNull())
        .addColumn('value', `varchar(${width})`, (c) => c.notNull())
        .addPrimaryKeyConstraint(`${table}_pk`, ['run_uuid', 'key'])
        .execute();
      await db.schema.createIndex(`${table}_key_idx`).on(table).columns(['key', 'run_uuid']).execute();
    }

    await db.schema
      .createTable('datasets')
      .addColumn('dataset_uuid', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('experiment_id', 'bigint', (c) => c.notNull().references('experiments.experiment_id'))
      .addColumn('name', 'varchar(500)', (c) => c.notNull())
      .addColumn('digest', 'varchar(36)', (c) => c.notNull())
      .addColumn('dataset_source_type', 'varchar(36)', (c) => c.notNull())
      .addColumn('dataset_source', 'text', (c) => c.notNull())
      .addColumn('dataset_schema', 'text')
      .addColumn('dataset_profile', 'text')
      .addUniqueConstraint('datasets_uq', ['experiment_id', 'name', 'digest'])
      .execute();
    await db.schema
      .createTable('inputs')
      .addColumn('input_uuid', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('source_type', 'varchar(36)', (c) => c.notNull())
      .addColumn('source_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('destination_type', 'varchar(36)', (c) => c.notNull())
      .addColumn('destination_id', 'varchar(36)', (c) => c.notNull())
      .addUniqueConstraint('inputs_uq', ['source_type', 'source_id', 'destination_type', 'destination_id'])
      .execute();
    await db.schema
      .createIndex('inputs_destination_idx')
      .on('inputs')
      .columns(['destination_type', 'destination_id'])
      .execute();
    await db.schema
      .createTable('input_tags')
      .addColumn('input_uuid', 'varchar(36)', (c) => c.notNull().references('inputs.input_uuid'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(500)', (c) => c.notNull())
      .addPrimaryKeyConstraint('input_tags_pk', ['input_uuid', 'name'])
      .execute();

    const now = Date.now();
    await sql`insert into experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
              values (0, 'Default', null, 'active', ${now}, ${now})`.execute(db);
  },
});

/**
 * SQLite: params, tags, latest metrics and metric points become WITHOUT ROWID tables clustered on their
 * keys. A run's rows then sit together in one B-tree (reading a page of runs no longer does a rowid
 * lookup per row), and a metric point is written to one B-tree instead of a table plus a unique index.
 * PostgreSQL keeps its heap tables; nothing changes there.
 */
const clusteredSqliteTables = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    if (dialect !== 'sqlite') return;
    const tables = [
      {
        name: 'metrics',
        columns: `run_uuid varchar(32) not null references runs(run_uuid), key varchar(250) not null,
          value double precision not null, timestamp bigint not null, step bigint not null, is_nan smallint not null`,
        // MLflow's history order (timestamp, step, value), so history reads need no sort.
        primaryKey: 'run_uuid, key, timestamp, step, value, is_nan',
        indexes: [] as string[],
      },
      {
        name: 'latest_metrics',
        columns: `run_uuid varchar(32) not null references runs(run_uuid), key varchar(250) not null,
          value double precision not null, timestamp bigint not null, step bigint not null, is_nan smallint not null`,
        primaryKey: 'run_uuid, key',
        indexes: ['create index latest_metrics_key_value_idx on latest_metrics (key, value)'],
      },
      ...(['params', 'tags'] as const).map((name) => ({
        name,
        columns: `run_uuid varchar(32) not null references runs(run_uuid), key varchar(250) not null,
          value varchar(8000) not null`,
        primaryKey: 'run_uuid, key',
        indexes: [`create index ${name}_key_idx on ${name} (key, run_uuid)`],
      })),
    ];
    for (const t of tables) {
      await sql
        .raw(`create table ${t.name}_clustered (${t.columns}, primary key (${t.primaryKey})) without rowid`)
        .execute(db);
      const names = t.columns
        .split(',')
        .map((c) => c.trim().split(/\s+/)[0])
        .join(', ');
      await sql.raw(`insert into ${t.name}_clustered (${names}) select ${names} from ${t.name}`).execute(db);
      await sql.raw(`drop table ${t.name}`).execute(db);
      await sql.raw(`alter table ${t.name}_clustered rename to ${t.name}`).execute(db);
      for (const index of t.indexes) await sql.raw(index).execute(db);
    }
  },
});

/**
 * Indexes for searching and paging large stores.
 *
 * Metric history is read in MLflow's order (timestamp, step, value) and paged by seeking past the
 * last point returned. metrics_point_uq leads with step, so every history read sorted the run's whole
 * series. The uniqueness constraint moves to the same six columns led by timestamp, which serves the
 * history order and the seek directly; a narrow (run_uuid, key, step) index keeps the step-ordered
 * reads of the sampled bulk-interval history off a sort.
 */
const searchIndexes = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    // On SQLite the clustered metrics table (0002) is already keyed in this order.
    if (dialect === 'postgres') {
      await db.schema
        .createIndex('metrics_history_uq')
        .on('metrics')
        .columns(['run_uuid', 'key', 'timestamp', 'step', 'value', 'is_nan'])
        .unique()
        .execute();
      await db.schema.dropIndex('metrics_point_uq').execute();
    }
    await db.schema
      .createIndex('metrics_step_idx')
      .on('metrics')
      .columns(['run_uuid', 'key', 'step'])
      .execute();
    // Searches for active (or deleted) runs in MLflow's default order read this index in order and
    // stop after a page, without visiting runs of the other stage.
    await db.schema
      .createIndex('runs_stage_start_idx')
      .on('runs')
      .columns(['experiment_id', 'lifecycle_stage', 'start_time', 'run_uuid'])
      .execute();
  },
});

/** MLflow 3's webhooks tables, with MLflow's names, so its schema knowledge carries over. */
const webhooks: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('webhooks')
      .addColumn('webhook_id', 'varchar(256)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(256)', (c) => c.notNull())
      .addColumn('description', 'varchar(1000)')
      .addColumn('url', 'varchar(500)', (c) => c.notNull())
      .addColumn('status', 'varchar(20)', (c) => c.notNull().defaultTo('ACTIVE'))
      .addColumn('secret', 'varchar(1000)')
      .addColumn('creation_timestamp', 'bigint', (c) => c.notNull())
      .addColumn('last_updated_timestamp', 'bigint', (c) => c.notNull())
      .addColumn('deleted_timestamp', 'bigint')
      .execute();
    // Listing pages through live webhooks newest first.
    await db.schema
      .createIndex('webhooks_listing_idx')
      .on('webhooks')
      .columns(['deleted_timestamp', 'creation_timestamp', 'webhook_id'])
      .execute();
    await db.schema
      .createTable('webhook_events')
      .addColumn('webhook_id', 'varchar(256)', (c) =>
        c.notNull().references('webhooks.webhook_id').onDelete('cascade'),
      )
      .addColumn('entity', 'varchar(50)', (c) => c.notNull())
      .addColumn('action', 'varchar(50)', (c) => c.notNull())
      .addPrimaryKeyConstraint('webhook_event_pk', ['webhook_id', 'entity', 'action'])
      .execute();
    // Delivery looks webhooks up by event.
    await db.schema
      .createIndex('webhook_events_entity_action_idx')
      .on('webhook_events')
      .columns(['entity', 'action'])
      .execute();
  },
};

/**
 * MLflow 3's logged models: a model with its tags, params and the metrics logged against it (with the
 * run and dataset they were logged with), in MLflow's tables and column names. Child rows go with their
 * model, and model metrics with their run, when either is removed (gc).
 */
const loggedModelTables = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('logged_models')
      .addColumn('model_id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('experiment_id', 'bigint', (c) =>
        c.notNull().references('experiments.experiment_id').onDelete('cascade'),
      )
      .addColumn('name', 'varchar(500)', (c) => c.notNull())
      .addColumn('artifact_location', 'varchar(1000)', (c) => c.notNull())
      .addColumn('creation_timestamp_ms', 'bigint', (c) => c.notNull())
      .addColumn('last_updated_timestamp_ms', 'bigint', (c) => c.notNull())
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('lifecycle_stage', 'varchar(32)', (c) =>
        c.notNull().defaultTo('active').check(sql`lifecycle_stage in ('active', 'deleted')`),
      )
      .addColumn('model_type', 'varchar(500)')
      .addColumn('source_run_id', 'varchar(32)')
      .addColumn('status_message', 'varchar(1000)')
      .execute();
    // Searches list the live models of some experiments newest first.
    await db.schema
      .createIndex('logged_models_experiment_created_idx')
      .on('logged_models')
      .columns(['experiment_id', 'creation_timestamp_ms', 'model_id'])
      .execute();
    for (const [table, prefix] of [
      ['logged_model_tags', 'tag'],
      ['logged_model_params', 'param'],
    ] as const) {
      await db.schema
        .createTable(table)
        .addColumn('model_id', 'varchar(36)', (c) =>
          c.notNull().references('logged_models.model_id').onDelete('cascade'),
        )
        .addColumn('experiment_id', 'bigint', (c) => c.notNull())
        .addColumn(`${prefix}_key`, 'varchar(255)', (c) => c.notNull())
        .addColumn(`${prefix}_value`, 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint(`${table}_pk`, ['model_id', `${prefix}_key`])
        .execute();
    }
    await db.schema
      .createTable('logged_model_metrics')
      .addColumn('model_id', 'varchar(36)', (c) =>
        c.notNull().references('logged_models.model_id').onDelete('cascade'),
      )
      .addColumn('metric_name', 'varchar(500)', (c) => c.notNull())
      .addColumn('metric_timestamp_ms', 'bigint', (c) => c.notNull())
      .addColumn('metric_step', 'bigint', (c) => c.notNull())
      // NULL holds NaN (a REAL column cannot on SQLite); MLflow's column is nullable too.
      .addColumn('metric_value', 'double precision')
      .addColumn('experiment_id', 'bigint', (c) => c.notNull())
      .addColumn('run_id', 'varchar(32)', (c) => c.notNull().references('runs.run_uuid').onDelete('cascade'))
      .addColumn('dataset_uuid', 'varchar(36)')
      .addColumn('dataset_name', 'varchar(500)')
      .addColumn('dataset_digest', 'varchar(36)')
      .addPrimaryKeyConstraint('logged_model_metrics_pk', [
        'model_id',
        'metric_name',
        'metric_timestamp_ms',
        'metric_step',
        'run_id',
      ])
      .execute();
    // Filters and orderings by a metric find its rows by name; removing a run finds its rows by run.
    await db.schema
      .createIndex('logged_model_metrics_name_idx')
      .on('logged_model_metrics')
      .columns(['metric_name', 'model_id'])
      .execute();
    await db.schema
      .createIndex('logged_model_metrics_run_idx')
      .on('logged_model_metrics')
      .columns(['run_id'])
      .execute();
    // A run's model outputs (LogOutputs) are rows of inputs (RUN_OUTPUT -> MODEL_OUTPUT) with the step
    // the model was produced at, as MLflow 3 added the column.
    await db.schema
      .alterTable('inputs')
      .addColumn('step', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
  },
});

/**
 * MLflow's Model Registry tables, with MLflow's names and widths. Renaming a model and deleting one
 * are single statements on registered_models: the foreign keys carry the change to versions, tags and
 * aliases (SQLite connections run with foreign_keys on). A deleted version keeps its row with stage
 * Deleted_Internal, as in MLflow, so its number is never handed out again.
 */
const modelRegistry = (_dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('registered_models')
      .addColumn('name', 'varchar(256)', (c) => c.notNull())
      .addColumn('creation_time', 'bigint')
      .addColumn('last_updated_time', 'bigint')
      .addColumn('description', 'varchar(5000)')
      .addPrimaryKeyConstraint('registered_model_pk', ['name'])
      .execute();
    // Searches order by either timestamp and page by name.
    await db.schema
      .createIndex('registered_models_updated_idx')
      .on('registered_models')
      .columns(['last_updated_time', 'name'])
      .execute();
    await db.schema
      .createTable('model_versions')
      .addColumn('name', 'varchar(256)', (c) =>
        c.notNull().references('registered_models.name').onUpdate('cascade').onDelete('cascade'),
      )
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('creation_time', 'bigint')
      .addColumn('last_updated_time', 'bigint')
      .addColumn('description', 'varchar(5000)')
      .addColumn('user_id', 'varchar(256)')
      .addColumn('current_stage', 'varchar(20)')
      .addColumn('source', 'varchar(500)')
      .addColumn('storage_location', 'varchar(500)')
      .addColumn('run_id', 'varchar(32)')
      .addColumn('run_link', 'varchar(500)')
      .addColumn('status', 'varchar(20)')
      .addColumn('status_message', 'varchar(500)')
      .addPrimaryKeyConstraint('model_version_pk', ['name', 'version'])
      .execute();
    for (const [index, columns] of [
      ['model_versions_run_idx', ['run_id']],
      ['model_versions_updated_idx', ['last_updated_time', 'name', 'version']],
      ['model_versions_stage_idx', ['name', 'current_stage', 'version']],
    ] as const) {
      await db.schema
        .createIndex(index)
        .on('model_versions')
        .columns([...columns])
        .execute();
    }
    await db.schema
      .createTable('registered_model_tags')
      .addColumn('key', 'varchar(250)', (c) => c.notNull())
      // MLflow's column is varchar(5000) but its rules allow values of 100,000 characters, which
      // PostgreSQL would then refuse; text holds what the rules allow on both databases.
      .addColumn('value', 'text')
      .addColumn('name', 'varchar(256)', (c) =>
        c.notNull().references('registered_models.name').onUpdate('cascade').onDelete('cascade'),
      )
      .addPrimaryKeyConstraint('registered_model_tag_pk', ['key', 'name'])
      .execute();
    await db.schema
      .createIndex('registered_model_tags_name_idx')
      .on('registered_model_tags')
      .columns(['name', 'key'])
      .execute();
    await db.schema
      .createTable('model_version_tags')
      .addColumn('key', 'varchar(250)', (c) => c.notNull())
      .addColumn('value', 'text')
      .addColumn('name', 'varchar(256)', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('model_version_tag_pk', ['key', 'name', 'version'])
      .addForeignKeyConstraint(
        'model_version_tags_fk',
        ['name', 'version'],
        'model_versions',
        ['name', 'version'],
        (fk) => fk.onUpdate('cascade').onDelete('cascade'),
      )
      .execute();
    await db.schema
      .createIndex('model_version_tags_version_idx')
      .on('model_version_tags')
      .columns(['name', 'version', 'key'])
      .execute();
    await db.schema
      .createTable('registered_model_aliases')
      .addColumn('alias', 'varchar(256)', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('name', 'varchar(256)', (c) =>
        c.notNull().references('registered_models.name').onUpdate('cascade').onDelete('cascade'),
      )
      .addPrimaryKeyConstraint('registered_model_alias_pk', ['name', 'alias'])
      .execute();
  },
});

/**
 * A version per run that every write to its params, tags or latest metrics raises, so readers can keep
 * those lists between searches (run-data-cache.ts). Existing runs start at 0.
 */
const runDataVersion: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('runs')
      .addColumn('data_version', 'bigint', (col) => col.notNull().defaultTo(0))
      .execute();
  },
};

/**
 * The importer's bookkeeping (import/bulk-target.ts): per source, each stage's resume position, the
 * entities left out, experiment ids renumbered, and runs whose latest metrics are still to derive.
 * Stores that ran an import before this migration already have these tables, hence "if not exists".
 */
const importBookkeeping: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('mlflow_ts_import_progress')
      .ifNotExists()
      .addColumn('source', 'varchar(2000)', (c) => c.notNull())
      .addColumn('stage', 'varchar(100)', (c) => c.notNull())
      .addColumn('cursor', 'text')
      .addColumn('rows_written', 'bigint', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('mlflow_ts_import_progress_pk', ['source', 'stage'])
      .execute();
    await db.schema
      .createTable('mlflow_ts_import_skipped')
      .ifNotExists()
      .addColumn('source', 'varchar(2000)', (c) => c.notNull())
      .addColumn('kind', 'varchar(50)', (c) => c.notNull())
      .addColumn('id', 'varchar(500)', (c) => c.notNull())
      .addPrimaryKeyConstraint('mlflow_ts_import_skipped_pk', ['source', 'kind', 'id'])
      .execute();
    await db.schema
      .createTable('mlflow_ts_import_experiment_ids')
      .ifNotExists()
      .addColumn('source', 'varchar(2000)', (c) => c.notNull())
      .addColumn('source_id', 'varchar(40)', (c) => c.notNull())
      .addColumn('experiment_id', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('mlflow_ts_import_experiment_ids_pk', ['source', 'source_id'])
      .execute();
    await db.schema
      .createTable('mlflow_ts_import_pending_latest')
      .ifNotExists()
      .addColumn('source', 'varchar(2000)', (c) => c.notNull())
      .addColumn('run_uuid', 'varchar(32)', (c) => c.notNull())
      .addPrimaryKeyConstraint('mlflow_ts_import_pending_latest_pk', ['source', 'run_uuid'])
      .execute();
  },
};

/**
 * Ordering runs by a param or a tag walks the (key, value) index from the first value and stops after
 * a page (run-search.ts), as ordering by a metric does with latest_metrics. PostgreSQL cannot index
 * whole values (a B-tree entry is at most about 2.7 kB; params hold 6000 characters, tags 8000), so
 * there the index holds a byte-order prefix and the search sorts the values sharing it.
 */
export const VALUE_PREFIX_CHARS = 200;

const paramTagValueIndexes = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    for (const table of ['params', 'tags']) {
      const value = dialect === 'postgres' ? `(left(value, ${VALUE_PREFIX_CHARS})) collate "C"` : 'value';
      await sql.raw(`create index ${table}_key_value_idx on ${table} (key, ${value})`).execute(db);
    }
  },
});

/** Serving endpoints hosted by the server (serving/endpoint-host.ts); their live state is not stored. */
const servingEndpoints: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('serving_endpoints')
      .addColumn('name', 'varchar(256)', (c) => c.primaryKey())
      .addColumn('model_uri', 'varchar(600)', (c) => c.notNull())
      .addColumn('registered_model_name', 'varchar(256)', (c) => c.notNull())
      .addColumn('workers', 'integer', (c) => c.notNull())
      .addColumn('creation_timestamp', 'bigint', (c) => c.notNull())
      .addColumn('last_updated_timestamp', 'bigint', (c) => c.notNull())
      .execute();
    // The registered model's page lists the endpoints serving it.
    await db.schema
      .createIndex('serving_endpoints_model_idx')
      .on('serving_endpoints')
      .columns(['registered_model_name', 'name'])
      .execute();
  },
};

/** The artifact quota's reservations of uploads in flight, shared by every server process over the store. */
const artifactReservations: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('artifact_reservations')
      .addColumn('reservation_id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('run_uuid', 'varchar(32)', (c) => c.notNull())
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('artifact_reservations_run_idx')
      .on('artifact_reservations')
      .columns(['run_uuid', 'expires_at'])
      .execute();
    await db.schema
      .createTable('artifact_landed_bytes')
      .addColumn('run_uuid', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .execute();
  },
};

/**
 * Ordering an experiment's runs by an attribute reads one of these indexes in order (run-search.ts,
 * attributeFirst) instead of sorting every run of the experiment. Each ends with MLflow's tie-break,
 * start time then run id, so a group of equal values (most runs share a status) is read in order too.
 * Start time has its own index (0003); run ids are unique, so their index needs no tie-break.
 */
export const ATTRIBUTE_ORDER_COLUMNS = ['name', 'status', 'end_time', 'user_id', 'artifact_uri', 'run_uuid'];

const attributeOrderIndexes: Migration = {
  async up(db: Kysely<unknown>) {
    for (const column of ATTRIBUTE_ORDER_COLUMNS) {
      const columns =
        column === 'run_uuid'
          ? ['experiment_id', column]
          : ['experiment_id', column, 'start_time', 'run_uuid'];
      await db.schema.createIndex(`runs_${column}_order_idx`).on('runs').columns(columns).execute();
    }
  },
};

/** Every migration of a dialect by name; the names sort in the order they apply. */
export function schemaMigrations(dialect: SqlDialect): Record<string, Migration> {
  return {
    '0001_initial_schema': initialSchema(dialect),
    '0002_clustered_sqlite_tables': clusteredSqliteTables(dialect),
    '0003_search_indexes': searchIndexes(dialect),
    '0004_model_registry': modelRegistry(dialect),
    '0005_logged_models': loggedModelTables(),
    '0006_webhooks': webhooks,
    '0007_run_data_version': runDataVersion,
    '0008_traces': traceTables,
    '0009_import_bookkeeping': importBookkeeping,
    '0010_param_tag_value_indexes': paramTagValueIndexes(dialect),
    '0011_evaluation_datasets': evaluationDatasetTables,
    '0012_scorers': scorerTables,
    '0013_serving_endpoints': servingEndpoints,
    '0014_artifact_reservations': artifactReservations,
    '0015_attribute_order_indexes': attributeOrderIndexes,
  };
}

class CodeMigrationProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return this.migrations;
  }
}

/**
 * Brings the schema up to the newest version (or, for tests of upgrades, up to `target`); safe to call
 * on every start.
 */
export async function migrateToLatest(
  db: Kysely<unknown>,
  dialect: SqlDialect,
  target?: string,
  migrations: Record<string, Migration> = schemaMigrations(dialect),
): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new CodeMigrationProvider(migrations),
    migrationTableName: 'mlflow_ts_migrations',
    migrationLockTableName: 'mlflow_ts_migrations_lock',
    // Migrations are developed on branches and may land out of name order (0005 before 0004): a store
    // that already ran a later one still gets an earlier one that arrives afterwards. Each migration
    // therefore touches only its own tables and must not depend on one with a higher number.
    allowUnorderedMigrations: true,
  });
  const { error, results } = target ? await migrator.migrateTo(target) : await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
