// What the importer reads from: a source is a list of stages (one entity each, parents first), each
// producing rows in our tables' shapes in batches, with a cursor to resume after the last batch written.
import type { RowsByTable, TargetTableName } from './target-tables.js';

export interface StageBatch {
  rows: RowsByTable;
  /** Where to resume after this batch is written; null keeps the previous position (a partial unit). */
  cursor: string | null;
  /** Source rows this batch stands for (for progress). */
  read: number;
}

export interface ImportStage {
  /** The entity, as progress and the summary name it; also the checkpoint's key. */
  readonly name: string;
  /** The rows after `cursor`, in batches of about `size` source rows. */
  batches(cursor: string | undefined, size: number): AsyncIterable<StageBatch>;
  /**
   * The same batches with only the rows that own an id (for the conflict check before writing);
   * a stage of child rows only (params, tags, ...) has none.
   */
  owners?(cursor: string | undefined, size: number): AsyncIterable<StageBatch>;
  /**
   * The same rows as SQL over an SQLite source file, for an SQLite target to copy by itself (the file
   * attached): a metric history of millions of points then never passes through JavaScript. The
   * cursor is the same as batches' (the last source rowid written), so either path can resume the other.
   */
  sqliteCopy?: SqliteCopy;
}

export interface SqliteCopy {
  /** The source database file. */
  file: string;
  /** The source table, read by rowid. */
  table: string;
  target: TargetTableName;
  /** SQL expressions over the source row (alias `s`) giving the target's columns, in their order. */
  columns: readonly string[];
}

/** Something in the source that has nowhere to go in our store, with how many and why. */
export interface SkippedEntity {
  what: string;
  count: number;
  why: string;
}

export interface ImportSource {
  /** Identifies the source in the target's checkpoints, so a resumed import finds its position. */
  readonly key: string;
  /** For the summary: what kind of store this is (and its schema revision). */
  readonly description: string;
  readonly stages: readonly ImportStage[];
  /** What the source holds that the import leaves behind. */
  skipped(): Promise<SkippedEntity[]>;
  close(): Promise<void>;
}
