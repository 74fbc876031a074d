// MLflow 3's logged models: getting and searching them (reads); creating, finalizing, deleting, tags,
// params and a run's outputs (writes). Run writes that link or measure models call the transaction
// helpers exported here (logModelMetrics, insertModelInputs); run hydration reads modelLinksOfRuns.
import { randomUUID } from 'node:crypto';
import { type Kysely, type RawBuilder, type Selectable, type SqlBool, sql } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import { experimentIdValues } from '../entities/experiment-id.js';
import { LOGGED_MODEL_STATUSES, type LoggedModel, type LoggedModelMetric } from '../entities/logged-model.js';
import type { Metric, ModelInput, ModelOutput, Tag } from '../entities/tracking.js';
import { comparisons } from '../search/filter-ast.js';
import { type ArtifactLocations, appendToUri } from './artifact-locations.js';
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import type { WriteTransaction } from './group-commit.js';
import { type DatasetCondition, loggedModelFilterSql } from './logged-model-search-sql.js';
import type { CreateLoggedModelInput, SearchLoggedModelsQuery } from './logged-model-store.js';
import type { Database, LoggedModelMetricsTable, LoggedModelsTable } from './schema.js';
import { experimentRow } from './tracking-rows.js';

type Reader = Kysely<Database> | WriteTransaction;

/** Bind-parameter lists are chunked below SQLite's limit on variables per statement. */
const CHUNK = 500;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function notFound(modelId: string): MlflowError {
  return MlflowError.notFound(`Logged model with ID '${modelId}' not found.`);
}

/** MLflow's model ids: `m-` and a random UUID's 32 hex digits. */
function newModelId(): string {
  return `m-${randomUUID().replaceAll('-', '')}`;
}

function metricFromRow(row: Selectable<LoggedModelMetricsTable>): LoggedModelMetric {
  const metric: LoggedModelMetric = {
    key: row.metric_name,
    value: row.metric_value === null ? Number.NaN : Number(row.metric_value),
    timestamp: Number(row.metric_timestamp_ms),
    step: Number(row.metric_step),
    model_id: row.model_id,
    run_id: row.run_id,
  };
  if (row.dataset_name !== null) metric.dataset_name = row.dataset_name;
  if (row.dataset_digest !== null) metric.dataset_digest = row.dataset_digest;
  return metric;
}

async function modelRow(db: Reader, modelId: string): Promise<Selectable<LoggedModelsTable> | undefined> {
  return db.selectFrom('logged_models').selectAll().where('model_id', '=', modelId).executeTakeFirst();
}

/** Any model with the id, deleted ones included, as MLflow's writes look them up. */
async function requireModelRow(db: Reader, modelId: string): Promise<Selectable<LoggedModelsTable>> {
  const row = await modelRow(db, modelId);
  if (!row) throw notFound(modelId);
  return row;
}

async function upsertModelTags(
  trx: WriteTransaction,
  model: Selectable<LoggedModelsTable>,
  tags: Tag[],
): Promise<void> {
  // The last value of a key wins, within a request as across requests.
  const latest = new Map(tags.map((t) => [t.key, t.value]));
  for (const part of chunks([...latest])) {
    await trx
      .insertInto('logged_model_tags')
      .values(
        part.map(([key, value]) => ({
          model_id: model.model_id,
          experiment_id: model.experiment_id,
          tag_key: key,
          tag_value: value,
        })),
      )
      .onConflict((oc) =>
        oc
          .columns(['model_id', 'tag_key'])
          .doUpdateSet((eb) => ({ tag_value: eb.ref('excluded.tag_value') })),
      )
      .execute();
  }
}

/** Tags, params and metrics of the given models, three queries per chunk of models. */
async function modelsWithData(db: Reader, rows: Selectable<LoggedModelsTable>[]): Promise<LoggedModel[]> {
  const tags = new Map<string, Tag[]>();
  const params = new Map<string, Tag[]>();
  const metrics = new Map<string, LoggedModelMetric[]>();
  const push = <T>(map: Map<string, T[]>, id: string, item: T) => {
    const list = map.get(id);
    if (list) list.push(item);
    else map.set(id, [item]);
  };
  for (const part of chunks(rows.map((r) => r.model_id))) {
    const [tagRows, paramRows, metricRows] = await Promise.all([
      db
        .selectFrom('logged_model_tags')
        .select(['model_id', 'tag_key', 'tag_value'])
        .where('model_id', 'in', part)
        .orderBy('model_id')
        .orderBy('tag_key')
        .execute(),
      db
        .selectFrom('logged_model_params')
        .select(['model_id', 'param_key', 'param_value'])
        .where('model_id', 'in', part)
        .orderBy('model_id')
        .orderBy('param_key')
        .execute(),
      db
        .selectFrom('logged_model_metrics')
        .selectAll()
        .where('model_id', 'in', part)
        .orderBy('model_id')
        .orderBy('metric_name')
        .orderBy('metric_timestamp_ms')
        .orderBy('metric_step')
        .orderBy('run_id')
        .execute(),
    ]);
    for (const t of tagRows) push(tags, t.model_id, { key: t.tag_key, value: t.tag_value });
    for (const p of paramRows) push(params, p.model_id, { key: p.param_key, value: p.param_value });
    for (const m of metricRows) push(metrics, m.model_id, metricFromRow(m));
  }
  return rows.map((row) => {
    const info: LoggedModel['info'] = {
      model_id: row.model_id,
      experiment_id: String(row.experiment_id),
      name: row.name,
      creation_timestamp_ms: Number(row.creation_timestamp_ms),
      last_updated_timestamp_ms: Number(row.last_updated_timestamp_ms),
      artifact_uri: row.artifact_location,
      status: LOGGED_MODEL_STATUSES[Number(row.status)] ?? 'LOGGED_MODEL_STATUS_UNSPECIFIED',
      tags: tags.get(row.model_id) ?? [],
    };
    if (row.model_type !== null) info.model_type = row.model_type;
    if (row.source_run_id !== null) info.source_run_id = row.source_run_id;
    if (row.status_message !== null) info.status_message = row.status_message;
    return {
      info,
      data: { params: params.get(row.model_id) ?? [], metrics: metrics.get(row.model_id) ?? [] },
    };
  });
}

/**
 * Records the metrics that name a model (MLflow 3's model_id on log-metric and log-batch) against
 * that model too, inside the run write that logs them. A point already recorded (same model, key,
 * timestamp, step and run) keeps its first value, as MLflow's primary key has it.
 */
export async function logModelMetrics(
  trx: WriteTransaction,
  runId: string,
  experimentId: string,
  metrics: Metric[],
): Promise<void> {
  const linked = metrics.filter((m) => m.model_id);
  const modelIds = [...new Set(linked.map((m) => m.model_id as string))];
  for (const part of chunks(modelIds)) {
    const found = await trx
      .selectFrom('logged_models')
      .select('model_id')
      .where('model_id', 'in', part)
      .execute();
    const known = new Set(found.map((r) => r.model_id));
    const missing = part.find((id) => !known.has(id));
    if (missing !== undefined) throw notFound(missing);
  }
  for (const part of chunks(linked)) {
    await trx
      .insertInto('logged_model_metrics')
      .values(
        part.map((m) => ({
          model_id: m.model_id as string,
          metric_name: m.key,
          metric_timestamp_ms: m.timestamp,
          metric_step: m.step,
          metric_value: Number.isNaN(m.value) ? null : m.value,
          experiment_id: experimentId,
          run_id: runId,
          dataset_uuid: null,
          dataset_name: m.dataset_name || null,
          dataset_digest: m.dataset_digest || null,
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

/** MLflow's LogInputs models: links from the run (RUN_INPUT) to each model (MODEL_INPUT). */
export async function insertModelInputs(
  trx: WriteTransaction,
  runId: string,
  modelIds: string[],
): Promise<void> {
  for (const part of chunks([...new Set(modelIds)])) {
    await trx
      .insertInto('inputs')
      .values(
        part.map((modelId) => ({
          input_uuid: randomUUID().replaceAll('-', ''),
          source_type: 'RUN_INPUT',
          source_id: runId,
          destination_type: 'MODEL_INPUT',
          destination_id: modelId,
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

/** The model inputs and outputs of each of the given runs (one query over the inputs table). */
export async function modelLinksOfRuns(
  db: Reader,
  runIds: string[],
): Promise<Map<string, { inputs: ModelInput[]; outputs: ModelOutput[] }>> {
  const byRun = new Map<string, { inputs: ModelInput[]; outputs: ModelOutput[] }>();
  const rows = await db
    .selectFrom('inputs')
    .select(['source_type', 'source_id', 'destination_id', 'step'])
    .where('source_type', 'in', ['RUN_INPUT', 'RUN_OUTPUT'])
    .where('source_id', 'in', runIds)
    .orderBy('source_id')
    .orderBy('destination_id')
    .execute();
  for (const r of rows) {
    let links = byRun.get(r.source_id);
    if (!links) {
      links = { inputs: [], outputs: [] };
      byRun.set(r.source_id, links);
    }
    if (r.source_type === 'RUN_INPUT') links.inputs.push({ model_id: r.destination_id });
    else links.outputs.push({ model_id: r.destination_id, step: Number(r.step ?? 0) });
  }
  return byRun;
}

export class LoggedModelReads {
  private readonly db: Kysely<Database>;

  constructor(database: ReadOnlyDatabase) {
    this.db = database.reader;
  }

  async getLoggedModel(modelId: string): Promise<LoggedModel | undefined> {
    const row = await modelRow(this.db, modelId);
    if (!row || row.lifecycle_stage === 'deleted') return undefined;
    return (await modelsWithData(this.db, [row]))[0];
  }

  async searchLoggedModels(query: SearchLoggedModelsQuery): Promise<{ items: LoggedModel[]; more: boolean }> {
    const experimentIds = experimentIdValues(query.experimentIds);
    if (experimentIds.length === 0) return { items: [], more: false };
    const where: RawBuilder<SqlBool>[] = [
      sql<SqlBool>`m.lifecycle_stage = 'active'`,
      sql<SqlBool>`m.experiment_id in (${sql.join(experimentIds)})`,
    ];
    const onDatasets = datasetsSql(query.datasets);
    if (query.filter) where.push(loggedModelFilterSql(query.filter, onDatasets));
    const hasMetricClause = comparisons(query.filter).some((c) => c.entity === 'metric');
    // Datasets without a metric clause keep the models with any metric on one of them, as in MLflow.
    if (onDatasets && !hasMetricClause) {
      where.push(
        sql<SqlBool>`exists (select 1 from logged_model_metrics dm where dm.model_id = m.model_id and ${onDatasets(sql.ref('dm.dataset_name'), sql.ref('dm.dataset_digest'))})`,
      );
    }
    const joins: RawBuilder<unknown>[] = [];
    const order: RawBuilder<unknown>[] = [];
    query.orderBy.forEach((o, i) => {
      const direction = sql.raw(o.ascending ? 'asc' : 'desc');
      let value: RawBuilder<unknown>;
      if (o.kind === 'attribute') {
        value = sql.ref(`m.${o.column}`);
      } else {
        // The model's latest value of the metric (highest timestamp, then step), on the datasets asked for.
        const alias = `ob${i}`;
        const conditions = [sql<SqlBool>`metric_name = ${o.key}`];
        if (o.datasetName !== undefined) conditions.push(sql<SqlBool>`dataset_name = ${o.datasetName}`);
        if (o.datasetDigest !== undefined) conditions.push(sql<SqlBool>`dataset_digest = ${o.datasetDigest}`);
        joins.push(sql`left join (
            select model_id, metric_value, row_number() over (
              partition by model_id order by metric_timestamp_ms desc, metric_step desc, run_id desc
            ) as rn
            from logged_model_metrics where ${sql.join(conditions, sql` and `)}
          ) ${sql.raw(alias)} on ${sql.ref(`${alias}.model_id`)} = m.model_id and ${sql.ref(`${alias}.rn`)} = 1`);
        value = sql.ref(`${alias}.metric_value`);
      }
      // Missing values last in either direction, as MLflow orders them.
      order.push(sql`case when ${value} is null then 1 else 0 end asc`, sql`${value} ${direction}`);
    });
    if (!query.orderBy.some((o) => o.kind === 'attribute' && o.column === 'creation_timestamp_ms')) {
      order.push(sql`m.creation_timestamp_ms desc`);
    }
    // A total order, so that pages (offsets) neither repeat nor skip models with equal keys.
    order.push(sql`m.model_id asc`);
    const { rows } = await sql<Selectable<LoggedModelsTable>>`
      select m.* from logged_models m ${sql.join(joins, sql` `)}
      where ${sql.join(where, sql` and `)}
      order by ${sql.join(order)}
      limit ${query.maxResults + 1} offset ${query.offset}`.execute(this.db);
    const page = rows.slice(0, query.maxResults);
    return { items: await modelsWithData(this.db, page), more: rows.length > query.maxResults };
  }
}

export class LoggedModelWrites {
  constructor(
    private readonly database: WriteOnlyDatabase,
    private readonly locations: ArtifactLocations,
  ) {}

  /** Writes to one model stay in order (see Writer.run). */
  #write<T>(modelId: string | undefined, op: (trx: WriteTransaction) => Promise<T>): Promise<T> {
    return this.database.writer.run(op, modelId);
  }

  createLoggedModel(input: CreateLoggedModelInput): Promise<LoggedModel> {
    const modelId = newModelId();
    return this.#write(modelId, async (trx) => {
      const experiment = await experimentRow(trx, input.experimentId);
      if (!experiment) throw MlflowError.notFound(`No Experiment with id=${input.experimentId} exists`);
      if (experiment.lifecycle_stage !== 'active') {
        throw MlflowError.invalidParameter(
          `The experiment ${input.experimentId} must be in the 'active' state. Current state is ${experiment.lifecycle_stage}.`,
        );
      }
      const experimentId = experiment.experiment_id;
      const now = Date.now();
      const row: Selectable<LoggedModelsTable> = {
        model_id: modelId,
        experiment_id: experimentId,
        name: input.name,
        // MLflow's layout: <experiment artifact location>/models/<model id>/artifacts.
        artifact_location: appendToUri(
          experiment.artifact_location ?? this.locations.experiment(experimentId),
          'models',
          modelId,
          'artifacts',
        ),
        creation_timestamp_ms: now,
        last_updated_timestamp_ms: now,
        status: 1,
        lifecycle_stage: 'active',
        model_type: input.modelType ?? null,
        source_run_id: input.sourceRunId ?? null,
        status_message: null,
      };
      await trx.insertInto('logged_models').values(row).execute();
      for (const part of chunks(input.params)) {
        await trx
          .insertInto('logged_model_params')
          .values(
            part.map((p) => ({
              model_id: modelId,
              experiment_id: experimentId,
              param_key: p.key,
              param_value: p.value,
            })),
          )
          .execute();
      }
      await upsertModelTags(trx, row, input.tags);
      return modelsWithData(trx, [row]).then((models) => models[0]);
    });
  }

  finalizeLoggedModel(modelId: string, status: number): Promise<LoggedModel> {
    return this.#write(modelId, async (trx) => {
      const row = await requireModelRow(trx, modelId);
      const changes = { status, last_updated_timestamp_ms: Date.now() };
      await trx.updateTable('logged_models').set(changes).where('model_id', '=', modelId).execute();
      return (await modelsWithData(trx, [{ ...row, ...changes }]))[0];
    });
  }

  deleteLoggedModel(modelId: string): Promise<void> {
    return this.#write(modelId, async (trx) => {
      await requireModelRow(trx, modelId);
      await trx
        .updateTable('logged_models')
        .set({ lifecycle_stage: 'deleted', last_updated_timestamp_ms: Date.now() })
        .where('model_id', '=', modelId)
        .execute();
    });
  }

  setLoggedModelTags(modelId: string, tags: Tag[]): Promise<void> {
    return this.#write(modelId, async (trx) => {
      const row = await requireModelRow(trx, modelId);
      await upsertModelTags(trx, row, tags);
    });
  }

  replaceLoggedModelTag(
    modelId: string,
    key: string,
    expected: string | null,
    value: string,
  ): Promise<boolean> {
    return this.#write(modelId, async (trx) => {
      const row = await requireModelRow(trx, modelId);
      // Single statements, so PostgreSQL checks the old value on the row it locks for the change.
      if (expected === null) {
        const inserted = await trx
          .insertInto('logged_model_tags')
          .values({
            model_id: modelId,
            experiment_id: row.experiment_id,
            tag_key: key,
            tag_value: value,
          })
          .onConflict((oc) => oc.columns(['model_id', 'tag_key']).doNothing())
          .executeTakeFirst();
        return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
      }
      const updated = await trx
        .updateTable('logged_model_tags')
        .set({ tag_value: value })
        .where('model_id', '=', modelId)
        .where('tag_key', '=', key)
        .where('tag_value', '=', expected)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) > 0;
    });
  }

  deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    return this.#write(modelId, async (trx) => {
      await requireModelRow(trx, modelId);
      const result = await trx
        .deleteFrom('logged_model_tags')
        .where('model_id', '=', modelId)
        .where('tag_key', '=', key)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) {
        throw MlflowError.notFound(`No tag with key '${key}' found for model with ID '${modelId}'.`);
      }
    });
  }

  /**
   * Params are write-once, as a run's are: logging a key again with its value is harmless, with
   * another value an error (MLflow fails such a request with a database integrity error).
   */
  logLoggedModelParams(modelId: string, params: Tag[]): Promise<void> {
    return this.#write(modelId, async (trx) => {
      const row = await requireModelRow(trx, modelId);
      const existing = new Map<string, string>();
      for (const part of chunks(params.map((p) => p.key))) {
        const rows = await trx
          .selectFrom('logged_model_params')
          .select(['param_key', 'param_value'])
          .where('model_id', '=', modelId)
          .where('param_key', 'in', part)
          .execute();
        for (const r of rows) existing.set(r.param_key, r.param_value);
      }
      for (const p of params) {
        const old = existing.get(p.key);
        if (old !== undefined && old !== p.value) {
          throw MlflowError.invalidParameter(
            `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${old}' for logged model ID='${modelId}'. Attempted logging new value '${p.value}'.`,
          );
        }
      }
      const fresh = params.filter((p) => !existing.has(p.key));
      for (const part of chunks(fresh)) {
        await trx
          .insertInto('logged_model_params')
          .values(
            part.map((p) => ({
              model_id: modelId,
              experiment_id: row.experiment_id,
              param_key: p.key,
              param_value: p.value,
            })),
          )
          .onConflict((oc) => oc.columns(['model_id', 'param_key']).doNothing())
          .execute();
      }
    });
  }

  /**
   * Links models to the run that produced them (MLflow's LogOutputs): inputs rows from the run
   * (RUN_OUTPUT) to each model (MODEL_OUTPUT) with the step. Logging the same link again is a no-op.
   */
  logOutputs(runId: string, models: { modelId: string; step: number }[]): Promise<void> {
    // Keyed on the run, like the run's other writes.
    return this.#write(runId, async (trx) => {
      const run = await trx
        .selectFrom('runs')
        .select('lifecycle_stage')
        .where('run_uuid', '=', runId)
        .executeTakeFirst();
      if (!run) throw MlflowError.notFound(`Run with id=${runId} not found`);
      if (run.lifecycle_stage !== 'active') {
        throw MlflowError.invalidParameter(
          `The run ${runId} must be in the 'active' state. Current state is ${run.lifecycle_stage}.`,
        );
      }
      for (const part of chunks(models)) {
        await trx
          .insertInto('inputs')
          .values(
            part.map((m) => ({
              input_uuid: randomUUID().replaceAll('-', ''),
              source_type: 'RUN_OUTPUT',
              source_id: runId,
              destination_type: 'MODEL_OUTPUT',
              destination_id: m.modelId,
              step: m.step,
            })),
          )
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    });
  }
}

function datasetsSql(datasets: SearchLoggedModelsQuery['datasets']): DatasetCondition | undefined {
  if (datasets.length === 0) return undefined;
  return (name, digest) =>
    sql<SqlBool>`(${sql.join(
      datasets.map((d) =>
        d.digest === undefined
          ? sql`${name} = ${d.name}`
          : sql`(${name} = ${d.name} and ${digest} = ${d.digest})`,
      ),
      sql` or `,
    )})`;
}
