// A table preview shown a page of rows at a time (CSV, TSV and Parquet artifacts).
import type { ReactNode } from 'react';

export const PAGE_ROWS = 100;

export interface PagedTableProps {
  label: string;
  columns: string[];
  /** The rows of the current page, as text. */
  rows: string[][];
  page: number;
  /** Rows in all (known), or undefined while only a first part of the file was read. */
  total: number;
  onPage(page: number): void;
  /** A note under the table, e.g. that only the start of a large file was read. */
  note?: ReactNode;
}

export function PagedTable({ label, columns, rows, page, total, onPage, note }: PagedTableProps) {
  const pages = Math.max(1, Math.ceil(total / PAGE_ROWS));
  const first = page * PAGE_ROWS;
  return (
    <div className="paged-table">
      <div className="toolbar">
        <span className="muted" aria-live="polite">
          {total === 0
            ? 'No rows.'
            : `Rows ${(first + 1).toLocaleString()}–${Math.min(total, first + rows.length).toLocaleString()} of ${total.toLocaleString()}`}
        </span>
        <span className="spacer" />
        <button type="button" disabled={page === 0} onClick={() => onPage(page - 1)}>
          ← Previous
        </button>
        <span className="muted">
          Page {page + 1} of {pages}
        </span>
        <button type="button" disabled={page + 1 >= pages} onClick={() => onPage(page + 1)}>
          Next →
        </button>
      </div>
      <div className="scroll-x">
        <table className="grid compact" aria-label={label}>
          <thead>
            <tr>
              <th className="muted num">#</th>
              {columns.map((h, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: a column's place is its identity (names may repeat)
                <th key={i}>{h}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a row's number in the file is its identity
              <tr key={first + i}>
                <td className="muted num">{first + i + 1}</td>
                {columns.map((_, j) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: a column's place is its identity
                  <td key={j}>{r[j] ?? ''}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {note ? <p className="muted">{note}</p> : null}
    </div>
  );
}
