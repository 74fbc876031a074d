// The database drivers, each loaded the first time a store of its kind is opened: an SQLite server need
// not load node-postgres, nor a PostgreSQL one better-sqlite3's native module (and the SQLite writer
// thread loads only its own). Both are CommonJS, so require() gives them synchronously.
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';

const require = createRequire(import.meta.url);
let pgModule: typeof pg | undefined;

/** node-postgres, with int8 columns parsed as numbers for every pool and client of the process. */
export function pgDriver(): typeof pg {
  if (!pgModule) {
    const loaded = require('pg') as typeof pg;
    // bigint columns (timestamps, steps, ids) come back from pg as strings by default; every value we
    // store fits in a double, and MLflow's JSON carries them as numbers.
    loaded.types.setTypeParser(loaded.types.builtins.INT8, (v) => Number(v));
    pgModule = loaded;
  }
  return pgModule;
}

/** better-sqlite3's Database class. */
export function sqliteDriver(): typeof BetterSqlite3 {
  return require('better-sqlite3') as typeof BetterSqlite3;
}
