// `mlflow-ts db export`: our store back into MLflow's own formats, an SQL database with MLflow 3.6's
// schema or a mlruns/ directory, so MLflow's server can open what mlflow-ts held.
import { existsSync } from 'node:fs';
import { MlflowError } from '../entities/errors.js';
import { parseStoreUri } from '../store/store-uri.js';
import { exportToMlruns } from './export-mlruns.js';
import { type ExportCounts, type ExportProgress, exportToSql } from './export-sql.js';
import { MYSQL_URI, withoutPassword } from './mysql-connection.js';
import { openSqlConnection, type SqlConnection } from './sql-connection.js';

export interface ExportOptions {
  /** Our store. */
  from: string;
  /** An empty SQLite file or PostgreSQL database (by URI), or a mlruns/ directory (a path or file: URI). */
  to: string;
  batchSize?: number;
  progress?: ExportProgress;
}

export interface ExportSummary extends ExportCounts {
  target: string;
  seconds: number;
}

export async function exportStore(options: ExportOptions): Promise<ExportSummary> {
  const started = performance.now();
  const size = options.batchSize ?? 5000;
  if (MYSQL_URI.test(options.to)) {
    throw MlflowError.invalidParameter(
      `Cannot export to '${withoutPassword(options.to)}': MySQL is read as an import source only; export to SQLite, PostgreSQL or a mlruns/ directory.`,
    );
  }
  const sql = /^(sqlite|postgres|postgresql)(\+\w+)?:/i.test(options.to);
  const source = await openOurStore(options.from);
  let counts: ExportCounts;
  try {
    counts = sql
      ? await exportToSql(source, options.to, size, options.progress)
      : await exportToMlruns(source, options.to, size, options.progress);
  } finally {
    await source.close();
  }
  return {
    ...counts,
    target: sql ? 'an MLflow 3.6 database' : 'an MLflow mlruns/ directory',
    seconds: (performance.now() - started) / 1000,
  };
}

export type { ExportProgress };

/** Opens our store read-only; refuses what is not one (a missing file, or an MLflow database by mistake). */
async function openOurStore(uri: string): Promise<SqlConnection> {
  const location = parseStoreUri(uri);
  if (location.dialect === 'sqlite' && !existsSync(location.file)) {
    throw MlflowError.invalidParameter(`Cannot export '${uri}': there is no such database file.`);
  }
  const conn = await openSqlConnection(uri, { readonly: true });
  try {
    const columns =
      conn.dialect === 'sqlite'
        ? await conn.all("select name from pragma_table_info('runs') where name = 'data_version'")
        : await conn.all(
            `select column_name from information_schema.columns
             where table_schema = current_schema() and table_name = 'runs' and column_name = 'data_version'`,
          );
    if (columns.length === 0) {
      throw MlflowError.invalidParameter(
        `Cannot export '${uri}': it is not an mlflow-ts store (an MLflow database is already in MLflow's format).`,
      );
    }
    return conn;
  } catch (error) {
    await conn.close();
    throw error;
  }
}
