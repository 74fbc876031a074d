import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type Run, runsToTable, tableToCsv, tableToJsonLines } from '@mlflow-ts/client';
import { Command, Option } from 'commander';
import {
  clientFor,
  type DataOptions,
  dataCommand,
  formatTime,
  printJson,
  printTable,
  progress,
  viewType,
} from './data-output.js';
import { writeRunTableParquet } from './parquet-export.js';

const collect = (value: string, previous: string[] = []) => [
  ...previous,
  ...value.split(',').filter(Boolean),
];

/** `mlflow-ts runs ...`: MLflow's `mlflow runs` commands plus `export`, over the tracking API. */
export function runsCommand(): Command {
  const cmd = new Command('runs').description(
    'List, inspect, delete, restore and export runs (MLFLOW_TRACKING_URI).',
  );

  cmd.addCommand(
    dataCommand('list', 'List the runs of an experiment, newest first.')
      .addOption(
        new Option('--experiment-id <id>', 'the experiment id')
          .env('MLFLOW_EXPERIMENT_ID')
          .makeOptionMandatory(),
      )
      .option('-v, --view <view>', 'active_only, deleted_only or all', 'active_only')
      .action(async (o: DataOptions & { experimentId: string; view: string }) => {
        const runs = await clientFor(o).searchAllRuns([o.experimentId], {
          viewType: viewType(o.view),
          orderBy: ['attributes.start_time DESC'],
        });
        if (o.json) return printJson(runs.map((r) => r.info));
        printTable(
          ['Date', 'Name', 'ID', 'Status'],
          runs.map((r) => [formatTime(r.info.start_time), r.info.run_name, r.info.run_id, r.info.status]),
        );
      }),
  );

  cmd.addCommand(
    dataCommand('describe', 'Print every detail of a run as JSON.')
      .requiredOption('--run-id <id>', 'the run id')
      .action(async (o: DataOptions & { runId: string }) => {
        printJson(await clientFor(o).getRun(o.runId));
      }),
  );

  cmd.addCommand(
    dataCommand('delete', 'Mark a run deleted (restore it with `runs restore`).')
      .requiredOption('--run-id <id>', 'the run id')
      .action(async (o: DataOptions & { runId: string }) => {
        await clientFor(o).deleteRun(o.runId);
        if (o.json) printJson({ run_id: o.runId, lifecycle_stage: 'deleted' });
        else console.log(`Run with ID ${o.runId} has been deleted.`);
      }),
  );

  cmd.addCommand(
    dataCommand('restore', 'Restore a deleted run.')
      .requiredOption('--run-id <id>', 'the run id')
      .action(async (o: DataOptions & { runId: string }) => {
        await clientFor(o).restoreRun(o.runId);
        if (o.json) printJson({ run_id: o.runId, lifecycle_stage: 'active' });
        else console.log(`Run with id ${o.runId} has been restored.`);
      }),
  );

  cmd.addCommand(
    dataCommand('export', "Export runs as MLflow's search_runs table: CSV, JSON lines or Parquet.")
      .option('-x, --experiment-id <ids>', 'experiment ids (repeat or comma-separate)', collect)
      .option('-n, --experiment-name <names>', 'experiment names (repeat or comma-separate)', collect)
      .option('--filter <filter>', 'MLflow\'s search filter, e.g. "metrics.acc > 0.9"')
      .option('--order-by <clause>', 'order, e.g. "metrics.acc DESC" (repeatable)', collect)
      .option('-v, --view <view>', 'active_only, deleted_only or all', 'active_only')
      .option('-o, --output <file>', 'write to this file (default stdout)')
      .addOption(
        new Option(
          '--format <format>',
          'csv, jsonl or parquet (default: from the --output extension, else csv)',
        ).choices(['csv', 'jsonl', 'parquet']),
      )
      .action(
        async (
          o: DataOptions & {
            experimentId?: string[];
            experimentName?: string[];
            filter?: string;
            orderBy?: string[];
            view: string;
            output?: string;
            format?: 'csv' | 'jsonl' | 'parquet';
          },
        ) => {
          const client = clientFor(o);
          const ids = [...(o.experimentId ?? [])];
          for (const name of o.experimentName ?? []) {
            const e = await client.getExperimentByName(name);
            if (!e)
              throw new Error(
                `No experiment named '${name}'; list them with \`mlflow-ts experiments search\`.`,
              );
            ids.push(e.experiment_id);
          }
          if (ids.length === 0) throw new Error('Pass --experiment-id or --experiment-name (repeatable).');
          const format =
            o.format ??
            (o.output && /\.jsonl?$/i.test(o.output)
              ? 'jsonl'
              : o.output && /\.parquet$/i.test(o.output)
                ? 'parquet'
                : 'csv');
          if (format === 'parquet' && !o.output)
            throw new Error('Parquet is binary: pass --output <file>.parquet.');
          const runs: Run[] = [];
          let pageToken: string | undefined;
          do {
            const page = await client.searchRuns(ids, {
              filter: o.filter,
              orderBy: o.orderBy,
              viewType: viewType(o.view),
              pageToken,
            });
            runs.push(...page.items);
            pageToken = page.nextPageToken;
            progress(`Fetched ${runs.length} runs...`);
          } while (pageToken);
          const table = runsToTable(runs);
          if (format === 'parquet') {
            await writeRunTableParquet(table, o.output as string);
            progress(
              `Exported ${runs.length} runs (${table.columns.length} columns) as parquet to ${o.output}.`,
              true,
            );
            return;
          }
          const text = format === 'csv' ? tableToCsv(table) : tableToJsonLines(table);
          if (!o.output) process.stdout.write(text);
          else {
            const out = createWriteStream(o.output);
            out.end(text);
            await once(out, 'finish');
          }
          progress(
            `Exported ${runs.length} runs (${table.columns.length} columns) as ${format}${o.output ? ` to ${o.output}` : ''}.`,
            true,
          );
        },
      ),
  );
  return cmd;
}
