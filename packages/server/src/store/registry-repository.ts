// The Model Registry's registered models, versions, tags and aliases: lookups and searches (reads);
// every change in the one REGISTRY write lane (writes). Shared by the SQLite and PostgreSQL dialects.
import { type Kysely, type RawBuilder, type Selectable, type SqlBool, sql } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import {
  type ModelVersion,
  type ModelVersionStage,
  type RegisteredModel,
  type RegistryTag,
  STAGE_DELETED_INTERNAL,
} from '../entities/registry.js';
import type { OrderByClause } from '../search/filter-ast.js';
import { accessSql } from './access-sql.js';
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import type { WriteTransaction } from './group-commit.js';
import { afterSql, cursorColumns, cursorOf, orderBySql, parsePosition, type SortKey } from './keyset.js';
import { modelVersionWhere, registeredModelWhere } from './registry-search-sql.js';
import type { CreateModelVersionInput, RegistrySearchQuery } from './registry-store.js';
import type { Database, ModelVersionsTable, RegisteredModelsTable } from './schema.js';
import type { Page } from './tracking-store.js';
import { orAlreadyExists } from './unique-violation.js';

type Reader = Kysely<Database> | WriteTransaction;
type ModelRow = Selectable<RegisteredModelsTable>;
type VersionRow = Selectable<ModelVersionsTable>;

/**
 * The write key of every registry change (see Writer.run): registry writes are few, and keeping them
 * in one lane means two of them never race on a model's next version number or its aliases.
 */
const REGISTRY = 'registry';
const CHUNK = 500;

const MODEL_COLUMNS: Record<string, string> = {
  name: 'rm.name',
  last_updated_timestamp: 'rm.last_updated_time',
};
const VERSION_COLUMNS: Record<string, string> = {
  name: 'mv.name',
  version_number: 'mv.version',
  creation_timestamp: 'mv.creation_time',
  last_updated_timestamp: 'mv.last_updated_time',
};

function modelNotFound(name: string): MlflowError {
  return MlflowError.notFound(`Registered Model with name=${name} not found`);
}

function versionNotFound(name: string, version: number): MlflowError {
  return MlflowError.notFound(`Model Version (name=${name}, version=${version}) not found`);
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function versionFromRow(row: VersionRow, tags: RegistryTag[], aliases: string[]): ModelVersion {
  const mv: ModelVersion = {
    name: row.name,
    version: String(row.version),
    creation_timestamp: Number(row.creation_time),
    tags,
    aliases,
  };
  if (row.last_updated_time !== null) mv.last_updated_timestamp = Number(row.last_updated_time);
  if (row.description !== null) mv.description = row.description;
  if (row.user_id !== null) mv.user_id = row.user_id;
  if (row.current_stage !== null) mv.current_stage = row.current_stage;
  if (row.source !== null) mv.source = row.source;
  if (row.run_id !== null) mv.run_id = row.run_id;
  if (row.run_link !== null) mv.run_link = row.run_link;
  if (row.status !== null) mv.status = row.status;
  if (row.status_message) mv.status_message = row.status_message;
  return mv;
}

/**
 * The model's row. With `lock` (PostgreSQL only) the row stays locked until the transaction ends, so two
 * server processes (--workers) creating versions of one model take turns at its next number. SQLite
 * needs no lock: its write transactions begin immediate, one at a time.
 */
async function modelRow(db: Reader, name: string, lock = false): Promise<ModelRow> {
  let query = db.selectFrom('registered_models').selectAll().where('name', '=', name);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw modelNotFound(name);
  return row;
}

async function versionRow(db: Reader, name: string, version: number): Promise<VersionRow> {
  const row = await db
    .selectFrom('model_versions')
    .selectAll()
    .where('name', '=', name)
    .where('version', '=', version)
    .where('current_stage', '<>', STAGE_DELETED_INTERNAL)
    .executeTakeFirst();
  if (!row) throw versionNotFound(name, version);
  return row;
}

/** Versions with their tags; with their aliases too when `withAliases` (MLflow leaves them out of lists). */
async function versions(db: Reader, rows: VersionRow[], withAliases: boolean): Promise<ModelVersion[]> {
  if (rows.length === 0) return [];
  const keyOf = (name: string, version: number) => `${name}\u0000${version}`;
  const tags = new Map<string, RegistryTag[]>();
  const aliases = new Map<string, string[]>();
  // Rows are read by (name in the page's names) and (version in the page's numbers): a superset of
  // the page, bounded by it, that both databases look up by primary key prefix; extra rows are
  // dropped by the lookups below.
  const wanted = new Set(rows.map((r) => keyOf(r.name, Number(r.version))));
  const versionNumbers = [...new Set(rows.map((r) => Number(r.version)))];
  const names = [...new Set(rows.map((r) => r.name))];
  for (const part of chunks(names)) {
    for (const numbers of chunks(versionNumbers)) {
      const tagRows = await db
        .selectFrom('model_version_tags')
        .selectAll()
        .where('name', 'in', part)
        .where('version', 'in', numbers)
        .orderBy('key')
        .execute();
      for (const t of tagRows) {
        const k = keyOf(t.name, Number(t.version));
        if (!wanted.has(k)) continue;
        tags.set(k, [...(tags.get(k) ?? []), { key: t.key, value: t.value ?? '' }]);
      }
      if (!withAliases) continue;
      const aliasRows = await db
        .selectFrom('registered_model_aliases')
        .selectAll()
        .where('name', 'in', part)
        .where('version', 'in', numbers)
        .orderBy('alias')
        .execute();
      for (const a of aliasRows) {
        const k = keyOf(a.name, Number(a.version));
        if (wanted.has(k)) aliases.set(k, [...(aliases.get(k) ?? []), a.alias]);
      }
    }
  }
  return rows.map((r) => {
    const k = keyOf(r.name, Number(r.version));
    return versionFromRow(r, tags.get(k) ?? [], aliases.get(k) ?? []);
  });
}

/**
 * The newest version in each stage of each model, in MLflow's order: stages in the order their
 * oldest live version was created (MLflow walks the versions in creation order and keeps the last
 * per stage).
 */
async function latestVersionRows(db: Reader, names: string[]): Promise<Map<string, VersionRow[]>> {
  const out = new Map<string, VersionRow[]>();
  for (const part of chunks(names)) {
    const { rows } = await sql<VersionRow & { first_version: number }>`
      select mv.*, s.first_version from model_versions mv
      join (select name, current_stage, max(version) as last_version, min(version) as first_version
            from model_versions
            where name in (${sql.join(part)}) and current_stage <> ${STAGE_DELETED_INTERNAL}
            group by name, current_stage) s
        on s.name = mv.name and s.last_version = mv.version
      order by mv.name, s.first_version`.execute(db);
    for (const row of rows) out.set(row.name, [...(out.get(row.name) ?? []), row]);
  }
  return out;
}

async function models(db: Reader, rows: ModelRow[]): Promise<RegisteredModel[]> {
  if (rows.length === 0) return [];
  const names = rows.map((r) => r.name);
  const latest = await latestVersionRows(db, names);
  const latestVersions = await versions(db, [...latest.values()].flat(), false);
  const byName = new Map<string, ModelVersion[]>();
  for (const mv of latestVersions) byName.set(mv.name, [...(byName.get(mv.name) ?? []), mv]);
  const tags = new Map<string, RegistryTag[]>();
  const aliases = new Map<string, { alias: string; version: string }[]>();
  for (const part of chunks(names)) {
    for (const t of await db
      .selectFrom('registered_model_tags')
      .selectAll()
      .where('name', 'in', part)
      .orderBy('key')
      .execute()) {
      tags.set(t.name, [...(tags.get(t.name) ?? []), { key: t.key, value: t.value ?? '' }]);
    }
    for (const a of await db
      .selectFrom('registered_model_aliases')
      .selectAll()
      .where('name', 'in', part)
      .orderBy('alias')
      .execute()) {
      aliases.set(a.name, [...(aliases.get(a.name) ?? []), { alias: a.alias, version: String(a.version) }]);
    }
  }
  return rows.map((r) => {
    const model: RegisteredModel = {
      name: r.name,
      latest_versions: byName.get(r.name) ?? [],
      tags: tags.get(r.name) ?? [],
      aliases: aliases.get(r.name) ?? [],
    };
    if (r.creation_time !== null) model.creation_timestamp = Number(r.creation_time);
    if (r.last_updated_time) model.last_updated_timestamp = Number(r.last_updated_time);
    if (r.description) model.description = r.description;
    return model;
  });
}

async function loadModel(db: Reader, name: string): Promise<RegisteredModel> {
  return (await models(db, [await modelRow(db, name)]))[0];
}

async function loadVersion(db: Reader, name: string, version: number): Promise<ModelVersion> {
  return (await versions(db, [await versionRow(db, name, version)], true))[0];
}

export class RegistryReads {
  private readonly db: Kysely<Database>;

  constructor(database: ReadOnlyDatabase) {
    this.db = database.reader;
  }

  getRegisteredModel(name: string): Promise<RegisteredModel> {
    return loadModel(this.db, name);
  }

  async searchRegisteredModels(query: RegistrySearchQuery): Promise<Page<RegisteredModel>> {
    const keys = sortKeys(query.orderBy, MODEL_COLUMNS, [{ key: 'name', ascending: true }]);
    const { rows, next } = await this.searchPage<ModelRow>(
      'registered_models rm',
      registeredModelWhere(query.filter),
      query,
      keys,
    );
    return { items: await models(this.db, rows), next };
  }

  private async searchPage<T extends object>(
    from: string,
    where: RawBuilder<SqlBool>,
    query: RegistrySearchQuery,
    keys: SortKey[],
  ): Promise<{ rows: T[]; next?: object }> {
    const order = query.orderBy.map((o) => [o.key, o.ascending]);
    const conditions = [where];
    const alias = from.split(' ')[1];
    const access = query.access && accessSql(`${alias}.name`, query.access, false);
    if (access) conditions.push(access);
    const start = query.start;
    if (start && 'after' in start) conditions.push(afterSql(keys, parsePosition(start.after, order, keys)));
    const offset = start && 'offset' in start ? start.offset : 0;
    const { rows } = await sql<T & Record<string, unknown>>`
      select ${sql.ref(alias)}.*, ${cursorColumns(keys)} from ${sql.raw(from)}
      where ${sql.join(conditions, sql` and `)}
      order by ${orderBySql(keys)} limit ${query.maxResults + 1} offset ${offset}`.execute(this.db);
    const page = rows.slice(0, query.maxResults);
    if (rows.length <= query.maxResults || page.length === 0) return { rows: page };
    return { rows: page, next: { order, after: cursorOf(page[page.length - 1], keys) } };
  }

  async getLatestVersions(name: string, stages: ModelVersionStage[]): Promise<ModelVersion[]> {
    await modelRow(this.db, name);
    const rows = (await latestVersionRows(this.db, [name])).get(name) ?? [];
    const wanted = rows.filter(
      (r) => stages.length === 0 || stages.includes(r.current_stage as ModelVersionStage),
    );
    return versions(this.db, wanted, true);
  }

  getModelVersion(name: string, version: number): Promise<ModelVersion> {
    return loadVersion(this.db, name, version);
  }

  async getModelVersionDownloadUri(name: string, version: number): Promise<string> {
    const row = await versionRow(this.db, name, version);
    return row.storage_location || row.source || '';
  }

  async searchModelVersions(query: RegistrySearchQuery): Promise<Page<ModelVersion>> {
    const keys = sortKeys(query.orderBy, VERSION_COLUMNS, [
      { key: 'name', ascending: true },
      { key: 'version_number', ascending: false },
    ]);
    const { rows, next } = await this.searchPage<VersionRow>(
      'model_versions mv',
      modelVersionWhere(query.filter),
      query,
      keys,
    );
    return { items: await versions(this.db, rows, false), next };
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const row = await this.db
      .selectFrom('registered_model_aliases')
      .select('version')
      .where('name', '=', name)
      .where('alias', '=', alias)
      .executeTakeFirst();
    if (!row) throw MlflowError.invalidParameter(`Registered model alias ${alias} not found.`);
    return loadVersion(this.db, name, Number(row.version));
  }

  /** The highest live version number of a model, or undefined when it has none. */
  async latestVersionNumber(name: string, stage?: ModelVersionStage): Promise<number | undefined> {
    await modelRow(this.db, name);
    let q = this.db
      .selectFrom('model_versions')
      .select((eb) => eb.fn.max('version').as('last'))
      .where('name', '=', name)
      .where('current_stage', '<>', STAGE_DELETED_INTERNAL);
    if (stage) q = q.where('current_stage', '=', stage);
    const row = await q.executeTakeFirst();
    return row?.last === null || row?.last === undefined ? undefined : Number(row.last);
  }
}

export class RegistryWrites {
  constructor(private readonly database: WriteOnlyDatabase) {}

  #write<T>(op: (trx: WriteTransaction) => Promise<T>): Promise<T> {
    return this.database.writer.run(op, REGISTRY);
  }

  createRegisteredModel(name: string, tags: RegistryTag[], description?: string): Promise<RegisteredModel> {
    return this.#write(async (trx) => {
      const existing = await trx
        .selectFrom('registered_models')
        .select('name')
        .where('name', '=', name)
        .executeTakeFirst();
      if (existing) {
        throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
      }
      const now = Date.now();
      await orAlreadyExists(
        trx
          .insertInto('registered_models')
          .values({ name, creation_time: now, last_updated_time: now, description: description ?? null })
          .execute(),
        `Registered Model (name=${name}) already exists.`,
      );
      // Later tags with the same key win, as in MLflow.
      const byKey = new Map(tags.map((t) => [t.key, t.value]));
      if (byKey.size > 0) {
        await trx
          .insertInto('registered_model_tags')
          .values([...byKey].map(([key, value]) => ({ name, key, value })))
          .execute();
      }
      return loadModel(trx, name);
    });
  }

  updateRegisteredModel(name: string, description: string | undefined): Promise<RegisteredModel> {
    return this.#write(async (trx) => {
      await modelRow(trx, name);
      await trx
        .updateTable('registered_models')
        .set({ description: description ?? null, last_updated_time: Date.now() })
        .where('name', '=', name)
        .execute();
      return loadModel(trx, name);
    });
  }

  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    return this.#write(async (trx) => {
      await modelRow(trx, name);
      const now = Date.now();
      if (newName !== name) {
        const clash = await trx
          .selectFrom('registered_models')
          .select('name')
          .where('name', '=', newName)
          .executeTakeFirst();
        if (clash) {
          throw new MlflowError(
            'RESOURCE_ALREADY_EXISTS',
            `Registered Model (name=${newName}) already exists.`,
          );
        }
        // The foreign keys (ON UPDATE CASCADE) carry the new name to versions, tags and aliases.
        await orAlreadyExists(
          trx.updateTable('registered_models').set({ name: newName }).where('name', '=', name).execute(),
          `Registered Model (name=${newName}) already exists.`,
        );
      }
      await trx
        .updateTable('registered_models')
        .set({ last_updated_time: now })
        .where('name', '=', newName)
        .execute();
      await trx
        .updateTable('model_versions')
        .set({ last_updated_time: now })
        .where('name', '=', newName)
        .execute();
      return loadModel(trx, newName);
    });
  }

  deleteRegisteredModel(name: string): Promise<void> {
    return this.#write(async (trx) => {
      await modelRow(trx, name);
      // Versions, tags and aliases go with it (ON DELETE CASCADE).
      await trx.deleteFrom('registered_models').where('name', '=', name).execute();
    });
  }

  setRegisteredModelTag(name: string, tag: RegistryTag): Promise<void> {
    return this.#write(async (trx) => {
      await modelRow(trx, name);
      await trx
        .insertInto('registered_model_tags')
        .values({ name, key: tag.key, value: tag.value })
        .onConflict((oc) => oc.columns(['key', 'name']).doUpdateSet({ value: tag.value }))
        .execute();
    });
  }

  deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    return this.#write(async (trx) => {
      await modelRow(trx, name);
      await trx.deleteFrom('registered_model_tags').where('name', '=', name).where('key', '=', key).execute();
    });
  }

  createModelVersion(input: CreateModelVersionInput): Promise<ModelVersion> {
    return this.#write(async (trx) => {
      await modelRow(trx, input.name, this.database.dialect === 'postgres');
      const now = Date.now();
      // Deleted versions keep their rows, so a number is never reused.
      const last = await trx
        .selectFrom('model_versions')
        .select((eb) => eb.fn.max('version').as('last'))
        .where('name', '=', input.name)
        .executeTakeFirst();
      const version = Number(last?.last ?? 0) + 1;
      await trx
        .insertInto('model_versions')
        .values({
          name: input.name,
          version,
          creation_time: now,
          last_updated_time: now,
          description: input.description ?? null,
          user_id: null,
          current_stage: 'None',
          source: input.source,
          storage_location: input.storageLocation,
          run_id: input.runId ?? null,
          run_link: input.runLink ?? null,
          status: 'READY',
          status_message: null,
        })
        .execute();
      const byKey = new Map(input.tags.map((t) => [t.key, t.value]));
      if (byKey.size > 0) {
        await trx
          .insertInto('model_version_tags')
          .values([...byKey].map(([key, value]) => ({ name: input.name, version, key, value })))
          .execute();
      }
      await trx
        .updateTable('registered_models')
        .set({ last_updated_time: now })
        .where('name', '=', input.name)
        .execute();
      return loadVersion(trx, input.name, version);
    });
  }

  updateModelVersion(name: string, version: number, description: string | undefined): Promise<ModelVersion> {
    return this.#write(async (trx) => {
      await versionRow(trx, name, version);
      await trx
        .updateTable('model_versions')
        .set({ description: description ?? null, last_updated_time: Date.now() })
        .where('name', '=', name)
        .where('version', '=', version)
        .execute();
      return loadVersion(trx, name, version);
    });
  }

  transitionModelVersionStage(
    name: string,
    version: number,
    stage: ModelVersionStage,
    archiveExistingVersions: boolean,
  ): Promise<ModelVersion> {
    return this.#write(async (trx) => {
      await versionRow(trx, name, version);
      const now = Date.now();
      if (archiveExistingVersions) {
        await trx
          .updateTable('model_versions')
          .set({ current_stage: 'Archived', last_updated_time: now })
          .where('name', '=', name)
          .where('version', '<>', version)
          .where('current_stage', '=', stage)
          .execute();
      }
      await trx
        .updateTable('model_versions')
        .set({ current_stage: stage, last_updated_time: now })
        .where('name', '=', name)
        .where('version', '=', version)
        .execute();
      await trx
        .updateTable('registered_models')
        .set({ last_updated_time: now })
        .where('name', '=', name)
        .execute();
      return loadVersion(trx, name, version);
    });
  }

  deleteModelVersion(name: string, version: number): Promise<void> {
    return this.#write(async (trx) => {
      await versionRow(trx, name, version);
      const now = Date.now();
      await trx
        .deleteFrom('registered_model_aliases')
        .where('name', '=', name)
        .where('version', '=', version)
        .execute();
      // MLflow keeps the row (and its tags) with the details redacted.
      await trx
        .updateTable('model_versions')
        .set({
          current_stage: STAGE_DELETED_INTERNAL,
          last_updated_time: now,
          description: null,
          user_id: null,
          source: 'REDACTED-SOURCE-PATH',
          storage_location: null,
          run_id: 'REDACTED-RUN-ID',
          run_link: 'REDACTED-RUN-LINK',
          status_message: null,
        })
        .where('name', '=', name)
        .where('version', '=', version)
        .execute();
      await trx
        .updateTable('registered_models')
        .set({ last_updated_time: now })
        .where('name', '=', name)
        .execute();
    });
  }

  setModelVersionTag(name: string, version: number, tag: RegistryTag): Promise<void> {
    return this.#write(async (trx) => {
      await versionRow(trx, name, version);
      await trx
        .insertInto('model_version_tags')
        .values({ name, version, key: tag.key, value: tag.value })
        .onConflict((oc) => oc.columns(['key', 'name', 'version']).doUpdateSet({ value: tag.value }))
        .execute();
    });
  }

  deleteModelVersionTag(name: string, version: number, key: string): Promise<void> {
    return this.#write(async (trx) => {
      await versionRow(trx, name, version);
      await trx
        .deleteFrom('model_version_tags')
        .where('name', '=', name)
        .where('version', '=', version)
        .where('key', '=', key)
        .execute();
    });
  }

  setRegisteredModelAlias(name: string, alias: string, version: number): Promise<void> {
    return this.#write(async (trx) => {
      await versionRow(trx, name, version);
      await trx
        .insertInto('registered_model_aliases')
        .values({ name, alias, version })
        .onConflict((oc) => oc.columns(['name', 'alias']).doUpdateSet({ version }))
        .execute();
    });
  }

  deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    return this.#write(async (trx) => {
      await modelRow(trx, name);
      await trx
        .deleteFrom('registered_model_aliases')
        .where('name', '=', name)
        .where('alias', '=', alias)
        .execute();
    });
  }
}

/** The keyset ordering of a search: the requested keys, then the tie-breakers not already used. */
function sortKeys(
  orderBy: OrderByClause[],
  columns: Record<string, string>,
  tieBreakers: { key: string; ascending: boolean }[],
): SortKey[] {
  const clauses = [...orderBy, ...tieBreakers.filter((t) => !orderBy.some((o) => o.key === t.key))];
  return clauses.map((o) => ({
    value: sql.ref(columns[o.key]),
    ascending: o.ascending,
    type: o.key === 'name' ? 'string' : 'number',
  }));
}
