import { CompiledQuery, type Kysely, type QueryResult } from 'kysely';
import type { Dialect } from './database.js';
import type { Database } from './schema.js';

// The write path's hottest statements (a log-batch of 500 metrics, 100 params) as SQL text made once
// per shape, with the values bound as a flat list. Kysely's query builder creates and compiles a node
// per value, which cost the writer more than SQLite's own work on such a batch. The text is the same
// as the builder wrote, so each database still sees one prepared statement per shape (better-sqlite3's
// statement cache in sqlite-connection.ts, PostgreSQL's plan per text).

type Executor = Pick<Kysely<Database>, 'executeQuery'>;

/** How a multi-row insert ends: an ON CONFLICT and/or RETURNING clause, or nothing. */
export interface InsertShape {
  table: string;
  columns: readonly string[];
  tail?: string;
}

export class RowStatements {
  private readonly texts = new Map<string, string>();

  constructor(readonly dialect: Dialect) {}

  /** Runs `text`, written with `?` for each value, in this dialect's placeholder style. */
  run<R>(db: Executor, text: string, values: readonly unknown[]): Promise<QueryResult<R>> {
    return db.executeQuery(CompiledQuery.raw(this.text(text, text), values as unknown[]));
  }

  /** Inserts `rows` (each in the order of `shape.columns`) with one statement. */
  insert<R>(
    db: Executor,
    shape: InsertShape,
    rows: readonly (readonly unknown[])[],
  ): Promise<QueryResult<R>> {
    const key = `${shape.table}|${shape.columns.join(',')}|${rows.length}|${shape.tail ?? ''}`;
    let text = this.texts.get(key);
    if (text === undefined) {
      const row = `(${shape.columns.map(() => '?').join(', ')})`;
      const columns = shape.columns.map((c) => `"${c}"`).join(', ');
      text = this.text(
        key,
        `insert into "${shape.table}" (${columns}) values ${Array(rows.length).fill(row).join(', ')}${shape.tail ? ` ${shape.tail}` : ''}`,
      );
    }
    return db.executeQuery(CompiledQuery.raw(text, rows.flat()));
  }

  /** `select ... where column in (?, ...)` style lists: `count` placeholders joined by commas. */
  static list(count: number): string {
    return Array(count).fill('?').join(', ');
  }

  /** The text with `?` turned into $1, $2, ... for PostgreSQL, kept by `key`. */
  private text(key: string, withMarks: string): string {
    let text = this.texts.get(key);
    if (text === undefined) {
      let n = 0;
      text = this.dialect === 'postgres' ? withMarks.replace(/\?/g, () => `$${++n}`) : withMarks;
      if (this.texts.size >= 1000) this.texts.clear();
      this.texts.set(key, text);
    }
    return text;
  }
}
