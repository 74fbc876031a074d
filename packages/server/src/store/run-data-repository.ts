// A run's params, tags and metrics (points and latest values): log-batch and tag deletion, each in one
// transaction keyed by the run, which also raises the run's data_version (run-data-cache.ts). Reading
// them back is run-hydration.ts's job.
import type { Selectable } from 'kysely';
import { MlflowError, type ParamConflict, ParamConflictError } from '../entities/errors.js';
import type { ResourceLimits } from '../entities/resource-limits.js';
import type { Metric, Param, Tag } from '../entities/tracking.js';
import type { WriteOnlyDatabase } from './database.js';
import type { WriteTransaction } from './group-commit.js';
import { runDataCounts } from './limit-checks.js';
import { logModelMetrics } from './logged-model-repository.js';
import { RowStatements } from './row-statements.js';
import type { MetricsTable } from './schema.js';
import { chunks, metricFromRow, RUN_NAME_TAG, requireActiveRun } from './tracking-rows.js';

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

/** MLflow's rule for the latest value of a metric: highest step, then timestamp, then value. */
export function isNewerMetric(
  a: Pick<Metric, 'step' | 'timestamp' | 'value'>,
  b: Pick<Metric, 'step' | 'timestamp' | 'value'>,
): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value > b.value || (Number.isNaN(b.value) && !Number.isNaN(a.value));
}

/** Sets the run's tags; the caller raises data_version (dataChanged) in the same transaction. */
export async function upsertRunTags(
  statements: RowStatements,
  trx: WriteTransaction,
  runId: string,
  tags: Tag[],
): Promise<void> {
  // One upsert may not touch a row twice on PostgreSQL, so a key given twice keeps its last value (as
  // SQLite's upsert and MLflow do).
  const lastByKey = new Map(tags.map((t) => [t.key, t]));
  for (const part of chunks([...lastByKey.values()])) {
    await statements.insert(
      trx,
      RUN_TAGS,
      part.map((t) => [runId, t.key, t.value]),
    );
  }
}

/**
 * Raises the run's data_version, which tells readers that its params, tags or latest metrics
 * changed (see run-data-cache.ts); every write to those tables calls it in its transaction.
 * `name` also renames the run, in the same statement.
 */
export async function dataChanged(
  statements: RowStatements,
  trx: WriteTransaction,
  runId: string,
  name?: string,
): Promise<void> {
  if (name === undefined) {
    await statements.run(trx, 'update "runs" set "data_version" = "data_version" + 1 where "run_uuid" = ?', [
      runId,
    ]);
  } else {
    await statements.run(
      trx,
      'update "runs" set "data_version" = "data_version" + 1, "name" = ? where "run_uuid" = ?',
      [name, runId],
    );
  }
}

export class RunDataWrites {
  /** The hot write statements, made without the query builder (see row-statements.ts). */
  private readonly rows: RowStatements;

  constructor(
    private readonly database: WriteOnlyDatabase,
    private readonly limits: ResourceLimits = {},
  ) {
    this.rows = new RowStatements(database.dialect);
  }

  logBatch(runId: string, metrics: Metric[], params: Param[], tags: Tag[]): Promise<void> {
    return this.database.writer.run(async (trx) => {
      const run = await requireActiveRun(this.rows, trx, runId);
      const counted = await runDataCounts(trx, this.database.dialect, this.limits, runId);
      if (params.length > 0) await this.#logParams(trx, runId, params);
      if (metrics.length > 0) {
        await this.#logMetrics(trx, runId, metrics);
        // Metrics that name a logged model (MLflow 3) are recorded against it too.
        if (metrics.some((m) => m.model_id)) await logModelMetrics(trx, runId, run.experiment_id, metrics);
      }
      if (tags.length > 0) await upsertRunTags(this.rows, trx, runId, tags);
      if (metrics.length > 0 || params.length > 0 || tags.length > 0) {
        const runName = tags.findLast((t) => t.key === RUN_NAME_TAG);
        await dataChanged(this.rows, trx, runId, runName?.value);
      }
      await counted.after();
    }, runId);
  }

  deleteTag(runId: string, key: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      await requireActiveRun(this.rows, trx, runId);
      const result = await trx
        .deleteFrom('tags')
        .where('run_uuid', '=', runId)
        .where('key', '=', key)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) {
        throw MlflowError.notFound(`No tag with name: ${key} in run with id ${runId}`);
      }
      await dataChanged(this.rows, trx, runId);
    }, runId);
  }

  /**
   * Params are write-once. The common case, all keys new, is a single insert; only keys that were
   * already there are read back to tell a harmless repeat from a conflicting value.
   */
  async #logParams(trx: WriteTransaction, runId: string, params: Param[]): Promise<void> {
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

  async #logMetrics(trx: WriteTransaction, runId: string, metrics: Metric[]): Promise<void> {
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
      if (!best || isNewerMetric(m, best)) candidates.set(m.key, m);
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
      return !old || !isNewerMetric(old, m);
    });
    for (const part of chunks(winners)) {
      await this.rows.insert(
        trx,
        LATEST_METRICS,
        part.map((m) => metricRow(runId, m)),
      );
    }
  }
}
