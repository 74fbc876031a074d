// An MLflow SQL database (SQLite, PostgreSQL or MySQL/MariaDB, any schema revision from MLflow 1.0 to
// 3.6) as an import source: each table streamed in key order (SQLite by rowid, PostgreSQL and MySQL by
// primary key) a page at a time, its rows turned into our tables' shapes with MLflow's defaults for
// columns an older revision lacks or left NULL.
import { parseStoreUri } from '../store/store-uri.js';
import type { ImportSource, ImportStage, SkippedEntity, SqliteCopy, StageBatch } from './import-source.js';
import { readSourceSchema, type SourceSchema } from './mlflow-schema.js';
import { openSqlConnection, type SqlConnection, type SqlRow } from './sql-connection.js';
import { KEPT_ASSOCIATIONS, type Row, type RowsByTable, type TargetTableName } from './target-tables.js';

const orNull = (v: unknown): unknown => (v === undefined ? null : v);
const text = (v: unknown, fallback = ''): string => (v === null || v === undefined ? fallback : String(v));
const num = (v: unknown, fallback = 0): number => (v === null || v === undefined ? fallback : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** A source table and how its rows become rows of one of our tables. */
interface TableStage {
  name: string;
  source: string;
  target: TargetTableName;
  /** Which of our rows own an id (only those are read for the conflict check). */
  ownsIds?: boolean;
  /** Which source rows the stage reads (SQL over the source table), when not all of them. */
  where?: string;
  /** Columns read as text: nanosecond times beyond 2^53 that a JavaScript number would round. */
  textColumns?: readonly string[];
  convert(row: SqlRow): Row;
}

/** MLflow's JSON columns, read as the text they hold (PostgreSQL's driver would parse them). */
const DATASET_RECORD_JSON = ['inputs', 'outputs', 'expectations', 'tags', 'source'] as const;

/** The entity_associations rows that are imported (see KEPT_ASSOCIATIONS), as an SQL condition. */
const KEPT_ASSOCIATION_SQL = `(${KEPT_ASSOCIATIONS.map(
  ([source, destination]) => `("source_type" = '${source}' and "destination_type" = '${destination}')`,
).join(' or ')})`;

const RUN_NAME_TAG = 'mlflow.runName';

const TABLE_STAGES: TableStage[] = [
  {
    name: 'experiments',
    source: 'experiments',
    target: 'experiments',
    ownsIds: true,
    convert: (r) => [
      text(r.experiment_id),
      text(r.name),
      orNull(r.artifact_location),
      text(r.lifecycle_stage, 'active'),
      num(r.creation_time),
      num(r.last_update_time ?? r.creation_time),
    ],
  },
  {
    name: 'experiment tags',
    source: 'experiment_tags',
    target: 'experiment_tags',
    convert: (r) => [text(r.experiment_id), text(r.key), text(r.value)],
  },
  {
    name: 'runs',
    source: 'runs',
    target: 'runs',
    ownsIds: true,
    convert: (r) => [
      text(r.run_uuid),
      text(r.experiment_id),
      // NULL names (every run before MLflow 2.0) are filled from the mlflow.runName tag, see runNames.
      r.name ?? null,
      text(r.user_id),
      // MLflow's column default for a run that never reported a status.
      text(r.status, 'SCHEDULED'),
      num(r.start_time),
      numOrNull(r.end_time),
      numOrNull(r.deleted_time),
      text(r.lifecycle_stage, 'active'),
      text(r.artifact_uri),
    ],
  },
  {
    name: 'params',
    source: 'params',
    target: 'params',
    convert: (r) => [text(r.run_uuid), text(r.key), text(r.value)],
  },
  {
    name: 'tags',
    source: 'tags',
    target: 'tags',
    convert: (r) => [text(r.run_uuid), text(r.key), text(r.value)],
  },
  {
    name: 'metrics',
    source: 'metrics',
    target: 'metrics',
    convert: (r) => {
      // MLflow keeps NaN as value 0 with is_nan set; revisions before is_nan could hold NULL instead.
      const nan = r.value === null || r.value === undefined || Number(r.is_nan ?? 0) === 1;
      return [
        text(r.run_uuid),
        text(r.key),
        num(r.timestamp),
        num(r.step),
        nan ? 0 : Number(r.value),
        nan ? 1 : 0,
      ];
    },
  },
  {
    name: 'datasets',
    source: 'datasets',
    target: 'datasets',
    ownsIds: true,
    convert: (r) => [
      text(r.dataset_uuid),
      text(r.experiment_id),
      text(r.name),
      text(r.digest),
      text(r.dataset_source_type),
      text(r.dataset_source),
      orNull(r.dataset_schema),
      orNull(r.dataset_profile),
    ],
  },
  {
    name: 'inputs',
    source: 'inputs',
    target: 'inputs',
    ownsIds: true,
    convert: (r) => [
      text(r.input_uuid),
      text(r.source_type),
      text(r.source_id),
      text(r.destination_type),
      text(r.destination_id),
      num(r.step),
    ],
  },
  {
    name: 'input tags',
    source: 'input_tags',
    target: 'input_tags',
    convert: (r) => [text(r.input_uuid), text(r.name), text(r.value)],
  },
  {
    name: 'logged models',
    source: 'logged_models',
    target: 'logged_models',
    ownsIds: true,
    convert: (r) => [
      text(r.model_id),
      text(r.experiment_id),
      text(r.name),
      text(r.artifact_location),
      num(r.creation_timestamp_ms),
      num(r.last_updated_timestamp_ms),
      num(r.status),
      text(r.lifecycle_stage, 'active'),
      orNull(r.model_type),
      orNull(r.source_run_id),
      orNull(r.status_message),
    ],
  },
  {
    name: 'logged model params',
    source: 'logged_model_params',
    target: 'logged_model_params',
    convert: (r) => [text(r.model_id), text(r.experiment_id), text(r.param_key), text(r.param_value)],
  },
  {
    name: 'logged model tags',
    source: 'logged_model_tags',
    target: 'logged_model_tags',
    convert: (r) => [text(r.model_id), text(r.experiment_id), text(r.tag_key), text(r.tag_value)],
  },
  {
    name: 'logged model metrics',
    source: 'logged_model_metrics',
    target: 'logged_model_metrics',
    convert: (r) => [
      text(r.model_id),
      text(r.metric_name),
      num(r.metric_timestamp_ms),
      num(r.metric_step),
      numOrNull(r.metric_value),
      text(r.experiment_id),
      text(r.run_id),
      orNull(r.dataset_uuid),
      orNull(r.dataset_name),
      orNull(r.dataset_digest),
    ],
  },
  {
    name: 'registered models',
    source: 'registered_models',
    target: 'registered_models',
    ownsIds: true,
    convert: (r) => [
      text(r.name),
      numOrNull(r.creation_time),
      numOrNull(r.last_updated_time),
      orNull(r.description),
    ],
  },
  {
    name: 'registered model tags',
    source: 'registered_model_tags',
    target: 'registered_model_tags',
    convert: (r) => [text(r.name), text(r.key), orNull(r.value)],
  },
  {
    name: 'model versions',
    source: 'model_versions',
    target: 'model_versions',
    convert: (r) => [
      text(r.name),
      num(r.version),
      numOrNull(r.creation_time),
      numOrNull(r.last_updated_time),
      orNull(r.description),
      orNull(r.user_id),
      orNull(r.current_stage),
      orNull(r.source),
      orNull(r.storage_location),
      orNull(r.run_id),
      orNull(r.run_link),
      orNull(r.status),
      orNull(r.status_message),
    ],
  },
  {
    name: 'model version tags',
    source: 'model_version_tags',
    target: 'model_version_tags',
    convert: (r) => [text(r.name), num(r.version), text(r.key), orNull(r.value)],
  },
  {
    name: 'model aliases',
    source: 'registered_model_aliases',
    target: 'registered_model_aliases',
    convert: (r) => [text(r.name), text(r.alias), num(r.version)],
  },
  {
    name: 'webhooks',
    source: 'webhooks',
    target: 'webhooks',
    ownsIds: true,
    convert: (r) => [
      text(r.webhook_id),
      text(r.name),
      orNull(r.description),
      text(r.url),
      text(r.status, 'ACTIVE'),
      orNull(r.secret),
      num(r.creation_timestamp),
      num(r.last_updated_timestamp ?? r.creation_timestamp),
      numOrNull(r.deleted_timestamp),
    ],
  },
  {
    name: 'webhook events',
    source: 'webhook_events',
    target: 'webhook_events',
    convert: (r) => [text(r.webhook_id), text(r.entity), text(r.action)],
  },
  {
    name: 'traces',
    source: 'trace_info',
    target: 'trace_info',
    ownsIds: true,
    convert: (r) => [
      text(r.request_id),
      text(r.experiment_id),
      num(r.timestamp_ms),
      numOrNull(r.execution_time_ms),
      text(r.status, 'STATE_UNSPECIFIED'),
      orNull(r.client_request_id),
      orNull(r.request_preview),
      orNull(r.response_preview),
    ],
  },
  {
    name: 'trace tags',
    source: 'trace_tags',
    target: 'trace_tags',
    convert: (r) => [text(r.request_id), text(r.key), orNull(r.value)],
  },
  {
    name: 'trace metadata',
    source: 'trace_request_metadata',
    target: 'trace_request_metadata',
    convert: (r) => [text(r.request_id), text(r.key), orNull(r.value)],
  },
  {
    name: 'spans',
    source: 'spans',
    target: 'spans',
    textColumns: ['start_time_unix_nano', 'end_time_unix_nano'],
    convert: (r) => [
      text(r.trace_id),
      text(r.experiment_id),
      text(r.span_id),
      orNull(r.parent_span_id),
      orNull(r.name),
      orNull(r.type),
      text(r.status, 'UNSET'),
      text(r.start_time_unix_nano, '0'),
      orNull(r.end_time_unix_nano),
      text(r.content),
    ],
  },
  {
    name: 'assessments',
    source: 'assessments',
    target: 'assessments',
    convert: (r) => [
      text(r.trace_id),
      text(r.assessment_id),
      text(r.name),
      text(r.assessment_type),
      text(r.value),
      orNull(r.error),
      num(r.created_timestamp),
      num(r.last_updated_timestamp),
      text(r.source_type),
      orNull(r.source_id),
      orNull(r.run_id),
      orNull(r.span_id),
      orNull(r.rationale),
      orNull(r.overrides),
      // SQLite binds no booleans; PostgreSQL reads 1 and 0 as true and false.
      r.valid === true || Number(r.valid) === 1 ? 1 : 0,
      orNull(r.assessment_metadata),
    ],
  },
  {
    name: 'scorers',
    source: 'scorers',
    target: 'scorers',
    ownsIds: true,
    convert: (r) => [text(r.experiment_id), text(r.scorer_name), text(r.scorer_id)],
  },
  {
    name: 'scorer versions',
    source: 'scorer_versions',
    target: 'scorer_versions',
    convert: (r) => [
      text(r.scorer_id),
      num(r.scorer_version),
      text(r.serialized_scorer),
      numOrNull(r.creation_time),
    ],
  },
  {
    name: 'evaluation datasets',
    source: 'evaluation_datasets',
    target: 'evaluation_datasets',
    ownsIds: true,
    convert: (r) => [
      text(r.dataset_id),
      text(r.name),
      orNull(r.schema),
      orNull(r.profile),
      orNull(r.digest),
      numOrNull(r.created_time),
      numOrNull(r.last_update_time),
      orNull(r.created_by),
      orNull(r.last_updated_by),
    ],
  },
  {
    name: 'evaluation dataset tags',
    source: 'evaluation_dataset_tags',
    target: 'evaluation_dataset_tags',
    convert: (r) => [text(r.dataset_id), text(r.key), orNull(r.value)],
  },
  {
    name: 'evaluation dataset records',
    source: 'evaluation_dataset_records',
    target: 'evaluation_dataset_records',
    textColumns: DATASET_RECORD_JSON,
    convert: (r) => [
      text(r.dataset_id),
      text(r.dataset_record_id),
      text(r.inputs, '{}'),
      orNull(r.outputs),
      orNull(r.expectations),
      orNull(r.tags),
      orNull(r.source),
      orNull(r.source_id),
      orNull(r.source_type),
      numOrNull(r.created_time),
      numOrNull(r.last_update_time),
      orNull(r.created_by),
      orNull(r.last_updated_by),
      text(r.input_hash),
    ],
  },
  {
    name: 'entity associations',
    source: 'entity_associations',
    target: 'entity_associations',
    where: KEPT_ASSOCIATION_SQL,
    convert: (r) => [
      text(r.source_type),
      text(r.source_id),
      text(r.destination_type),
      text(r.destination_id),
      text(r.association_id),
      numOrNull(r.created_time),
    ],
  },
];

/** MLflow tables with no home in mlflow-ts yet, by what they hold. */
const LEFT_BEHIND: { tables: string[]; where?: string; what: string; why: string }[] = [
  {
    tables: ['entity_associations'],
    what: 'entity associations',
    why: 'they link entities mlflow-ts does not keep',
    where: `not ${KEPT_ASSOCIATION_SQL}`,
  },
  { tables: ['jobs'], what: 'jobs', why: "MLflow's job queue is internal to its server" },
];

const DIALECT_NAMES = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MySQL' } as const;

/** The workspace whose rows are imported when the source has MLflow's workspaces (3.6+). */
const DEFAULT_WORKSPACE = 'default';

/**
 * The rows after `position` in `key` order. A row comparison says it in one line, but MariaDB reads
 * it as a filter over the whole primary key index (each page would scan from the start); spelled out
 * (k1 > v1, or k1 = v1 and k2 > v2, ...) behind `k1 >= v1`, it is an index range there too.
 */
export function after(
  key: readonly string[],
  position: readonly unknown[],
  expanded: boolean,
): { sql: string; values: unknown[] } {
  const cols = key.map((k) => `"${k}"`);
  if (!expanded)
    return { sql: `(${cols.join(', ')}) > (${cols.map(() => '?').join(', ')})`, values: [...position] };
  const values: unknown[] = [position[0]];
  const step = (i: number): string => {
    values.push(position[i]);
    if (i === cols.length - 1) return `${cols[i]} > ?`;
    const greater = `${cols[i]} > ?`;
    values.push(position[i]);
    return `(${greater} or (${cols[i]} = ? and ${step(i + 1)}))`;
  };
  return { sql: `${cols[0]} >= ? and ${step(0)}`, values };
}

export async function openSqlSource(uri: string): Promise<ImportSource> {
  const conn = await openSqlConnection(uri, { readonly: true });
  try {
    const schema = await readSourceSchema(conn);
    return new SqlSource(conn, schema, uri);
  } catch (error) {
    await conn.close();
    throw error;
  }
}

class SqlSource implements ImportSource {
  readonly stages: ImportStage[];
  readonly description: string;

  constructor(
    private readonly conn: SqlConnection,
    private readonly schema: SourceSchema,
    readonly key: string,
  ) {
    this.description = `MLflow ${DIALECT_NAMES[conn.dialect]} database, schema revision ${schema.revision ?? '(none: before MLflow 1.0)'}`;
    this.stages = TABLE_STAGES.filter((s) => schema.tables.has(s.source)).map((s) => this.stage(s));
  }

  private stage(spec: TableStage): ImportStage {
    const read = (cursor: string | undefined, size: number) => this.read(spec, cursor, size);
    const copy = spec.source === 'metrics' ? this.metricsCopy() : undefined;
    return { name: spec.name, batches: read, owners: spec.ownsIds ? read : undefined, sqliteCopy: copy };
  }

  /** The metrics stage's conversion (see TABLE_STAGES) in SQL, for an SQLite target to run itself. */
  private metricsCopy(): SqliteCopy | undefined {
    if (this.conn.dialect !== 'sqlite') return undefined;
    const location = parseStoreUri(this.key);
    const columns = this.schema.tables.get('metrics')?.columns;
    if (location.dialect !== 'sqlite' || !columns) return undefined;
    const nan = `(s."value" is null${columns.has('is_nan') ? ' or s."is_nan" = 1' : ''})`;
    return {
      file: location.file,
      table: 'metrics',
      target: 'metrics',
      columns: [
        `coalesce(s."run_uuid", '')`,
        `coalesce(s."key", '')`,
        `coalesce(s."timestamp", 0)`,
        columns.has('step') ? `coalesce(s."step", 0)` : '0',
        `case when ${nan} then 0 else s."value" end`,
        `case when ${nan} then 1 else 0 end`,
      ],
    };
  }

  private async *read(spec: TableStage, cursor: string | undefined, size: number): AsyncIterable<StageBatch> {
    const info = this.schema.tables.get(spec.source);
    if (!info) return;
    const textType = this.conn.dialect === 'mysql' ? 'char' : 'text';
    const columns = [...info.columns]
      .map((c) => (spec.textColumns?.includes(c) ? `cast("${c}" as ${textType}) as "${c}"` : `"${c}"`))
      .join(', ');
    const workspace = info.columns.has('workspace') ? `"workspace" = '${DEFAULT_WORKSPACE}'` : null;
    // SQLite pages by rowid (present on every MLflow table, and it also orders rows whose key columns
    // hold NULLs, which old revisions allowed); PostgreSQL and MySQL by the primary key, whose index
    // serves the seek (MySQL's case-insensitive collations order and compare the seek alike).
    const key = this.conn.dialect === 'sqlite' ? ['rowid'] : info.primaryKey;
    if (key.length === 0) throw new Error(`The source table ${spec.source} has no primary key to page by.`);
    const keyList = key.map((k) => `"${k}"`).join(', ');
    const select = this.conn.dialect === 'sqlite' ? `rowid as "__key", ${columns}` : columns;
    let position: unknown[] | undefined = cursor ? (JSON.parse(cursor) as unknown[]) : undefined;
    for (;;) {
      const seek = position ? after(key, position, this.conn.dialect === 'mysql') : null;
      const where = [spec.where ? `(${spec.where})` : null, workspace, seek?.sql ?? null].filter(Boolean);
      const rows = await this.conn.all(
        `select ${select} from "${spec.source}"${where.length ? ` where ${where.join(' and ')}` : ''} order by ${keyList} limit ?`,
        [...(seek?.values ?? []), size],
      );
      if (rows.length === 0) return;
      const last = rows[rows.length - 1];
      position = this.conn.dialect === 'sqlite' ? [last.__key] : key.map((k) => last[k]);
      const converted = rows.map(spec.convert);
      if (spec.target === 'runs') await this.runNames(converted);
      const out: RowsByTable = { [spec.target]: converted };
      yield { rows: out, cursor: JSON.stringify(position), read: rows.length };
      if (rows.length < size) return;
    }
  }

  /** Runs without a name (MLflow before 2.0 kept it only in the mlflow.runName tag) take the tag's. */
  private async runNames(rows: Row[]): Promise<void> {
    const unnamed = rows.filter((r) => r[2] === null);
    if (unnamed.length === 0) return;
    const names = new Map<string, string>();
    for (let i = 0; i < unnamed.length; i += 500) {
      const part = unnamed.slice(i, i + 500).map((r) => r[0]);
      const found = await this.conn.all(
        `select "run_uuid", "key", "value" from "tags" where "key" = ? and "run_uuid" in (${part.map(() => '?').join(', ')})`,
        [RUN_NAME_TAG, ...part],
      );
      // MySQL's case-insensitive collations also match other capitals, which MLflow does not read as the name.
      for (const f of found) if (f.key === RUN_NAME_TAG) names.set(String(f.run_uuid), text(f.value));
    }
    for (const r of unnamed) r[2] = names.get(String(r[0])) ?? '';
  }

  async skipped(): Promise<SkippedEntity[]> {
    const out: SkippedEntity[] = [];
    for (const left of LEFT_BEHIND) {
      for (const table of left.tables) {
        if (!this.schema.tables.has(table)) continue;
        const count = await this.count(table, left.where);
        if (count > 0) out.push({ what: left.what, count, why: left.why });
      }
    }
    for (const [table, info] of this.schema.tables) {
      if (!info.columns.has('workspace') || !TABLE_STAGES.some((s) => s.source === table)) continue;
      const count = await this.count(table, `"workspace" <> '${DEFAULT_WORKSPACE}'`);
      if (count > 0) {
        out.push({
          what: `${table} rows`,
          count,
          why: `they are in MLflow workspaces other than '${DEFAULT_WORKSPACE}'`,
        });
      }
    }
    return out;
  }

  private async count(table: string, where?: string): Promise<number> {
    const rows = await this.conn.all(`select count(*) as n from "${table}"${where ? ` where ${where}` : ''}`);
    return Number(rows[0]?.n ?? 0);
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}
