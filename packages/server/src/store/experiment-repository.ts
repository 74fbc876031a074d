// Experiments and their tags: lookups and search (reads); create, rename, delete, restore and tag
// changes, each keyed EXPERIMENTS so they never interleave (writes).
import { expressionBuilder, type RawBuilder, type Selectable, type SqlBool, sql } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import { SMALL_EXPERIMENT_IDS } from '../entities/experiment-id.js';
import type { ResourceLimits } from '../entities/resource-limits.js';
import type { Experiment, LifecycleStage, Tag } from '../entities/tracking.js';
import { accessSql } from './access-sql.js';
import type { ArtifactLocations } from './artifact-locations.js';
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import type { WriteTransaction } from './group-commit.js';
import { afterSql, cursorColumns, cursorOf, orderBySql, parsePosition, type SortKey } from './keyset.js';
import { checkExperimentLimit } from './limit-checks.js';
import type { Database, ExperimentsTable } from './schema.js';
import { experimentFilterSql, experimentOrderExpression } from './search-sql.js';
import {
  chunks,
  EXPERIMENTS,
  experimentRow,
  lifecycleStages,
  type Reader,
  requireActiveExperiment,
  requireExperimentRow,
} from './tracking-rows.js';
import type { CreateExperimentInput, Page, SearchExperimentsQuery } from './tracking-store.js';
import { orAlreadyExists } from './unique-violation.js';

function experimentFromRow(
  locations: ArtifactLocations,
  row: Selectable<ExperimentsTable>,
  tags: Tag[],
): Experiment {
  const id = String(row.experiment_id);
  return {
    experiment_id: id,
    name: row.name,
    artifact_location: row.artifact_location ?? locations.experiment(id),
    lifecycle_stage: row.lifecycle_stage as LifecycleStage,
    creation_time: Number(row.creation_time),
    last_update_time: Number(row.last_update_time),
    tags,
  };
}

export class ExperimentReads {
  private readonly db;

  constructor(
    database: ReadOnlyDatabase,
    private readonly locations: ArtifactLocations,
  ) {
    this.db = database.reader;
  }

  private async withTags(db: Reader, rows: Selectable<ExperimentsTable>[]): Promise<Experiment[]> {
    const tagsById = new Map<string, Tag[]>();
    for (const ids of chunks(rows.map((r) => r.experiment_id))) {
      const tags = await db
        .selectFrom('experiment_tags')
        .selectAll()
        .where('experiment_id', 'in', ids)
        .execute();
      for (const t of tags) {
        const list = tagsById.get(t.experiment_id) ?? [];
        list.push({ key: t.key, value: t.value });
        tagsById.set(t.experiment_id, list);
      }
    }
    return rows.map((r) => experimentFromRow(this.locations, r, tagsById.get(r.experiment_id) ?? []));
  }

  async getExperiment(id: string): Promise<Experiment | undefined> {
    const row = await experimentRow(this.db, id);
    return row ? (await this.withTags(this.db, [row]))[0] : undefined;
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    const row = await this.db
      .selectFrom('experiments')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? (await this.withTags(this.db, [row]))[0] : undefined;
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
      const type = o.key === 'name' ? 'string' : o.key === 'experiment_id' ? 'int64' : 'number';
      return { value, ascending: o.ascending, type };
    });
    if (!orderBy.some((o) => o.key === 'experiment_id'))
      keys.push({ value: sql.ref('experiments.experiment_id'), ascending: false, type: 'int64' });
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
    const items = await this.withTags(this.db, page);
    if (rows.length <= query.maxResults) return { items };
    return { items, next: { order, after: cursorOf(page[page.length - 1], keys) } };
  }
}

/**
 * The id SQLite's rowid would give, ignoring ids at or past 2^53 (MLflow's file store draws random
 * 18-digit ones): new experiments keep small sequential ids after such an import, as MLflow's SQL
 * store numbers them. PostgreSQL's sequence does the same (the importer sets it below 2^53).
 */
async function nextSmallExperimentId(trx: WriteTransaction): Promise<string> {
  const { rows } = await sql<{ next: number }>`
    select coalesce(max(experiment_id), -1) + 1 as next from experiments
    where experiment_id < ${SMALL_EXPERIMENT_IDS}`.execute(trx);
  return String(rows[0]?.next ?? 0);
}

export class ExperimentWrites {
  constructor(
    private readonly database: WriteOnlyDatabase,
    private readonly locations: ArtifactLocations,
    private readonly limits: ResourceLimits = {},
  ) {}

  #write<T>(op: (trx: WriteTransaction) => Promise<T>): Promise<T> {
    return this.database.writer.run(op, EXPERIMENTS);
  }

  /** Gives the Default experiment its artifact location once the server's artifact root is known. */
  async init(): Promise<void> {
    await this.#write((trx) =>
      trx
        .updateTable('experiments')
        .set({ artifact_location: this.locations.experiment('0') })
        .where('experiment_id', '=', '0')
        .where('artifact_location', 'is', null)
        .execute(),
    );
  }

  createExperiment(input: CreateExperimentInput): Promise<string> {
    return this.#write(async (trx) => {
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
      await checkExperimentLimit(trx, this.database.dialect, this.limits);
      const now = Date.now();
      const inserted = await orAlreadyExists(
        trx
          .insertInto('experiments')
          .values({
            ...(this.database.dialect === 'sqlite'
              ? { experiment_id: await nextSmallExperimentId(trx) }
              : {}),
            name: input.name,
            artifact_location: input.artifactLocation ?? null,
            lifecycle_stage: 'active',
            creation_time: now,
            last_update_time: now,
          } as Selectable<ExperimentsTable>)
          .returning('experiment_id')
          .executeTakeFirstOrThrow(),
        `Experiment '${input.name}' already exists.`,
      );
      const id = String(inserted.experiment_id);
      if (input.artifactLocation === undefined) {
        await trx
          .updateTable('experiments')
          .set({ artifact_location: this.locations.experiment(id) })
          .where('experiment_id', '=', id)
          .execute();
      }
      if (input.tags.length > 0) {
        await trx
          .insertInto('experiment_tags')
          .values(input.tags.map((t) => ({ experiment_id: id, key: t.key, value: t.value })))
          .execute();
      }
      return id;
    });
  }

  renameExperiment(id: string, newName: string): Promise<void> {
    return this.#write(async (trx) => {
      const row = await requireExperimentRow(trx, id);
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
      await orAlreadyExists(
        trx
          .updateTable('experiments')
          .set({ name: newName, last_update_time: Date.now() })
          .where('experiment_id', '=', row.experiment_id)
          .execute(),
        `Experiment '${newName}' already exists.`,
      );
    });
  }

  deleteExperiment(id: string): Promise<void> {
    return this.#setStage(id, 'deleted');
  }

  restoreExperiment(id: string): Promise<void> {
    return this.#setStage(id, 'active');
  }

  /** Deleting or restoring an experiment does the same to its runs, as MLflow's SQL store does. */
  #setStage(id: string, stage: LifecycleStage): Promise<void> {
    return this.#write(async (trx) => {
      // MLflow looks the experiment up among those in the opposite stage, so deleting a deleted
      // experiment (or restoring an active one) reports it as not found.
      const row = await experimentRow(trx, id);
      if (!row || row.lifecycle_stage === stage)
        throw MlflowError.notFound(`No Experiment with id=${id} exists`);
      const now = Date.now();
      await trx
        .updateTable('experiments')
        .set({ lifecycle_stage: stage, last_update_time: now })
        .where('experiment_id', '=', row.experiment_id)
        .execute();
      await trx
        .updateTable('runs')
        .set({ lifecycle_stage: stage, deleted_time: stage === 'deleted' ? now : null })
        .where('experiment_id', '=', row.experiment_id)
        .where('lifecycle_stage', '!=', stage)
        .execute();
    });
  }

  setExperimentTag(id: string, tag: Tag): Promise<void> {
    return this.#write(async (trx) => {
      const row = await requireActiveExperiment(trx, id);
      await trx
        .insertInto('experiment_tags')
        .values({ experiment_id: row.experiment_id, key: tag.key, value: tag.value })
        .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet({ value: tag.value }))
        .execute();
    });
  }

  deleteExperimentTag(id: string, key: string): Promise<void> {
    return this.#write(async (trx) => {
      const row = await requireActiveExperiment(trx, id);
      const result = await trx
        .deleteFrom('experiment_tags')
        .where('experiment_id', '=', row.experiment_id)
        .where('key', '=', key)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) {
        throw MlflowError.notFound(`No tag with name: ${key} in experiment with id ${id}`);
      }
    });
  }
}
