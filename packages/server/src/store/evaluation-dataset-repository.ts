// MLflow 3's evaluation datasets: reading a dataset, a page of a search, a page of its records
// (reads); creating, tagging, linking to experiments, deleting, and upserting records (writes).
import { randomUUID } from 'node:crypto';
import { type Kysely, type Selectable, type SqlBool, sql } from 'kysely';
import type { IdFilter } from '../entities/access.js';
import { MlflowError } from '../entities/errors.js';
import {
  type DatasetRecordRow,
  type EvaluationDatasetRecord,
  type RecordUpsert,
  USER_TAG,
  WRAPPED_OUTPUT_KEY,
} from '../entities/evaluation-dataset.js';
import { canonicalExperimentId } from '../entities/experiment-id.js';
import type { DatasetOrder } from '../search/evaluation-dataset-rules.js';
import type { FilterNode } from '../search/filter-ast.js';
import { accessSql } from './access-sql.js';
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import { datasetFilterSql } from './evaluation-dataset-search-sql.js';
import { datasetDigest, datasetProfile, mergedSchema } from './evaluation-dataset-summary.js';
import type { Database, EvaluationDatasetRecordsTable, EvaluationDatasetsTable } from './schema.js';

type DatasetRow = Selectable<EvaluationDatasetsTable>;
type RecordRow = Selectable<EvaluationDatasetRecordsTable>;

/** MLflow's entity_associations types for a dataset's experiment links. */
const DATASET_SOURCE = 'evaluation_dataset';
const EXPERIMENT_DESTINATION = 'experiment';
/** Ids per `in (...)` list, well under either database's parameter limit. */
const CHUNK = 500;

export interface SearchDatasetsQuery {
  /** Only datasets linked to one of these experiments; absent: every dataset. */
  experimentIds?: string[];
  filter?: FilterNode;
  orderBy: DatasetOrder[];
  maxResults: number;
  offset: number;
  /** The caller's readable experiments: a dataset linked to any other one is left out. */
  access?: IdFilter;
}

/** Where a page of records starts: after a record (its creation time and id), or at an offset. */
export type RecordPageStart = { afterTime: number; afterId: string } | { offset: number };

export interface NewDataset {
  name: string;
  tags: Record<string, string>;
  experimentIds: string[];
  createdBy: string | null;
  time: number;
}

export function datasetNotFound(datasetId: string): MlflowError {
  return MlflowError.notFound(`Dataset '${datasetId}' not found`);
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function toRecord(r: RecordRow): DatasetRecordRow {
  return {
    datasetRecordId: r.dataset_record_id,
    datasetId: r.dataset_id,
    inputs: r.inputs,
    outputs: r.outputs,
    expectations: r.expectations,
    tags: r.tags,
    source: r.source,
    sourceId: r.source_id,
    sourceType: r.source_type,
    createdTime: Number(r.created_time ?? 0),
    lastUpdateTime: Number(r.last_update_time ?? 0),
    createdBy: r.created_by,
    lastUpdatedBy: r.last_updated_by,
  };
}

/** The datasets of `rows` with their tags and experiment links, in the order of `rows`. */
async function hydrate(db: Kysely<Database>, rows: DatasetRow[]): Promise<EvaluationDatasetRecord[]> {
  const out = new Map<string, EvaluationDatasetRecord>();
  for (const r of rows) {
    out.set(r.dataset_id, {
      datasetId: r.dataset_id,
      name: r.name,
      tags: {},
      schema: r.schema,
      profile: r.profile,
      digest: r.digest,
      createdTime: Number(r.created_time ?? 0),
      lastUpdateTime: Number(r.last_update_time ?? 0),
      createdBy: r.created_by,
      lastUpdatedBy: r.last_updated_by,
      experimentIds: [],
    });
  }
  for (const ids of chunks([...out.keys()])) {
    const tags = await db
      .selectFrom('evaluation_dataset_tags')
      .select(['dataset_id', 'key', 'value'])
      .where('dataset_id', 'in', ids)
      .orderBy('key')
      .execute();
    for (const t of tags) {
      const dataset = out.get(t.dataset_id);
      if (dataset) dataset.tags[t.key] = t.value ?? '';
    }
    const links = await db
      .selectFrom('entity_associations')
      .select(['source_id', 'destination_id'])
      .where('source_type', '=', DATASET_SOURCE)
      .where('source_id', 'in', ids)
      .where('destination_type', '=', EXPERIMENT_DESTINATION)
      .orderBy('created_time')
      .orderBy('destination_id')
      .execute();
    for (const l of links) out.get(l.source_id)?.experimentIds.push(l.destination_id);
  }
  return [...out.values()];
}

async function getDataset(
  db: Kysely<Database>,
  datasetId: string,
): Promise<EvaluationDatasetRecord | undefined> {
  const row = await db
    .selectFrom('evaluation_datasets')
    .selectAll()
    .where('dataset_id', '=', datasetId)
    .executeTakeFirst();
  if (!row) return undefined;
  const [dataset] = await hydrate(db, [row]);
  return dataset;
}

/**
 * The dataset's row; with `lock` (PostgreSQL), held until the transaction ends, so that concurrent
 * record writes to one dataset take turns: each then sees the records the other added, and the
 * dataset's schema and profile are computed from all of them.
 */
async function requireDataset(trx: Kysely<Database>, datasetId: string, lock = false): Promise<DatasetRow> {
  const q = trx.selectFrom('evaluation_datasets').selectAll().where('dataset_id', '=', datasetId);
  const row = await (lock ? q.forUpdate() : q).executeTakeFirst();
  if (!row) throw datasetNotFound(datasetId);
  return row;
}

/** Refuses ids that name no experiment (a link to nothing would outlive any check). */
async function requireExperiments(trx: Kysely<Database>, experimentIds: string[]): Promise<void> {
  for (const id of experimentIds) {
    const canonical = canonicalExperimentId(id);
    const found =
      canonical === undefined
        ? undefined
        : await trx
            .selectFrom('experiments')
            .select('experiment_id')
            .where('experiment_id', '=', canonical)
            .executeTakeFirst();
    if (!found) throw MlflowError.notFound(`No Experiment with id=${id} exists`);
  }
}

async function link(trx: Kysely<Database>, datasetId: string, experimentIds: string[], now: number) {
  const unique = [...new Set(experimentIds)];
  if (unique.length === 0) return;
  await trx
    .insertInto('entity_associations')
    .values(
      unique.map((id) => ({
        association_id: `a-${randomUUID().replaceAll('-', '')}`,
        source_type: DATASET_SOURCE,
        source_id: datasetId,
        destination_type: EXPERIMENT_DESTINATION,
        destination_id: id,
        created_time: now,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['source_type', 'source_id', 'destination_type', 'destination_id']).doNothing(),
    )
    .execute();
}

/** Inserts or replaces tags; a null value removes the tag. */
async function writeTags(trx: Kysely<Database>, datasetId: string, tags: Record<string, string | null>) {
  for (const [key, value] of Object.entries(tags)) {
    if (value === null) {
      await trx
        .deleteFrom('evaluation_dataset_tags')
        .where('dataset_id', '=', datasetId)
        .where('key', '=', key)
        .execute();
      continue;
    }
    await trx
      .insertInto('evaluation_dataset_tags')
      .values({ dataset_id: datasetId, key, value })
      .onConflict((oc) => oc.columns(['dataset_id', 'key']).doUpdateSet({ value }))
      .execute();
  }
}

async function recordCount(trx: Kysely<Database>, datasetId: string): Promise<number> {
  const row = await trx
    .selectFrom('evaluation_dataset_records')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('dataset_id', '=', datasetId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A stored JSON object; text that is not one (left by another writer) merges as empty. */
function parseObject(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

const jsonOrNull = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

export class EvaluationDatasetReads {
  private readonly db: Kysely<Database>;

  constructor(database: ReadOnlyDatabase) {
    this.db = database.reader;
  }

  getDataset(datasetId: string): Promise<EvaluationDatasetRecord | undefined> {
    return getDataset(this.db, datasetId);
  }

  async searchDatasets(
    query: SearchDatasetsQuery,
  ): Promise<{ items: EvaluationDatasetRecord[]; more: boolean }> {
    let q = this.db.selectFrom('evaluation_datasets as d').selectAll('d');
    if (query.experimentIds) {
      const ids = query.experimentIds;
      if (ids.length === 0) return { items: [], more: false };
      q = q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('entity_associations as a')
            .select(sql.lit(1).as('one'))
            .whereRef('a.source_id', '=', 'd.dataset_id')
            .where('a.source_type', '=', DATASET_SOURCE)
            .where('a.destination_type', '=', EXPERIMENT_DESTINATION)
            .where('a.destination_id', 'in', ids),
        ),
      );
    }
    const readable = query.access && accessSql('a.destination_id', query.access, false);
    if (readable) {
      q = q.where(
        () =>
          sql<SqlBool>`not exists (select 1 from entity_associations a where a.source_type = ${DATASET_SOURCE} and a.source_id = d.dataset_id and a.destination_type = ${EXPERIMENT_DESTINATION} and not (${readable}))`,
      );
    }
    if (query.filter) {
      const predicate = datasetFilterSql(query.filter);
      q = q.where(() => predicate);
    }
    for (const o of query.orderBy) q = q.orderBy(`d.${o.column}`, o.ascending ? 'asc' : 'desc');
    const rows = await q
      .limit(query.maxResults + 1)
      .offset(query.offset)
      .execute();
    return {
      items: await hydrate(this.db, rows.slice(0, query.maxResults)),
      more: rows.length > query.maxResults,
    };
  }

  /** A page of the dataset's records in creation order (undefined for an unknown dataset). */
  async getRecords(
    datasetId: string,
    maxResults: number,
    start: RecordPageStart | undefined,
  ): Promise<{ records: DatasetRecordRow[]; more: boolean } | undefined> {
    const dataset = await this.db
      .selectFrom('evaluation_datasets')
      .select('dataset_id')
      .where('dataset_id', '=', datasetId)
      .executeTakeFirst();
    if (!dataset) return undefined;
    let q = this.db
      .selectFrom('evaluation_dataset_records')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .orderBy('created_time')
      .orderBy('dataset_record_id');
    if (start && 'afterTime' in start) {
      const { afterTime, afterId } = start;
      q = q.where((eb) =>
        eb.or([
          eb('created_time', '>', afterTime),
          eb.and([eb('created_time', '=', afterTime), eb('dataset_record_id', '>', afterId)]),
        ]),
      );
    } else if (start) {
      q = q.offset(start.offset);
    }
    const rows = await q.limit(maxResults + 1).execute();
    return { records: rows.slice(0, maxResults).map(toRecord), more: rows.length > maxResults };
  }
}

export class EvaluationDatasetWrites {
  /** Row locks exist on PostgreSQL; SQLite's writes are one at a time anyway. */
  readonly #locks: boolean;

  constructor(private readonly database: WriteOnlyDatabase) {
    this.#locks = database.dialect === 'postgres';
  }

  createDataset(dataset: NewDataset): Promise<EvaluationDatasetRecord> {
    return this.database.writer.run(async (trx) => {
      await requireExperiments(trx, dataset.experimentIds);
      const datasetId = `d-${randomUUID().replaceAll('-', '')}`;
      await trx
        .insertInto('evaluation_datasets')
        .values({
          dataset_id: datasetId,
          name: dataset.name,
          schema: null,
          profile: null,
          digest: datasetDigest(dataset.name, dataset.time),
          created_time: dataset.time,
          last_update_time: dataset.time,
          created_by: dataset.createdBy,
          last_updated_by: dataset.createdBy,
        })
        .execute();
      await writeTags(trx, datasetId, dataset.tags);
      await link(trx, datasetId, dataset.experimentIds, dataset.time);
      const created = await getDataset(trx, datasetId);
      if (!created) throw datasetNotFound(datasetId);
      return created;
    });
  }

  /** Deletes the dataset, its tags, records and experiment links. */
  deleteDataset(datasetId: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      await requireDataset(trx, datasetId, this.#locks);
      await trx.deleteFrom('evaluation_dataset_records').where('dataset_id', '=', datasetId).execute();
      await trx.deleteFrom('evaluation_dataset_tags').where('dataset_id', '=', datasetId).execute();
      await trx
        .deleteFrom('entity_associations')
        .where('source_type', '=', DATASET_SOURCE)
        .where('source_id', '=', datasetId)
        .execute();
      await trx.deleteFrom('evaluation_datasets').where('dataset_id', '=', datasetId).execute();
    });
  }

  /** Merges `tags` into the dataset's (null removes one); the mlflow.user tag names the updater. */
  setDatasetTags(datasetId: string, tags: Record<string, string | null>, time: number): Promise<void> {
    return this.database.writer.run(async (trx) => {
      await requireDataset(trx, datasetId);
      await writeTags(trx, datasetId, tags);
      const user = tags[USER_TAG];
      await trx
        .updateTable('evaluation_datasets')
        .set(user ? { last_update_time: time, last_updated_by: user } : { last_update_time: time })
        .where('dataset_id', '=', datasetId)
        .execute();
    });
  }

  /** Removes a tag; a tag that is not there is no change. */
  deleteDatasetTag(datasetId: string, key: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      await requireDataset(trx, datasetId);
      await trx
        .deleteFrom('evaluation_dataset_tags')
        .where('dataset_id', '=', datasetId)
        .where('key', '=', key)
        .execute();
    });
  }

  /** Links the dataset to more experiments; a link that exists stays as it is. */
  addExperiments(datasetId: string, experimentIds: string[], time: number): Promise<EvaluationDatasetRecord> {
    return this.database.writer.run(async (trx) => {
      await requireDataset(trx, datasetId);
      await requireExperiments(trx, experimentIds);
      await link(trx, datasetId, experimentIds, time);
      const dataset = await getDataset(trx, datasetId);
      if (!dataset) throw datasetNotFound(datasetId);
      return dataset;
    });
  }

  /** Unlinks the dataset from experiments; an experiment it was not linked to is no change. */
  removeExperiments(datasetId: string, experimentIds: string[]): Promise<EvaluationDatasetRecord> {
    return this.database.writer.run(async (trx) => {
      await requireDataset(trx, datasetId);
      for (const part of chunks([...new Set(experimentIds)])) {
        await trx
          .deleteFrom('entity_associations')
          .where('source_type', '=', DATASET_SOURCE)
          .where('source_id', '=', datasetId)
          .where('destination_type', '=', EXPERIMENT_DESTINATION)
          .where('destination_id', 'in', part)
          .execute();
      }
      const dataset = await getDataset(trx, datasetId);
      if (!dataset) throw datasetNotFound(datasetId);
      return dataset;
    });
  }

  /**
   * Adds each record, or merges it into the stored record with the same inputs (MLflow's rule:
   * outputs replaced when given, expectations and tags merged key by key, creation kept). Then the
   * dataset's schema, profile, digest and update time follow.
   */
  upsertRecords(
    datasetId: string,
    records: RecordUpsert[],
    time: number,
  ): Promise<{ inserted: number; updated: number }> {
    return this.database.writer.run(async (trx) => {
      const dataset = await requireDataset(trx, datasetId, this.#locks);
      let inserted = 0;
      let updated = 0;
      for (const r of records) {
        const tagged = r.tags?.[USER_TAG];
        const user = typeof tagged === 'string' ? tagged : null;
        const existing = await trx
          .selectFrom('evaluation_dataset_records')
          .selectAll()
          .where('dataset_id', '=', datasetId)
          .where('input_hash', '=', r.inputHash)
          .executeTakeFirst();
        if (existing) {
          const changes: Partial<EvaluationDatasetRecordsTable> = { last_update_time: time };
          if (r.outputs !== undefined) {
            changes.outputs = r.outputs === null ? null : JSON.stringify({ [WRAPPED_OUTPUT_KEY]: r.outputs });
          }
          if (r.expectations && Object.keys(r.expectations).length > 0) {
            changes.expectations = JSON.stringify({
              ...parseObject(existing.expectations),
              ...r.expectations,
            });
          }
          if (r.tags && Object.keys(r.tags).length > 0) {
            changes.tags = JSON.stringify({ ...parseObject(existing.tags), ...r.tags });
          }
          if (user) changes.last_updated_by = user;
          await trx
            .updateTable('evaluation_dataset_records')
            .set(changes)
            .where('dataset_record_id', '=', existing.dataset_record_id)
            .execute();
          updated++;
        } else {
          await trx
            .insertInto('evaluation_dataset_records')
            .values({
              dataset_record_id: `dr-${randomUUID().replaceAll('-', '')}`,
              dataset_id: datasetId,
              inputs: JSON.stringify(r.inputs),
              outputs:
                r.outputs === undefined || r.outputs === null
                  ? null
                  : JSON.stringify({ [WRAPPED_OUTPUT_KEY]: r.outputs }),
              expectations: jsonOrNull(r.expectations),
              tags: jsonOrNull(r.tags),
              source: jsonOrNull(r.source),
              source_id: r.sourceId ?? null,
              source_type: r.source?.source_type ?? null,
              created_time: time,
              last_update_time: time,
              created_by: user,
              last_updated_by: user,
              input_hash: r.inputHash,
            })
            .execute();
          inserted++;
        }
      }
      await trx
        .updateTable('evaluation_datasets')
        .set({
          schema: mergedSchema(dataset.schema, records),
          profile: datasetProfile(await recordCount(trx, datasetId)),
          digest: datasetDigest(dataset.name, time),
          last_update_time: time,
        })
        .where('dataset_id', '=', datasetId)
        .execute();
      return { inserted, updated };
    });
  }

  /** Deletes the named records of the dataset; answers how many there were. */
  deleteRecords(datasetId: string, recordIds: string[], time: number): Promise<number> {
    return this.database.writer.run(async (trx) => {
      const dataset = await requireDataset(trx, datasetId, this.#locks);
      let deleted = 0;
      for (const part of chunks([...new Set(recordIds)])) {
        const result = await trx
          .deleteFrom('evaluation_dataset_records')
          .where('dataset_id', '=', datasetId)
          .where('dataset_record_id', 'in', part)
          .executeTakeFirst();
        deleted += Number(result.numDeletedRows);
      }
      if (deleted > 0) {
        await trx
          .updateTable('evaluation_datasets')
          .set({
            profile: datasetProfile(await recordCount(trx, datasetId)),
            digest: datasetDigest(dataset.name, time),
            last_update_time: time,
          })
          .where('dataset_id', '=', datasetId)
          .execute();
      }
      return deleted;
    });
  }
}
