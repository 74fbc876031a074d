// A Parquet artifact's rows, a page at a time, read in the browser by hyparquet (pure JavaScript):
// the footer first, then only the row groups a page needs, each through an HTTP Range request to
// /get-artifact, so a large file is never downloaded whole to show its first rows.
import {
  asyncBufferFromUrl,
  cachedAsyncBuffer,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
} from 'hyparquet';
import { useState } from 'react';
import { useLoad } from '../../lib/use-load';
import { ErrorBox } from '../ErrorBox';
import { PAGE_ROWS, PagedTable } from './PagedTable';

/** A cell as text: big integers, dates, bytes and nested values readably. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (typeof v === 'object')
    return JSON.stringify(v, (_k, x) =>
      typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? `<${x.length} bytes>` : x,
    );
  return String(v);
}

async function openParquet(url: string, byteLength: number | undefined) {
  const file = cachedAsyncBuffer(await asyncBufferFromUrl({ url, byteLength }));
  const metadata = await parquetMetadataAsync(file);
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  return { file, metadata, columns, total: Number(metadata.num_rows) };
}

export function ParquetPreview({ url, byteLength }: { url: string; byteLength?: number }) {
  const opened = useLoad(() => openParquet(url, byteLength), [url, byteLength]);
  const [page, setPage] = useState(0);
  const rows = useLoad(async () => {
    const p = opened.data;
    if (!p) return undefined;
    const objects = await parquetReadObjects({
      file: p.file,
      metadata: p.metadata,
      rowStart: page * PAGE_ROWS,
      rowEnd: Math.min(p.total, (page + 1) * PAGE_ROWS),
    });
    return objects.map((o) => p.columns.map((c) => cellText(o[c])));
  }, [opened.data, page]);
  if (opened.error)
    return <ErrorBox error={new Error(`Could not read the Parquet file: ${opened.error.message}`)} />;
  if (!opened.data) return <p className="muted">Reading the Parquet footer…</p>;
  if (rows.error)
    return <ErrorBox error={new Error(`Could not read the Parquet rows: ${rows.error.message}`)} />;
  return (
    <PagedTable
      label="Parquet preview"
      columns={opened.data.columns}
      rows={rows.data ?? []}
      page={page}
      total={opened.data.total}
      onPage={setPage}
      note={`${opened.data.columns.length} columns, ${opened.data.metadata.row_groups.length} row group(s).`}
    />
  );
}
