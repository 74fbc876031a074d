import path from 'node:path';
import { MlflowError } from '../entities/errors.js';

export type StoreLocation =
  | { dialect: 'sqlite'; file: string /* ':memory:' for an in-memory database */ }
  | { dialect: 'postgres'; connectionString: string };

/**
 * Reads a backend store URI the way MLflow (SQLAlchemy) does: `sqlite:///relative.db`,
 * `sqlite:////absolute/path.db`, `sqlite://` (in memory), `postgresql://...` and
 * `postgresql+<driver>://...`.
 */
export function parseStoreUri(uri: string, cwd = process.cwd()): StoreLocation {
  const sqlite = /^sqlite(\+\w+)?:\/\/(.*)$/.exec(uri);
  if (sqlite) {
    const rest = sqlite[2];
    if (rest === '' || rest === '/' || rest === '/:memory:') return { dialect: 'sqlite', file: ':memory:' };
    if (!rest.startsWith('/')) {
      throw MlflowError.invalidParameter(`Invalid SQLite URI '${uri}': expected sqlite:///<path>.`);
    }
    const file = rest.slice(1).split('?')[0];
    return { dialect: 'sqlite', file: path.isAbsolute(file) ? file : path.resolve(cwd, file) };
  }
  const pg = /^(postgresql|postgres)(\+\w+)?:\/\/(.*)$/.exec(uri);
  if (pg) return { dialect: 'postgres', connectionString: `postgresql://${pg[3]}` };
  if (/^(mysql|mssql)/.test(uri)) {
    throw MlflowError.invalidParameter(
      `Unsupported backend store URI '${uri}': mlflow-ts supports sqlite:/// and postgresql:// stores.`,
    );
  }
  throw MlflowError.invalidParameter(
    `Unsupported backend store URI '${uri}'. Use sqlite:///<path>.db (for example sqlite:///mlflow.db) ` +
      'or postgresql://<user>@<host>:<port>/<database>; the file store (./mlruns) is not supported.',
  );
}
