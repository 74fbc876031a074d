// The spike-preserving sampling of metric histories (get-history-bulk-interval with sampling=MIN_MAX,
// an extension of MLflow's API): the step range is cut into buckets of equal width, and in each bucket
// a run keeps the points at its first and last step and at the steps of its smallest and largest value
// (the M4 rule), so a line drawn through the kept points reaches every extreme the full history does.
//
// Finding a bucket's extremes means reading every point in range once; doing that in SQL keeps a
// million-point history out of JavaScript. The two dialects get there differently, because the fast
// form in one is unavailable or slow in the other:
// - SQLite has no way to take the arg-min and arg-max of a group in one aggregate, and a GROUP BY over
//   a computed bucket sorts the whole range. So each bucket is looked up on its own through the
//   (run_uuid, key, step) index, which covers the value on the clustered table: the first and last step
//   are single probes, the smallest and largest value each one scan of the bucket (SQLite returns the
//   other columns of the row holding a lone min() or max()).
// - PostgreSQL hashes a run's range into buckets in one pass and carries each extreme's step in an
//   array aggregate (arrays compare element by element; steps are exact as doubles, since every step
//   we store came in as a JSON number). Correlated lookups per bucket there cost a heap fetch per
//   point and measured slower; grouping one run at a time spares hashing the run id of every point.
// Ties go to the earliest step in both. NaN points (stored as 0 with is_nan = 1, as MLflow stores them)
// are never a bucket's minimum or maximum; +/-Infinity are stored as the largest finite doubles and so
// are the extremes of their buckets.
import { type Kysely, sql } from 'kysely';
import type { Dialect } from './database.js';
import type { Database } from './schema.js';

/** Buckets of `width` steps from `start`; the last one ends at `end`. */
export interface BucketGrid {
  start: number;
  end: number;
  width: number;
}

/** A grid of at most `buckets` equal buckets over the steps start..end (inclusive). */
export function bucketGrid(start: number, end: number, buckets: number): BucketGrid {
  return { start, end, width: Math.max(1, Math.ceil((end - start + 1) / buckets)) };
}

/** For each run that has points in the grid's range, the steps to keep, in ascending order. */
export async function extremeSteps(
  db: Kysely<Database>,
  dialect: Dialect,
  runIds: string[],
  key: string,
  grid: BucketGrid,
): Promise<Map<string, number[]>> {
  const picks = new Map<string, Set<number>>();
  const add = (runId: string, ...steps: unknown[]) => {
    const set = picks.get(runId) ?? new Set<number>();
    picks.set(runId, set);
    for (const s of steps) if (s !== null && s !== undefined) set.add(Number(s));
  };
  for (const runId of runIds) {
    if (dialect === 'sqlite') {
      for (const row of await sqliteBuckets(db, runId, key, grid)) {
        add(runId, row.first, row.last, row.min_step, row.max_step);
      }
    } else {
      for (const row of await postgresBuckets(db, runId, key, grid)) {
        // The max pair holds the negated step, so that ties also go to the earliest step.
        const maxStep = row.max_pair ? -row.max_pair[1] : undefined;
        add(runId, row.first, row.last, row.min_pair?.[1], maxStep);
      }
    }
  }
  const out = new Map<string, number[]>();
  for (const [runId, set] of picks)
    if (set.size > 0)
      out.set(
        runId,
        [...set].sort((a, b) => a - b),
      );
  return out;
}

interface BucketRow {
  first: unknown;
  last: unknown;
  min_step: unknown;
  max_step: unknown;
}

async function sqliteBuckets(
  db: Kysely<Database>,
  runId: string,
  key: string,
  grid: BucketGrid,
): Promise<BucketRow[]> {
  const inBucket = sql`m.run_uuid = ${runId} and m.key = ${key} and m.step between bk.lo and bk.hi`;
  const { rows } = await sql<BucketRow>`
    with recursive bk(lo, hi) as (
      select ${grid.start}, min(${grid.start} + ${grid.width} - 1, ${grid.end})
      union all
      select lo + ${grid.width}, min(lo + 2 * ${grid.width} - 1, ${grid.end}) from bk where lo + ${grid.width} <= ${grid.end}
    )
    select
      (select min(m.step) from metrics m where ${inBucket}) as first,
      (select max(m.step) from metrics m where ${inBucket}) as last,
      (select step from (select min(m.value), m.step from metrics m where ${inBucket} and m.is_nan = 0)) as min_step,
      (select step from (select max(m.value), m.step from metrics m where ${inBucket} and m.is_nan = 0)) as max_step
    from bk`.execute(db);
  return rows;
}

interface PostgresBucketRow {
  first: unknown;
  last: unknown;
  min_pair: number[] | null;
  max_pair: number[] | null;
}

async function postgresBuckets(
  db: Kysely<Database>,
  runId: string,
  key: string,
  grid: BucketGrid,
): Promise<PostgresBucketRow[]> {
  const start = sql`cast(${grid.start} as bigint)`;
  const { rows } = await sql<PostgresBucketRow>`
    select min(step) as first, max(step) as last,
      min(array[value, cast(step as double precision)]) filter (where is_nan = 0) as min_pair,
      max(array[value, cast(-step as double precision)]) filter (where is_nan = 0) as max_pair
    from metrics
    where run_uuid = ${runId} and key = ${key}
      and step between ${start} and cast(${grid.end} as bigint)
    group by (step - ${start}) / cast(${grid.width} as bigint)`.execute(db);
  return rows;
}
