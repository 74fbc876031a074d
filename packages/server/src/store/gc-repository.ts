// Permanent deletion (MLflow's gc): which runs and experiments are in the deleted stage (reads), and
// removing one with every row that belongs to it, in one transaction (writes).
import { MlflowError } from '../entities/errors.js';
import { canonicalExperimentId } from '../entities/experiment-id.js';
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import type { WriteTransaction } from './group-commit.js';
import { RowStatements } from './row-statements.js';
import { chunks, EXPERIMENTS, requireExperimentRow, requireRunRow } from './tracking-rows.js';

export class GcReads {
  private readonly db;

  constructor(database: ReadOnlyDatabase) {
    this.db = database.reader;
  }

  /** Ids of runs in the deleted stage whose deleted_time is at least `olderThanMs` ago, as MLflow's gc picks them. */
  async deletedRunIds(olderThanMs = 0): Promise<string[]> {
    const rows = await this.db
      .selectFrom('runs')
      .select('run_uuid')
      .where('lifecycle_stage', '=', 'deleted')
      .where('deleted_time', '<=', Date.now() - olderThanMs)
      .orderBy('run_uuid')
      .execute();
    return rows.map((r) => r.run_uuid);
  }

  /**
   * Ids of experiments in the deleted stage; with `lastUpdatedBefore`, only those last updated before
   * that time (milliseconds since the epoch), as MLflow's gc filters them.
   */
  async deletedExperimentIds(lastUpdatedBefore?: number): Promise<string[]> {
    let query = this.db
      .selectFrom('experiments')
      .select('experiment_id')
      .where('lifecycle_stage', '=', 'deleted');
    if (lastUpdatedBefore !== undefined) query = query.where('last_update_time', '<', lastUpdatedBefore);
    const rows = await query.orderBy('experiment_id').execute();
    return rows.map((r) => String(r.experiment_id));
  }

  /** Ids of the runs of an experiment that are in the deleted stage. */
  async deletedRunIdsOfExperiment(experimentId: string): Promise<string[]> {
    const canonical = canonicalExperimentId(experimentId);
    if (canonical === undefined) return [];
    const rows = await this.db
      .selectFrom('runs')
      .select('run_uuid')
      .where('experiment_id', '=', canonical)
      .where('lifecycle_stage', '=', 'deleted')
      .orderBy('run_uuid')
      .execute();
    return rows.map((r) => r.run_uuid);
  }
}

/** Removes every row of the given runs: dataset links with their tags, metrics, params, tags, the runs. */
async function removeRunRows(trx: WriteTransaction, runIds: string[]): Promise<void> {
  for (const ids of chunks(runIds)) {
    const links = trx
      .selectFrom('inputs')
      .select('input_uuid')
      .where('destination_type', '=', 'RUN')
      .where('destination_id', 'in', ids);
    await trx.deleteFrom('input_tags').where('input_uuid', 'in', links).execute();
    await trx
      .deleteFrom('inputs')
      .where('destination_type', '=', 'RUN')
      .where('destination_id', 'in', ids)
      .execute();
    // MLflow 3's links from the runs to logged models they used or produced.
    await trx
      .deleteFrom('inputs')
      .where('source_type', 'in', ['RUN_INPUT', 'RUN_OUTPUT'])
      .where('source_id', 'in', ids)
      .execute();
    // The artifact quota's landed counter goes with the run; its reservations expire on their own.
    for (const table of ['metrics', 'latest_metrics', 'params', 'tags', 'artifact_landed_bytes'] as const) {
      await trx.deleteFrom(table).where('run_uuid', 'in', ids).execute();
    }
    await trx.deleteFrom('runs').where('run_uuid', 'in', ids).execute();
  }
}

export class GcWrites {
  private readonly rows: RowStatements;

  constructor(private readonly database: WriteOnlyDatabase) {
    this.rows = new RowStatements(database.dialect);
  }

  /**
   * Permanently deletes a run in the deleted stage and all its rows, in one transaction (MLflow's
   * _hard_delete_run). The stage is checked in the same transaction, so a run restored meanwhile stays.
   */
  hardDeleteRun(runId: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      const row = await requireRunRow(this.rows, trx, runId);
      if (row.lifecycle_stage !== 'deleted') {
        throw MlflowError.invalidParameter(
          `Run ${runId} is not in \`deleted\` lifecycle stage. Only runs in \`deleted\` lifecycle stage can be deleted.`,
        );
      }
      await removeRunRows(trx, [runId]);
    }, runId);
  }

  /**
   * Permanently deletes an experiment in the deleted stage with everything that belongs to it: its
   * remaining runs and their rows, its datasets (and the links of any run to them), its tags. One
   * transaction (MLflow's _hard_delete_experiment).
   */
  hardDeleteExperiment(id: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      const row = await requireExperimentRow(trx, id);
      if (row.lifecycle_stage !== 'deleted') {
        throw MlflowError.invalidParameter(
          `Experiments ['${id}'] are not in the deleted lifecycle stage. Only experiments in the deleted lifecycle stage can be hard-deleted.`,
        );
      }
      const experimentId = row.experiment_id;
      const runs = await trx
        .selectFrom('runs')
        .select('run_uuid')
        .where('experiment_id', '=', experimentId)
        .execute();
      await removeRunRows(
        trx,
        runs.map((r) => r.run_uuid),
      );
      const datasets = trx
        .selectFrom('datasets')
        .select('dataset_uuid')
        .where('experiment_id', '=', experimentId);
      const links = trx
        .selectFrom('inputs')
        .select('input_uuid')
        .where('source_type', '=', 'DATASET')
        .where('source_id', 'in', datasets);
      await trx.deleteFrom('input_tags').where('input_uuid', 'in', links).execute();
      await trx
        .deleteFrom('inputs')
        .where('source_type', '=', 'DATASET')
        .where('source_id', 'in', datasets)
        .execute();
      await trx.deleteFrom('datasets').where('experiment_id', '=', experimentId).execute();
      await trx.deleteFrom('experiment_tags').where('experiment_id', '=', experimentId).execute();
      // Evaluation datasets outlive an experiment (they may serve others); only their links to it go.
      await trx
        .deleteFrom('entity_associations')
        .where('source_type', '=', 'evaluation_dataset')
        .where('destination_type', '=', 'experiment')
        .where('destination_id', '=', String(experimentId))
        .execute();
      await trx.deleteFrom('experiments').where('experiment_id', '=', experimentId).execute();
    }, EXPERIMENTS);
  }
}
