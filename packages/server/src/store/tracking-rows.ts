// Row lookups and row-to-entity conversions the tracking repositories share, each usable on the reader
// or inside a write transaction (a write checks existence and state in the transaction it guards).
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import { canonicalExperimentId } from '../entities/experiment-id.js';
import type { LifecycleStage, Metric, RunInfo, RunStatus, ViewType } from '../entities/tracking.js';
import type { WriteTransaction } from './group-commit.js';
import type { RowStatements } from './row-statements.js';
import type { Database, ExperimentsTable, MetricsTable, RunsTable } from './schema.js';

/** The reader outside a write, the transaction inside one. */
export type Reader = Kysely<Database> | WriteTransaction;

export const RUN_NAME_TAG = 'mlflow.runName';
/** The write key of changes to experiments (see Writer.run); runs' writes are keyed by run id. */
export const EXPERIMENTS = 'experiments';
/** Bind-parameter lists are chunked below SQLite's limit of 32,766 variables per statement. */
const CHUNK = 500;

export function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A new run's, dataset's or input link's id: a random UUID's 32 hex digits, as MLflow makes them. */
export function newUuid(): string {
  return randomUUID().replaceAll('-', '');
}

export function lifecycleStages(viewType: ViewType): LifecycleStage[] {
  if (viewType === 'ALL') return ['active', 'deleted'];
  return viewType === 'DELETED_ONLY' ? ['deleted'] : ['active'];
}

export function metricFromRow(
  row: Pick<Selectable<MetricsTable>, 'key' | 'value' | 'timestamp' | 'step' | 'is_nan'>,
): Metric {
  return {
    key: row.key,
    value: row.is_nan ? Number.NaN : Number(row.value),
    timestamp: Number(row.timestamp),
    step: Number(row.step),
  };
}

export function runInfoFromRow(row: Selectable<RunsTable>): RunInfo {
  const info: RunInfo = {
    run_id: row.run_uuid,
    run_uuid: row.run_uuid,
    run_name: row.name,
    experiment_id: String(row.experiment_id),
    user_id: row.user_id,
    status: row.status as RunStatus,
    start_time: Number(row.start_time),
    artifact_uri: row.artifact_uri,
    lifecycle_stage: row.lifecycle_stage as LifecycleStage,
  };
  if (row.end_time !== null) info.end_time = Number(row.end_time);
  return info;
}

// ---------------------------------------------------------------- experiments

/**
 * The experiment's row. With `statements` (a write path's prepared statements) it is read without the
 * query builder, as runRow reads a run: the same SQL, without building and compiling it each time.
 */
export async function experimentRow(
  db: Reader,
  id: string,
  statements?: RowStatements,
): Promise<Selectable<ExperimentsTable> | undefined> {
  // An id that is not digits, or past what the column holds, names no experiment (PostgreSQL would
  // refuse to compare it).
  const canonical = canonicalExperimentId(id);
  if (canonical === undefined) return undefined;
  if (statements) {
    const { rows } = await statements.run<Selectable<ExperimentsTable>>(
      db,
      'select * from "experiments" where "experiment_id" = ?',
      [canonical],
    );
    return rows[0];
  }
  return db.selectFrom('experiments').selectAll().where('experiment_id', '=', canonical).executeTakeFirst();
}

export async function requireExperimentRow(
  db: Reader,
  id: string,
  statements?: RowStatements,
): Promise<Selectable<ExperimentsTable>> {
  const row = await experimentRow(db, id, statements);
  if (!row) throw MlflowError.notFound(`No Experiment with id=${id} exists`);
  return row;
}

export async function requireActiveExperiment(
  db: Reader,
  id: string,
  statements?: RowStatements,
): Promise<Selectable<ExperimentsTable>> {
  const row = await requireExperimentRow(db, id, statements);
  if (row.lifecycle_stage !== 'active') {
    throw MlflowError.invalidParameter(
      `The experiment ${id} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`,
    );
  }
  return row;
}

// ---------------------------------------------------------------- runs

/**
 * The run's row, read with a prepared statement of `statements` (the run write path's hottest read).
 * With `lock` (in a write transaction) the row stays locked on PostgreSQL until the transaction ends:
 * another server process writing the same run then waits for this commit, so read-then-write logic
 * (the latest metric values, an update's answer) never works from a row another process is changing.
 * FOR NO KEY UPDATE is what an UPDATE of the row takes anyway, and unlike FOR UPDATE it does not block
 * inserts of metrics, params or tags that reference the run. SQLite has one writer at a time already.
 */
export async function runRow(
  statements: RowStatements,
  db: Reader,
  runId: string,
  lock = false,
): Promise<Selectable<RunsTable> | undefined> {
  const { rows } = await statements.run<Selectable<RunsTable>>(
    db,
    lock && statements.dialect === 'postgres'
      ? 'select * from "runs" where "run_uuid" = ? for no key update'
      : 'select * from "runs" where "run_uuid" = ?',
    [runId],
  );
  return rows[0];
}

export async function requireRunRow(
  statements: RowStatements,
  db: Reader,
  runId: string,
  lock = false,
): Promise<Selectable<RunsTable>> {
  const row = await runRow(statements, db, runId, lock);
  if (!row) throw MlflowError.notFound(`Run with id=${runId} not found`);
  return row;
}

/** The row of a run that must be active, locked for the write transaction `db` (see runRow). */
export async function requireActiveRun(
  statements: RowStatements,
  db: Reader,
  runId: string,
): Promise<Selectable<RunsTable>> {
  const row = await requireRunRow(statements, db, runId, true);
  if (row.lifecycle_stage !== 'active') {
    throw MlflowError.invalidParameter(
      `The run ${runId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`,
    );
  }
  return row;
}
