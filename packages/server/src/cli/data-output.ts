import { DEFAULT_TRACKING_URI, MlflowClient } from '@mlflow-ts/client';
import { Command, Option } from 'commander';

/** Options every data command accepts: where the tracking server is and how to print. */
export interface DataOptions {
  trackingUri?: string;
  json?: boolean;
}

/** Adds --tracking-uri (default MLFLOW_TRACKING_URI) and --json to a command. */
export function dataCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .addOption(
      new Option(
        '--tracking-uri <uri>',
        `the tracking server (http://127.0.0.1:5000) or a local store; default ${DEFAULT_TRACKING_URI}`,
      ).env('MLFLOW_TRACKING_URI'),
    )
    .option('--json', 'print JSON for scripts instead of a table');
}

/** A client for --tracking-uri, MLFLOW_TRACKING_URI, or the default local store (as the SDK and `run`). */
export function clientFor(options: DataOptions): MlflowClient {
  return new MlflowClient(options.trackingUri ? { trackingUri: options.trackingUri } : {});
}

/** Prints rows as a left-aligned text table with a header and a rule under it. */
export function printTable(headers: string[], rows: (string | number | null | undefined)[][]): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  process.stdout.write(`${out.join('\n')}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A date as MLflow's CLI shows it: local "YYYY-MM-DD HH:MM:SS". */
export function formatTime(ms: number | undefined | null): string {
  if (!ms) return '';
  const d = new Date(Number(ms));
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** MLflow's --view values (active_only, deleted_only, all) as the API's view type. */
export function viewType(view: string): 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL' {
  const v = view.toUpperCase();
  if (v === 'ACTIVE_ONLY' || v === 'DELETED_ONLY' || v === 'ALL') return v;
  throw new Error(`Invalid --view '${view}': use active_only, deleted_only or all.`);
}

/** A progress line on stderr (stdout stays clean for the data), rewritten in place on a terminal. */
export function progress(message: string, done = false): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}${done ? '\n' : ''}`);
  else if (done) process.stderr.write(`${message}\n`);
}
