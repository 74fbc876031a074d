import { stat } from 'node:fs/promises';
import { RunArtifacts } from '@mlflow-ts/client';
import { Command } from 'commander';
import { clientFor, type DataOptions, dataCommand, printJson, printTable, progress } from './data-output.js';

function humanSize(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

/** `mlflow-ts artifacts ...`: MLflow's `mlflow artifacts` commands, through the server's artifact proxy. */
export function artifactsCommand(): Command {
  const cmd = new Command('artifacts').description(
    'List, download and upload run artifacts (MLFLOW_TRACKING_URI).',
  );

  cmd.addCommand(
    dataCommand('list', "List one directory of a run's artifacts.")
      .requiredOption('-r, --run-id <id>', 'the run id')
      .option('--artifact-path <path>', "a directory relative to the run's artifact root")
      .action(async (o: DataOptions & { runId: string; artifactPath?: string }) => {
        const files = await clientFor(o).listArtifacts(o.runId, o.artifactPath);
        if (o.json) return printJson(files);
        printTable(
          ['Path', 'Type', 'Size'],
          files.map((f) => [f.path, f.is_dir ? 'dir' : 'file', f.is_dir ? '' : humanSize(f.file_size)]),
        );
      }),
  );

  cmd.addCommand(
    dataCommand('download', 'Download an artifact file or directory; prints the local path.')
      .option('-r, --run-id <id>', 'the run to download from')
      .option(
        '--artifact-path <path>',
        "with --run-id: a path relative to the run's artifact root (default: all)",
      )
      .option(
        '--artifact-uri <uri>',
        'instead of --run-id: runs:/<run_id>/<path> or mlflow-artifacts:/<path>',
      )
      .option('-d, --dst-path <dir>', 'local directory to download into (default: a new temporary directory)')
      .action(
        async (
          o: DataOptions & { runId?: string; artifactPath?: string; artifactUri?: string; dstPath?: string },
        ) => {
          const client = clientFor(o);
          let artifacts: RunArtifacts;
          let path = o.artifactPath ?? '';
          if (o.artifactUri) {
            if (o.runId) throw new Error('Pass either --run-id or --artifact-uri, not both.');
            const m = /^runs:\/([^/]+)\/?(.*)$/.exec(o.artifactUri);
            if (m) {
              artifacts = await client.runArtifacts(m[1]);
              path = m[2];
            } else {
              artifacts = new RunArtifacts(client.transport, o.artifactUri);
              path = '';
            }
          } else if (o.runId) artifacts = await client.runArtifacts(o.runId);
          else throw new Error('Pass --run-id (with an optional --artifact-path) or --artifact-uri.');
          let files = 0;
          let bytes = 0;
          const local = await artifacts.downloadLocal(path, o.dstPath, (file, size) => {
            files++;
            bytes += size;
            progress(`Downloaded ${files} file(s), ${humanSize(bytes)}: ${file}`);
          });
          if (files > 0) progress(`Downloaded ${files} file(s), ${humanSize(bytes)}.`, true);
          console.log(local);
        },
      ),
  );

  cmd.addCommand(
    dataCommand('log-artifact', 'Upload a local file into a run’s artifacts.')
      .requiredOption('-l, --local-file <file>', 'the file to upload')
      .requiredOption('-r, --run-id <id>', 'the run to upload into')
      .option('--artifact-path <path>', "a directory below the run's artifact root")
      .action(async (o: DataOptions & { localFile: string; runId: string; artifactPath?: string }) => {
        if (!(await stat(o.localFile).catch(() => undefined))?.isFile()) {
          throw new Error(
            `No such file: ${o.localFile} (for a directory use \`artifacts log-artifacts --local-dir\`).`,
          );
        }
        const written = await clientFor(o).logArtifact(o.runId, o.localFile, o.artifactPath);
        if (o.json) printJson({ run_id: o.runId, artifacts: written });
        else
          console.log(
            `Logged artifact from local file ${o.localFile} to artifact_path=${o.artifactPath ?? 'None'}`,
          );
      }),
  );

  cmd.addCommand(
    dataCommand('log-artifacts', 'Upload a local directory’s contents into a run’s artifacts.')
      .requiredOption('-l, --local-dir <dir>', 'the directory to upload')
      .requiredOption('-r, --run-id <id>', 'the run to upload into')
      .option('--artifact-path <path>', "a directory below the run's artifact root")
      .action(async (o: DataOptions & { localDir: string; runId: string; artifactPath?: string }) => {
        if (!(await stat(o.localDir).catch(() => undefined))?.isDirectory()) {
          throw new Error(
            `No such directory: ${o.localDir} (for one file use \`artifacts log-artifact --local-file\`).`,
          );
        }
        const artifacts = await clientFor(o).runArtifacts(o.runId);
        const written = await artifacts.uploadLocal(o.localDir, o.artifactPath);
        progress(`Uploaded ${written.length} file(s).`, true);
        if (o.json) printJson({ run_id: o.runId, artifacts: written });
        else
          console.log(
            `Logged artifacts from local dir ${o.localDir} to artifact_path=${o.artifactPath ?? 'None'}`,
          );
      }),
  );
  return cmd;
}
