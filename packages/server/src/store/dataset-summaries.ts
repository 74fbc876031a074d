// The datasets the runs of some experiments used, one row per (dataset, context): MLflow's SearchDatasets.
import { type Kysely, sql } from 'kysely';
import type { DatasetSummary } from '../entities/tracking.js';
import type { Database } from './schema.js';

/** MLflow stops at this many summaries and offers no paging. */
export const MAX_DATASET_SUMMARIES = 1000;

/** The input tag that says what a run used a dataset for (training, evaluation, ...). */
const CONTEXT_TAG = 'mlflow.data.context';

export async function searchDatasetSummaries(
  db: Kysely<Database>,
  experimentIds: string[],
): Promise<DatasetSummary[]> {
  if (experimentIds.length === 0) return [];
  // A left join: an input without a context tag still names its dataset, with no context.
  const rows = await db
    .selectFrom('datasets as d')
    .innerJoin('inputs as i', (join) =>
      join.onRef('i.source_id', '=', 'd.dataset_uuid').on('i.source_type', '=', 'DATASET'),
    )
    .leftJoin('input_tags as t', (join) =>
      join.onRef('t.input_uuid', '=', 'i.input_uuid').on('t.name', '=', CONTEXT_TAG),
    )
    .select(['d.experiment_id', 'd.name', 'd.digest', 't.value as context'])
    .distinct()
    .where('d.experiment_id', 'in', experimentIds)
    // Not an order MLflow promises; it makes the 1000 kept the same ones on every call.
    .orderBy(sql`d.experiment_id, d.name, d.digest, t.value`)
    .limit(MAX_DATASET_SUMMARIES)
    .execute();
  return rows.map((r) => ({
    experiment_id: String(r.experiment_id),
    name: r.name,
    digest: r.digest,
    ...(r.context === null ? {} : { context: r.context }),
  }));
}
