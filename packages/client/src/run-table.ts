import type { Run } from './entities.js';

export type Cell = string | number | Date | null;

/** Runs as the flat table of MLflow's `search_runs` DataFrame: one row per run, one column per field. */
export interface RunTable {
  /** run_id, experiment_id, status, artifact_uri, start_time, end_time, then metrics.*, params.*, tags.* (each sorted). */
  columns: string[];
  rows: Record<string, Cell>[];
}

const FIXED = ['run_id', 'experiment_id', 'status', 'artifact_uri', 'start_time', 'end_time'];

/**
 * Flattens runs: metrics.<key> holds the latest value, params.<key> and tags.<key> the strings;
 * start_time/end_time are Dates (null when unset), and a run lacking a column has null there.
 */
export function runsToTable(runs: Run[]): RunTable {
  const metricKeys = new Set<string>();
  const paramKeys = new Set<string>();
  const tagKeys = new Set<string>();
  const rows = runs.map((run) => {
    const row: Record<string, Cell> = {
      run_id: run.info.run_id,
      experiment_id: run.info.experiment_id,
      status: run.info.status,
      artifact_uri: run.info.artifact_uri,
      start_time: run.info.start_time ? new Date(Number(run.info.start_time)) : null,
      end_time: run.info.end_time ? new Date(Number(run.info.end_time)) : null,
    };
    for (const m of run.data.metrics) {
      metricKeys.add(m.key);
      row[`metrics.${m.key}`] = m.value;
    }
    for (const p of run.data.params) {
      paramKeys.add(p.key);
      row[`params.${p.key}`] = p.value;
    }
    for (const t of run.data.tags) {
      tagKeys.add(t.key);
      row[`tags.${t.key}`] = t.value;
    }
    return row;
  });
  const columns = [
    ...FIXED,
    ...[...metricKeys].sort().map((k) => `metrics.${k}`),
    ...[...paramKeys].sort().map((k) => `params.${k}`),
    ...[...tagKeys].sort().map((k) => `tags.${k}`),
  ];
  for (const row of rows) for (const c of columns) if (!(c in row)) row[c] = null;
  return { columns, rows };
}

function cellText(value: Cell): string {
  if (value === null) return '';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** RFC 4180 CSV of a table (header row first; NaN/Infinity written as pandas reads them). */
export function tableToCsv(table: RunTable): string {
  const quote = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [table.columns.map(quote).join(',')];
  for (const row of table.rows) lines.push(table.columns.map((c) => quote(cellText(row[c]))).join(','));
  return `${lines.join('\n')}\n`;
}

/** JSON lines: one object per row with every column, dates as ISO strings. */
export function tableToJsonLines(table: RunTable): string {
  return table.rows
    .map((row) => {
      const obj: Record<string, unknown> = {};
      for (const c of table.columns) {
        const v = row[c];
        obj[c] =
          v instanceof Date ? v.toISOString() : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
      }
      return `${JSON.stringify(obj)}\n`;
    })
    .join('');
}
