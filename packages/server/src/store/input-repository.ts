// A run's inputs: the datasets it used (with the input's tags) and, in MLflow 3, the logged models it
// used. One write (log-inputs, keyed by the run); the reading side is datasetInputsOfRuns, for
// hydration, and the experiments' dataset summaries.

import { canonicalExperimentIds } from '../entities/experiment-id.js';
import type { DatasetInput, DatasetSummary, Tag } from '../entities/tracking.js';
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import { searchDatasetSummaries } from './dataset-summaries.js';
import { insertModelInputs } from './logged-model-repository.js';
import { RowStatements } from './row-statements.js';
import { chunks, newUuid, type Reader, requireActiveRun } from './tracking-rows.js';

export class InputReads {
  constructor(private readonly database: ReadOnlyDatabase) {}

  /** The datasets the runs of these experiments used (MLflow's SearchDatasets). */
  searchDatasets(experimentIds: string[]): Promise<DatasetSummary[]> {
    // Ids that are no experiment's (not numbers, or past the column's range) match nothing.
    return searchDatasetSummaries(this.database.reader, canonicalExperimentIds(experimentIds));
  }
}

export class InputWrites {
  private readonly rows: RowStatements;

  constructor(private readonly database: WriteOnlyDatabase) {
    this.rows = new RowStatements(database.dialect);
  }

  /** Dataset inputs and (MLflow 3) the ids of logged models the run used. */
  logInputs(runId: string, datasets: DatasetInput[], modelIds: string[] = []): Promise<void> {
    return this.database.writer.run(async (trx) => {
      const run = await requireActiveRun(this.rows, trx, runId);
      if (modelIds.length > 0) await insertModelInputs(trx, runId, modelIds);
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
          dataset = { dataset_uuid: newUuid() };
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
        const inputUuid = newUuid();
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
    }, runId);
  }
}

/** Dataset inputs (with their tags) of the given runs, by run id. */
export async function datasetInputsOfRuns(
  db: Reader,
  runIds: string[],
): Promise<Map<string, DatasetInput[]>> {
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
