import {
  downloadModel,
  MlflowError,
  type ModelVersion,
  parseModelUri,
  resolveModelUri,
} from '@mlflow-ts/client';
import { Command } from 'commander';
import {
  clientFor,
  type DataOptions,
  dataCommand,
  formatTime,
  printJson,
  printTable,
  progress,
} from './data-output.js';
import { buildDockerCommand, generateDockerfileCommand, prepareEnvCommand } from './models-docker-command.js';
import { predictCommand, serveCommand } from './models-serve-command.js';

function versionRows(v: ModelVersion): string[][] {
  return [
    ['name', v.name],
    ['version', v.version],
    ['current_stage', v.current_stage ?? ''],
    ['aliases', v.aliases.join(', ')],
    ['source', v.source ?? ''],
    ['run_id', v.run_id ?? ''],
    ['status', v.status ?? ''],
    ['description', v.description ?? ''],
    ['created', formatTime(v.creation_timestamp)],
    ...v.tags.map((t) => [`tags.${t.key}`, t.value]),
  ];
}

/** `mlflow-ts models ...`: the model registry over the tracking API (list, show, register, ...). */
export function modelsCommand(): Command {
  const cmd = new Command('models').description(
    'Work with the model registry on a tracking server (MLFLOW_TRACKING_URI), and serve models.',
  );

  cmd.addCommand(
    dataCommand('list', 'List registered models (all pages, or the first --max-results).')
      .option('--filter <filter>', "MLflow's registry filter, e.g. \"name LIKE 'fraud%'\"")
      .option('--max-results <n>', 'show at most this many models')
      .action(async (o: DataOptions & { filter?: string; maxResults?: string }) => {
        const client = clientFor(o);
        const max = o.maxResults === undefined ? undefined : Number(o.maxResults);
        if (max !== undefined && !(Number.isInteger(max) && max > 0))
          throw new Error(`Invalid --max-results '${o.maxResults}': pass a positive whole number.`);
        const models = max
          ? (await client.searchRegisteredModels({ filter: o.filter, maxResults: max })).items
          : await client.searchAllRegisteredModels({ filter: o.filter });
        if (o.json) return printJson(models);
        printTable(
          ['Name', 'Latest Version', 'Aliases', 'Updated'],
          models.map((m) => [
            m.name,
            m.latest_versions.reduce((n, v) => Math.max(n, Number(v.version)), 0) || '',
            m.aliases.map((a) => `${a.alias}=v${a.version}`).join(', '),
            formatTime(m.last_updated_timestamp),
          ]),
        );
      }),
  );

  cmd.addCommand(
    dataCommand('show', 'Show a registered model, or one version of it with --version.')
      .requiredOption('-n, --name <name>', 'the registered model name')
      .option('-v, --version <version>', 'a version number')
      .action(async (o: DataOptions & { name: string; version?: string }) => {
        const client = clientFor(o);
        if (o.version) {
          const v = await client.getModelVersion(o.name, o.version);
          return o.json ? printJson(v) : printTable(['Field', 'Value'], versionRows(v));
        }
        const m = await client.getRegisteredModel(o.name);
        const versions = (
          await client.searchModelVersions({ filter: `name = '${o.name.replace(/'/g, "\\'")}'` })
        ).items;
        if (o.json) return printJson({ ...m, versions });
        printTable(
          ['Field', 'Value'],
          [
            ['name', m.name],
            ['description', m.description ?? ''],
            ['created', formatTime(m.creation_timestamp)],
            ['aliases', m.aliases.map((a) => `${a.alias}=v${a.version}`).join(', ')],
            ...m.tags.map((t) => [`tags.${t.key}`, t.value]),
          ],
        );
        console.log('');
        printTable(
          ['Version', 'Stage', 'Aliases', 'Source'],
          versions
            .sort((a, b) => Number(a.version) - Number(b.version))
            .map((v) => [v.version, v.current_stage, v.aliases.join(', '), v.source]),
        );
      }),
  );

  cmd.addCommand(
    dataCommand('register', 'Register a model as a new version (creating the registered model if needed).')
      .requiredOption('--model-uri <uri>', 'runs:/<run_id>/<path>, models:/..., or a storage location')
      .requiredOption('-n, --name <name>', 'the registered model name')
      .action(async (o: DataOptions & { modelUri: string; name: string }) => {
        const client = clientFor(o);
        let source = o.modelUri;
        let runId: string | undefined;
        let modelId: string | undefined;
        if (/^(runs|models):/.test(o.modelUri)) {
          const ref = parseModelUri(o.modelUri);
          if (ref.kind === 'run') runId = ref.runId;
          if (ref.kind === 'logged-model') modelId = ref.modelId;
          source = await resolveModelUri(client, o.modelUri);
        }
        try {
          await client.createRegisteredModel(o.name);
        } catch (error) {
          if (!(error instanceof MlflowError && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
        }
        const v = await client.createModelVersion(o.name, source, { runId, modelId });
        if (o.json) return printJson(v);
        console.log(`Created version ${v.version} of model '${v.name}' from ${source}.`);
      }),
  );

  const alias = new Command('alias').description('Set or delete an alias of a registered model.');
  alias.addCommand(
    dataCommand('set', 'Point an alias at a version.')
      .requiredOption('-n, --name <name>', 'the registered model name')
      .requiredOption('-a, --alias <alias>', 'the alias, e.g. champion')
      .requiredOption('-v, --version <version>', 'the version number')
      .action(async (o: DataOptions & { name: string; alias: string; version: string }) => {
        await clientFor(o).setRegisteredModelAlias(o.name, o.alias, o.version);
        if (o.json) return printJson({ name: o.name, alias: o.alias, version: o.version });
        console.log(`Alias '${o.alias}' of model '${o.name}' now points at version ${o.version}.`);
      }),
  );
  alias.addCommand(
    dataCommand('delete', 'Delete an alias.')
      .requiredOption('-n, --name <name>', 'the registered model name')
      .requiredOption('-a, --alias <alias>', 'the alias')
      .action(async (o: DataOptions & { name: string; alias: string }) => {
        await clientFor(o).deleteRegisteredModelAlias(o.name, o.alias);
        if (o.json) return printJson({ name: o.name, alias: o.alias, deleted: true });
        console.log(`Deleted alias '${o.alias}' of model '${o.name}'.`);
      }),
  );
  cmd.addCommand(alias);

  cmd.addCommand(
    dataCommand('transition', "Move a version to a stage (MLflow's deprecated stages).")
      .requiredOption('-n, --name <name>', 'the registered model name')
      .requiredOption('-v, --version <version>', 'the version number')
      .requiredOption('--stage <stage>', 'None, Staging, Production or Archived')
      .option('--archive-existing-versions', 'archive the versions already in that stage')
      .action(
        async (
          o: DataOptions & {
            name: string;
            version: string;
            stage: string;
            archiveExistingVersions?: boolean;
          },
        ) => {
          const v = await clientFor(o).transitionModelVersionStage(
            o.name,
            o.version,
            o.stage,
            o.archiveExistingVersions ?? false,
          );
          if (o.json) return printJson(v);
          console.log(`Version ${v.version} of model '${v.name}' is now in stage '${v.current_stage}'.`);
        },
      ),
  );

  cmd.addCommand(
    dataCommand('download', "Download a model's files through the server.")
      .requiredOption(
        '--model-uri <uri>',
        'models:/<name>/<version|stage|latest>[/<path>], models:/<name>@<alias>[/<path>], models:/<model_id>, runs:/...',
      )
      .option('-d, --dst-path <dir>', 'where to put the files (a new temporary directory by default)')
      .action(async (o: DataOptions & { modelUri: string; dstPath?: string }) => {
        let count = 0;
        const dir = await downloadModel(clientFor(o), o.modelUri, o.dstPath, (p) => {
          count += 1;
          progress(`Downloaded ${count} file(s): ${p}`);
        });
        progress(`Downloaded ${count} file(s)`, true);
        if (o.json) return printJson({ model_uri: o.modelUri, path: dir, files: count });
        console.log(dir);
      }),
  );
  cmd.addCommand(serveCommand());
  cmd.addCommand(predictCommand());
  cmd.addCommand(prepareEnvCommand());
  cmd.addCommand(generateDockerfileCommand());
  cmd.addCommand(buildDockerCommand());
  return cmd;
}
