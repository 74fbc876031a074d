// A metric's history, read only: pages of points (as objects or as MLflow's JSON written by the
// database), the rest of a long history through the reader threads (history-readers.ts). Points are
// written by run-data-repository.ts's log-batch.
import { type RawBuilder, type Selectable, type SqlBool, sql } from 'kysely';
import type { Metric } from '../entities/tracking.js';
import type { ReadOnlyDatabase } from './database.js';
import {
  type HistoryBounds,
  type HistoryPosition,
  historyPointPrefix,
  lastPointPosition,
} from './history-json.js';
import { invalidPageToken } from './keyset.js';
import type { MetricsTable } from './schema.js';
import { metricFromRow } from './tracking-rows.js';
import type { MetricHistoryQuery, MetricHistoryRest, Page } from './tracking-store.js';

/** MLflow's history order (timestamp, step, value), made total by is_nan; the metrics_history_uq index order. */
const HISTORY_ORDER = sql`${sql.ref('timestamp')}, ${sql.ref('step')}, ${sql.ref('value')}, is_nan`;

/** Points per slice of a long history read by the reader threads (streamMetricHistoryAfter). */
const HISTORY_SLICE_POINTS = 5_000;
/** At most this many slices, however uneven the history's timestamps. */
const MAX_HISTORY_SLICES = 10_000;

/** A page of metric history as JSON text, with the number of points in it. */
type HistoryJsonRow = { json: string | null; count: number };

/** Reads the `after` of a metric history page token: [timestamp, step, stored value, is_nan]. */
function parseHistoryPosition(raw: unknown): HistoryPosition {
  const after = (raw as { after?: unknown } | null)?.after;
  if (
    !Array.isArray(after) ||
    after.length !== 4 ||
    !after.every((n) => typeof n === 'number' && Number.isFinite(n)) ||
    (after[3] !== 0 && after[3] !== 1)
  ) {
    throw invalidPageToken(raw);
  }
  return after as HistoryPosition;
}

export class MetricHistoryReads {
  private readonly db;
  /**
   * PostgreSQL pays a round trip per batch, so larger batches go faster (10,000 points: 2.2 s for a
   * million, against 3.5 s with 2,000). SQLite runs in-process at the same speed either way, and
   * 1,000 points (about 85 KB of text) keep each batch's string in V8's young generation, which
   * keeps the server's peak memory lowest.
   */
  readonly historyBatchSize: number;

  constructor(private readonly database: ReadOnlyDatabase) {
    this.db = database.reader;
    this.historyBatchSize = database.dialect === 'sqlite' ? 1_000 : 10_000;
  }

  /** The points of a history page: `run_uuid = ? and key = ?`, after the start position if any. */
  private historyRange(query: MetricHistoryQuery): RawBuilder<SqlBool> {
    const start = query.start;
    const range = sql<SqlBool>`run_uuid = ${query.runId} and ${sql.ref('key')} = ${query.key}`;
    if (!start || !('after' in start)) return range;
    const [timestamp, step, value, isNan] = parseHistoryPosition(start.after);
    return sql<SqlBool>`${range} and (${HISTORY_ORDER}) > (${timestamp}, ${step}, ${value}, ${isNan})`;
  }

  private historyOffset(query: MetricHistoryQuery): number {
    return query.start && 'offset' in query.start ? query.start.offset : 0;
  }

  /**
   * An unknown run has an empty history, as in MLflow. Points are ordered by timestamp, step and
   * value as MLflow orders them, then by is_nan, which makes the order total (a NaN is stored as 0
   * with is_nan set), so a page can start right after a point: the metrics_history_uq index
   * (run_uuid, key, timestamp, step, value, is_nan) serves both the seek and the order.
   */
  async getMetricHistory(query: MetricHistoryQuery): Promise<Page<Metric>> {
    const { rows } = await sql<
      Pick<Selectable<MetricsTable>, 'key' | 'value' | 'timestamp' | 'step' | 'is_nan'>
    >`
      select ${sql.ref('key')}, ${sql.ref('value')}, ${sql.ref('timestamp')}, ${sql.ref('step')}, is_nan
      from metrics where ${this.historyRange(query)}
      order by ${HISTORY_ORDER} limit ${query.maxResults + 1} offset ${this.historyOffset(query)}`.execute(
      this.db,
    );
    if (rows.length <= query.maxResults) return { items: rows.map(metricFromRow) };
    const last = rows[query.maxResults - 1];
    return {
      items: rows.slice(0, query.maxResults).map(metricFromRow),
      next: { after: [Number(last.timestamp), Number(last.step), Number(last.value), Number(last.is_nan)] },
    };
  }

  /**
   * getMetricHistory with the page already written as MLflow's JSON by the database: the Metric
   * objects of the page joined by commas. Turning a million rows into JavaScript objects and back
   * into text costs seconds; the database writes the text in a fraction of that. Numbers are the
   * database's round-trip-exact text of each double (SQLite writes 2.0 where JavaScript writes 2;
   * both parse to the same double), NaN is the string "NaN" as in http/wire-json.ts.
   *
   * One point more than the page is read, to know whether another follows; it is cut off the text,
   * and the page's last point, read back from the text, is the position the next page starts after.
   */
  async getMetricHistoryJson(
    query: MetricHistoryQuery,
  ): Promise<{ json: string; count: number; next?: object }> {
    const range = this.historyRange(query);
    const offset = this.historyOffset(query);
    const prefix = historyPointPrefix(query.key);
    const value = sql`(case when is_nan = 1 then '"NaN"' else ${sql.ref('value')} end)`;
    const point = sql`${prefix} || ${value} || ',"timestamp":' || ${sql.ref('timestamp')} || ',"step":' || ${sql.ref('step')} || '}'`;
    // Both databases hand the aggregate the rows of the ordered subquery in that order (PostgreSQL's
    // manual gives this as the usual way to order an aggregate's input); an ORDER BY inside the
    // aggregate would sort every page again, which costs a third (SQLite) to half (PostgreSQL) of
    // the time. The paging tests check the order across pages, ties and NaN on both.
    const aggregate =
      this.database.dialect === 'sqlite'
        ? sql`group_concat(${point}, ',')`
        : sql`string_agg(${prefix} || (case when is_nan = 1 then '"NaN"' else ${sql.ref('value')}::text end) || ',"timestamp":' || ${sql.ref('timestamp')} || ',"step":' || ${sql.ref('step')} || '}', ',')`;
    const { rows } = await sql<HistoryJsonRow>`
      select ${aggregate} as json, count(*) as count from (
        select ${HISTORY_ORDER} from metrics where ${range}
        order by ${HISTORY_ORDER} limit ${query.maxResults + 1} offset ${offset}
      ) page`.execute(this.db);
    const count = Number(rows[0]?.count ?? 0);
    const json = rows[0]?.json ?? '';
    if (count <= query.maxResults) return { json, count };
    const page = json.slice(0, json.lastIndexOf(`,${prefix}`));
    return {
      json: page,
      count: query.maxResults,
      next: { after: await this.lastHistoryPosition(page, query) },
    };
  }

  /**
   * The rest of a history after a page's `next`, all of it or the next `limit` points, read by the
   * history reader threads in slices of timestamps: JSON batches as getMetricHistoryJson's, in
   * order, each beginning with a comma. Undefined when this store has no reader threads or fewer
   * than HISTORY_SLICE_POINTS points are wanted or follow; the caller then goes on in batches. A
   * slice is as wide in time as the next HISTORY_SLICE_POINTS points; a history logged at a steady
   * rate thus splits into slices of about that many points, and any other only into slices of other
   * sizes, which changes the speed and never the result.
   */
  async streamMetricHistoryAfter(
    runId: string,
    key: string,
    next: object,
    limit?: number,
  ): Promise<MetricHistoryRest | undefined> {
    const readers = this.database.historyReaders;
    if (!readers || (limit !== undefined && limit < HISTORY_SLICE_POINTS)) return undefined;
    const position = parseHistoryPosition(next);
    const { rows: probe } = await sql<{ timestamp: number }>`
      select ${sql.ref('timestamp')} from metrics
      where ${this.historyRange({ runId, key, maxResults: 0, start: { after: next } })}
      order by ${HISTORY_ORDER} limit 1 offset ${HISTORY_SLICE_POINTS - 1}`.execute(this.db);
    if (probe.length === 0) return undefined;
    const { rows: end } = await sql<{ last: number }>`
      select max(${sql.ref('timestamp')}) as last from metrics
      where run_uuid = ${runId} and ${sql.ref('key')} = ${key}`.execute(this.db);
    const from = position[0];
    const span = Number(end[0].last) - from + 1;
    const width = Math.max(Number(probe[0].timestamp) - from + 1, Math.ceil(span / MAX_HISTORY_SLICES));
    const slices: HistoryBounds[] = [{ after: position, to: from + width }];
    // For a page, about as many slices as the page needs and one more: reading ahead into the rest
    // of the history would be work thrown away.
    const most = limit === undefined ? Number.POSITIVE_INFINITY : Math.ceil(limit / HISTORY_SLICE_POINTS) + 1;
    for (let lo = from + width; lo < from + span && slices.length < most; lo += width) {
      slices.push({ from: lo, to: lo + width });
    }
    // The last slice is open-ended: it takes all later points (of a page whose slices held fewer
    // points than thought, and those logged since the end was read).
    delete slices[slices.length - 1].to;
    const read = readers.read(runId, key, slices, limit);
    let following: object | undefined;
    const db = this.db;
    const range = (start: object) =>
      this.historyRange({ runId, key, maxResults: 0, start: { after: start } });
    async function* batches(): AsyncGenerator<Uint8Array> {
      yield* read.batches;
      const last = read.last();
      if (limit === undefined || read.sent() < limit || !last) return;
      // A full page: another follows if any point comes after its last one.
      const after = { after: last };
      const { rows } = await sql`select 1 as one from metrics where ${range(after)} limit 1`.execute(db);
      if (rows.length > 0) following = after;
    }
    return { batches: batches(), next: () => following };
  }

  /** [timestamp, step, stored value, is_nan] of the last point of a page of history JSON. */
  private async lastHistoryPosition(page: string, query: MetricHistoryQuery): Promise<number[]> {
    const last = lastPointPosition(page);
    if (last) return last;
    // Not expected; read the position from the table instead.
    const { rows } = await sql<Pick<Selectable<MetricsTable>, 'value' | 'timestamp' | 'step' | 'is_nan'>>`
      select ${sql.ref('timestamp')}, ${sql.ref('step')}, ${sql.ref('value')}, is_nan from metrics
      where ${this.historyRange(query)} order by ${HISTORY_ORDER}
      limit 1 offset ${this.historyOffset(query) + query.maxResults - 1}`.execute(this.db);
    const row = rows[0];
    return [Number(row.timestamp), Number(row.step), Number(row.value), Number(row.is_nan)];
  }
}
