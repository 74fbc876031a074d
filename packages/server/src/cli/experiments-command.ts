import { writeFile } from 'node:fs/promises';
import { runsToTable, tableToCsv } from '@mlflow-ts/client';
import { Command } from 'commander';
import { clientFor, type DataOptions, dataCommand, printJson, printTable, viewType } from './data-output.js';

/** `mlflow-ts experiments ...`: MLflow's `mlflow experiments` commands over the tracking API. */
export function experimentsCommand(): Command {
  const cmd = new Command('experiments').description(
    'Manage experiments on a tracking server (MLFLOW_TRACKING_URI).',
  );

  cmd.addCommand(
    dataCommand('create', 'Create an experiment.')
      .requiredOption('-n, --experiment-name <name>', 'the new experiment name')
      .option(
        '-l, --artifact-location <uri>',
        'base location for its runs’ artifacts (the server picks one by default)',
      )
      .action(async (o: DataOptions & { experimentName: string; artifactLocation?: string }) => {
        const id = await clientFor(o).createExperiment(o.experimentName, {
          artifactLocation: o.artifactLocation,
        });
        if (o.json) printJson({ experiment_id: id, name: o.experimentName });
        else console.log(`Created experiment '${o.experimentName}' with id ${id}`);
      }),
  );

  cmd.addCommand(
    dataCommand('search', 'Search experiments (all of them, following pages).')
      .option('-v, --view <view>', 'active_only, deleted_only or all', 'active_only')
      .option('--filter <filter>', "MLflow's search filter, e.g. \"name LIKE 'prod-%'\"")
      .action(async (o: DataOptions & { view: string; filter?: string }) => {
        const experiments = await clientFor(o).searchAllExperiments({
          viewType: viewType(o.view),
          filter: o.filter,
        });
        if (o.json) return printJson(experiments);
        const rows = experiments
          .map((e) => [e.experiment_id, e.name, e.artifact_location])
          .sort((a, b) => Number(a[0]) - Number(b[0]) || a[0].localeCompare(b[0]));
        printTable(['Experiment Id', 'Name', 'Artifact Location'], rows);
      }),
  );

  cmd.addCommand(
    dataCommand('get', 'Show one experiment, by id or by name.')
      .option('-x, --experiment-id <id>', 'the experiment id')
      .option('-n, --experiment-name <name>', 'the experiment name')
      .action(async (o: DataOptions & { experimentId?: string; experimentName?: string }) => {
        const client = clientFor(o);
        if (!o.experimentId === !o.experimentName)
          throw new Error('Pass exactly one of --experiment-id and --experiment-name.');
        const e = o.experimentId
          ? await client.getExperiment(o.experimentId)
          : await client.getExperimentByName(o.experimentName as string);
        if (!e)
          throw new Error(
            `No experiment named '${o.experimentName}'; list them with \`mlflow-ts experiments search\`.`,
          );
        if (o.json) return printJson(e);
        printTable(
          ['Field', 'Value'],
          [
            ['experiment_id', e.experiment_id],
            ['name', e.name],
            ['artifact_location', e.artifact_location],
            ['lifecycle_stage', e.lifecycle_stage],
            ...e.tags.map((t) => [`tags.${t.key}`, t.value]),
          ],
        );
      }),
  );

  cmd.addCommand(
    dataCommand('rename', 'Rename an experiment.')
      .requiredOption('-x, --experiment-id <id>', 'the experiment id')
      .requiredOption('--new-name <name>', 'the new name')
      .action(async (o: DataOptions & { experimentId: string; newName: string }) => {
        await clientFor(o).renameExperiment(o.experimentId, o.newName);
        if (o.json) printJson({ experiment_id: o.experimentId, name: o.newName });
        else console.log(`Experiment with id ${o.experimentId} has been renamed to '${o.newName}'.`);
      }),
  );

  cmd.addCommand(
    dataCommand('delete', 'Mark an experiment deleted (restore it with `experiments restore`).')
      .requiredOption('-x, --experiment-id <id>', 'the experiment id')
      .action(async (o: DataOptions & { experimentId: string }) => {
        await clientFor(o).deleteExperiment(o.experimentId);
        if (o.json) printJson({ experiment_id: o.experimentId, lifecycle_stage: 'deleted' });
        else
          console.log(
            `Experiment with ID ${o.experimentId} has been deleted; \`mlflow-ts gc\` removes it for good, \`mlflow-ts experiments restore\` brings it back.`,
          );
      }),
  );

  cmd.addCommand(
    dataCommand('restore', 'Restore a deleted experiment.')
      .requiredOption('-x, --experiment-id <id>', 'the experiment id')
      .action(async (o: DataOptions & { experimentId: string }) => {
        await clientFor(o).restoreExperiment(o.experimentId);
        if (o.json) printJson({ experiment_id: o.experimentId, lifecycle_stage: 'active' });
        else console.log(`Experiment with id ${o.experimentId} has been restored.`);
      }),
  );

  cmd.addCommand(
    dataCommand('csv', "Write all runs of an experiment as CSV (MLflow's search_runs table).")
      .requiredOption('-x, --experiment-id <id>', 'the experiment id')
      .option('-o, --filename <file>', 'write to this file instead of stdout')
      .action(async (o: DataOptions & { experimentId: string; filename?: string }) => {
        const csv = tableToCsv(runsToTable(await clientFor(o).searchAllRuns([o.experimentId])));
        if (!o.filename) return void process.stdout.write(csv);
        await writeFile(o.filename, csv);
        console.log(
          `Experiment with ID ${o.experimentId} has been exported as a CSV to file: ${o.filename}.`,
        );
      }),
  );
  return cmd;
}
