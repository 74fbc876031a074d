import { readFileSync } from 'node:fs';

/** This package's version, read from its package.json (one level above src/ and dist/). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * The MLflow release whose REST API this server implements. `GET /version` answers it, because MLflow 3
 * clients read that answer to decide which features the server has; our own version goes in a header.
 */
export const MLFLOW_API_VERSION = '3.6.0';

/** The response header that carries VERSION on every answer. */
export const VERSION_HEADER = 'X-Mlflow-Ts-Version';
