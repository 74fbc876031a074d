// Quota checks inside a write transaction: the count a write is about to change, read after taking a
// lock that makes concurrent writers to the same experiment or run wait, so none can overshoot.
import { sql } from 'kysely';
import { type LimitName, limitExceeded, type ResourceLimits } from '../entities/resource-limits.js';
import type { Dialect } from './database.js';
import type { WriteTransaction } from './group-commit.js';

/** An arbitrary constant naming the advisory lock that serializes experiment creation across processes. */
const EXPERIMENT_COUNT_LOCK = 7_710_301;

async function count(trx: WriteTransaction, query: ReturnType<typeof sql<{ n: number | string }>>) {
  const { rows } = await query.execute(trx);
  return Number(rows[0]?.n ?? 0);
}

/**
 * On PostgreSQL, locks the row (or, for experiments in total, an advisory lock) until the transaction
 * ends, so another server process or write lane counting the same thing waits for this commit. An
 * SQLite store has one writing connection: its transactions never interleave.
 */
async function lock(
  trx: WriteTransaction,
  dialect: Dialect,
  target: 'experiments' | { experiment: string } | { run: string },
) {
  if (dialect !== 'postgres') return;
  if (target === 'experiments')
    await sql`select pg_advisory_xact_lock(${EXPERIMENT_COUNT_LOCK})`.execute(trx);
  else if ('experiment' in target)
    await sql`select 1 from experiments where experiment_id = ${target.experiment} for update`.execute(trx);
  else await sql`select 1 from runs where run_uuid = ${target.run} for update`.execute(trx);
}

/** Refuses a new experiment when the store holds `experiments` already (deleted ones count until gc). */
export async function checkExperimentLimit(trx: WriteTransaction, dialect: Dialect, limits: ResourceLimits) {
  const limit = limits.experiments;
  if (limit === undefined) return;
  await lock(trx, dialect, 'experiments');
  const current = await count(trx, sql<{ n: number }>`select count(*) as n from experiments`);
  if (current + 1 > limit) throw limitExceeded('experiments', limit, 'the server', current, current + 1);
}

/** Refuses a new run in an experiment that holds `runs_per_experiment` runs (deleted ones until gc). */
export async function checkRunLimit(
  trx: WriteTransaction,
  dialect: Dialect,
  limits: ResourceLimits,
  experimentId: string,
) {
  const limit = limits.runs_per_experiment;
  if (limit === undefined) return;
  await lock(trx, dialect, { experiment: experimentId });
  const current = await count(
    trx,
    sql<{ n: number }>`select count(*) as n from runs where experiment_id = ${experimentId}`,
  );
  if (current + 1 > limit) {
    throw limitExceeded('runs_per_experiment', limit, `experiment ${experimentId}`, current, current + 1);
  }
}

const RUN_DATA: { name: LimitName; table: 'params' | 'tags' | 'metrics' }[] = [
  { name: 'params_per_run', table: 'params' },
  { name: 'tags_per_run', table: 'tags' },
  { name: 'metric_values_per_run', table: 'metrics' },
];

/** The run-data limits in force, if any (so a write without them does no counting at all). */
export function runDataLimited(limits: ResourceLimits): boolean {
  return RUN_DATA.some((d) => limits[d.name] !== undefined);
}

/**
 * Around a write of a run's params, tags or metrics: `before` locks the run and counts; `after` counts
 * again and throws (rolling the whole write back) when a limit is now exceeded. Counting after the
 * write sees exactly what it added: repeated keys, updated tags and duplicate points add nothing.
 */
export async function runDataCounts(
  trx: WriteTransaction,
  dialect: Dialect,
  limits: ResourceLimits,
  runId: string,
): Promise<{ after(): Promise<void> }> {
  const checked = RUN_DATA.filter((d) => limits[d.name] !== undefined);
  if (checked.length === 0) return { after: async () => {} };
  await lock(trx, dialect, { run: runId });
  const counts = async () => {
    const out: number[] = [];
    for (const d of checked) {
      out.push(
        await count(
          trx,
          sql<{ n: number }>`select count(*) as n from ${sql.table(d.table)} where run_uuid = ${runId}`,
        ),
      );
    }
    return out;
  };
  const before = await counts();
  return {
    async after() {
      const now = await counts();
      checked.forEach((d, i) => {
        const limit = limits[d.name] as number;
        if (now[i] > limit && now[i] > before[i]) {
          throw limitExceeded(d.name, limit, `run ${runId}`, before[i], now[i]);
        }
      });
    },
  };
}
