// MLflow 3.6's database schema (alembic head 1b5f0d9ad7c1) as `db export` creates it, for SQLite and
// PostgreSQL: the tables, columns (in the order MLflow's migrations leave them), types, keys, checks and
// indexes that MLflow's migrations produce, so MLflow's own server opens the export without migrating.
// Written from MLflow's dbmodels and migration history, and checked against a database MLflow 3.6 made
// (test/fixtures/mlflow-3.6/sqlite, compared column by column in test/export.test.ts).

export type Dialect = 'sqlite' | 'postgres';

/** The alembic revision MLflow 3.6's migrations end at. */
export const MLFLOW_HEAD_REVISION = '1b5f0d9ad7c1';

interface MlflowTable {
  name: string;
  /** Column definitions; `{serial}` and `{false}` are spelled per dialect (see render). */
  columns: string[];
  constraints: string[];
  /**
   * Constraints only SQLite gets: SQLAlchemy's check for a non-native boolean column, and checks the
   * migrations drop elsewhere but SQLite cannot.
   */
  sqliteChecks?: string[];
  indexes?: string[];
}

const WORKSPACE = "workspace VARCHAR(63) DEFAULT 'default' NOT NULL";
const isNanCheck = 'CHECK (is_nan IN (0, 1))';

/** Parents before children, so PostgreSQL's foreign keys find the tables they name. */
const TABLES: MlflowTable[] = [
  {
    name: 'alembic_version',
    columns: ['version_num VARCHAR(32) NOT NULL'],
    constraints: ['CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)'],
  },
  {
    name: 'experiments',
    columns: [
      'experiment_id {serial} NOT NULL',
      'name VARCHAR(256) NOT NULL',
      'artifact_location VARCHAR(256)',
      'lifecycle_stage VARCHAR(32)',
      'creation_time BIGINT',
      'last_update_time BIGINT',
      WORKSPACE,
    ],
    constraints: [
      'CONSTRAINT experiment_pk PRIMARY KEY (experiment_id)',
      "CONSTRAINT experiments_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted'))",
      'CONSTRAINT uq_experiments_workspace_name UNIQUE (workspace, name)',
    ],
    indexes: [
      'idx_experiments_workspace ON experiments (workspace)',
      'idx_experiments_workspace_creation_time ON experiments (workspace, creation_time)',
    ],
  },
  {
    name: 'experiment_tags',
    columns: ['"key" VARCHAR(250) NOT NULL', 'value VARCHAR(5000)', 'experiment_id INTEGER NOT NULL'],
    constraints: [
      'CONSTRAINT experiment_tag_pk PRIMARY KEY ("key", experiment_id)',
      'FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id)',
    ],
  },
  {
    name: 'runs',
    columns: [
      'run_uuid VARCHAR(32) NOT NULL',
      'name VARCHAR(250)',
      'source_type VARCHAR(20)',
      'source_name VARCHAR(500)',
      'entry_point_name VARCHAR(50)',
      'user_id VARCHAR(256)',
      'status VARCHAR(9)',
      'start_time BIGINT',
      'end_time BIGINT',
      'source_version VARCHAR(50)',
      'lifecycle_stage VARCHAR(20)',
      'artifact_uri VARCHAR(200)',
      'experiment_id INTEGER',
      'deleted_time BIGINT',
    ],
    constraints: [
      'CONSTRAINT run_pk PRIMARY KEY (run_uuid)',
      "CONSTRAINT source_type CHECK (source_type IN ('NOTEBOOK', 'JOB', 'LOCAL', 'UNKNOWN', 'PROJECT'))",
      "CONSTRAINT runs_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted'))",
      'FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id)',
    ],
    // Revision 0a8213491aaa drops the constraint named `status` that cfd24bdc0731 made; SQLite cannot
    // drop it, so only there does the status check survive.
    sqliteChecks: ["CHECK (status IN ('SCHEDULED', 'FAILED', 'FINISHED', 'RUNNING', 'KILLED'))"],
  },
  {
    name: 'latest_metrics',
    columns: [
      '"key" VARCHAR(250) NOT NULL',
      'value FLOAT NOT NULL',
      'timestamp BIGINT',
      'step BIGINT NOT NULL',
      'is_nan BOOLEAN NOT NULL',
      'run_uuid VARCHAR(32) NOT NULL',
    ],
    constraints: [
      'CONSTRAINT latest_metric_pk PRIMARY KEY ("key", run_uuid)',
      'FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid)',
    ],
    sqliteChecks: [isNanCheck],
    indexes: ['index_latest_metrics_run_uuid ON latest_metrics (run_uuid)'],
  },
  {
    name: 'metrics',
    columns: [
      '"key" VARCHAR(250) NOT NULL',
      'value FLOAT NOT NULL',
      'timestamp BIGINT NOT NULL',
      'run_uuid VARCHAR(32) NOT NULL',
      "step BIGINT DEFAULT '0' NOT NULL",
      'is_nan BOOLEAN DEFAULT {false} NOT NULL',
    ],
    constraints: [
      'CONSTRAINT metric_pk PRIMARY KEY ("key", timestamp, step, run_uuid, value, is_nan)',
      'FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid)',
    ],
    sqliteChecks: [isNanCheck],
    indexes: ['index_metrics_run_uuid ON metrics (run_uuid)'],
  },
  {
    name: 'params',
    columns: ['"key" VARCHAR(250) NOT NULL', 'value VARCHAR(8000) NOT NULL', 'run_uuid VARCHAR(32) NOT NULL'],
    constraints: [
      'CONSTRAINT param_pk PRIMARY KEY ("key", run_uuid)',
      'FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid)',
    ],
    indexes: ['index_params_run_uuid ON params (run_uuid)'],
  },
  {
    name: 'tags',
    columns: ['"key" VARCHAR(250) NOT NULL', 'value VARCHAR(8000)', 'run_uuid VARCHAR(32) NOT NULL'],
    constraints: [
      'CONSTRAINT tag_pk PRIMARY KEY ("key", run_uuid)',
      'FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid)',
    ],
    indexes: ['index_tags_run_uuid ON tags (run_uuid)'],
  },
  {
    name: 'datasets',
    columns: [
      'dataset_uuid VARCHAR(36) NOT NULL',
      'experiment_id INTEGER NOT NULL',
      'name VARCHAR(500) NOT NULL',
      'digest VARCHAR(36) NOT NULL',
      'dataset_source_type VARCHAR(36) NOT NULL',
      'dataset_source TEXT NOT NULL',
      'dataset_schema TEXT',
      'dataset_profile TEXT',
    ],
    constraints: [
      'CONSTRAINT dataset_pk PRIMARY KEY (experiment_id, name, digest)',
      'CONSTRAINT fk_datasets_experiment_id_experiments FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id) ON DELETE CASCADE',
    ],
    indexes: [
      'index_datasets_dataset_uuid ON datasets (dataset_uuid)',
      'index_datasets_experiment_id_dataset_source_type ON datasets (experiment_id, dataset_source_type)',
    ],
  },
  {
    name: 'inputs',
    columns: [
      'input_uuid VARCHAR(36) NOT NULL',
      'source_type VARCHAR(36) NOT NULL',
      'source_id VARCHAR(36) NOT NULL',
      'destination_type VARCHAR(36) NOT NULL',
      'destination_id VARCHAR(36) NOT NULL',
      "step BIGINT DEFAULT '0' NOT NULL",
    ],
    constraints: [
      'CONSTRAINT inputs_pk PRIMARY KEY (source_type, source_id, destination_type, destination_id)',
    ],
    indexes: [
      'index_inputs_input_uuid ON inputs (input_uuid)',
      'index_inputs_destination_type_destination_id_source_type ON inputs (destination_type, destination_id, source_type)',
    ],
  },
  {
    name: 'input_tags',
    columns: ['input_uuid VARCHAR(36) NOT NULL', 'name VARCHAR(255) NOT NULL', 'value VARCHAR(500) NOT NULL'],
    constraints: ['CONSTRAINT input_tags_pk PRIMARY KEY (input_uuid, name)'],
  },
  {
    name: 'trace_info',
    columns: [
      'request_id VARCHAR(50) NOT NULL',
      'experiment_id INTEGER NOT NULL',
      'timestamp_ms BIGINT NOT NULL',
      'execution_time_ms BIGINT',
      'status VARCHAR(50) NOT NULL',
      'client_request_id VARCHAR(50)',
      'request_preview VARCHAR(1000)',
      'response_preview VARCHAR(1000)',
    ],
    constraints: [
      'CONSTRAINT trace_info_pk PRIMARY KEY (request_id)',
      'CONSTRAINT fk_trace_info_experiment_id FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id)',
    ],
    indexes: ['index_trace_info_experiment_id_timestamp_ms ON trace_info (experiment_id, timestamp_ms)'],
  },
  ...['trace_tags', 'trace_request_metadata'].map((name) => ({
    name,
    columns: ['"key" VARCHAR(250) NOT NULL', 'value VARCHAR(8000)', 'request_id VARCHAR(50) NOT NULL'],
    constraints: [
      `CONSTRAINT ${name === 'trace_tags' ? 'trace_tag_pk' : 'trace_request_metadata_pk'} PRIMARY KEY ("key", request_id)`,
      `CONSTRAINT fk_${name}_request_id FOREIGN KEY(request_id) REFERENCES trace_info (request_id) ON DELETE CASCADE`,
    ],
    indexes: [`index_${name}_request_id ON ${name} (request_id)`],
  })),
  {
    name: 'assessments',
    columns: [
      'assessment_id VARCHAR(50) NOT NULL',
      'trace_id VARCHAR(50) NOT NULL',
      'name VARCHAR(250) NOT NULL',
      'assessment_type VARCHAR(20) NOT NULL',
      'value TEXT NOT NULL',
      'error TEXT',
      'created_timestamp BIGINT NOT NULL',
      'last_updated_timestamp BIGINT NOT NULL',
      'source_type VARCHAR(50) NOT NULL',
      'source_id VARCHAR(250)',
      'run_id VARCHAR(32)',
      'span_id VARCHAR(50)',
      'rationale TEXT',
      'overrides VARCHAR(50)',
      'valid BOOLEAN NOT NULL',
      'assessment_metadata TEXT',
    ],
    constraints: [
      'CONSTRAINT assessments_pk PRIMARY KEY (assessment_id)',
      'CONSTRAINT fk_assessments_trace_id FOREIGN KEY(trace_id) REFERENCES trace_info (request_id) ON DELETE CASCADE',
    ],
    indexes: [
      'index_assessments_trace_id_created_timestamp ON assessments (trace_id, created_timestamp)',
      'index_assessments_run_id_created_timestamp ON assessments (run_id, created_timestamp)',
      'index_assessments_last_updated_timestamp ON assessments (last_updated_timestamp)',
      'index_assessments_assessment_type ON assessments (assessment_type)',
    ],
  },
  {
    name: 'spans',
    columns: [
      'trace_id VARCHAR(50) NOT NULL',
      'experiment_id INTEGER NOT NULL',
      'span_id VARCHAR(50) NOT NULL',
      'parent_span_id VARCHAR(50)',
      'name TEXT',
      'type VARCHAR(500)',
      'status VARCHAR(50) NOT NULL',
      'start_time_unix_nano BIGINT NOT NULL',
      'end_time_unix_nano BIGINT',
      'duration_ns BIGINT GENERATED ALWAYS AS (end_time_unix_nano - start_time_unix_nano) STORED',
      'content TEXT NOT NULL',
    ],
    constraints: [
      'CONSTRAINT spans_pk PRIMARY KEY (trace_id, span_id)',
      'CONSTRAINT fk_spans_trace_id FOREIGN KEY(trace_id) REFERENCES trace_info (request_id) ON DELETE CASCADE',
      'CONSTRAINT fk_spans_experiment_id FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id)',
    ],
    indexes: [
      'index_spans_experiment_id ON spans (experiment_id)',
      'index_spans_experiment_id_status_type ON spans (experiment_id, status, type)',
      'index_spans_experiment_id_type_status ON spans (experiment_id, type, status)',
      'index_spans_experiment_id_duration ON spans (experiment_id, duration_ns)',
    ],
  },
  {
    name: 'logged_models',
    columns: [
      'model_id VARCHAR(36) NOT NULL',
      'experiment_id INTEGER NOT NULL',
      'name VARCHAR(500) NOT NULL',
      'artifact_location VARCHAR(1000) NOT NULL',
      'creation_timestamp_ms BIGINT NOT NULL',
      'last_updated_timestamp_ms BIGINT NOT NULL',
      'status INTEGER NOT NULL',
      'lifecycle_stage VARCHAR(32)',
      'model_type VARCHAR(500)',
      'source_run_id VARCHAR(32)',
      'status_message VARCHAR(1000)',
    ],
    constraints: [
      'CONSTRAINT logged_models_pk PRIMARY KEY (model_id)',
      "CONSTRAINT logged_models_lifecycle_stage_check CHECK (lifecycle_stage IN ('active', 'deleted'))",
      'CONSTRAINT fk_logged_models_experiment_id FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id) ON DELETE CASCADE',
    ],
  },
  {
    name: 'logged_model_metrics',
    columns: [
      'model_id VARCHAR(36) NOT NULL',
      'metric_name VARCHAR(500) NOT NULL',
      'metric_timestamp_ms BIGINT NOT NULL',
      'metric_step BIGINT NOT NULL',
      'metric_value FLOAT',
      'experiment_id INTEGER NOT NULL',
      'run_id VARCHAR(32) NOT NULL',
      'dataset_uuid VARCHAR(36)',
      'dataset_name VARCHAR(500)',
      'dataset_digest VARCHAR(36)',
    ],
    constraints: [
      'CONSTRAINT logged_model_metrics_pk PRIMARY KEY (model_id, metric_name, metric_timestamp_ms, metric_step, run_id)',
      'CONSTRAINT fk_logged_model_metrics_experiment_id FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id)',
      'CONSTRAINT fk_logged_model_metrics_model_id FOREIGN KEY(model_id) REFERENCES logged_models (model_id) ON DELETE CASCADE',
      'CONSTRAINT fk_logged_model_metrics_run_id FOREIGN KEY(run_id) REFERENCES runs (run_uuid) ON DELETE CASCADE',
    ],
    indexes: ['index_logged_model_metrics_model_id ON logged_model_metrics (model_id)'],
  },
  ...(['params', 'tags'] as const).map((kind) => ({
    name: `logged_model_${kind}`,
    columns: [
      'model_id VARCHAR(36) NOT NULL',
      'experiment_id INTEGER NOT NULL',
      `${kind.slice(0, -1)}_key VARCHAR(255) NOT NULL`,
      `${kind.slice(0, -1)}_value TEXT NOT NULL`,
    ],
    constraints: [
      `CONSTRAINT logged_model_${kind}_pk PRIMARY KEY (model_id, ${kind.slice(0, -1)}_key)`,
      `CONSTRAINT fk_logged_model_${kind}_experiment_id FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id)`,
      `CONSTRAINT fk_logged_model_${kind}_model_id FOREIGN KEY(model_id) REFERENCES logged_models (model_id) ON DELETE CASCADE`,
    ],
  })),
  {
    name: 'entity_associations',
    columns: [
      'association_id VARCHAR(36) NOT NULL',
      'source_type VARCHAR(36) NOT NULL',
      'source_id VARCHAR(36) NOT NULL',
      'destination_type VARCHAR(36) NOT NULL',
      'destination_id VARCHAR(36) NOT NULL',
      'created_time BIGINT',
    ],
    constraints: [
      'CONSTRAINT entity_associations_pk PRIMARY KEY (source_type, source_id, destination_type, destination_id)',
    ],
    indexes: [
      'index_entity_associations_association_id ON entity_associations (association_id)',
      'index_entity_associations_reverse_lookup ON entity_associations (destination_type, destination_id, source_type, source_id)',
    ],
  },
  {
    name: 'webhooks',
    columns: [
      'webhook_id VARCHAR(256) NOT NULL',
      'name VARCHAR(256) NOT NULL',
      'description VARCHAR(1000)',
      'url VARCHAR(500) NOT NULL',
      "status VARCHAR(20) DEFAULT 'ACTIVE' NOT NULL",
      'secret VARCHAR(1000)',
      'creation_timestamp BIGINT',
      'last_updated_timestamp BIGINT',
      'deleted_timestamp BIGINT',
      WORKSPACE,
    ],
    constraints: ['CONSTRAINT webhook_pk PRIMARY KEY (webhook_id)'],
    indexes: [
      'idx_webhooks_name ON webhooks (name)',
      'idx_webhooks_status ON webhooks (status)',
      'idx_webhooks_workspace ON webhooks (workspace)',
    ],
  },
  {
    name: 'webhook_events',
    columns: [
      'webhook_id VARCHAR(256) NOT NULL',
      'entity VARCHAR(50) NOT NULL',
      'action VARCHAR(50) NOT NULL',
    ],
    constraints: [
      'CONSTRAINT webhook_event_pk PRIMARY KEY (webhook_id, entity, action)',
      'FOREIGN KEY(webhook_id) REFERENCES webhooks (webhook_id) ON DELETE cascade',
    ],
    indexes: [
      'idx_webhook_events_entity ON webhook_events (entity)',
      'idx_webhook_events_action ON webhook_events (action)',
      'idx_webhook_events_entity_action ON webhook_events (entity, action)',
    ],
  },
  {
    name: 'scorers',
    columns: [
      'experiment_id INTEGER NOT NULL',
      'scorer_name VARCHAR(256) NOT NULL',
      'scorer_id VARCHAR(36) NOT NULL',
    ],
    constraints: [
      'CONSTRAINT scorer_pk PRIMARY KEY (scorer_id)',
      'CONSTRAINT fk_scorers_experiment_id FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id) ON DELETE CASCADE',
    ],
    indexes: ['UNIQUE index_scorers_experiment_id_scorer_name ON scorers (experiment_id, scorer_name)'],
  },
  {
    name: 'scorer_versions',
    columns: [
      'scorer_id VARCHAR(36) NOT NULL',
      'scorer_version INTEGER NOT NULL',
      'serialized_scorer TEXT NOT NULL',
      'creation_time BIGINT',
    ],
    constraints: [
      'CONSTRAINT scorer_version_pk PRIMARY KEY (scorer_id, scorer_version)',
      'CONSTRAINT fk_scorer_versions_scorer_id FOREIGN KEY(scorer_id) REFERENCES scorers (scorer_id) ON DELETE CASCADE',
    ],
    indexes: ['index_scorer_versions_scorer_id ON scorer_versions (scorer_id)'],
  },
  {
    name: 'evaluation_datasets',
    columns: [
      'dataset_id VARCHAR(36) NOT NULL',
      'name VARCHAR(255) NOT NULL',
      'schema TEXT',
      'profile TEXT',
      'digest VARCHAR(64)',
      'created_time BIGINT',
      'last_update_time BIGINT',
      'created_by VARCHAR(255)',
      'last_updated_by VARCHAR(255)',
      WORKSPACE,
    ],
    constraints: ['CONSTRAINT evaluation_datasets_pk PRIMARY KEY (dataset_id)'],
    indexes: [
      'index_evaluation_datasets_created_time ON evaluation_datasets (created_time)',
      'index_evaluation_datasets_name ON evaluation_datasets (name)',
      'idx_evaluation_datasets_workspace ON evaluation_datasets (workspace)',
    ],
  },
  {
    name: 'evaluation_dataset_tags',
    columns: ['dataset_id VARCHAR(36) NOT NULL', '"key" VARCHAR(255) NOT NULL', 'value VARCHAR(5000)'],
    constraints: [
      'CONSTRAINT evaluation_dataset_tags_pk PRIMARY KEY (dataset_id, "key")',
      'CONSTRAINT fk_evaluation_dataset_tags_dataset_id FOREIGN KEY(dataset_id) REFERENCES evaluation_datasets (dataset_id) ON DELETE CASCADE',
    ],
    indexes: ['index_evaluation_dataset_tags_dataset_id ON evaluation_dataset_tags (dataset_id)'],
  },
  {
    name: 'evaluation_dataset_records',
    columns: [
      'dataset_record_id VARCHAR(36) NOT NULL',
      'dataset_id VARCHAR(36) NOT NULL',
      'inputs JSON NOT NULL',
      'expectations JSON',
      'tags JSON',
      'source JSON',
      'source_id VARCHAR(36)',
      'source_type VARCHAR(255)',
      'created_time BIGINT',
      'last_update_time BIGINT',
      'created_by VARCHAR(255)',
      'last_updated_by VARCHAR(255)',
      'input_hash VARCHAR(64) NOT NULL',
      'outputs JSON',
    ],
    constraints: [
      'CONSTRAINT evaluation_dataset_records_pk PRIMARY KEY (dataset_record_id)',
      'CONSTRAINT fk_evaluation_dataset_records_dataset_id FOREIGN KEY(dataset_id) REFERENCES evaluation_datasets (dataset_id) ON DELETE CASCADE',
      'CONSTRAINT unique_dataset_input UNIQUE (dataset_id, input_hash)',
    ],
    indexes: ['index_evaluation_dataset_records_dataset_id ON evaluation_dataset_records (dataset_id)'],
  },
  {
    name: 'jobs',
    columns: [
      'id VARCHAR(36) NOT NULL',
      'creation_time BIGINT NOT NULL',
      'function_fullname VARCHAR(500) NOT NULL',
      'params TEXT NOT NULL',
      'timeout FLOAT',
      'status INTEGER NOT NULL',
      'result TEXT',
      'retry_count INTEGER NOT NULL',
      'last_update_time BIGINT NOT NULL',
    ],
    constraints: ['CONSTRAINT jobs_pk PRIMARY KEY (id)'],
    indexes: ['index_jobs_function_status_creation_time ON jobs (function_fullname, status, creation_time)'],
  },
  {
    name: 'registered_models',
    columns: [
      'name VARCHAR(256) NOT NULL',
      'creation_time BIGINT',
      'last_updated_time BIGINT',
      'description VARCHAR(5000)',
      WORKSPACE,
    ],
    constraints: ['CONSTRAINT registered_model_pk PRIMARY KEY (workspace, name)'],
    indexes: ['idx_registered_models_workspace ON registered_models (workspace)'],
  },
  {
    name: 'model_versions',
    columns: [
      'name VARCHAR(256) NOT NULL',
      'version INTEGER NOT NULL',
      'creation_time BIGINT',
      'last_updated_time BIGINT',
      'description VARCHAR(5000)',
      'user_id VARCHAR(256)',
      'current_stage VARCHAR(20)',
      'source VARCHAR(500)',
      'run_id VARCHAR(32)',
      'status VARCHAR(20)',
      'status_message VARCHAR(500)',
      'run_link VARCHAR(500)',
      'storage_location VARCHAR(500)',
      WORKSPACE,
    ],
    constraints: [
      'CONSTRAINT model_version_pk PRIMARY KEY (workspace, name, version)',
      'CONSTRAINT fk_model_versions_registered_models FOREIGN KEY(workspace, name) REFERENCES registered_models (workspace, name) ON UPDATE CASCADE',
    ],
  },
  {
    name: 'registered_model_tags',
    columns: ['"key" VARCHAR(250) NOT NULL', 'value VARCHAR(5000)', 'name VARCHAR(256) NOT NULL', WORKSPACE],
    constraints: [
      'CONSTRAINT registered_model_tag_pk PRIMARY KEY (workspace, "key", name)',
      'CONSTRAINT fk_registered_model_tags_registered_models FOREIGN KEY(workspace, name) REFERENCES registered_models (workspace, name) ON UPDATE CASCADE',
    ],
  },
  {
    name: 'model_version_tags',
    columns: [
      '"key" VARCHAR(250) NOT NULL',
      'value TEXT',
      'name VARCHAR(256) NOT NULL',
      'version INTEGER NOT NULL',
      WORKSPACE,
    ],
    constraints: [
      'CONSTRAINT model_version_tag_pk PRIMARY KEY (workspace, "key", name, version)',
      'CONSTRAINT fk_model_version_tags_model_versions FOREIGN KEY(workspace, name, version) REFERENCES model_versions (workspace, name, version) ON UPDATE CASCADE',
    ],
  },
  {
    name: 'registered_model_aliases',
    columns: [
      'alias VARCHAR(256) NOT NULL',
      'version INTEGER NOT NULL',
      'name VARCHAR(256) NOT NULL',
      WORKSPACE,
    ],
    constraints: [
      'CONSTRAINT registered_model_alias_pk PRIMARY KEY (workspace, name, alias)',
      'CONSTRAINT fk_registered_model_aliases_registered_models FOREIGN KEY(workspace, name) REFERENCES registered_models (workspace, name) ON DELETE CASCADE ON UPDATE CASCADE',
    ],
  },
  {
    name: 'workspaces',
    columns: ['name VARCHAR(63) NOT NULL', 'description TEXT'],
    constraints: ['CONSTRAINT workspaces_pk PRIMARY KEY (name)'],
  },
];

/** The names of MLflow 3.6's tables, in creation order. */
export const MLFLOW_TABLE_NAMES: readonly string[] = TABLES.map((t) => t.name);

/** The statements that create MLflow 3.6's schema in an empty database, and mark it as at the head revision. */
export function mlflowSchemaStatements(dialect: Dialect): string[] {
  const statements: string[] = [];
  for (const table of TABLES) {
    const columns = table.columns.map((c) =>
      c
        // An autoincrementing integer key: SQLite's INTEGER PRIMARY KEY is one already.
        .replace('{serial}', dialect === 'postgres' ? 'SERIAL' : 'INTEGER')
        .replace('{false}', dialect === 'postgres' ? 'false' : "'0'"),
    );
    const parts = [
      ...columns,
      ...table.constraints,
      ...(dialect === 'sqlite' ? (table.sqliteChecks ?? []) : []),
    ];
    statements.push(`CREATE TABLE ${table.name} (\n\t${parts.join(', \n\t')}\n)`);
    for (const index of table.indexes ?? []) {
      statements.push(
        index.startsWith('UNIQUE ') ? `CREATE UNIQUE INDEX ${index.slice(7)}` : `CREATE INDEX ${index}`,
      );
    }
  }
  statements.push(`INSERT INTO alembic_version (version_num) VALUES ('${MLFLOW_HEAD_REVISION}')`);
  statements.push(
    "INSERT INTO workspaces (name, description) VALUES ('default', 'Default workspace for legacy resources')",
  );
  return statements;
}
