import { randomUUID } from 'node:crypto';
import { expressionBuilder, type Kysely, type RawBuilder, type Selectable, type SqlBool, sql } from 'kysely';
import { MlflowError, type ParamConflict, ParamConflictError } from '../entities/errors.js';
import type { LoggedModel } from '../entities/logged-model.js';
import type {
  DatasetInput,
  DatasetSummary,
  EncodedRun,
  Experiment,
  LifecycleStage,
  Metric,
  MetricWithRunId,
  Param,
  Run,
  RunInfo,
  RunStatus,
  Tag,
  ViewType,
} from '../entities/tracking.js';
import { accessSql } from './access-sql.js';
import type { ArtifactLocations } from './artifact-locations.js';
import type { StoreDatabase } from './database.js';
import { searchDatasetSummaries } from './dataset-summaries.js';
import { encodedKeyValues, encodedLatestMetrics, keyValueList, metricList } from './encoded-rows.js';
import type { WriteTransaction } from './group-commit.js';
import {
  type HistoryBounds,
  type HistoryPosition,
  historyPointPrefix,
  lastPointPosition,
} from './history-json.js';
import {
  afterSql,
  cursorColumns,
  cursorOf,
  invalidPageToken,
  orderBySql,
  parsePosition,
  type SortKey,
} from './keyset.js';
import type {
  CreateLoggedModelInput,
  LoggedModelStore,
  SearchLoggedModelsQuery,
} from './logged-model-store.js';
import { bucketGrid, extremeSteps } from './metric-extremes.js';
import { RowStatements } from './row-statements.js';
import { RunDataCache, type RunDataJson } from './run-data-cache.js';
import { searchRunRows } from './run-search.js';
import type { Database, ExperimentsTable, MetricsTable, RunsTable } from './schema.js';
import { experimentFilterSql, experimentOrderExpression } from './search-sql.js';
import { SqlLoggedModels } from './sql-logged-models.js';
import type {
  CreateExperimentInput,
  CreateRunInput,
  MetricHistoryQuery,
  MetricHistoryRest,
  Page,
  SearchExperimentsQuery,
  SearchRunsQuery,
  TrackingStore,
  UpdateRunInput,
} from './tracking-store.js';

type Reader = Kysely<Database> | WriteTransaction;

const RUN_NAME_TAG = 'mlflow.runName';
/** The write key of changes to experiments (see Writer.run). */
const EXPERIMENTS = 'experiments';
/** Bind-parameter lists are chunked below SQLite's limit of 32,766 variables per statement. */
const CHUNK = 500;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function lifecycleStages(viewType: ViewType): LifecycleStage[] {
  if (viewType === 'ALL') return ['active', 'deleted'];
  return viewType === 'DELETED_ONLY' ? ['deleted'] : ['active'];
}

/** Metric points and latest metrics are inserted with their columns in this order. */
const METRIC_COLUMNS = ['run_uuid', 'key', 'timestamp', 'step', 'value', 'is_nan'] as const;

function metricRow(runId: string, m: Metric): unknown[] {
  const nan = Number.isNaN(m.value);
  return [runId, m.key, m.timestamp, m.step, nan ? 0 : m.value, nan ? 1 : 0];
}

const METRIC_POINTS = { table: 'metrics', columns: METRIC_COLUMNS, tail: 'on conflict do nothing' };
const LATEST_METRICS = {
  table: 'latest_metrics',
  columns: METRIC_COLUMNS,
  tail: 'on conflict ("run_uuid", "key") do update set "value" = "excluded"."value", "timestamp" = "excluded"."timestamp", "step" = "excluded"."step", "is_nan" = "excluded"."is_nan"',
};
const NEW_PARAMS = {
  table: 'params',
  columns: ['run_uuid', 'key', 'value'],
  tail: 'on conflict ("run_uuid", "key") do nothing returning "key"',
};
const RUN_TAGS = {
  table: 'tags',
  columns: ['run_uuid', 'key', 'value'],
  tail: 'on conflict ("run_uuid", "key") do update set "value" = "excluded"."value"',
};
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

function metricFromRow(
  row: Pick<Selectable<MetricsTable>, 'key' | 'value' | 'timestamp' | 'step' | 'is_nan'>,
): Metric {
  return {
    key: row.key,
    value: row.is_nan ? Number.NaN : Number(row.value),
    timestamp: Number(row.timestamp),
    step: Number(row.step),
  };
}

/** MLflow's rule for the latest value of a metric: highest step, then timestamp, then value. */
function isNewer(a: Metric, b: Metric): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value > b.value || (Number.isNaN(b.value) && !Number.isNaN(a.value));
}

function runInfoFromRow(row: Selectable<RunsTable>): RunInfo {
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

/** MLflow's history order (timestamp, step, value), made total by is_nan; the metrics_history_uq index order. */
const HISTORY_ORDER = sql`${sql.ref('timestamp')}, ${sql.ref('step')}, ${sql.ref('value')}, is_nan`;

/** Points per slice of a long history read by the reader threads (streamMetricHistoryAfter). */
const HISTORY_SLICE_POINTS = 5_000;
/** At most this many slices, however uneven the history's timestamps. */
const MAX_HISTORY_SLICES = 10_000;

/** A page of metric history as JSON text, with the number of points in it. */
type HistoryJsonRow = { json: string | null; count: number };

/** Reads the `after` of a metric history page token: [timestamp, step, stored value, is_nan]. */
function parseHistoryPosition(raw: unknown): HistoryPosition {
  const after = (raw as { after?: unknown } | null)?.after;
  if (
    !Array.isArray(after) ||
    after.length !== 4 ||
    !after.every((n) => typeof n === 'number' && Number.isFinite(n)) ||
    (after[3] !== 0 && after[3] !== 1)
  ) {
    throw invalidPageToken(raw);
  }
  return after as HistoryPosition;
}

/** The SQL implementation of TrackingStore, shared by the SQLite and PostgreSQL dialects. */
export class SqlTrackingStore implements TrackingStore, LoggedModelStore {
  private readonly db: Kysely<Database>;
  /** MLflow 3's logged models live in their own module; their methods below forward to it. */
  private readonly models: SqlLoggedModels;
  /**
   * PostgreSQL pays a round trip per batch, so larger batches go faster (10,000 points: 2.2 s for a
   * million, against 3.5 s with 2,000). SQLite runs in-process at the same speed either way, and
   * 1,000 points (about 85 KB of text) keep each batch's string in V8's young generation, which
   * keeps the server's peak memory lowest.
   */
  readonly historyBatchSize: number;
  /** Params, tags and latest metrics of runs read before, as JSON (see run-data-cache.ts). */
  private readonly runData = new RunDataCache();
  /** The hot write statements, made without the query builder (see row-statements.ts). */
  private readonly rows: RowStatements;

  constructor(
    private readonly database: StoreDatabase,
    private readonly locations: ArtifactLocations,
  ) {
    this.db = database.reader;
    this.models = new SqlLoggedModels(database, locations);
    this.historyBatchSize = database.dialect === 'sqlite' ? 1_000 : 10_000;
    this.rows = new RowStatements(database.dialect);
  }

  /** Gives the Default experiment its artifact location once the server's artifact root is known. */
  async init(): Promise<void> {
    await this.write(EXPERIMENTS, (trx) =>
      trx
        .updateTable('experiments')
        .set({ artifact_location: this.locations.experiment('0') })
        .where('experiment_id', '=', 0)
        .where('artifact_location', 'is', null)
        .execute(),
    );
  }

  close(): Promise<void> {
    return this.database.close();
  }

  /** `key` orders writes that must not interleave: a run id, or EXPERIMENTS for experiment changes. */
  private write<T>(key: string | undefined, op: (trx: WriteTransaction) => Promise<T>): Promise<T> {
    return this.database.writer.run(op, key);
  }

  // ---------------------------------------------------------------- experiments

  private experimentFromRow(row: Selectable<ExperimentsTable>, tags: Tag[]): Experiment {
    const id = String(row.experiment_id);
    return {
      experiment_id: id,
      name: row.name,
      artifact_location: row.artifact_location ?? this.locations.experiment(id),
      lifecycle_stage: row.lifecycle_stage as LifecycleStage,
      creation_time: Number(row.creation_time),
      last_update_time: Number(row.last_update_time),
      tags,
    };
  }

  private async experimentsWithTags(db: Reader, rows: Selectable<ExperimentsTable>[]): Promise<Experiment[]> {
    const tagsById = new Map<number, Tag[]>();
    for (const ids of chunks(rows.map((r) => Number(r.experiment_id)))) {
      const tags = await db
        .selectFrom('experiment_tags')
        .selectAll()
        .where('experiment_id', 'in', ids)
        .execute();
      for (const t of tags) {
        const list = tagsById.get(Number(t.experiment_id)) ?? [];
        list.push({ key: t.key, value: t.value });
        tagsById.set(Number(t.experiment_id), list);
      }
    }
    return rows.map((r) => this.experimentFromRow(r, tagsById.get(Number(r.experiment_id)) ?? []));
  }

  private async experimentRow(db: Reader, id: string): Promise<Selectable<ExperimentsTable> | undefined> {
    if (!/^\d+$/.test(id)) return undefined;
    return db
      .selectFrom('experiments')
      .selectAll()
      .where('experiment_id', '=', Number(id))
      .executeTakeFirst();
  }

  private async requireExperimentRow(db: Reader, id: string): Promise<Selectable<ExperimentsTable>> {
    const row = await this.experimentRow(db, id);
    if (!row) throw MlflowError.notFound(`No Experiment with id=${id} exists`);
    return row;
  }

  private async requireActiveExperiment(db: Reader, id: string): Promise<Selectable<ExperimentsTable>> {
    const row = await this.requireExperimentRow(db, id);
    if (row.lifecycle_stage !== 'active') {
      throw MlflowError.invalidParameter(
        `The experiment ${id} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`,
      );
    }
    return row;
  }

  createExperiment(input: CreateExperimentInput): Promise<string> {
    return this.write(EXPERIMENTS, async (trx) => {
      const existing = await trx
        .selectFrom('experiments')
        .select('lifecycle_stage')
        .where('name', '=', input.name)
        .executeTakeFirst();
      if (existing) {
        throw new MlflowError(
          'RESOURCE_ALREADY_EXISTS',
          existing.lifecycle_stage === 'deleted'
            ? `Experiment '${input.name}' already exists in deleted state. You can restore the experiment, or permanently delete the experiment to create a new one.`
            : `Experiment '${input.name}' already exists.`,
        );
      }
      const now = Date.now();
      const inserted = await trx
        .insertInto('experiments')
        .values({
          name: input.name,
          artifact_location: input.artifactLocation ?? null,
          lifecycle_stage: 'active',
          creation_time: now,
          last_update_time: now,
        } as Selectable<ExperimentsTable>)
        .returning('experiment_id')
        .executeTakeFirstOrThrow();
      const id = String(inserted.experiment_id);
      if (input.artifactLocation === undefined) {
        await trx
          .updateTable('experiments')
          .set({ artifact_location: this.locations.experiment(id) })
          .where('experiment_id', '=', Number(id))
          .execute();
      }
      if (input.tags.length > 0) {
        await trx
          .insertInto('experiment_tags')
          .values(input.tags.map((t) => ({ experiment_id: Number(id), key: t.key, value: t.value })))
          .execute();
      }
      return id;
    });
  }

  async getExperiment(id: string): Promise<Experiment | undefined> {
    const row = await this.experimentRow(this.db, id);
    return row ? (await this.experimentsWithTags(this.db, [row]))[0] : undefined;
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    const row = await this.db
      .selectFrom('experiments')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? (await this.experimentsWithTags(this.db, [row]))[0] : undefined;
  }

  async searchExperiments(query: SearchExperimentsQuery): Promise<Page<Experiment>> {
    // Keyset paging as for runs (see keyset.ts). Every experiment order key always has a value.
    // MLflow's order: newest first then by id when no order_by is given; otherwise the given keys,
    // then (unless one of them is the id) the id descending.
    const orderBy = query.orderBy.length
      ? query.orderBy
      : [
          { entity: 'attribute' as const, key: 'creation_time', ascending: false },
          { entity: 'attribute' as const, key: 'experiment_id', ascending: true },
        ];
    const keys: SortKey[] = orderBy.map((o) => {
      const value = experimentOrderExpression(o);
      return { value, ascending: o.ascending, type: o.key === 'name' ? 'string' : 'number' };
    });
    if (!orderBy.some((o) => o.key === 'experiment_id'))
      keys.push({ value: sql.ref('experiments.experiment_id'), ascending: false, type: 'number' });
    const order = query.orderBy.map((o) => [o.key, o.ascending]);
    const start = query.start;
    const where: RawBuilder<SqlBool>[] = [
      sql<SqlBool>`experiments.lifecycle_stage in (${sql.join(lifecycleStages(query.viewType))})`,
    ];
    if (query.filter)
      where.push(
        sql<SqlBool>`${experimentFilterSql(expressionBuilder<Database, 'experiments'>(), query.filter)}`,
      );
    const access = query.access && accessSql('experiments.experiment_id', query.access, true);
    if (access) where.push(access);
    if (start && 'after' in start) where.push(afterSql(keys, parsePosition(start.after, order, keys)));
    const offset = start && 'offset' in start ? start.offset : 0;
    const { rows } = await sql<Selectable<ExperimentsTable> & Record<string, unknown>>`
      select experiments.*, ${cursorColumns(keys)} from experiments
      where ${sql.join(where, sql` and `)}
      order by ${orderBySql(keys)} limit ${query.maxResults + 1} offset ${offset}`.execute(this.db);
    const page = rows.slice(0, query.maxResults);
    const items = await this.experimentsWithTags(this.db, page);
    if (rows.length <= query.maxResults) return { items };
    return { items, next: { order, after: cursorOf(page[page.length - 1], keys) } };
  }

  renameExperiment(id: string, newName: string): Promise<void> {
    return this.write(EXPERIMENTS, async (trx) => {
      const row = await this.requireExperimentRow(trx, id);
      if (row.lifecycle_stage !== 'active') {
        throw MlflowError.invalidParameter('Cannot rename a non-active experiment.');
      }
      if (row.name === newName) return;
      const clash = await trx
        .selectFrom('experiments')
        .select('experiment_id')
        .where('name', '=', newName)
        .executeTakeFirst();
      if (clash) throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Experiment '${newName}' already exists.`);
      await trx
        .updateTable('experiments')
        .set({ name: newName, last_update_time: Date.now() })
        .where('experiment_id', '=', Number(id))
        .execute();
    });
  }

  deleteExperiment(id: string): Promise<void> {
    return this.setExperimentStage(id, 'deleted');
  }

  restoreExperiment(id: string): Promise<void> {
    return this.setExperimentStage(id, 'active');
  }

  /** Deleting or restoring an experiment does the same to its runs, as MLflow's SQL store does. */
  private setExperimentStage(id: string, stage: LifecycleStage): Promise<void> {
    return this.write(EXPERIMENTS, async (trx) => {
      // MLflow looks the experiment up among those in the opposite stage, so deleting a deleted
      // experiment (or restoring an active one) reports it as not found.
      const row = await this.experimentRow(trx, id);
      if (!row || row.lifecycle_stage === stage)
        throw MlflowError.notFound(`No Experiment with id=${id} exists`);
      const now = Date.now();
      await trx
        .updateTable('experiments')
        .set({ lifecycle_stage: stage, last_update_time: now })
        .where('experiment_id', '=', Number(id))
        .execute();
      await trx
        .updateTable('runs')
        .set({ lifecycle_stage: stage, deleted_time: stage === 'deleted' ? now : null })
        .where('experiment_id', '=', Number(id))
        .where('lifecycle_stage', '!=', stage)
        .execute();
    });
  }

  setExperimentTag(id: string, tag: Tag): Promise<void> {
    return this.write(EXPERIMENTS, async (trx) => {
      await this.requireActiveExperiment(trx, id);
      await trx
        .insertInto('experiment_tags')
        .values({ experiment_id: Number(id), key: tag.key, value: tag.value })
        .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet({ value: tag.value }))
        .execute();
    });
  }

  deleteExperimentTag(id: string, key: string): Promise<void> {
    return this.write(EXPERIMENTS, async (trx) => {
      await this.requireActiveExperiment(trx, id);
      const result = await trx
        .deleteFrom('experiment_tags')
        .where('experiment_id', '=', Number(id))
        .where('key', '=', key)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) {
        throw MlflowError.notFound(`No tag with name: ${key} in experiment with id ${id}`);
      }
    });
  }

  // ---------------------------------------------------------------- runs

  private async runRow(db: Reader, runId: string): Promise<Selectable<RunsTable> | undefined> {
    const { rows } = await this.rows.run<Selectable<RunsTable>>(
      db,
      'select * from "runs" where "run_uuid" = ?',
      [runId],
    );
    return rows[0];
  }

  private async requireRunRow(db: Reader, runId: string): Promise<Selectable<RunsTable>> {
    const row = await this.runRow(db, runId);
    if (!row) throw MlflowError.notFound(`Run with id=${runId} not found`);
    return row;
  }

  private async requireActiveRun(db: Reader, runId: string): Promise<Selectable<RunsTable>> {
    const row = await this.requireRunRow(db, runId);
    if (row.lifecycle_stage !== 'active') {
      throw MlflowError.invalidParameter(
        `The run ${runId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`,
      );
    }
    return row;
  }

  createRun(input: CreateRunInput): Promise<Run> {
    return this.write(undefined, async (trx) => {
      const experiment = await this.requireActiveExperiment(trx, input.experimentId);
      const runId = randomUUID().replaceAll('-', '');
      const location = experiment.artifact_location ?? this.locations.experiment(input.experimentId);
      const row: Selectable<RunsTable> = {
        run_uuid: runId,
        experiment_id: Number(input.experimentId),
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
      await this.upsertTags(trx, runId, tags);
      return {
        info: runInfoFromRow(row),
        data: { metrics: [], params: [], tags },
        inputs: { dataset_inputs: [] },
      };
    });
  }

  async getRun(runId: string): Promise<Run | undefined> {
    const row = await this.runRow(this.db, runId);
    if (!row) return undefined;
    const [run] = await this.runsWithData(this.db, [row]);
    return {
      ...run,
      data: {
        metrics: run.data.metrics.decode(),
        params: run.data.params.decode(),
        tags: run.data.tags.decode(),
      },
    };
  }

  updateRun(runId: string, update: UpdateRunInput): Promise<RunInfo> {
    return this.write(runId, async (trx) => {
      const row = await this.requireActiveRun(trx, runId);
      const changes: Partial<Selectable<RunsTable>> = {};
      if (update.status !== undefined) changes.status = update.status;
      if (update.endTime !== undefined) changes.end_time = update.endTime;
      if (update.runName !== undefined && update.runName !== '') changes.name = update.runName;
      if (Object.keys(changes).length > 0) {
        await trx.updateTable('runs').set(changes).where('run_uuid', '=', runId).execute();
      }
      if (changes.name !== undefined) {
        await this.upsertTags(trx, runId, [{ key: RUN_NAME_TAG, value: changes.name }]);
        await this.dataChanged(trx, runId);
      }
      return runInfoFromRow({ ...row, ...changes });
    });
  }

  deleteRun(runId: string): Promise<void> {
    return this.write(runId, async (trx) => {
      await this.requireRunRow(trx, runId);
      await trx
        .updateTable('runs')
        .set({ lifecycle_stage: 'deleted', deleted_time: Date.now() })
        .where('run_uuid', '=', runId)
        .execute();
    });
  }

  restoreRun(runId: string): Promise<void> {
    return this.write(runId, async (trx) => {
      await this.requireRunRow(trx, runId);
      await trx
        .updateTable('runs')
        .set({ lifecycle_stage: 'active', deleted_time: null })
        .where('run_uuid', '=', runId)
        .execute();
    });
  }

  // ---------------------------------------------------------------- permanent deletion (gc)

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
    if (!/^\d+$/.test(experimentId)) return [];
    const rows = await this.db
      .selectFrom('runs')
      .select('run_uuid')
      .where('experiment_id', '=', Number(experimentId))
      .where('lifecycle_stage', '=', 'deleted')
      .orderBy('run_uuid')
      .execute();
    return rows.map((r) => r.run_uuid);
  }

  /** Removes every row of the given runs: dataset links with their tags, metrics, params, tags, the runs. */
  private async removeRunRows(trx: WriteTransaction, runIds: string[]): Promise<void> {
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
      for (const table of ['metrics', 'latest_metrics', 'params', 'tags'] as const) {
        await trx.deleteFrom(table).where('run_uuid', 'in', ids).execute();
      }
      await trx.deleteFrom('runs').where('run_uuid', 'in', ids).execute();
    }
  }

  /**
   * Permanently deletes a run in the deleted stage and all its rows, in one transaction (MLflow's
   * _hard_delete_run). The stage is checked in the same transaction, so a run restored meanwhile stays.
   */
  hardDeleteRun(runId: string): Promise<void> {
    return this.write(runId, async (trx) => {
      const row = await this.requireRunRow(trx, runId);
      if (row.lifecycle_stage !== 'deleted') {
        throw MlflowError.invalidParameter(
          `Run ${runId} is not in \`deleted\` lifecycle stage. Only runs in \`deleted\` lifecycle stage can be deleted.`,
        );
      }
      await this.removeRunRows(trx, [runId]);
    });
  }

  /**
   * Permanently deletes an experiment in the deleted stage with everything that belongs to it: its
   * remaining runs and their rows, its datasets (and the links of any run to them), its tags. One
   * transaction (MLflow's _hard_delete_experiment).
   */
  hardDeleteExperiment(id: string): Promise<void> {
    return this.write(EXPERIMENTS, async (trx) => {
      const row = await this.requireExperimentRow(trx, id);
      if (row.lifecycle_stage !== 'deleted') {
        throw MlflowError.invalidParameter(
          `Experiments ['${id}'] are not in the deleted lifecycle stage. Only experiments in the deleted lifecycle stage can be hard-deleted.`,
        );
      }
      const experimentId = Number(id);
      const runs = await trx
        .selectFrom('runs')
        .select('run_uuid')
        .where('experiment_id', '=', experimentId)
        .execute();
      await this.removeRunRows(
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
      await trx.deleteFrom('experiments').where('experiment_id', '=', experimentId).execute();
    });
  }

  private async upsertTags(trx: WriteTransaction, runId: string, tags: Tag[]): Promise<void> {
    for (const part of chunks(tags)) {
      await this.rows.insert(
        trx,
        RUN_TAGS,
        part.map((t) => [runId, t.key, t.value]),
      );
    }
  }

  logBatch(runId: string, metrics: Metric[], params: Param[], tags: Tag[]): Promise<void> {
    return this.write(runId, async (trx) => {
      const run = await this.requireActiveRun(trx, runId);
      if (params.length > 0) await this.logParams(trx, runId, params);
      if (metrics.length > 0) {
        await this.logMetrics(trx, runId, metrics);
        // Metrics that name a logged model (MLflow 3) are recorded against it too.
        if (metrics.some((m) => m.model_id))
          await this.models.logModelMetrics(trx, runId, Number(run.experiment_id), metrics);
      }
      if (tags.length > 0) await this.upsertTags(trx, runId, tags);
      if (metrics.length > 0 || params.length > 0 || tags.length > 0) {
        const runName = tags.findLast((t) => t.key === RUN_NAME_TAG);
        await this.dataChanged(trx, runId, runName?.value);
      }
    });
  }

  /**
   * Raises the run's data_version, which tells readers that its params, tags or latest metrics
   * changed (see run-data-cache.ts); every write to those tables calls it in its transaction.
   * `name` also renames the run, in the same statement.
   */
  private async dataChanged(trx: WriteTransaction, runId: string, name?: string): Promise<void> {
    if (name === undefined) {
      await this.rows.run(trx, 'update "runs" set "data_version" = "data_version" + 1 where "run_uuid" = ?', [
        runId,
      ]);
    } else {
      await this.rows.run(
        trx,
        'update "runs" set "data_version" = "data_version" + 1, "name" = ? where "run_uuid" = ?',
        [name, runId],
      );
    }
  }

  /**
   * Params are write-once. The common case, all keys new, is a single insert; only keys that were
   * already there are read back to tell a harmless repeat from a conflicting value.
   */
  private async logParams(trx: WriteTransaction, runId: string, params: Param[]): Promise<void> {
    const wanted = new Map<string, string>();
    const conflicts: ParamConflict[] = [];
    for (const p of params) {
      const first = wanted.get(p.key);
      if (first === undefined) wanted.set(p.key, p.value);
      else if (first !== p.value) conflicts.push({ key: p.key, oldValue: first, newValue: p.value });
    }
    if (conflicts.length > 0) throw new ParamConflictError(runId, conflicts);
    const inserted = new Set<string>();
    for (const part of chunks([...wanted])) {
      const { rows } = await this.rows.insert<{ key: string }>(
        trx,
        NEW_PARAMS,
        part.map(([key, value]) => [runId, key, value]),
      );
      for (const r of rows) inserted.add(r.key);
    }
    if (inserted.size === wanted.size) return;
    const repeated = [...wanted.keys()].filter((k) => !inserted.has(k));
    const existing = new Map<string, string>();
    for (const part of chunks(repeated)) {
      const rows = await trx
        .selectFrom('params')
        .select(['key', 'value'])
        .where('run_uuid', '=', runId)
        .where('key', 'in', part)
        .execute();
      for (const r of rows) existing.set(r.key, r.value);
    }
    for (const key of repeated) {
      const [old, value] = [existing.get(key), wanted.get(key)];
      if (old !== undefined && value !== undefined && old !== value)
        conflicts.push({ key, oldValue: old, newValue: value });
    }
    // Throwing rolls back this operation, including the keys inserted above.
    if (conflicts.length > 0) throw new ParamConflictError(runId, conflicts);
  }

  private async logMetrics(trx: WriteTransaction, runId: string, metrics: Metric[]): Promise<void> {
    for (const part of chunks(metrics)) {
      await this.rows.insert(
        trx,
        METRIC_POINTS,
        part.map((m) => metricRow(runId, m)),
      );
    }
    const candidates = new Map<string, Metric>();
    for (const m of metrics) {
      const best = candidates.get(m.key);
      if (!best || isNewer(m, best)) candidates.set(m.key, m);
    }
    const current = new Map<string, Metric>();
    for (const part of chunks([...candidates.keys()])) {
      const { rows } = await this.rows.run<Selectable<MetricsTable>>(
        trx,
        `select * from "latest_metrics" where "run_uuid" = ? and "key" in (${RowStatements.list(part.length)})`,
        [runId, ...part],
      );
      for (const r of rows) current.set(r.key, metricFromRow(r));
    }
    const winners = [...candidates.values()].filter((m) => {
      const old = current.get(m.key);
      return !old || !isNewer(old, m);
    });
    for (const part of chunks(winners)) {
      await this.rows.insert(
        trx,
        LATEST_METRICS,
        part.map((m) => metricRow(runId, m)),
      );
    }
  }

  deleteTag(runId: string, key: string): Promise<void> {
    return this.write(runId, async (trx) => {
      await this.requireActiveRun(trx, runId);
      const result = await trx
        .deleteFrom('tags')
        .where('run_uuid', '=', runId)
        .where('key', '=', key)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) {
        throw MlflowError.notFound(`No tag with name: ${key} in run with id ${runId}`);
      }
      await this.dataChanged(trx, runId);
    });
  }

  logInputs(runId: string, datasets: DatasetInput[], modelIds: string[] = []): Promise<void> {
    return this.write(runId, async (trx) => {
      const run = await this.requireActiveRun(trx, runId);
      if (modelIds.length > 0) await this.models.insertModelInputs(trx, runId, modelIds);
      for (const input of datasets) {
        const d = input.dataset;
        let dataset = await trx
          .selectFrom('datasets')
          .select('dataset_uuid')
          .where('experiment_id', '=', run.experiment_id)
          .where('name', '=', d.name)
          .where('digest', '=', d.digest)
          .executeTakeFirst();
        if (!dataset) {
          dataset = { dataset_uuid: randomUUID().replaceAll('-', '') };
          await trx
            .insertInto('datasets')
            .values({
              dataset_uuid: dataset.dataset_uuid,
              experiment_id: run.experiment_id,
              name: d.name,
              digest: d.digest,
              dataset_source_type: d.source_type,
              dataset_source: d.source,
              dataset_schema: d.schema ?? null,
              dataset_profile: d.profile ?? null,
            })
            .execute();
        }
        const link = await trx
          .selectFrom('inputs')
          .select('input_uuid')
          .where('source_type', '=', 'DATASET')
          .where('source_id', '=', dataset.dataset_uuid)
          .where('destination_type', '=', 'RUN')
          .where('destination_id', '=', runId)
          .executeTakeFirst();
        // Logging the same dataset to the same run again is a no-op, as in MLflow.
        if (link) continue;
        const inputUuid = randomUUID().replaceAll('-', '');
        await trx
          .insertInto('inputs')
          .values({
            input_uuid: inputUuid,
            source_type: 'DATASET',
            source_id: dataset.dataset_uuid,
            destination_type: 'RUN',
            destination_id: runId,
          })
          .execute();
        if (input.tags.length > 0) {
          await trx
            .insertInto('input_tags')
            .values(input.tags.map((t) => ({ input_uuid: inputUuid, name: t.key, value: t.value })))
            .onConflict((oc) =>
              oc.columns(['input_uuid', 'name']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
            )
            .execute();
        }
      }
    });
  }

  /**
   * Loads params, tags, latest metrics and dataset inputs for a page of runs, a few queries in all, with
   * the lists encoded as JSON by the database (see encoded-rows.ts). The lists of runs unchanged since
   * they were last read come from the cache instead.
   */
  private async runsWithData(db: Reader, rows: Selectable<RunsTable>[]): Promise<EncodedRun[]> {
    const out: EncodedRun[] = [];
    for (const part of chunks(rows)) {
      const ids = part.map((r) => r.run_uuid);
      const [data, inputs, modelLinks] = await Promise.all([
        this.runDataJson(db, part),
        this.datasetInputs(db, ids),
        this.models.modelLinksOfRuns(db, ids),
      ]);
      for (const row of part) {
        const lists = data.get(row.run_uuid);
        const run: EncodedRun = {
          info: runInfoFromRow(row),
          data: {
            metrics: metricList(lists?.metrics),
            params: keyValueList(lists?.params),
            tags: keyValueList(lists?.tags),
          },
          inputs: { dataset_inputs: inputs.get(row.run_uuid) ?? [] },
        };
        // MLflow 3's model inputs and outputs, only on runs that have them.
        const links = modelLinks.get(row.run_uuid);
        if (links?.inputs.length) run.inputs.model_inputs = links.inputs;
        if (links?.outputs.length) run.outputs = { model_outputs: links.outputs };
        out.push(run);
      }
    }
    return out;
  }

  /** The JSON of each run's params, tags and latest metrics, from the cache or (for the rest) the database. */
  private async runDataJson(db: Reader, rows: Selectable<RunsTable>[]): Promise<Map<string, RunDataJson>> {
    const out = new Map<string, RunDataJson>();
    const missing: Selectable<RunsTable>[] = [];
    for (const row of rows) {
      const cached = this.runData.get(row.run_uuid, Number(row.data_version));
      if (cached) out.set(row.run_uuid, cached);
      else missing.push(row);
    }
    if (missing.length === 0) return out;
    const dialect = this.database.dialect;
    const ids = missing.map((r) => r.run_uuid);
    const [params, tags, metrics] = await Promise.all([
      encodedKeyValues(db, dialect, 'params', ids),
      encodedKeyValues(db, dialect, 'tags', ids),
      encodedLatestMetrics(db, dialect, ids),
    ]);
    for (const row of missing) {
      const id = row.run_uuid;
      const lists = {
        params: params.get(id) ?? '',
        tags: tags.get(id) ?? '',
        metrics: metrics.get(id) ?? '',
      };
      // The lists were read after the row, so they are at least as new as its version. Only committed
      // state is kept: a read inside a write transaction could see changes that are then rolled back.
      if (db === this.db) this.runData.set(id, Number(row.data_version), lists);
      out.set(id, lists);
    }
    return out;
  }

  /** Dataset inputs (with their tags) of the given runs, by run id. */
  private async datasetInputs(db: Reader, runIds: string[]): Promise<Map<string, DatasetInput[]>> {
    const inputs = await db
      .selectFrom('inputs as i')
      .innerJoin('datasets as d', 'd.dataset_uuid', 'i.source_id')
      .select([
        'i.input_uuid',
        'i.destination_id',
        'd.name',
        'd.digest',
        'd.dataset_source_type',
        'd.dataset_source',
        'd.dataset_schema',
        'd.dataset_profile',
      ])
      .where('i.destination_type', '=', 'RUN')
      .where('i.source_type', '=', 'DATASET')
      .where('i.destination_id', 'in', runIds)
      .orderBy('i.input_uuid')
      .execute();
    const byRun = new Map<string, DatasetInput[]>();
    if (inputs.length === 0) return byRun;
    const inputTags = new Map<string, Tag[]>();
    for (const part of chunks(inputs.map((i) => i.input_uuid))) {
      const rowsOfTags = await db
        .selectFrom('input_tags')
        .selectAll()
        .where('input_uuid', 'in', part)
        .execute();
      for (const t of rowsOfTags) {
        const list = inputTags.get(t.input_uuid) ?? [];
        list.push({ key: t.name, value: t.value });
        inputTags.set(t.input_uuid, list);
      }
    }
    for (const i of inputs) {
      const dataset: DatasetInput['dataset'] = {
        name: i.name,
        digest: i.digest,
        source_type: i.dataset_source_type,
        source: i.dataset_source,
      };
      if (i.dataset_schema !== null) dataset.schema = i.dataset_schema;
      if (i.dataset_profile !== null) dataset.profile = i.dataset_profile;
      const list = byRun.get(i.destination_id) ?? [];
      list.push({ tags: inputTags.get(i.input_uuid) ?? [], dataset });
      byRun.set(i.destination_id, list);
    }
    return byRun;
  }

  async searchRuns(query: SearchRunsQuery): Promise<Page<EncodedRun>> {
    const experimentIds = query.experimentIds.filter((id) => /^\d+$/.test(id)).map(Number);
    if (experimentIds.length === 0) return { items: [] };
    const { rows, next } = await searchRunRows(this.db, this.database.dialect, {
      experimentIds,
      stages: lifecycleStages(query.viewType),
      filter: query.filter,
      orderBy: query.orderBy,
      maxResults: query.maxResults,
      start: query.start,
    });
    const items = await this.runsWithData(this.db, rows);
    return next ? { items, next } : { items };
  }

  searchDatasets(experimentIds: string[]): Promise<DatasetSummary[]> {
    // Ids that are no experiment's (not numbers, or past the column's range) match nothing.
    const ids = experimentIds.filter((id) => /^\d{1,10}$/.test(id) && Number(id) <= 2 ** 31 - 1).map(Number);
    return searchDatasetSummaries(this.db, ids);
  }

  // ---------------------------------------------------------------- logged models (sql-logged-models.ts)

  createLoggedModel(input: CreateLoggedModelInput): Promise<LoggedModel> {
    return this.models.createLoggedModel(input);
  }

  getLoggedModel(modelId: string): Promise<LoggedModel | undefined> {
    return this.models.getLoggedModel(modelId);
  }

  finalizeLoggedModel(modelId: string, status: number): Promise<LoggedModel> {
    return this.models.finalizeLoggedModel(modelId, status);
  }

  deleteLoggedModel(modelId: string): Promise<void> {
    return this.models.deleteLoggedModel(modelId);
  }

  setLoggedModelTags(modelId: string, tags: Tag[]): Promise<void> {
    return this.models.setLoggedModelTags(modelId, tags);
  }

  deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    return this.models.deleteLoggedModelTag(modelId, key);
  }

  replaceLoggedModelTag(
    modelId: string,
    key: string,
    expected: string | null,
    value: string,
  ): Promise<boolean> {
    return this.models.replaceLoggedModelTag(modelId, key, expected, value);
  }

  logLoggedModelParams(modelId: string, params: Tag[]): Promise<void> {
    return this.models.logLoggedModelParams(modelId, params);
  }

  /** MLflow's LogOutputs: the models a run produced, each at a step. */
  logOutputs(runId: string, models: { modelId: string; step: number }[]): Promise<void> {
    return this.models.logOutputs(runId, models);
  }

  searchLoggedModels(query: SearchLoggedModelsQuery): Promise<{ items: LoggedModel[]; more: boolean }> {
    return this.models.searchLoggedModels(query);
  }

  // ---------------------------------------------------------------- metric history

  /** The points of a history page: `run_uuid = ? and key = ?`, after the start position if any. */
  private historyRange(query: MetricHistoryQuery): RawBuilder<SqlBool> {
    const start = query.start;
    const range = sql<SqlBool>`run_uuid = ${query.runId} and ${sql.ref('key')} = ${query.key}`;
    if (!start || !('after' in start)) return range;
    const [timestamp, step, value, isNan] = parseHistoryPosition(start.after);
    return sql<SqlBool>`${range} and (${HISTORY_ORDER}) > (${timestamp}, ${step}, ${value}, ${isNan})`;
  }

  private historyOffset(query: MetricHistoryQuery): number {
    return query.start && 'offset' in query.start ? query.start.offset : 0;
  }

  /**
   * An unknown run has an empty history, as in MLflow. Points are ordered by timestamp, step and
   * value as MLflow orders them, then by is_nan, which makes the order total (a NaN is stored as 0
   * with is_nan set), so a page can start right after a point: the metrics_history_uq index
   * (run_uuid, key, timestamp, step, value, is_nan) serves both the seek and the order.
   */
  async getMetricHistory(query: MetricHistoryQuery): Promise<Page<Metric>> {
    const { rows } = await sql<
      Pick<Selectable<MetricsTable>, 'key' | 'value' | 'timestamp' | 'step' | 'is_nan'>
    >`
      select ${sql.ref('key')}, ${sql.ref('value')}, ${sql.ref('timestamp')}, ${sql.ref('step')}, is_nan
      from metrics where ${this.historyRange(query)}
      order by ${HISTORY_ORDER} limit ${query.maxResults + 1} offset ${this.historyOffset(query)}`.execute(
      this.db,
    );
    if (rows.length <= query.maxResults) return { items: rows.map(metricFromRow) };
    const last = rows[query.maxResults - 1];
    return {
      items: rows.slice(0, query.maxResults).map(metricFromRow),
      next: { after: [Number(last.timestamp), Number(last.step), Number(last.value), Number(last.is_nan)] },
    };
  }

  /**
   * getMetricHistory with the page already written as MLflow's JSON by the database: the Metric
   * objects of the page joined by commas. Turning a million rows into JavaScript objects and back
   * into text costs seconds; the database writes the text in a fraction of that. Numbers are the
   * database's round-trip-exact text of each double (SQLite writes 2.0 where JavaScript writes 2;
   * both parse to the same double), NaN is the string "NaN" as in http/wire-json.ts.
   *
   * One point more than the page is read, to know whether another follows; it is cut off the text,
   * and the page's last point, read back from the text, is the position the next page starts after.
   */
  async getMetricHistoryJson(
    query: MetricHistoryQuery,
  ): Promise<{ json: string; count: number; next?: object }> {
    const range = this.historyRange(query);
    const offset = this.historyOffset(query);
    const prefix = historyPointPrefix(query.key);
    const value = sql`(case when is_nan = 1 then '"NaN"' else ${sql.ref('value')} end)`;
    const point = sql`${prefix} || ${value} || ',"timestamp":' || ${sql.ref('timestamp')} || ',"step":' || ${sql.ref('step')} || '}'`;
    // Both databases hand the aggregate the rows of the ordered subquery in that order (PostgreSQL's
    // manual gives this as the usual way to order an aggregate's input); an ORDER BY inside the
    // aggregate would sort every page again, which costs a third (SQLite) to half (PostgreSQL) of
    // the time. The paging tests check the order across pages, ties and NaN on both.
    const aggregate =
      this.database.dialect === 'sqlite'
        ? sql`group_concat(${point}, ',')`
        : sql`string_agg(${prefix} || (case when is_nan = 1 then '"NaN"' else ${sql.ref('value')}::text end) || ',"timestamp":' || ${sql.ref('timestamp')} || ',"step":' || ${sql.ref('step')} || '}', ',')`;
    const { rows } = await sql<HistoryJsonRow>`
      select ${aggregate} as json, count(*) as count from (
        select ${HISTORY_ORDER} from metrics where ${range}
        order by ${HISTORY_ORDER} limit ${query.maxResults + 1} offset ${offset}
      ) page`.execute(this.db);
    const count = Number(rows[0]?.count ?? 0);
    const json = rows[0]?.json ?? '';
    if (count <= query.maxResults) return { json, count };
    const page = json.slice(0, json.lastIndexOf(`,${prefix}`));
    return {
      json: page,
      count: query.maxResults,
      next: { after: await this.lastHistoryPosition(page, query) },
    };
  }

  /**
   * The rest of a history after a page's `next`, all of it or the next `limit` points, read by the
   * history reader threads in slices of timestamps: JSON batches as getMetricHistoryJson's, in
   * order, each beginning with a comma. Undefined when this store has no reader threads or fewer
   * than HISTORY_SLICE_POINTS points are wanted or follow; the caller then goes on in batches. A
   * slice is as wide in time as the next HISTORY_SLICE_POINTS points; a history logged at a steady
   * rate thus splits into slices of about that many points, and any other only into slices of other
   * sizes, which changes the speed and never the result.
   */
  async streamMetricHistoryAfter(
    runId: string,
    key: string,
    next: object,
    limit?: number,
  ): Promise<MetricHistoryRest | undefined> {
    const readers = this.database.historyReaders;
    if (!readers || (limit !== undefined && limit < HISTORY_SLICE_POINTS)) return undefined;
    const position = parseHistoryPosition(next);
    const { rows: probe } = await sql<{ timestamp: number }>`
      select ${sql.ref('timestamp')} from metrics
      where ${this.historyRange({ runId, key, maxResults: 0, start: { after: next } })}
      order by ${HISTORY_ORDER} limit 1 offset ${HISTORY_SLICE_POINTS - 1}`.execute(this.db);
    if (probe.length === 0) return undefined;
    const { rows: end } = await sql<{ last: number }>`
      select max(${sql.ref('timestamp')}) as last from metrics
      where run_uuid = ${runId} and ${sql.ref('key')} = ${key}`.execute(this.db);
    const from = position[0];
    const span = Number(end[0].last) - from + 1;
    const width = Math.max(Number(probe[0].timestamp) - from + 1, Math.ceil(span / MAX_HISTORY_SLICES));
    const slices: HistoryBounds[] = [{ after: position, to: from + width }];
    // For a page, about as many slices as the page needs and one more: reading ahead into the rest
    // of the history would be work thrown away.
    const most = limit === undefined ? Number.POSITIVE_INFINITY : Math.ceil(limit / HISTORY_SLICE_POINTS) + 1;
    for (let lo = from + width; lo < from + span && slices.length < most; lo += width) {
      slices.push({ from: lo, to: lo + width });
    }
    // The last slice is open-ended: it takes all later points (of a page whose slices held fewer
    // points than thought, and those logged since the end was read).
    delete slices[slices.length - 1].to;
    const read = readers.read(runId, key, slices, limit);
    let following: object | undefined;
    const db = this.db;
    const range = (start: object) =>
      this.historyRange({ runId, key, maxResults: 0, start: { after: start } });
    async function* batches(): AsyncGenerator<Uint8Array> {
      yield* read.batches;
      const last = read.last();
      if (limit === undefined || read.sent() < limit || !last) return;
      // A full page: another follows if any point comes after its last one.
      const after = { after: last };
      const { rows } = await sql`select 1 as one from metrics where ${range(after)} limit 1`.execute(db);
      if (rows.length > 0) following = after;
    }
    return { batches: batches(), next: () => following };
  }

  /** [timestamp, step, stored value, is_nan] of the last point of a page of history JSON. */
  private async lastHistoryPosition(page: string, query: MetricHistoryQuery): Promise<number[]> {
    const last = lastPointPosition(page);
    if (last) return last;
    // Not expected; read the position from the table instead.
    const { rows } = await sql<Pick<Selectable<MetricsTable>, 'value' | 'timestamp' | 'step' | 'is_nan'>>`
      select ${sql.ref('timestamp')}, ${sql.ref('step')}, ${sql.ref('value')}, is_nan from metrics
      where ${this.historyRange(query)} order by ${HISTORY_ORDER}
      limit 1 offset ${this.historyOffset(query) + query.maxResults - 1}`.execute(this.db);
    const row = rows[0];
    return [Number(row.timestamp), Number(row.step), Number(row.value), Number(row.is_nan)];
  }

  async getMetricHistoryForRuns(
    runIds: string[],
    key: string,
    maxResults: number,
  ): Promise<MetricWithRunId[]> {
    const rows = await this.db
      .selectFrom('metrics')
      .select(['run_uuid', 'key', 'value', 'timestamp', 'step', 'is_nan'])
      .where('run_uuid', 'in', runIds)
      .where('key', '=', key)
      .orderBy('run_uuid')
      .orderBy('timestamp')
      .orderBy('step')
      .orderBy('value')
      .limit(maxResults)
      .execute();
    return rows.map((r) => ({ ...metricFromRow(r), run_id: r.run_uuid }));
  }

  async getSampledMetricHistory(
    runIds: string[],
    key: string,
    range: { startStep?: number; endStep?: number },
    maxResults: number,
  ): Promise<MetricWithRunId[]> {
    if (runIds.length === 0) return [];
    // MLflow samples on the union of all runs' steps, so every run is drawn at the same x positions,
    // and keeps each run's first and last step so no line is cut short. The sampling runs in SQL: a
    // million-point history never travels to JavaScript, only the chosen steps' points do.
    const bounds = await this.stepBounds(runIds, key);
    if (bounds.length === 0) return [];
    const start = range.startStep ?? 0;
    const end = range.endStep ?? Math.max(...bounds.map((b) => b.hi));
    const inRange = this.db
      .selectFrom('metrics')
      .select('step')
      .distinct()
      .where('run_uuid', 'in', runIds)
      .where('key', '=', key)
      .where('step', '>=', start)
      .where('step', '<=', end);
    const { n, first, last } = await this.db
      .selectFrom(inRange.as('d'))
      .select((eb) => [
        eb.fn.countAll<number>().as('n'),
        eb.fn.min('step').as('first'),
        eb.fn.max('step').as('last'),
      ])
      .executeTakeFirstOrThrow();
    const count = Number(n);
    let chosen: Set<number> | undefined;
    if (count > maxResults && Number(last) - Number(first) + 1 === count) {
      // Every step from first to last is present (the usual history), so a step's rank is its offset
      // from the first: the picks are computed here, without ranking a million steps in SQL.
      chosen = new Set<number>();
      for (let i = 0; i < maxResults; i++) chosen.add(Number(first) + Math.floor((i * count) / maxResults));
      chosen.add(Number(last));
      for (const b of bounds) {
        for (const edge of [b.lo, b.hi]) if (edge >= start && edge <= end) chosen.add(edge);
      }
    } else if (count > maxResults) {
      // Step number rn (0-based, in step order) is picked when some i in [0, max) has
      // floor(i * n / max) = rn, i.e. when ceil(rn * max / n) * n < (rn + 1) * max; integer arithmetic
      // in both dialects. The last step in range is always kept, as MLflow does.
      const max = sql<number>`cast(${maxResults} as bigint)`;
      const total = sql<number>`cast(${count} as bigint)`;
      const ranked = this.db
        .selectFrom(inRange.as('d'))
        .select(['step', sql<number>`row_number() over (order by step) - 1`.as('rn')]);
      const picked = await this.db
        .selectFrom(ranked.as('r'))
        .select('step')
        .where(
          (eb) =>
            sql<SqlBool>`((${eb.ref('rn')} * ${max} + ${total} - 1) / ${total}) * ${total} < (${eb.ref('rn')} + 1) * ${max}`,
        )
        .execute();
      chosen = new Set(picked.map((r) => Number(r.step)));
      chosen.add(Number(last));
      for (const b of bounds) {
        for (const edge of [b.lo, b.hi]) if (edge >= start && edge <= end) chosen.add(edge);
      }
    }
    const steps = chosen ? [...chosen].sort((x, y) => x - y) : undefined;
    const out: MetricWithRunId[] = [];
    for (const runId of runIds) {
      if (!bounds.some((b) => b.run_uuid === runId)) continue;
      out.push(...(await this.pointsAtSteps(runId, key, start, end, steps)));
    }
    return out;
  }

  async getExtremesSampledMetricHistory(
    runIds: string[],
    key: string,
    range: { startStep?: number; endStep?: number },
    maxResults: number,
  ): Promise<MetricWithRunId[]> {
    if (runIds.length === 0) return [];
    const bounds = await this.stepBounds(runIds, key);
    if (bounds.length === 0) return [];
    const start = range.startStep ?? Math.min(...bounds.map((b) => b.lo));
    const end = range.endStep ?? Math.max(...bounds.map((b) => b.hi));
    // A range of at most maxResults steps has nothing to thin out: every point is returned, which is
    // what a chart zoomed in far enough asks for.
    let picks: Map<string, number[]> | undefined;
    if (end - start + 1 > maxResults) {
      const grid = bucketGrid(start, end, Math.floor(maxResults / 4));
      picks = await extremeSteps(this.db, this.database.dialect, runIds, key, grid);
    }
    const out: MetricWithRunId[] = [];
    for (const runId of runIds) {
      if (!bounds.some((b) => b.run_uuid === runId)) continue;
      const steps = picks ? picks.get(runId) : undefined;
      if (picks && !steps) continue;
      out.push(...(await this.pointsAtSteps(runId, key, start, end, steps)));
    }
    return out;
  }

  /** Each run's smallest and largest step of `key`: two index probes per run, where a GROUP BY would scan every point. */
  private async stepBounds(
    runIds: string[],
    key: string,
  ): Promise<{ run_uuid: string; lo: number; hi: number }[]> {
    const bounds: { run_uuid: string; lo: number; hi: number }[] = [];
    for (const runId of runIds) {
      const one = (fn: 'min' | 'max') =>
        this.db
          .selectFrom('metrics')
          .select((eb) => eb.fn[fn]('step').as('v'))
          .where('run_uuid', '=', runId)
          .where('key', '=', key)
          .executeTakeFirst();
      const lo = (await one('min'))?.v;
      if (lo === null || lo === undefined) continue;
      const hi = (await one('max'))?.v;
      bounds.push({ run_uuid: runId, lo: Number(lo), hi: Number(hi) });
    }
    return bounds;
  }

  /** A run's points between the steps (only at `steps` when given), ordered by step, timestamp, value. */
  private async pointsAtSteps(
    runId: string,
    key: string,
    start: number,
    end: number,
    steps: number[] | undefined,
  ): Promise<MetricWithRunId[]> {
    let query = this.db
      .selectFrom('metrics')
      .select(['key', 'value', 'timestamp', 'step', 'is_nan'])
      .where('run_uuid', '=', runId)
      .where('key', '=', key)
      .where('step', '>=', start)
      .where('step', '<=', end);
    if (steps) query = query.where('step', 'in', steps);
    const rows = await query.orderBy('step').orderBy('timestamp').orderBy('value').limit(25000).execute();
    return rows.map((r) => ({ ...metricFromRow(r), run_id: runId }));
  }
}

/**
 * Picks `max` steps spread evenly over the sorted `steps`, plus the last one, as MLflow's
 * bulk-interval endpoint does. The store does the same in SQL; this is its reference in the tests.
 */
export function sampleSteps(steps: number[], max: number): number[] {
  if (steps.length <= max) return steps;
  const out: number[] = [];
  for (let i = 0; i < max; i++) out.push(steps[Math.floor((i * steps.length) / max)]);
  out.push(steps[steps.length - 1]);
  return out;
}
