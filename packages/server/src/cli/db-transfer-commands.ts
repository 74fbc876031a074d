// `mlflow-ts db import`, `db export` and `db verify`: argument parsing, progress on stderr and the summaries.
import { type Command, Option } from 'commander';
import type { ArtifactCopyCounts } from '../import/artifact-copy.js';
import { type ExportSummary, exportStore } from '../import/export.js';
import { type ImportProgress, type ImportSummary, importStore } from '../import/importer.js';
import { verifyStores } from '../import/verify.js';

const DEFAULT_STORE = 'sqlite:///mlflow.db';

/** Adds the import and verify subcommands to `db`. */
export function addTransferCommands(db: Command): void {
  db.command('import')
    .description(
      'Copy an MLflow store (SQL database or mlruns/ directory) into an mlflow-ts store, ids kept.',
    )
    .requiredOption(
      '--from <uri>',
      'MLflow store: sqlite:///..., postgresql://..., mysql://..., or a mlruns/ directory (or file: URI)',
    )
    .option('--to <uri>', 'the mlflow-ts backend store to import into', DEFAULT_STORE)
    .addOption(
      new Option('--on-conflict <mode>', 'what to do with source ids the target already has')
        .choices(['error', 'skip'])
        .default('error'),
    )
    .option('--batch-size <rows>', 'source rows per transaction', (v) => Number.parseInt(v, 10), 5000)
    .option(
      '--copy-artifacts <dest>',
      "copy run and logged model artifacts into the server's --artifacts-destination (a directory, s3://bucket/prefix or wasbs://...) and point them there",
    )
    .option(
      '--source-artifacts <dir>',
      "the MLflow server's --artifacts-destination (a directory, s3:// or wasbs:// URI), where the source's mlflow-artifacts:/ URIs point (with --copy-artifacts)",
    )
    .action(
      async (opts: {
        from: string;
        to: string;
        onConflict: 'error' | 'skip';
        batchSize: number;
        copyArtifacts?: string;
        sourceArtifacts?: string;
      }) => {
        const summary = await importStore({
          from: opts.from,
          to: opts.to,
          onConflict: opts.onConflict,
          batchSize: opts.batchSize,
          progress: stderrProgress(),
          ...(opts.copyArtifacts
            ? { copyArtifacts: { dest: opts.copyArtifacts, sourceArtifacts: opts.sourceArtifacts } }
            : {}),
        });
        printSummary(summary);
      },
    );
  db.command('export')
    .description(
      'Write an mlflow-ts store into a new MLflow 3.6 database (SQLite or PostgreSQL) or a mlruns/ directory, ids kept.',
    )
    .requiredOption(
      '--to <uri>',
      'an empty MLflow database (sqlite:///..., postgresql://...) or a new mlruns/ directory (or file: URI)',
    )
    .option('--from <uri>', 'the mlflow-ts backend store to export', DEFAULT_STORE)
    .option('--batch-size <rows>', 'rows per transaction', (v) => Number.parseInt(v, 10), 5000)
    .action(async (opts: { from: string; to: string; batchSize: number }) => {
      const summary = await exportStore({
        from: opts.from,
        to: opts.to,
        batchSize: opts.batchSize,
        progress: stderrProgress(),
      });
      printExportSummary(summary);
    });
  db.command('verify')
    .description('Compare an MLflow store with an mlflow-ts store entity by entity; exits 1 on a difference.')
    .requiredOption('--from <uri>', 'the MLflow store that was imported')
    .option('--to <uri>', 'the mlflow-ts store', DEFAULT_STORE)
    .action(async (opts: { from: string; to: string }) => {
      const report = await verifyStores(opts.from, opts.to);
      for (const line of report.lines) console.log(line);
      if (report.differences > 0) {
        console.log(`${report.differences} difference(s).`);
        process.exitCode = 1;
      } else {
        console.log('The stores hold the same data.');
      }
    });
}

/** Rows and rows per second of the current stage, on one line when stderr is a terminal. */
function stderrProgress(): ImportProgress {
  const tty = process.stderr.isTTY;
  let stage = '';
  let rows = 0;
  let started = performance.now();
  // A stage's first batch is reported once it is done, so the stage began when the previous report came.
  let previous = performance.now();
  let shown = 0;
  const line = (final: boolean) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(rows / seconds) : rows;
    const text = `${stage}: ${rows.toLocaleString('en')} rows, ${rate.toLocaleString('en')} rows/s`;
    if (tty) process.stderr.write(`\r\x1b[K${text}${final ? '\n' : ''}`);
    else process.stderr.write(`${text}\n`);
  };
  // The artifact copy runs inside the stages' batches: its own line, at its own rate.
  // Rates count only the stage that copies (runs, logged models), from its first file on.
  let copyStarted: number | undefined;
  let base = { files: 0, bytes: 0 };
  let copyShown = 0;
  const copyLine = (counts: Readonly<ArtifactCopyCounts>, final: boolean) => {
    const seconds = (performance.now() - (copyStarted ?? 0)) / 1000;
    const text = artifactProgressText(counts, seconds, base);
    if (tty) process.stderr.write(`\r\x1b[K${text}${final ? '\n' : ''}`);
    else process.stderr.write(`${text}\n`);
  };
  let lastCounts: Readonly<ArtifactCopyCounts> | undefined;
  return {
    artifacts(counts) {
      const now = performance.now();
      if (copyStarted === undefined) {
        copyStarted = now;
        base = { files: counts.files, bytes: counts.bytes };
      }
      lastCounts = counts;
      if (now - copyShown > (tty ? 200 : 5000)) {
        copyShown = now;
        copyLine(counts, false);
      }
    },
    batch(name, read) {
      const now = performance.now();
      if (name !== stage) {
        stage = name;
        rows = 0;
        started = previous;
      }
      previous = now;
      rows += read;
      if (now - shown > (tty ? 200 : 5000)) {
        shown = now;
        line(false);
      }
    },
    stageDone(name) {
      previous = performance.now();
      if (lastCounts) {
        copyLine(lastCounts, true);
        lastCounts = undefined;
        copyStarted = undefined;
      }
      if (name === stage && rows > 0) line(true);
    },
  };
}

function printSummary(summary: ImportSummary): void {
  console.log(`Imported from ${summary.source} in ${summary.seconds.toFixed(1)} s.`);
  const width = Math.max(...summary.stages.map((s) => s.stage.length), 6);
  console.log(
    `${'entity'.padEnd(width)}  ${'read'.padStart(12)}  ${'written'.padStart(12)}  ${'skipped'.padStart(9)}`,
  );
  for (const s of summary.stages) {
    console.log(
      `${s.stage.padEnd(width)}  ${String(s.read).padStart(12)}  ${String(s.written).padStart(12)}  ${String(s.skipped).padStart(9)}`,
    );
  }
  if (summary.conflicts)
    console.log(`${summary.conflicts} conflicting entities were left out (--on-conflict skip).`);
  const a = summary.artifacts;
  if (a) {
    console.log(
      `Artifacts: ${a.copied} locations copied (${a.files} files, ${megabytes(a.bytes)} MB; ${a.filesSkipped} files ` +
        `already there); kept where they were: ${a.kept} not readable, ${a.missing} with nothing there; ` +
        `${a.versions} model version locations rewritten.`,
    );
  }
  for (const left of summary.leftBehind)
    console.log(`Not imported: ${left.count} ${left.what} (${left.why}).`);
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** Files and bytes copied so far, with the rate of those beyond `base` over `seconds`. */
export function artifactProgressText(
  counts: Readonly<ArtifactCopyCounts>,
  seconds: number,
  base = { files: 0, bytes: 0 },
): string {
  const files = counts.files - base.files;
  const bytes = counts.bytes - base.bytes;
  const filesRate = seconds > 0 ? files / seconds : files;
  const bytesRate = seconds > 0 ? bytes / seconds : bytes;
  return (
    `artifacts: ${counts.files.toLocaleString('en')} files, ${megabytes(counts.bytes)} MB ` +
    `(${filesRate.toFixed(1)} files/s, ${megabytes(bytesRate)} MB/s), ` +
    `${counts.filesSkipped.toLocaleString('en')} already there`
  );
}

function printExportSummary(summary: ExportSummary): void {
  console.log(`Exported into ${summary.target} in ${summary.seconds.toFixed(1)} s.`);
  const width = Math.max(...summary.tables.map((t) => t.table.length), 5);
  console.log(`${'table'.padEnd(width)}  ${'rows'.padStart(12)}`);
  for (const t of summary.tables) console.log(`${t.table.padEnd(width)}  ${String(t.rows).padStart(12)}`);
  for (const left of summary.leftBehind ?? [])
    console.log(`Not exported: ${left.count} ${left.what} (${left.why}).`);
}
