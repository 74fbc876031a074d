import { type Expression, type RawBuilder, type SqlBool, sql } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import { experimentIdValue } from '../entities/experiment-id.js';

// Keyset ("seek") paging. A page token carries the sort-key values of the last row returned, and the
// next page is the rows strictly after that row in the complete ordering. Unlike an offset, that
// position does not move when rows are added or removed before it, and the database seeks to it
// through an index instead of reading and discarding every earlier row.

/** One key of a total ordering (the last key must be unique, so that no two rows tie). */
export interface SortKey {
  /** The key's value; NULL only where `rank` is above 0. */
  value: Expression<unknown>;
  /**
   * For keys that can be missing: 0 when the value is present, 1 when it is NaN (metrics), 2 when it
   * is missing. Rows are ordered by rank first, so NaN and missing values come last in both
   * directions, as MLflow orders them. Absent for keys that always have a value.
   */
  rank?: Expression<unknown>;
  ascending: boolean;
  /** int64: an integer that may exceed a double (an experiment id), carried as its decimal string. */
  type: 'number' | 'string' | 'int64';
}

export const MAX_RANK = 2;

/** The position of a row in an ordering: [rank, value] per sort key; value is null when rank > 0. */
export type CursorEntry = [number, number | string | null];

/** Column aliases under which a query selects each key's value and rank, to build the next cursor. */
export const valueAlias = (i: number) => `_k${i}`;
export const rankAlias = (i: number) => `_r${i}`;

/** `value as _k0, rank as _r0, ...` for the select list, numbering the keys from `first`. */
export function cursorColumns(keys: SortKey[], first = 0): RawBuilder<unknown> {
  return sql.join(
    keys.flatMap((k, i) => {
      // An int64 key is read as text, as the drivers would round it as a number.
      const value = k.type === 'int64' ? sql`cast(${k.value} as text)` : k.value;
      const cols = [sql`${value} as ${sql.raw(valueAlias(first + i))}`];
      if (k.rank) cols.push(sql`${k.rank} as ${sql.raw(rankAlias(first + i))}`);
      return cols;
    }),
  );
}

/** The ORDER BY list: each key's rank (missing values last), then its value in the key's direction. */
export function orderBySql(keys: SortKey[]): RawBuilder<unknown> {
  return sql.join(
    keys.flatMap((k) => {
      const parts = [sql`${k.value} ${sql.raw(k.ascending ? 'asc' : 'desc')}`];
      if (k.rank) parts.unshift(sql`${k.rank} asc`);
      return parts;
    }),
  );
}

/** Reads a row's position from the columns `cursorColumns` selected. */
export function cursorOf(row: Record<string, unknown>, keys: SortKey[]): CursorEntry[] {
  return keys.map((k, i) => {
    const rank = k.rank ? Number(row[rankAlias(i)]) : 0;
    if (rank > 0) return [rank, null];
    const value = row[valueAlias(i)];
    return [0, k.type === 'number' ? Number(value) : String(value)];
  });
}

function afterFrom(keys: SortKey[], cursor: CursorEntry[], i: number): RawBuilder<SqlBool> | undefined {
  if (i === keys.length) return undefined; // equal on every key: the same row, not after it
  const key = keys[i];
  const [rank, raw] = cursor[i];
  const value = bindable(key, raw);
  const rest = afterFrom(keys, cursor, i + 1);
  let sameRank = rest;
  if (rank === 0) {
    const beyond = sql<SqlBool>`${key.value} ${sql.raw(key.ascending ? '>' : '<')} ${value}`;
    sameRank = rest ? sql<SqlBool>`(${beyond} or (${key.value} = ${value} and ${rest}))` : beyond;
  }
  if (!key.rank) return sameRank;
  const laterRank = rank < MAX_RANK ? sql<SqlBool>`${key.rank} > ${rank}` : undefined;
  const inRank = sameRank ? sql<SqlBool>`${key.rank} = ${rank} and ${sameRank}` : undefined;
  if (laterRank && inRank) return sql<SqlBool>`(${laterRank} or (${inRank}))`;
  return laterRank ?? (inRank ? sql<SqlBool>`(${inRank})` : undefined);
}

/**
 * The rows strictly after `cursor` in the ordering `keys`. When the first key always has a value, a
 * redundant bound on it is added so that an index on that key can seek straight to the position
 * (unless `seek` is false: a bound that could lure the planner onto that index for a query that
 * should start elsewhere).
 */
export function afterSql(keys: SortKey[], cursor: CursorEntry[], seek = true): RawBuilder<SqlBool> {
  const after = afterFrom(keys, cursor, 0) ?? sql<SqlBool>`1 = 0`;
  const first = keys[0];
  if (seek && first && !first.rank) {
    const bound = sql<SqlBool>`${first.value} ${sql.raw(first.ascending ? '>=' : '<=')} ${bindable(first, cursor[0][1])}`;
    return sql<SqlBool>`(${bound} and ${after})`;
  }
  return after;
}

/** A cursor value as bound in SQL: an int64 key's as a BigInt, so SQLite compares it as an integer. */
function bindable(key: SortKey, value: number | string | null): number | string | bigint | null {
  return key.type === 'int64' && typeof value === 'string' ? BigInt(value) : value;
}

export function invalidPageToken(parsed: unknown): MlflowError {
  return MlflowError.invalidParameter(`Invalid page token, parsed value=${JSON.stringify(parsed)}`);
}

/** Checks that `raw` (from a decoded page token) is a position in the ordering `keys`. */
export function parseCursor(raw: unknown, keys: SortKey[], token: unknown): CursorEntry[] {
  if (!Array.isArray(raw) || raw.length !== keys.length) throw invalidPageToken(token);
  return raw.map((entry: unknown, i) => {
    const key = keys[i];
    if (!Array.isArray(entry) || entry.length !== 2) throw invalidPageToken(token);
    const [rank, value] = entry as unknown[];
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank > (key.rank ? MAX_RANK : 0))
      throw invalidPageToken(token);
    if (rank > 0) {
      if (value !== null) throw invalidPageToken(token);
      return [rank, null];
    }
    if (key.type === 'int64') {
      const id = typeof value === 'string' ? experimentIdValue(value) : undefined;
      if (id === undefined) throw invalidPageToken(token);
      return [0, id.toString()];
    }
    const ok =
      key.type === 'number' ? typeof value === 'number' && Number.isFinite(value) : typeof value === 'string';
    if (!ok) throw invalidPageToken(token);
    return [0, value as number | string];
  });
}

/**
 * What a page token holds for keyset paging: the ordering it was issued for (a token is only valid
 * for the same order_by) and the position of the last row returned.
 */
export interface KeysetPosition {
  order: unknown;
  after: CursorEntry[];
}

/** Checks a decoded page token against the ordering of the current request; returns its position. */
export function parsePosition(raw: unknown, order: unknown, keys: SortKey[]): CursorEntry[] {
  const position = raw as Partial<KeysetPosition> | null;
  if (
    typeof position !== 'object' ||
    position === null ||
    JSON.stringify(position.order) !== JSON.stringify(order)
  ) {
    throw invalidPageToken(raw);
  }
  return parseCursor(position.after, keys, raw);
}
