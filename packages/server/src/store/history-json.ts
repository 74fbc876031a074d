// Metric history as MLflow's JSON, written by SQLite: shared by the store's own reads and the
// history reader threads (history-reader-thread.ts), which must produce byte-identical batches.

/** A point's place in MLflow's history order: [timestamp, step, stored value, is_nan]. */
export type HistoryPosition = [number, number, number, number];

/** Which points of one run's metric a batch reads, besides `run_uuid = ? and key = ?`. */
export interface HistoryBounds {
  /** Only points after this one in history order. */
  after?: HistoryPosition;
  /** Only points with timestamp >= from. */
  from?: number;
  /** Only points with timestamp < to. */
  to?: number;
}

/**
 * SQLite text of one batch for the reader threads: `{"key":...,"value":...,"timestamp":...,"step":...}`
 * objects, each preceded by a comma (a batch always follows earlier points), as UTF-8 bytes (a blob:
 * the driver then copies the bytes instead of decoding them to a JavaScript string and encoding them
 * back), and their count. Parameters: the JSON prefix `{"key":<key>,"value":`, run id, key, then the
 * bounds present (after: 4 values, from, to), then the limit. The inner query walks the metrics
 * primary key (run_uuid, key, timestamp, step, value, is_nan) in order, so no sort happens.
 */
export function sqliteHistoryBatchSql(bounds: { after: boolean; from: boolean; to: boolean }): string {
  const conditions = ['run_uuid = ?', '"key" = ?'];
  if (bounds.after) conditions.push('("timestamp", step, "value", is_nan) > (?, ?, ?, ?)');
  if (bounds.from) conditions.push('"timestamp" >= ?');
  if (bounds.to) conditions.push('"timestamp" < ?');
  const point = `? || (case when is_nan = 1 then '"NaN"' else "value" end) || ',"timestamp":' || "timestamp" || ',"step":' || step || '}'`;
  return `select cast(',' || group_concat(${point}, ',') as blob) as json, count(*) as count from (
    select "timestamp", step, "value", is_nan from metrics where ${conditions.join(' and ')}
    order by "timestamp", step, "value", is_nan limit ?) page`;
}

/** The parameters of sqliteHistoryBatchSql, in its order. */
export function sqliteHistoryBatchParams(
  runId: string,
  key: string,
  bounds: HistoryBounds,
  limit: number,
): unknown[] {
  const params: unknown[] = [historyPointPrefix(key), runId, key];
  if (bounds.after) params.push(...bounds.after);
  if (bounds.from !== undefined) params.push(bounds.from);
  if (bounds.to !== undefined) params.push(bounds.to);
  params.push(limit);
  return params;
}

/** What every point of `key` starts with in the JSON. */
export function historyPointPrefix(key: string): string {
  return `{"key":${JSON.stringify(key)},"value":`;
}

const LAST_POINT = /"value":("NaN"|[^,]+),"timestamp":(-?\d+),"step":(-?\d+)\}$/;

/**
 * The position of the last point of a batch of history JSON, read back from its text (the database
 * writes each double in a form that parses back to the same double); undefined if it cannot be read.
 */
export function lastPointPosition(json: string): HistoryPosition | undefined {
  const last = LAST_POINT.exec(json.slice(-200));
  if (!last) return undefined;
  const nan = last[1] === '"NaN"';
  const value = nan ? 0 : Number(last[1]);
  if (!Number.isFinite(value)) return undefined;
  return [Number(last[2]), Number(last[3]), value, nan ? 1 : 0];
}
