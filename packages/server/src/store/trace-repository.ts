// Traces and their spans: reading a trace, a page of a search, a trace's spans (reads); starting,
// ending, tagging, linking and deleting traces, and storing spans received over OTLP (writes).
import { randomUUID } from 'node:crypto';
import { type Kysely, type Selectable, type SqlBool, sql, type Updateable } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import {
  canonicalExperimentId,
  canonicalExperimentIds,
  experimentIdOrNone,
} from '../entities/experiment-id.js';
import {
  ARTIFACT_LOCATION_TAG,
  SPANS_LOCATION_TAG,
  type SpanRecord,
  TRACE_NAME_TAG,
  type TraceRecord,
  type TraceState,
} from '../entities/tracing.js';
import type { FilterNode } from '../search/filter-ast.js';
import type { TraceOrder } from '../search/trace-rules.js';
import type { Dialect, ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import type { Database, TraceInfoTable } from './schema.js';
import { regexpError } from './sql-regexp.js';
import { traceColumn, traceFilterSql } from './trace-search-sql.js';

type InfoRow = Selectable<TraceInfoTable>;

export interface SearchTracesQuery {
  experimentIds: string[];
  /** Checked by search/trace-rules.ts. */
  filter?: FilterNode;
  orderBy: TraceOrder[];
  maxResults: number;
  offset: number;
}

/** TraceDeletion: by ids, or the oldest up to `maxTraces` at or before a time. */
export interface TraceDeletion {
  experimentId: string;
  maxTimestampMillis?: number;
  maxTraces?: number;
  traceIds?: string[];
}

/** What EndTrace (MLflow 2.x's API) changes. */
export interface TraceEnd {
  timestampMs: number;
  state: TraceState;
  metadata: Record<string, string>;
  tags: Record<string, string>;
}

/** Previews are cut to the width of MLflow's columns. */
const PREVIEW_LENGTH = 1000;
/** Ids per `in (...)` list, well under either database's parameter limit. */
const CHUNK = 500;

export function traceNotFound(traceId: string): MlflowError {
  return MlflowError.notFound(`Trace with request_id='${traceId}' not found.`);
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** The records of `rows`, in their order, with their tags and metadata. */
async function withKeyValues(db: Kysely<Database>, rows: InfoRow[]): Promise<TraceRecord[]> {
  const records = new Map<string, TraceRecord>();
  for (const r of rows) {
    records.set(r.request_id, {
      traceId: r.request_id,
      experimentId: String(r.experiment_id),
      clientRequestId: r.client_request_id ?? undefined,
      requestTimeMs: Number(r.timestamp_ms),
      executionTimeMs: r.execution_time_ms === null ? undefined : Number(r.execution_time_ms),
      state: r.status as TraceState,
      requestPreview: r.request_preview ?? undefined,
      responsePreview: r.response_preview ?? undefined,
      metadata: {},
      tags: {},
    });
  }
  for (const ids of chunks([...records.keys()])) {
    for (const [table, field] of [
      ['trace_tags', 'tags'],
      ['trace_request_metadata', 'metadata'],
    ] as const) {
      const kvs = await db
        .selectFrom(table)
        .select(['request_id', 'key', 'value'])
        .where('request_id', 'in', ids)
        .orderBy('key')
        .execute();
      for (const kv of kvs) {
        const record = records.get(kv.request_id);
        if (record) record[field][kv.key] = kv.value ?? '';
      }
    }
  }
  return [...records.values()];
}

async function traceRow(db: Kysely<Database>, traceId: string): Promise<InfoRow | undefined> {
  return db.selectFrom('trace_info').selectAll().where('request_id', '=', traceId).executeTakeFirst();
}

async function getTrace(db: Kysely<Database>, traceId: string): Promise<TraceRecord | undefined> {
  const row = await traceRow(db, traceId);
  if (!row) return undefined;
  const [record] = await withKeyValues(db, [row]);
  return record;
}

/** Inserts or replaces each entry of `values` for the trace. */
async function upsertKeyValues(
  trx: Kysely<Database>,
  table: 'trace_tags' | 'trace_request_metadata',
  traceId: string,
  values: Record<string, string>,
): Promise<void> {
  const rows = Object.entries(values).map(([key, value]) => ({ request_id: traceId, key, value }));
  for (const part of chunks(rows)) {
    await trx
      .insertInto(table)
      .values(part)
      .onConflict((oc) =>
        oc.columns(['request_id', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') }),
      )
      .execute();
  }
}

/** Inserts each entry of `values` the trace does not have yet. */
async function addMissingKeyValues(
  trx: Kysely<Database>,
  table: 'trace_tags' | 'trace_request_metadata',
  traceId: string,
  values: Record<string, string>,
): Promise<void> {
  const rows = Object.entries(values).map(([key, value]) => ({ request_id: traceId, key, value }));
  if (rows.length === 0) return;
  await trx
    .insertInto(table)
    .values(rows)
    .onConflict((oc) => oc.columns(['request_id', 'key']).doNothing())
    .execute();
}

async function experimentArtifactLocation(
  trx: Kysely<Database>,
  experimentId: string,
): Promise<string | null> {
  const canonical = canonicalExperimentId(experimentId);
  const row =
    canonical === undefined
      ? undefined
      : await trx
          .selectFrom('experiments')
          .select('artifact_location')
          .where('experiment_id', '=', canonical)
          .executeTakeFirst();
  if (!row) throw MlflowError.notFound(`No Experiment with id=${experimentId} exists`);
  return row.artifact_location;
}

function cut(text: string | undefined): string | null {
  return text === undefined ? null : text.slice(0, PREVIEW_LENGTH);
}

/** trace_info's order_by columns that may hold NULL. */
const NULLABLE_ORDER_COLUMNS = new Set(['execution_time_ms', 'client_request_id']);

export class TraceReads {
  private readonly db: Kysely<Database>;
  private readonly dialect: Dialect;

  constructor(database: ReadOnlyDatabase) {
    this.db = database.reader;
    this.dialect = database.dialect;
  }

  getTrace(traceId: string): Promise<TraceRecord | undefined> {
    return getTrace(this.db, traceId);
  }

  /** The traces of `traceIds` that exist, in the order asked. */
  async getTraces(traceIds: string[]): Promise<TraceRecord[]> {
    const rows: InfoRow[] = [];
    for (const ids of chunks([...new Set(traceIds)])) {
      rows.push(
        ...(await this.db.selectFrom('trace_info').selectAll().where('request_id', 'in', ids).execute()),
      );
    }
    const found = new Map((await withKeyValues(this.db, rows)).map((r) => [r.traceId, r]));
    return [...new Set(traceIds)].flatMap((id) => found.get(id) ?? []);
  }

  async searchTraces(query: SearchTracesQuery): Promise<{ items: TraceRecord[]; more: boolean }> {
    const ids = canonicalExperimentIds(query.experimentIds);
    if (ids.length === 0) return { items: [], more: false };
    let q = this.db.selectFrom('trace_info as t').selectAll('t').where('t.experiment_id', 'in', ids);
    if (query.filter) {
      const predicate = traceFilterSql(query.filter, this.dialect);
      q = q.where(() => predicate);
    }
    for (const o of query.orderBy) {
      const column = traceColumn(o.column);
      // Traces without an execution time (still running) sort last either way, as MLflow's do. Only
      // nullable columns get that term: on the others it would stop the (experiment, time, id) index
      // from giving the order, and every search would sort all of an experiment's traces.
      if (NULLABLE_ORDER_COLUMNS.has(o.column)) q = q.orderBy(sql`${column} is null`);
      q = q.orderBy(column, o.ascending ? 'asc' : 'desc');
    }
    const rows = await q
      .limit(query.maxResults + 1)
      .offset(query.offset)
      .execute()
      .catch((error: unknown) => {
        throw regexpError(error);
      });
    const items = await withKeyValues(this.db, rows.slice(0, query.maxResults));
    return { items, more: rows.length > query.maxResults };
  }

  /**
   * The stored span documents of a trace (MLflow's Span.to_dict() JSON) by start time, then span id,
   * in pages of up to `pageSize`.
   * Keyset paging (after the last start time and span id) keeps each page one range of the
   * (trace, start time) index, so a trace of any size is read a page at a time.
   */
  async *spanContentPages(traceId: string, pageSize: number): AsyncGenerator<string[]> {
    let after: { start: string; spanId: string } | undefined;
    for (;;) {
      let q = this.db
        .selectFrom('spans')
        // As text: SQLite hands a 19-digit integer back as a double, which would round it.
        .select(['content', 'span_id', sql<string>`cast(start_time_unix_nano as text)`.as('start_text')])
        .where('trace_id', '=', traceId);
      if (after) {
        const { start, spanId } = after;
        q = q.where(
          sql<SqlBool>`(start_time_unix_nano > cast(${start} as bigint) or (start_time_unix_nano = cast(${start} as bigint) and span_id > ${spanId}))`,
        );
      }
      const rows = await q.orderBy('start_time_unix_nano').orderBy('span_id').limit(pageSize).execute();
      if (rows.length > 0) yield rows.map((r) => r.content);
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1];
      after = { start: last.start_text, spanId: last.span_id };
    }
  }

  async experimentOfTrace(traceId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('trace_info')
      .select('experiment_id')
      .where('request_id', '=', traceId)
      .executeTakeFirst();
    return row && String(row.experiment_id);
  }
}

export class TraceWrites {
  constructor(private readonly database: WriteOnlyDatabase) {}

  /**
   * The trace's row, inserted with `initial` when absent and locked on PostgreSQL: spans of one trace
   * arrive in concurrent requests (an exporter sends each finished span), and each must see the
   * others' committed row rather than insert its own.
   */
  async #claim(
    trx: Kysely<Database>,
    traceId: string,
    experimentId: string,
    initial: Omit<TraceInfoTable, 'request_id' | 'experiment_id'>,
  ): Promise<InfoRow> {
    await trx
      .insertInto('trace_info')
      .values({ request_id: traceId, experiment_id: experimentIdOrNone(experimentId), ...initial })
      .onConflict((oc) => oc.column('request_id').doNothing())
      .execute();
    const q = trx.selectFrom('trace_info').selectAll().where('request_id', '=', traceId);
    return (await (this.database.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst()) as InfoRow;
  }

  /**
   * Records a trace (StartTraceV3). A trace that exists already (its spans may have come first, over
   * OTLP) takes the new fields, tags and metadata, as MLflow merges them.
   */
  startTrace(trace: TraceRecord): Promise<TraceRecord> {
    return this.database.writer.run(async (trx) => {
      const location = await experimentArtifactLocation(trx, trace.experimentId);
      const columns = {
        timestamp_ms: trace.requestTimeMs,
        execution_time_ms: trace.executionTimeMs ?? null,
        status: trace.state,
        client_request_id: trace.clientRequestId ?? null,
        request_preview: cut(trace.requestPreview),
        response_preview: cut(trace.responsePreview),
      };
      const existing = await this.#claim(trx, trace.traceId, trace.experimentId, columns);
      if (String(existing.experiment_id) !== trace.experimentId) {
        throw MlflowError.invalidParameter(
          `Trace with request_id='${trace.traceId}' already exists in experiment ${existing.experiment_id}.`,
        );
      }
      await trx.updateTable('trace_info').set(columns).where('request_id', '=', trace.traceId).execute();
      const tags = { ...trace.tags };
      if (location) tags[ARTIFACT_LOCATION_TAG] ??= `${location}/traces/${trace.traceId}/artifacts`;
      await upsertKeyValues(trx, 'trace_tags', trace.traceId, tags);
      await upsertKeyValues(trx, 'trace_request_metadata', trace.traceId, trace.metadata);
      return (await getTrace(trx, trace.traceId)) as TraceRecord;
    });
  }

  /** MLflow 2.x's EndTrace: the execution time from the end time, the final state, more metadata and tags. */
  endTrace(traceId: string, end: TraceEnd): Promise<TraceRecord> {
    return this.database.writer.run(async (trx) => {
      const row = await traceRow(trx, traceId);
      if (!row) throw traceNotFound(traceId);
      await trx
        .updateTable('trace_info')
        .set({ execution_time_ms: end.timestampMs - Number(row.timestamp_ms), status: end.state })
        .where('request_id', '=', traceId)
        .execute();
      await upsertKeyValues(trx, 'trace_tags', traceId, end.tags);
      await upsertKeyValues(trx, 'trace_request_metadata', traceId, end.metadata);
      return (await getTrace(trx, traceId)) as TraceRecord;
    });
  }

  setTraceTag(traceId: string, key: string, value: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      if (!(await traceRow(trx, traceId))) throw traceNotFound(traceId);
      await upsertKeyValues(trx, 'trace_tags', traceId, { [key]: value });
    });
  }

  deleteTraceTag(traceId: string, key: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      if (!(await traceRow(trx, traceId))) throw traceNotFound(traceId);
      const result = await trx
        .deleteFrom('trace_tags')
        .where('request_id', '=', traceId)
        .where('key', '=', key)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) {
        throw MlflowError.notFound(`No trace tag with key '${key}' for trace with request_id '${traceId}'`);
      }
    });
  }

  /** Deletes traces of the experiment and everything recorded with them; answers how many went. */
  deleteTraces(deletion: TraceDeletion): Promise<number> {
    return this.database.writer.run(async (trx) => {
      const experimentId = canonicalExperimentId(deletion.experimentId);
      if (experimentId === undefined) return 0;
      let ids: string[];
      if (deletion.traceIds) {
        ids = [];
        for (const part of chunks([...new Set(deletion.traceIds)])) {
          const rows = await trx
            .selectFrom('trace_info')
            .select('request_id')
            .where('experiment_id', '=', experimentId)
            .where('request_id', 'in', part)
            .execute();
          ids.push(...rows.map((r) => r.request_id));
        }
      } else {
        let q = trx
          .selectFrom('trace_info')
          .select('request_id')
          .where('experiment_id', '=', experimentId)
          .where('timestamp_ms', '<=', deletion.maxTimestampMillis ?? 0)
          .orderBy('timestamp_ms')
          .orderBy('request_id');
        if (deletion.maxTraces !== undefined) q = q.limit(deletion.maxTraces);
        ids = (await q.execute()).map((r) => r.request_id);
      }
      for (const part of chunks(ids)) {
        for (const table of ['spans', 'assessments'] as const) {
          await trx.deleteFrom(table).where('trace_id', 'in', part).execute();
        }
        for (const table of ['trace_tags', 'trace_request_metadata'] as const) {
          await trx.deleteFrom(table).where('request_id', 'in', part).execute();
        }
        await trx
          .deleteFrom('entity_associations')
          .where('source_type', '=', 'trace')
          .where('source_id', 'in', part)
          .execute();
        await trx.deleteFrom('trace_info').where('request_id', 'in', part).execute();
      }
      return ids.length;
    });
  }

  /** Links each trace to the run (LinkTracesToRun); linking twice is no change. */
  linkTracesToRun(traceIds: string[], runId: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      const run = await trx
        .selectFrom('runs')
        .select('run_uuid')
        .where('run_uuid', '=', runId)
        .executeTakeFirst();
      if (!run) throw MlflowError.notFound(`Run with id=${runId} not found`);
      const unique = [...new Set(traceIds)];
      for (const part of chunks(unique)) {
        const found = await trx
          .selectFrom('trace_info')
          .select('request_id')
          .where('request_id', 'in', part)
          .execute();
        const known = new Set(found.map((r) => r.request_id));
        const absent = part.filter((id) => !known.has(id));
        if (absent.length > 0) throw traceNotFound(absent[0]);
      }
      if (unique.length === 0) return;
      const now = Date.now();
      await trx
        .insertInto('entity_associations')
        .values(
          unique.map((id) => ({
            association_id: randomUUID(),
            source_type: 'trace',
            source_id: id,
            destination_type: 'run',
            destination_id: runId,
            created_time: now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['source_type', 'source_id', 'destination_type', 'destination_id']).doNothing(),
        )
        .execute();
    });
  }

  /**
   * Stores spans received over OTLP (all of one trace), creating the trace's record when they come
   * first and widening its times as more arrive; the root span settles its state, name and previews.
   */
  logSpans(
    experimentId: string,
    traceId: string,
    spans: SpanRecord[],
    root: RootSummary | undefined,
  ): Promise<void> {
    return this.database.writer.run(async (trx) => {
      await experimentArtifactLocation(trx, experimentId);
      let start = BigInt(spans[0].startTimeUnixNano);
      let end: bigint | undefined;
      for (const s of spans) {
        const st = BigInt(s.startTimeUnixNano);
        if (st < start) start = st;
        if (s.endTimeUnixNano !== null) {
          const en = BigInt(s.endTimeUnixNano);
          if (end === undefined || en > end) end = en;
        }
      }
      let startMs = Number(start / 1_000_000n);
      let endMs = end === undefined ? undefined : Number(end / 1_000_000n);
      const row = await this.#claim(trx, traceId, experimentId, {
        timestamp_ms: startMs,
        execution_time_ms: endMs === undefined ? null : endMs - startMs,
        status: 'IN_PROGRESS',
        client_request_id: null,
        request_preview: null,
        response_preview: null,
      });
      if (String(row.experiment_id) !== experimentId) {
        throw MlflowError.invalidParameter(
          `Trace with request_id='${traceId}' belongs to experiment ${row.experiment_id}, not ${experimentId}.`,
        );
      }
      startMs = Math.min(startMs, Number(row.timestamp_ms));
      if (row.execution_time_ms !== null) {
        const oldEnd = Number(row.timestamp_ms) + Number(row.execution_time_ms);
        endMs = endMs === undefined ? oldEnd : Math.max(endMs, oldEnd);
      }
      const columns: Updateable<TraceInfoTable> = {
        timestamp_ms: startMs,
        execution_time_ms: endMs === undefined ? null : endMs - startMs,
      };
      if (root) {
        columns.status = root.state;
        if (root.requestPreview !== undefined) columns.request_preview = cut(root.requestPreview);
        if (root.responsePreview !== undefined) columns.response_preview = cut(root.responsePreview);
      }
      await trx.updateTable('trace_info').set(columns).where('request_id', '=', traceId).execute();
      const tags: Record<string, string> = { [SPANS_LOCATION_TAG]: 'TRACKING_STORE' };
      if (root) tags[TRACE_NAME_TAG] = root.name;
      await addMissingKeyValues(trx, 'trace_tags', traceId, tags);
      for (const part of chunks(spans)) {
        await trx
          .insertInto('spans')
          .values(
            part.map((s) => ({
              trace_id: traceId,
              experiment_id: experimentIdOrNone(experimentId),
              span_id: s.spanId,
              parent_span_id: s.parentSpanId,
              name: s.name,
              type: s.type,
              status: s.status,
              start_time_unix_nano: s.startTimeUnixNano,
              end_time_unix_nano: s.endTimeUnixNano,
              content: s.content,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['trace_id', 'span_id']).doUpdateSet((eb) => ({
              parent_span_id: eb.ref('excluded.parent_span_id'),
              name: eb.ref('excluded.name'),
              type: eb.ref('excluded.type'),
              status: eb.ref('excluded.status'),
              start_time_unix_nano: eb.ref('excluded.start_time_unix_nano'),
              end_time_unix_nano: eb.ref('excluded.end_time_unix_nano'),
              content: eb.ref('excluded.content'),
            })),
          )
          .execute();
      }
    });
  }
}

/** What a trace's root span tells of the trace. */
export interface RootSummary {
  name: string;
  state: TraceState;
  requestPreview?: string;
  responsePreview?: string;
}
