// Our store as the importer writes it: batches of rows inserted with multi-row statements, one
// transaction per batch that also moves the batch's checkpoint, so an interrupted import resumes
// exactly where its last commit left it. The store's invariants are kept here: latest metrics follow
// the history written, and runs.data_version rises with every write to a run's params, tags or latest
// metrics (run-data-cache.ts).
import { experimentIdValues, SMALL_EXPERIMENT_IDS } from '../entities/experiment-id.js';
import { upgradeDatabase } from '../store/database.js';
import { isNewerMetric } from '../store/run-data-repository.js';
import type { SqliteCopy } from './import-source.js';
import { openSqlConnection, type SqlConnection } from './sql-connection.js';
import {
  ID_COLUMNS,
  type IdKind,
  METRIC_COLUMNS,
  type Row,
  type RowsByTable,
  TARGET_TABLES,
} from './target-tables.js';

/** Bound values per statement: under SQLite's 32,766 and PostgreSQL's 65,535. */
const MAX_VALUES = 30_000;

const PROGRESS_TABLE = 'mlflow_ts_import_progress';
const SKIPPED_TABLE = 'mlflow_ts_import_skipped';
const EXPERIMENT_IDS_TABLE = 'mlflow_ts_import_experiment_ids';
/** Runs whose points an in-SQL copy wrote and whose latest metrics are still to be derived. */
const PENDING_LATEST_TABLE = 'mlflow_ts_import_pending_latest';

const LATEST_UPSERT = `on conflict ("run_uuid", "key") do update set "value" = excluded."value",
  "timestamp" = excluded."timestamp", "step" = excluded."step", "is_nan" = excluded."is_nan"
  where excluded."step" > latest_metrics."step" or (excluded."step" = latest_metrics."step" and
    (excluded."timestamp" > latest_metrics."timestamp" or (excluded."timestamp" = latest_metrics."timestamp" and
      excluded."is_nan" = 0 and (latest_metrics."is_nan" = 1 or excluded."value" > latest_metrics."value"))))`;

export class BulkTarget {
  private constructor(readonly conn: SqlConnection) {}

  /**
   * Opens the store at `uri`, creating it or bringing its schema up to date first (which also creates
   * the import's bookkeeping tables, migration 0009).
   */
  static async open(uri: string): Promise<BulkTarget> {
    await upgradeDatabase(uri);
    const conn = await openSqlConnection(uri);
    if (conn.dialect === 'sqlite') {
      // The importer checks every row's parents itself (Importer.filter) before writing it, so SQLite's
      // per-row foreign key lookups only repeat that work; a larger page cache keeps the history's
      // B-trees in memory while millions of points go in.
      await conn.run('pragma foreign_keys = OFF');
      await conn.run('pragma cache_size = -262144');
    }
    return new BulkTarget(conn);
  }

  /**
   * The experiment ids earlier versions gave to source ids past 2^53 (they renumbered those), by
   * source id; such ids are now kept, and this table only grows no more.
   */
  async experimentIds(source: string): Promise<Map<string, string>> {
    const rows = await this.conn.all(
      `select source_id, experiment_id from ${EXPERIMENT_IDS_TABLE} where source = ?`,
      [source],
    );
    return new Map(rows.map((r) => [String(r.source_id), String(r.experiment_id)]));
  }

  async checkpoints(source: string): Promise<Map<string, string | undefined>> {
    const rows = await this.conn.all(`select stage, cursor from ${PROGRESS_TABLE} where source = ?`, [
      source,
    ]);
    return new Map(rows.map((r) => [String(r.stage), r.cursor === null ? undefined : String(r.cursor)]));
  }

  /** The ids an earlier run of this import skipped (their children are skipped too). */
  async skippedIds(source: string): Promise<Map<IdKind, Set<string>>> {
    const out = new Map<IdKind, Set<string>>();
    for (const r of await this.conn.all(`select kind, id from ${SKIPPED_TABLE} where source = ?`, [source])) {
      const kind = String(r.kind) as IdKind;
      if (!out.has(kind)) out.set(kind, new Set());
      out.get(kind)?.add(String(r.id));
    }
    return out;
  }

  /** Which of `ids` exist in our store. */
  async existing(kind: IdKind, ids: readonly string[]): Promise<Set<string>> {
    const { table, column } = ID_COLUMNS[kind];
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      // Experiment ids are bound as integers; one past 64 bits exists nowhere (the importer refuses it).
      const values =
        kind === 'experiment' ? experimentIdValues(ids.slice(i, i + 500)) : ids.slice(i, i + 500);
      if (values.length === 0) continue;
      // Selected under its own name, so that an experiment id comes back exact (store/exact-ids.ts).
      const rows = await this.conn.all(
        `select "${column}" from "${table}" where "${column}" in (${values.map(() => '?').join(', ')})`,
        values,
      );
      for (const r of rows) found.add(String(r[column]));
    }
    return found;
  }

  /** The artifact locations our runs or logged models with these ids have, by id. */
  async artifactLocations(kind: 'run' | 'loggedModel', ids: readonly string[]): Promise<Map<string, string>> {
    const [table, key, column] =
      kind === 'run'
        ? ['runs', 'run_uuid', 'artifact_uri']
        : ['logged_models', 'model_id', 'artifact_location'];
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      const rows = await this.conn.all(
        `select "${key}" as id, "${column}" as location from "${table}" where "${key}" in (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const r of rows) out.set(String(r.id), String(r.location ?? ''));
    }
    return out;
  }

  /** Experiments of ours with one of `names`, by name. */
  async experimentsNamed(names: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < names.length; i += 500) {
      const part = names.slice(i, i + 500);
      const rows = await this.conn.all(
        `select name, experiment_id from experiments where name in (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const r of rows) out.set(String(r.name), String(r.experiment_id));
    }
    return out;
  }

  /** True while experiment 0 is the untouched Default every new store has: no runs, tags or models. */
  async defaultExperimentUnused(): Promise<boolean> {
    const rows = await this.conn.all(
      `select (select count(*) from runs where experiment_id = 0) + (select count(*) from experiment_tags where experiment_id = 0)
        + (select count(*) from logged_models where experiment_id = 0) + (select count(*) from datasets where experiment_id = 0) as n`,
    );
    return Number(rows[0]?.n ?? 1) === 0;
  }

  /**
   * Writes one batch and its checkpoint in one transaction; returns the rows inserted per table (rows
   * already present are left as they are, which makes a repeated batch a no-op).
   */
  async write(batch: {
    source: string;
    stage: string;
    cursor: string | null;
    rows: RowsByTable;
    skipped: [IdKind, string][];
    /** Source experiment 0 replaces our unused Default instead of colliding with it. */
    replaceDefault: boolean;
  }): Promise<number> {
    return this.conn.transaction(async () => {
      let written = 0;
      const touchedRuns = new Set<string>();
      for (const table of TARGET_TABLES) {
        let rows = batch.rows[table.name];
        if (!rows?.length) continue;
        if (table.name === 'experiments' && batch.replaceDefault) {
          const zero = rows.find((r) => Number(r[0]) === 0);
          if (zero) {
            written += await this.conn.run(
              `update experiments set name = ?, artifact_location = ?, lifecycle_stage = ?, creation_time = ?,
                last_update_time = ? where experiment_id = 0`,
              zero.slice(1),
            );
            rows = rows.filter((r) => r !== zero);
          }
        }
        written += await this.insert(table.name, table.columns, rows, 'on conflict do nothing');
        if (table.name === 'params' || table.name === 'tags' || table.name === 'metrics') {
          for (const r of rows) touchedRuns.add(String(r[0]));
        }
        if (table.name === 'metrics') await this.raiseLatest(rows);
      }
      await this.raiseDataVersions([...touchedRuns]);
      if (batch.skipped.length) {
        await this.insert(
          SKIPPED_TABLE,
          ['source', 'kind', 'id'],
          batch.skipped.map(([kind, id]) => [batch.source, kind, id]),
          'on conflict do nothing',
        );
      }
      if (batch.cursor !== null) await this.checkpoint(batch.source, batch.stage, batch.cursor, written);
      return written;
    });
  }

  private async checkpoint(source: string, stage: string, cursor: string, written: number): Promise<void> {
    await this.conn.run(
      `insert into ${PROGRESS_TABLE} (source, stage, cursor, rows_written) values (?, ?, ?, ?)
       on conflict (source, stage) do update set cursor = excluded.cursor,
         rows_written = ${PROGRESS_TABLE}.rows_written + excluded.rows_written`,
      [source, stage, cursor, written],
    );
  }

  /**
   * Copies a metric history from an SQLite source file inside SQLite (an SQLite target only): each
   * batch of source rowids is inserted with one INSERT ... SELECT, the latest value of each (run, key)
   * in it raised with one windowed upsert, and the checkpoint moved, in one transaction. Points of runs
   * our store lacks or the import skipped are left out, as Importer.filter leaves them.
   */
  async copyFromSqlite(
    copy: SqliteCopy,
    at: { source: string; stage: string; cursor: string | undefined; size: number },
    onBatch: (read: number, written: number, skipped: number) => void,
  ): Promise<void> {
    if (this.conn.dialect !== 'sqlite' || copy.target !== 'metrics') {
      throw new Error('copyFromSqlite copies a metric history into an SQLite store');
    }
    // Only read: nothing here writes to the attached schema (better-sqlite3 has no URI filenames for ?mode=ro).
    await this.conn.run('attach database ? as mlflow_source', [copy.file]);
    try {
      let position = at.cursor === undefined ? null : (JSON.parse(at.cursor) as number[])[0];
      const columns = copy.columns.map((expr, i) => `${expr} as "${METRIC_COLUMNS[i]}"`).join(', ');
      const names = METRIC_COLUMNS.map((c) => `"${c}"`).join(', ');
      const range = 's.rowid > ? and s.rowid <= ?';
      const kept = `${range} and s."run_uuid" in (select run_uuid from main.runs)
        and s."run_uuid" not in (select id from ${SKIPPED_TABLE} where source = ? and kind = 'run')`;
      const from = `mlflow_source."${copy.table}" s`;
      for (;;) {
        const [bounds] = await this.conn.all(
          `select count(*) as n, max(r) as hi from (select rowid as r from mlflow_source."${copy.table}"
             where rowid > ? order by rowid limit ?)`,
          [position ?? Number.MIN_SAFE_INTEGER, at.size],
        );
        const read = Number(bounds?.n ?? 0);
        if (read === 0) break;
        const low = position ?? Number.MIN_SAFE_INTEGER;
        const high = Number(bounds.hi);
        const values = [low, high, at.source];
        const [written, keptRows] = await this.conn.transaction(async () => {
          const inserted = await this.conn.run(
            `insert into "metrics" (${names}) select ${columns} from ${from} where ${kept} on conflict do nothing`,
            values,
          );
          const [count] = await this.conn.all(`select count(*) as n from ${from} where ${kept}`, values);
          await this.conn.run(
            `insert into ${PENDING_LATEST_TABLE} (source, run_uuid) select distinct ?, s."run_uuid" from ${from}
             where ${kept} on conflict do nothing`,
            [at.source, ...values],
          );
          await this.conn.run(
            `update runs set data_version = data_version + 1
             where run_uuid in (select distinct s."run_uuid" from ${from} where ${range})`,
            [low, high],
          );
          await this.checkpoint(at.source, at.stage, JSON.stringify([high]), inserted);
          return [inserted, Number(count?.n ?? 0)];
        });
        onBatch(read, written, read - keptRows);
        position = high;
        if (read < at.size) break;
      }
      await this.raisePendingLatest(at.source);
    } finally {
      await this.conn.run('detach database mlflow_source');
    }
  }

  /**
   * The latest value of each (run, key) of the runs an in-SQL copy wrote, derived once from the whole
   * history rather than per batch: the highest step is found on the (run, key, step) index, and only
   * the points at that step are ranked by the rest of the rule (isNewerMetric: timestamp, then a number
   * over NaN, then the larger value). Runs stay pending until this commits, so a copy interrupted
   * before it does it on resuming.
   */
  private async raisePendingLatest(source: string): Promise<void> {
    const names = METRIC_COLUMNS.map((c) => `"${c}"`).join(', ');
    await this.conn.transaction(async () => {
      await this.conn.run(
        `insert into latest_metrics (${names}) select ${names} from (
           select m.*, row_number() over (partition by m."run_uuid", m."key"
             order by m."timestamp" desc, m."is_nan" asc, m."value" desc) as rn
           from (select "run_uuid", "key", max("step") as step from metrics
                 where "run_uuid" in (select run_uuid from ${PENDING_LATEST_TABLE} where source = ?)
                 group by "run_uuid", "key") top
           join metrics m on m."run_uuid" = top."run_uuid" and m."key" = top."key" and m."step" = top.step
         ) where rn = 1 ${LATEST_UPSERT}`,
        [source],
      );
      // The server's cached run data (run-data-cache.ts) follows the new latest values.
      await this.conn.run(
        `update runs set data_version = data_version + 1
         where run_uuid in (select run_uuid from ${PENDING_LATEST_TABLE} where source = ?)`,
        [source],
      );
      await this.conn.run(`delete from ${PENDING_LATEST_TABLE} where source = ?`, [source]);
    });
  }

  /**
   * After the last batch: PostgreSQL's experiment id sequence moves past the ids imported, leaving
   * out ids at or past 2^53 (MLflow's file store draws random 18-digit ones), so new experiments
   * keep small sequential ids, as on SQLite (see the experiment repository).
   */
  async finish(): Promise<void> {
    if (this.conn.dialect !== 'postgres') return;
    await this.conn.run(
      `select setval(pg_get_serial_sequence('experiments', 'experiment_id'),
        greatest((select max(experiment_id) from experiments where experiment_id < ${SMALL_EXPERIMENT_IDS}), 1))`,
    );
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  private async insert(
    table: string,
    columns: readonly string[],
    rows: Row[],
    tail: string,
  ): Promise<number> {
    const per = Math.max(1, Math.floor(MAX_VALUES / columns.length));
    const names = columns.map((c) => `"${c}"`).join(', ');
    const one = `(${columns.map(() => '?').join(', ')})`;
    let changed = 0;
    for (let i = 0; i < rows.length; i += per) {
      const part = rows.slice(i, i + per);
      changed += await this.conn.run(
        `insert into "${table}" (${names}) values ${Array(part.length).fill(one).join(', ')} ${tail}`,
        part.flat(),
      );
    }
    return changed;
  }

  /** Each (run, metric) of the batch's points: its newest point becomes the latest value if newer. */
  private async raiseLatest(points: Row[]): Promise<void> {
    const newest = new Map<string, Row>();
    for (const p of points) {
      const id = `${p[0]}\u0000${p[1]}`;
      const current = newest.get(id);
      if (!current || isNewerMetric(asMetric(p), asMetric(current))) newest.set(id, p);
    }
    await this.insert('latest_metrics', METRIC_COLUMNS, [...newest.values()], LATEST_UPSERT);
  }

  private async raiseDataVersions(runs: string[]): Promise<void> {
    for (let i = 0; i < runs.length; i += 500) {
      const part = runs.slice(i, i + 500);
      await this.conn.run(
        `update runs set data_version = data_version + 1 where run_uuid in (${part.map(() => '?').join(', ')})`,
        part,
      );
    }
  }
}

/** A metric row (METRIC_COLUMNS order) as the latest-value rule compares it. */
function asMetric(row: Row): { key: string; step: number; timestamp: number; value: number } {
  return {
    key: String(row[1]),
    timestamp: Number(row[2]),
    step: Number(row[3]),
    value: Number(row[5]) === 1 ? Number.NaN : Number(row[4]),
  };
}
