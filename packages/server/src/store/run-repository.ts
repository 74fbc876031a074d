// Runs: getting and searching whole runs (reads); creating, updating, deleting and restoring them,
// each write keyed by the run so a run's writes stay in order (writes).
import type { Selectable } from 'kysely';
import { experimentIdValues } from '../entities/experiment-id.js';
import type { ResourceLimits } from '../entities/resource-limits.js';
import type { EncodedRun, Run, RunInfo } from '../entities/tracking.js';
import type { ArtifactLocations } from './artifact-locations.js';
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import { checkRunLimit, runDataCounts } from './limit-checks.js';
import { RowStatements } from './row-statements.js';
import { dataChanged, upsertRunTags } from './run-data-repository.js';
import { RunHydrator } from './run-hydration.js';
import { searchRunRows } from './run-search.js';
import type { RunsTable } from './schema.js';
import {
  lifecycleStages,
  newUuid,
  RUN_NAME_TAG,
  requireActiveExperiment,
  requireActiveRun,
  requireRunRow,
  runInfoFromRow,
  runRow,
} from './tracking-rows.js';
import type { CreateRunInput, Page, SearchRunsQuery, UpdateRunInput } from './tracking-store.js';

const RUN_COLUMNS = [
  'run_uuid',
  'experiment_id',
  'name',
  'user_id',
  'status',
  'start_time',
  'end_time',
  'deleted_time',
  'lifecycle_stage',
  'artifact_uri',
  'data_version',
] as const satisfies readonly (keyof RunsTable)[];

export class RunReads {
  private readonly rows: RowStatements;
  private readonly hydrator: RunHydrator;

  constructor(private readonly database: ReadOnlyDatabase) {
    this.rows = new RowStatements(database.dialect);
    this.hydrator = new RunHydrator(database.reader, database.dialect);
  }

  async getRun(runId: string): Promise<Run | undefined> {
    const row = await runRow(this.rows, this.database.reader, runId);
    if (!row) return undefined;
    const [run] = await this.hydrator.runsWithData([row]);
    return {
      ...run,
      data: {
        metrics: run.data.metrics.decode(),
        params: run.data.params.decode(),
        tags: run.data.tags.decode(),
      },
    };
  }

  async searchRuns(query: SearchRunsQuery): Promise<Page<EncodedRun>> {
    const experimentIds = experimentIdValues(query.experimentIds);
    if (experimentIds.length === 0) return { items: [] };
    const { rows, next } = await searchRunRows(this.database.reader, this.database.dialect, {
      experimentIds,
      stages: lifecycleStages(query.viewType),
      filter: query.filter,
      orderBy: query.orderBy,
      maxResults: query.maxResults,
      start: query.start,
    });
    const items = await this.hydrator.runsWithData(rows);
    return next ? { items, next } : { items };
  }
}

export class RunWrites {
  private readonly rows: RowStatements;

  constructor(
    private readonly database: WriteOnlyDatabase,
    private readonly locations: ArtifactLocations,
    private readonly limits: ResourceLimits = {},
  ) {
    this.rows = new RowStatements(database.dialect);
  }

  createRun(input: CreateRunInput): Promise<Run> {
    // No key: a new run cannot race anything, so any lane may take it; except under a runs-per-experiment
    // limit, where the experiment's runs are counted, so its new runs take one lane.
    const key =
      this.limits.runs_per_experiment === undefined ? undefined : `experiment:${input.experimentId}`;
    return this.database.writer.run(async (trx) => {
      const experiment = await requireActiveExperiment(trx, input.experimentId, this.rows);
      await checkRunLimit(trx, this.database.dialect, this.limits, experiment.experiment_id);
      const runId = newUuid();
      const location = experiment.artifact_location ?? this.locations.experiment(experiment.experiment_id);
      const row: Selectable<RunsTable> = {
        run_uuid: runId,
        experiment_id: experiment.experiment_id,
        name: input.runName,
        user_id: input.userId,
        status: 'RUNNING',
        start_time: input.startTime,
        end_time: null,
        deleted_time: null,
        lifecycle_stage: 'active',
        artifact_uri: this.locations.run(location, runId),
        data_version: 0,
      };
      await this.rows.insert(trx, { table: 'runs', columns: RUN_COLUMNS }, [RUN_COLUMNS.map((c) => row[c])]);
      const tags = input.tags
        .filter((t) => t.key !== RUN_NAME_TAG)
        .concat({ key: RUN_NAME_TAG, value: input.runName });
      const counted = await runDataCounts(trx, this.database.dialect, this.limits, runId);
      await upsertRunTags(this.rows, trx, runId, tags);
      await counted.after();
      return {
        info: runInfoFromRow(row),
        data: { metrics: [], params: [], tags },
        inputs: { dataset_inputs: [] },
      };
    }, key);
  }

  updateRun(runId: string, update: UpdateRunInput): Promise<RunInfo> {
    return this.database.writer.run(async (trx) => {
      const row = await requireActiveRun(this.rows, trx, runId);
      const changes: Partial<Selectable<RunsTable>> = {};
      if (update.status !== undefined) changes.status = update.status;
      if (update.endTime !== undefined) changes.end_time = update.endTime;
      if (update.runName !== undefined && update.runName !== '') changes.name = update.runName;
      if (Object.keys(changes).length > 0) {
        await trx.updateTable('runs').set(changes).where('run_uuid', '=', runId).execute();
      }
      if (changes.name !== undefined) {
        await upsertRunTags(this.rows, trx, runId, [{ key: RUN_NAME_TAG, value: changes.name }]);
        await dataChanged(this.rows, trx, runId);
      }
      return runInfoFromRow({ ...row, ...changes });
    }, runId);
  }

  deleteRun(runId: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      await requireRunRow(this.rows, trx, runId);
      await trx
        .updateTable('runs')
        .set({ lifecycle_stage: 'deleted', deleted_time: Date.now() })
        .where('run_uuid', '=', runId)
        .execute();
    }, runId);
  }

  restoreRun(runId: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      await requireRunRow(this.rows, trx, runId);
      await trx
        .updateTable('runs')
        .set({ lifecycle_stage: 'active', deleted_time: null })
        .where('run_uuid', '=', runId)
        .execute();
    }, runId);
  }
}
