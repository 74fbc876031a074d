// The datasets logged to runs of some experiments, one summary per dataset and context (MLflow's
// SearchDatasets, which the UI's dataset filter reads).
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** One dataset of an experiment with the context (training, eval, ...) it was logged under. */
export interface DatasetSummary {
  experiment_id: string;
  name: string;
  digest: string;
  /** The `mlflow.data.context` tag of the input; absent when an input has none. */
  context?: string;
}

/** MLflow answers at most this many summaries, whatever the number of experiments. */
export const MAX_DATASET_SUMMARIES = 1000;

/**
 * The distinct (experiment, name, digest, context) of the datasets used as inputs in `experimentIds`;
 * ids that are not numbers name no experiment. Ordered, where MLflow leaves the order to the
 * database, so that the answer is the same on SQLite and PostgreSQL.
 */
export async function searchDatasetSummaries(
  db: Kysely<Database>,
  experimentIds: string[],
): Promise<DatasetSummary[]> {
  const ids = experimentIds.filter((id) => /^\d{1,18}$/.test(id)).map(Number);
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('datasets as d')
    .innerJoin('inputs as i', 'i.source_id', 'd.dataset_uuid')
    .leftJoin('input_tags as t', (join) =>
      join.onRef('t.input_uuid', '=', 'i.input_uuid').on('t.name', '=', 'mlflow.data.context'),
    )
    .select(['d.experiment_id', 'd.name', 'd.digest', 't.value as context'])
    .distinct()
    .where('d.experiment_id', 'in', ids)
    .orderBy('d.experiment_id')
    .orderBy('d.name')
    .orderBy('d.digest')
    .orderBy('t.value')
    .limit(MAX_DATASET_SUMMARIES)
    .execute();
  return rows.map((r) => ({
    experiment_id: String(r.experiment_id),
    name: r.name,
    digest: r.digest,
    ...(r.context === null ? {} : { context: r.context }),
  }));
}
