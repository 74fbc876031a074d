// What an MLflow database's schema revision is, whether we know it, and which tables and columns it
// actually has (the importer reads only the columns present, so each revision's differences are met by
// what the database says of itself, not by a copy of every migration).
import { MlflowError } from '../entities/errors.js';
import type { SqlConnection } from './sql-connection.js';

/**
 * MLflow's alembic revisions, oldest first, from its mlflow/store/db_migrations/versions (MLflow 1.0 to
 * 3.6). The notes say what each changed that the importer cares about.
 */
export const MLFLOW_REVISIONS: readonly { id: string; change: string }[] = [
  { id: '451aebb31d03', change: 'metrics.step (default 0) joins the metric key' },
  { id: '90e64c465722', change: 'runs.user_id copied to the mlflow.user tag' },
  { id: '181f10493468', change: 'metrics.value may be NULL (read as NaN)' },
  { id: 'df50e92ffc5e', change: 'experiment_tags table' },
  { id: '7ac759974ad8', change: 'tags.value widened' },
  { id: '89d4b8295536', change: 'latest_metrics table (filled from the history)' },
  { id: '2b4d017a5e9b', change: 'model registry: registered_models, model_versions' },
  { id: 'cfd24bdc0731', change: 'run status KILLED allowed' },
  { id: '0a8213491aaa', change: 'duplicate status constraint dropped' },
  { id: '728d730b5ebd', change: 'registered_model_tags table' },
  { id: '27a6a02d2cf1', change: 'model_version_tags table' },
  { id: '84291f40a231', change: 'model_versions.run_link' },
  { id: 'a8c4a736bde6', change: 'model_versions.run_id may be NULL' },
  { id: '39d1c3be5f05', change: 'metrics.is_nan and latest_metrics.is_nan' },
  { id: 'c48cb773bb87', change: 'metrics.is_nan default reset' },
  { id: 'bd07f7e963c5', change: 'indexes on run_uuid' },
  { id: '0c779009ac13', change: 'runs.deleted_time' },
  { id: 'cc1f77228345', change: 'params.value widened to 500' },
  { id: '97727af70f4d', change: 'experiments.creation_time and last_update_time' },
  { id: '3500859a5d39', change: 'registered_model_aliases table' },
  { id: '7f2a7d5fae7d', change: 'datasets, inputs, input_tags tables' },
  { id: '2d6e25af4d3e', change: 'params.value widened to 8000' },
  { id: 'acf3f17fdcc7', change: 'model_versions.storage_location' },
  { id: '867495a8f9d4', change: 'trace tables' },
  { id: '5b0e9adcef9c', change: 'trace foreign keys cascade' },
  { id: '4465047574b1', change: 'datasets.dataset_schema widened (MySQL)' },
  { id: 'f5a4f2784254', change: 'tags.value widened to 8000' },
  { id: '0584bdc529eb', change: 'datasets cascade with their experiment' },
  { id: '400f98739977', change: 'logged models and their params, tags, metrics' },
  { id: '6953534de441', change: 'inputs.step' },
  { id: 'bda7b8c39065', change: 'model_version_tags.value widened' },
  { id: 'cbc13b556ace', change: 'trace_info V3 columns' },
  { id: '770bee3ae1dd', change: 'assessments table' },
  { id: 'a1b2c3d4e5f6', change: 'spans table' },
  { id: 'de4033877273', change: 'entity_associations table' },
  { id: '1a0cddfcaa16', change: 'webhooks and webhook_events tables' },
  { id: '534353b11cbc', change: 'scorers tables' },
  { id: '71994744cf8e', change: 'evaluation datasets tables' },
  { id: '3da73c924c2f', change: 'evaluation dataset records outputs' },
  { id: 'bf29a5ff90ea', change: 'jobs table' },
  { id: '1b5f0d9ad7c1', change: 'workspace column on experiments, registry and webhooks' },
];

export interface TableInfo {
  columns: Set<string>;
  /** The primary key's columns in key order (PostgreSQL; SQLite sources are paged by rowid). */
  primaryKey: string[];
}

export interface SourceSchema {
  /** The alembic revision, or null for a database from before MLflow used alembic. */
  revision: string | null;
  tables: Map<string, TableInfo>;
}

/** Reads the schema of the MLflow database on `conn`; refuses one that is not MLflow's or is newer than we know. */
export async function readSourceSchema(conn: SqlConnection): Promise<SourceSchema> {
  const tables = await listTables(conn);
  if (!tables.has('experiments') || !tables.has('runs')) {
    throw MlflowError.invalidParameter(
      'The source database is not an MLflow tracking store: it has no experiments and runs tables.',
    );
  }
  let revision: string | null = null;
  if (tables.has('alembic_version')) {
    const rows = await conn.all('select version_num from alembic_version');
    if (rows.length > 1) {
      throw MlflowError.invalidParameter(
        `The source database has ${rows.length} alembic heads (${rows.map((r) => r.version_num).join(', ')}); MLflow's own databases have one.`,
      );
    }
    revision = rows.length ? String(rows[0].version_num) : null;
  }
  if (revision !== null && !MLFLOW_REVISIONS.some((r) => r.id === revision)) {
    const newest = MLFLOW_REVISIONS[MLFLOW_REVISIONS.length - 1].id;
    throw MlflowError.invalidParameter(
      `The source database is at MLflow schema revision '${revision}', which this version of mlflow-ts ` +
        `does not know (it reads MLflow 1.0 to 3.6, up to revision '${newest}'). A newer MLflow may have ` +
        'changed the tables in ways the importer would get wrong, so nothing was imported.',
    );
  }
  return { revision, tables };
}

async function listTables(conn: SqlConnection): Promise<Map<string, TableInfo>> {
  const tables = new Map<string, TableInfo>();
  if (conn.dialect === 'sqlite') {
    const names = await conn.all("select name from sqlite_master where type = 'table'");
    for (const { name } of names) {
      const columns = await conn.all(`select name from pragma_table_info(?)`, [name]);
      tables.set(String(name), { columns: new Set(columns.map((c) => String(c.name))), primaryKey: [] });
    }
    return tables;
  }
  // MySQL's schema is its database; aliases keep the column names lower case (MySQL answers in capitals).
  const schema = conn.dialect === 'mysql' ? 'database()' : 'current_schema()';
  const rows = await conn.all(
    `select table_name as "table_name", column_name as "column_name" from information_schema.columns
     where table_schema = ${schema} order by table_name, ordinal_position`,
  );
  for (const row of rows) {
    const name = String(row.table_name);
    let info = tables.get(name);
    if (!info) {
      info = { columns: new Set(), primaryKey: [] };
      tables.set(name, info);
    }
    info.columns.add(String(row.column_name));
  }
  const keys = await conn.all(
    `select tc.table_name as "table_name", kcu.column_name as "column_name"
     from information_schema.table_constraints tc
     join information_schema.key_column_usage kcu
       on kcu.constraint_name = tc.constraint_name and kcu.table_schema = tc.table_schema
         and kcu.table_name = tc.table_name
     where tc.constraint_type = 'PRIMARY KEY' and tc.table_schema = ${schema}
     order by tc.table_name, kcu.ordinal_position`,
  );
  for (const key of keys) tables.get(String(key.table_name))?.primaryKey.push(String(key.column_name));
  return tables;
}
