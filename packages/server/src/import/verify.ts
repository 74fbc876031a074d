// `mlflow-ts db verify`: reads an MLflow store the way the importer does and compares it with our store,
// table by table (row counts and an order-free content hash over the rows that belong to the source's
// entities) and run by run (a hash of the run, its params, tags and metric history).
import { createHash } from 'node:crypto';
import { MlflowError } from '../entities/errors.js';
import { openImportSource } from './importer.js';
import { MYSQL_URI, withoutPassword } from './mysql-connection.js';
import { openSqlConnection, type SqlConnection } from './sql-connection.js';
import {
  type IdKind,
  type Row,
  TARGET_TABLES,
  type TargetTable,
  type TargetTableName,
} from './target-tables.js';

export interface VerifyReport {
  lines: string[];
  differences: number;
}

/** Our tables' keys, for paging through them in order. */
export const KEYS: Record<TargetTableName, string[]> = {
  experiments: ['experiment_id'],
  experiment_tags: ['experiment_id', 'key'],
  runs: ['run_uuid'],
  params: ['run_uuid', 'key'],
  tags: ['run_uuid', 'key'],
  metrics: ['run_uuid', 'key', 'timestamp', 'step', 'value', 'is_nan'],
  datasets: ['dataset_uuid'],
  inputs: ['input_uuid'],
  input_tags: ['input_uuid', 'name'],
  logged_models: ['model_id'],
  logged_model_params: ['model_id', 'param_key'],
  logged_model_tags: ['model_id', 'tag_key'],
  logged_model_metrics: ['model_id', 'metric_name', 'metric_timestamp_ms', 'metric_step', 'run_id'],
  registered_models: ['name'],
  registered_model_tags: ['name', 'key'],
  model_versions: ['name', 'version'],
  model_version_tags: ['name', 'version', 'key'],
  registered_model_aliases: ['name', 'alias'],
  webhooks: ['webhook_id'],
  webhook_events: ['webhook_id', 'entity', 'action'],
  trace_info: ['request_id'],
  trace_tags: ['request_id', 'key'],
  trace_request_metadata: ['request_id', 'key'],
  spans: ['trace_id', 'span_id'],
  assessments: ['assessment_id'],
  scorers: ['scorer_id'],
  scorer_versions: ['scorer_id', 'scorer_version'],
  evaluation_datasets: ['dataset_id'],
  evaluation_dataset_tags: ['dataset_id', 'key'],
  evaluation_dataset_records: ['dataset_record_id'],
  entity_associations: ['source_type', 'source_id', 'destination_type', 'destination_id'],
};

const RUN_TABLES = new Set<TargetTableName>(['runs', 'params', 'tags', 'metrics']);
const MASK = (1n << 64n) - 1n;

/** A row's hash as a 64-bit number; sums of these are the same whatever order the rows come in. */
function rowHash(table: string, row: Row): bigint {
  const text = [
    table,
    ...row.map((v) =>
      v === null || v === undefined
        ? '\u0000'
        : typeof v === 'number'
          ? numberText(v)
          : typeof v === 'boolean'
            ? Number(v).toFixed(0)
            : String(v),
    ),
  ].join('\u0001');
  return createHash('sha256').update(text).digest().readBigUInt64BE(0);
}

function numberText(v: number): string {
  return Number.isInteger(v) ? v.toFixed(0) : String(v);
}

class Tally {
  readonly count = new Map<string, number>();
  readonly hash = new Map<string, bigint>();
  readonly runs = new Map<string, bigint>();

  add(table: TargetTableName, row: Row): void {
    const h = rowHash(table, row);
    this.count.set(table, (this.count.get(table) ?? 0) + 1);
    this.hash.set(table, ((this.hash.get(table) ?? 0n) + h) & MASK);
    if (RUN_TABLES.has(table)) {
      const run = String(row[0]);
      this.runs.set(run, ((this.runs.get(run) ?? 0n) + h) & MASK);
    }
  }
}

export async function verifyStores(from: string, to: string): Promise<VerifyReport> {
  if (MYSQL_URI.test(to)) {
    throw MlflowError.invalidParameter(
      `Cannot verify '${withoutPassword(to)}': mlflow-ts stores are SQLite or PostgreSQL.`,
    );
  }
  const source = await openImportSource(from);
  const target = await openSqlConnection(to, { readonly: true });
  try {
    const renumbered = await experimentIdMap(target, source.key);
    const expected = new Tally();
    const ids = new Map<IdKind, Set<string>>();
    for (const stage of source.stages) {
      for await (const batch of stage.batches(undefined, 5000)) {
        for (const table of TARGET_TABLES) {
          for (const row of batch.rows[table.name] ?? []) {
            normalize(table, row, renumbered);
            const own = table.owns?.(row);
            if (own) {
              if (!ids.has(own[0])) ids.set(own[0], new Set());
              ids.get(own[0])?.add(own[1]);
            }
            expected.add(table.name, row);
          }
        }
      }
    }
    const actual = new Tally();
    for (const table of TARGET_TABLES) {
      for await (const row of readTable(target, table)) {
        if (belongsToSource(table, row, ids)) actual.add(table.name, row);
      }
    }
    return compare(expected, actual);
  } finally {
    await target.close();
    await source.close();
  }
}

/**
 * Source rows in the types our store gives back: experiment ids as decimal strings (see
 * store/exact-ids.ts), renumbered where an earlier version's import renumbered them.
 */
function normalize(table: TargetTable, row: Row, renumbered: Map<string, string>): void {
  const column = table.experimentColumn;
  if (column === undefined) return;
  const id = String(row[column]);
  row[column] = renumbered.get(id) ?? id;
}

function belongsToSource(table: TargetTable, row: Row, ids: Map<IdKind, Set<string>>): boolean {
  const own = table.owns?.(row);
  if (own) return ids.get(own[0])?.has(own[1]) ?? false;
  const first = table.refs?.(row)[0];
  return first ? (ids.get(first[0])?.has(first[1]) ?? false) : true;
}

async function experimentIdMap(target: SqlConnection, source: string): Promise<Map<string, string>> {
  try {
    const rows = await target.all(
      'select source_id, experiment_id from mlflow_ts_import_experiment_ids where source = ?',
      [source],
    );
    return new Map(rows.map((r) => [String(r.source_id), String(r.experiment_id)]));
  } catch {
    return new Map(); // never imported into: no table
  }
}

/** Our rows of `table` in key order, `size` per query, as tuples in `columns` order. */
export async function* readTable(
  conn: SqlConnection,
  table: { name: string; columns: readonly string[] },
  key: readonly string[] = KEYS[table.name as TargetTableName],
  size = 5000,
): AsyncIterable<Row> {
  const keyList = key.map((k) => `"${k}"`).join(', ');
  // Nanosecond times exceed 2^53: read as text, as the sources give them.
  const columns = table.columns
    .map((c) => (c.endsWith('_unix_nano') ? `cast("${c}" as text) as "${c}"` : `"${c}"`))
    .join(', ');
  let position: unknown[] | undefined;
  for (;;) {
    const rows = await conn.all(
      `select ${columns} from "${table.name}"${position ? ` where (${keyList}) > (${key.map(() => '?').join(', ')})` : ''} order by ${keyList} limit ${size}`,
      position ?? [],
    );
    for (const r of rows) yield table.columns.map((c) => r[c]);
    if (rows.length < size) return;
    const last = rows[rows.length - 1];
    position = key.map((k) => last[k]);
  }
}

function compare(expected: Tally, actual: Tally): VerifyReport {
  const lines: string[] = [];
  let differences = 0;
  for (const table of TARGET_TABLES) {
    const e = expected.count.get(table.name) ?? 0;
    const a = actual.count.get(table.name) ?? 0;
    const same = e === a && (expected.hash.get(table.name) ?? 0n) === (actual.hash.get(table.name) ?? 0n);
    if (e === 0 && a === 0) continue;
    if (!same) differences++;
    lines.push(`${same ? 'same' : 'DIFFERENT'}  ${table.name}: source ${e} rows, target ${a} rows`);
  }
  let runDifferences = 0;
  for (const [run, hash] of expected.runs) {
    if (actual.runs.get(run) === hash) continue;
    runDifferences++;
    if (runDifferences <= 20)
      lines.push(
        `DIFFERENT  run ${run}: ${actual.runs.has(run) ? 'its data differs' : 'missing from the target'}`,
      );
  }
  if (runDifferences > 20) lines.push(`... and ${runDifferences - 20} more runs differ`);
  lines.push(`${expected.runs.size - runDifferences} of ${expected.runs.size} runs hash the same.`);
  return { lines, differences: differences + runDifferences };
}
