import { writeFile } from 'node:fs/promises';
import type { RunTable } from '@mlflow-ts/client';

/** The Parquet type of a run-table column: times as timestamps, metrics as doubles, the rest strings. */
function columnType(column: string): 'TIMESTAMP' | 'DOUBLE' | 'STRING' {
  if (column === 'start_time' || column === 'end_time') return 'TIMESTAMP';
  if (column.startsWith('metrics.')) return 'DOUBLE';
  return 'STRING';
}

/**
 * Writes a run table as a Parquet file (hyparquet-writer, pure JavaScript, loaded only for this), with
 * nullable columns so pandas, DuckDB and Spark see missing values as nulls.
 */
export async function writeRunTableParquet(table: RunTable, file: string): Promise<void> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const columnData = table.columns.map((name) => ({
    name,
    type: columnType(name),
    nullable: true,
    data: table.rows.map((row) => row[name] ?? null),
  }));
  await writeFile(file, new Uint8Array(parquetWriteBuffer({ columnData })));
}
