// Reads experiment ids exactly. Every other integer column keeps coming back as a JavaScript
// number (all of them fit a double except span times in nanoseconds and huge metric steps, which
// their readers handle); an experiment_id comes back as its decimal string, whatever its size,
// because MLflow's file store ids (18 digits) would round as numbers.
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import type pg from 'pg';
import { pgDriver } from './drivers.js';

/** The result column that holds an experiment id (every table names it so; see schema.ts). */
const EXPERIMENT_ID = 'experiment_id';

/**
 * Rewrites `row` in place: its experiment_id as a decimal string, other BigInts (from SQLite's
 * safeIntegers or the PostgreSQL parser below) as numbers, as the rest of the store expects them.
 */
export function exactRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const key in row) {
    const value = row[key];
    if (key === EXPERIMENT_ID) {
      if (typeof value === 'bigint' || typeof value === 'number') row[key] = value.toString();
    } else if (typeof value === 'bigint') {
      row[key] = Number(value);
    }
  }
  return row;
}

/** PostgreSQL int8 text: a number while exact, else a BigInt for `exactRow` to place. */
function parseInt8(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

/**
 * The type parsers of a pg pool or client whose rows go through `exactRow`: int8 as above, the rest
 * as pg's defaults (the global int8 parser, database.ts, gives numbers to everyone else).
 */
export const exactInt8Types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 // int8 (pg.types.builtins.INT8)
      ? parseInt8
      : pgDriver().types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** Applies `exactRow` to every result of a PostgreSQL Kysely instance (streamed chunks included). */
export class ExactIdsPlugin implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    for (const row of args.result.rows) exactRow(row);
    return args.result;
  }
}
