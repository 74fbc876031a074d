// `db export` into an SQL database: creates MLflow 3.6's schema in an empty SQLite file or PostgreSQL
// database (mlflow-ddl.ts) and copies our tables into it a batch at a time, one transaction per batch.
import { MlflowError } from '../entities/errors.js';
import { mlflowSchemaStatements } from './mlflow-ddl.js';
import { openSqlConnection, type SqlConnection } from './sql-connection.js';
import { METRIC_COLUMNS, type Row, TARGET_TABLES } from './target-tables.js';
import { readTable } from './verify.js';

export interface ExportProgress {
  batch(stage: string, rows: number): void;
  stageDone(stage: string): void;
}

export interface ExportCounts {
  /** Rows written per MLflow table. */
  tables: { table: string; rows: number }[];
  /** What the target's format has no place for, with how many and why (a mlruns/ export). */
  leftBehind?: { what: string; count: number; why: string }[];
}

/** Bound values per statement: under SQLite's 32,766 and PostgreSQL's 65,535. */
const MAX_VALUES = 30_000;

/**
 * MLflow columns our store does not keep, with the values MLflow's own server writes for a new run
 * (the run's source now lives in its mlflow.source.* tags).
 */
const RUN_EXTRAS: [string, string][] = [
  ['source_type', 'UNKNOWN'],
  ['source_name', ''],
  ['entry_point_name', ''],
  ['source_version', ''],
];

interface CopySpec {
  stage: string;
  table: string;
  columns: readonly string[];
  key?: readonly string[];
  extras?: [string, string][];
}

const COPIES: CopySpec[] = TARGET_TABLES.flatMap((t): CopySpec[] => {
  const spec: CopySpec = {
    stage: t.name.replace(/_/g, ' '),
    table: t.name,
    columns: t.columns,
    ...(t.name === 'runs' ? { extras: RUN_EXTRAS } : {}),
  };
  if (t.name !== 'metrics') return [spec];
  // MLflow keeps each run's latest values beside the history; ours are already computed by the same rule.
  const latest = {
    stage: 'latest metrics',
    table: 'latest_metrics',
    columns: METRIC_COLUMNS,
    key: ['run_uuid', 'key'],
  };
  return [spec, latest];
});

/** Copies our store on `source` into a new MLflow database at `to`. */
export async function exportToSql(
  source: SqlConnection,
  to: string,
  batchSize: number,
  progress?: ExportProgress,
): Promise<ExportCounts> {
  const target = await openSqlConnection(to);
  try {
    if (target.dialect === 'postgres') await refuseWideExperimentIds(source);
    await createSchema(target, to);
    const tables: ExportCounts['tables'] = [];
    for (const copy of COPIES) {
      let rows = 0;
      let batch: Row[] = [];
      const flush = async () => {
        await target
          .transaction(() => insert(target, copy, batch))
          .catch((error: unknown) => {
            // MLflow's PostgreSQL columns are bounded (VARCHAR(n)) where ours may not be.
            throw new MlflowError(
              'INVALID_STATE',
              `Cannot write ${copy.table} into MLflow's schema: ${error instanceof Error ? error.message : String(error)}`,
            );
          });
        rows += batch.length;
        progress?.batch(copy.stage, batch.length);
        batch = [];
      };
      for await (const row of readTable(
        source,
        { name: copy.table, columns: copy.columns },
        copy.key,
        batchSize,
      )) {
        batch.push(row);
        if (batch.length >= batchSize) await flush();
      }
      if (batch.length) await flush();
      progress?.stageDone(copy.stage);
      tables.push({ table: copy.table, rows });
    }
    if (target.dialect === 'postgres') {
      // MLflow's server draws new experiment ids from the serial column's sequence.
      await target.run(
        `select setval(pg_get_serial_sequence('experiments', 'experiment_id'),
          greatest((select max(experiment_id) from experiments), 1))`,
      );
    }
    return { tables };
  } finally {
    await target.close();
  }
}

/** The largest experiment id MLflow's PostgreSQL schema holds: its experiment_id columns are INTEGER. */
const MLFLOW_POSTGRES_MAX_EXPERIMENT_ID = 2_147_483_647;

/**
 * Refuses, before writing anything, a store with an experiment id MLflow's PostgreSQL columns cannot
 * hold (MLflow's file store draws 18-digit ids); SQLite's INTEGER and a mlruns/ directory keep them.
 */
async function refuseWideExperimentIds(source: SqlConnection): Promise<void> {
  const [row] = await source.all(
    `select min(experiment_id) as experiment_id from experiments where experiment_id > ${MLFLOW_POSTGRES_MAX_EXPERIMENT_ID}`,
  );
  if (row?.experiment_id === null || row?.experiment_id === undefined) return;
  throw MlflowError.invalidParameter(
    `Experiment ${row.experiment_id} cannot be exported into MLflow's PostgreSQL schema, whose experiment ids are 32-bit integers (at most ${MLFLOW_POSTGRES_MAX_EXPERIMENT_ID}). Export to an SQLite database or a mlruns/ directory, which keep such ids.`,
  );
}

/** Refuses a database that already has tables (an export never merges); creates the schema otherwise. */
async function createSchema(target: SqlConnection, uri: string): Promise<void> {
  const existing = await target.all(
    target.dialect === 'sqlite'
      ? "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
      : 'select table_name as name from information_schema.tables where table_schema = current_schema()',
  );
  if (existing.length) {
    throw MlflowError.invalidParameter(
      `Cannot export into '${uri}': it already has tables (${existing
        .slice(0, 5)
        .map((r) => String(r.name))
        .join(', ')}${existing.length > 5 ? ', ...' : ''}). Export into a new, empty database.`,
    );
  }
  const dialect = target.dialect;
  // Never reached: a MySQL connection opens read-only (see exportStore).
  if (dialect === 'mysql')
    throw MlflowError.invalidParameter(`Cannot export into '${uri}': MySQL is not a target.`);
  await target.transaction(async () => {
    for (const statement of mlflowSchemaStatements(dialect)) await target.run(statement);
  });
}

async function insert(target: SqlConnection, copy: CopySpec, rows: Row[]): Promise<void> {
  const extras = copy.extras ?? [];
  const columns = [...copy.columns, ...extras.map(([c]) => c)];
  const names = columns.map((c) => `"${c}"`).join(', ');
  const one = `(${columns.map(() => '?').join(', ')})`;
  const per = Math.max(1, Math.floor(MAX_VALUES / columns.length));
  for (let i = 0; i < rows.length; i += per) {
    const part = rows.slice(i, i + per);
    await target.run(
      `insert into "${copy.table}" (${names}) values ${Array(part.length).fill(one).join(', ')}`,
      part.flatMap((r) => [...r, ...extras.map(([, v]) => v)]),
    );
  }
}
