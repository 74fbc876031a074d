// Metric histories of several runs at once, read only: whole histories for the bulk endpoint and
// sampled ones for charts (MLflow's even sampling, and the spike-preserving extremes sampling).
import { type SqlBool, sql } from 'kysely';
import type { MetricWithRunId } from '../entities/tracking.js';
import type { ReadOnlyDatabase } from './database.js';
import { bucketGrid, extremeSteps } from './metric-extremes.js';
import { chunks, metricFromRow } from './tracking-rows.js';

export class SampledHistoryReads {
  private readonly db;

  constructor(private readonly database: ReadOnlyDatabase) {
    this.db = database.reader;
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
    const withPoints = bounds.map((b) => b.run_uuid);
    return inRunOrder(runIds, await this.pointsAtSteps(withPoints, key, start, end, steps));
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
    if (!picks)
      return inRunOrder(
        runIds,
        await this.pointsAtSteps(
          bounds.map((b) => b.run_uuid),
          key,
          start,
          end,
        ),
      );
    // Runs of one chart mostly share their steps, so one read at the union of the picked steps, kept
    // to each run's own picks, costs far less than a statement per run.
    const union = new Set<number>();
    for (const steps of picks.values()) for (const step of steps) union.add(step);
    const points = await this.pointsAtSteps(
      [...picks.keys()],
      key,
      start,
      end,
      [...union].sort((x, y) => x - y),
    );
    const own = new Map([...picks].map(([runId, steps]) => [runId, new Set(steps)]));
    for (const [runId, list] of points) {
      const keep = own.get(runId);
      points.set(
        runId,
        list.filter((m) => keep?.has(m.step)),
      );
    }
    return inRunOrder(runIds, points);
  }

  /**
   * Each run's smallest and largest step of `key`, in one statement: two index probes per run (a
   * GROUP BY would scan every point), without a statement per run.
   */
  private async stepBounds(
    runIds: string[],
    key: string,
  ): Promise<{ run_uuid: string; lo: number; hi: number }[]> {
    const bounds: { run_uuid: string; lo: number; hi: number }[] = [];
    for (const part of chunks([...new Set(runIds)], RUNS_PER_STATEMENT)) {
      const { rows } = await sql<{ run_uuid: string; lo: unknown; hi: unknown }>`
        with r(run_uuid) as (values ${sql.join(part.map((id) => sql`(${id})`))})
        select r.run_uuid,
          (select min(m.step) from metrics m where m.run_uuid = r.run_uuid and m.key = ${key}) as lo,
          (select max(m.step) from metrics m where m.run_uuid = r.run_uuid and m.key = ${key}) as hi
        from r`.execute(this.db);
      for (const row of rows) {
        if (row.lo === null || row.lo === undefined) continue;
        bounds.push({ run_uuid: row.run_uuid, lo: Number(row.lo), hi: Number(row.hi) });
      }
    }
    return bounds;
  }

  /**
   * The runs' points between the steps (only at `steps` when given), each run's ordered by step,
   * timestamp, value and cut at MAX_POINTS_PER_RUN, by run id.
   */
  private async pointsAtSteps(
    runIds: string[],
    key: string,
    start: number,
    end: number,
    steps?: number[],
  ): Promise<Map<string, MetricWithRunId[]>> {
    const byRun = new Map<string, MetricWithRunId[]>();
    for (const part of chunks(runIds, RUNS_PER_STATEMENT)) {
      const atSteps = steps ? sql`and step in (${sql.join(steps)})` : sql``;
      const { rows } = await sql<{
        run_uuid: string;
        key: string;
        value: number;
        timestamp: number;
        step: number;
        is_nan: number;
      }>`
        select run_uuid, key, value, timestamp, step, is_nan from (
          select run_uuid, key, value, timestamp, step, is_nan,
            row_number() over (partition by run_uuid order by step, timestamp, value) as n
          from metrics
          where run_uuid in (${sql.join(part)}) and key = ${key} and step >= ${start} and step <= ${end} ${atSteps}
        ) p
        where n <= ${MAX_POINTS_PER_RUN}
        order by run_uuid, step, timestamp, value`.execute(this.db);
      for (const r of rows) {
        let list = byRun.get(r.run_uuid);
        if (!list) {
          list = [];
          byRun.set(r.run_uuid, list);
        }
        list.push({ ...metricFromRow(r), run_id: r.run_uuid });
      }
    }
    return byRun;
  }
}

/** How many runs one statement names; the bulk endpoints take at most 100 runs anyway. */
const RUNS_PER_STATEMENT = 200;
/** A run's points in one sampled answer at most (the page size MLflow's clients ask for). */
const MAX_POINTS_PER_RUN = 25000;

/** The points of each of `runIds`, in that order (a run named twice is answered twice, as before). */
function inRunOrder(runIds: string[], byRun: Map<string, MetricWithRunId[]>): MetricWithRunId[] {
  const out: MetricWithRunId[] = [];
  for (const runId of runIds) {
    const list = byRun.get(runId);
    if (list) for (const point of list) out.push(point);
  }
  return out;
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
