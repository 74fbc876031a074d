import { Command } from 'commander';
import { DEFAULT_ARTIFACTS_DESTINATION } from '../server.js';
import { openArtifactDestination } from '../services/artifact-service.js';
import { garbageCollect, idList, parseOlderThan } from '../services/gc.js';
import { ArtifactLocations } from '../store/artifact-locations.js';
import { openDatabase } from '../store/database.js';
import { SqlTrackingStore } from '../store/sql-tracking-store.js';
import { DEFAULT_BACKEND_STORE_URI } from './server-command.js';

interface GcCommandOptions {
  backendStoreUri: string;
  artifactsDestination: string;
  olderThan?: string;
  runIds?: string;
  experimentIds?: string;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function gcCommand(): Command {
  return new Command('gc')
    .description(
      'Permanently delete runs and experiments in the `deleted` lifecycle stage: their artifacts first, then their data in the backend store.',
    )
    .option(
      '--backend-store-uri <uri>',
      'the store to clean: sqlite:///<path>.db or postgresql://user@host:port/db',
      process.env.MLFLOW_BACKEND_STORE_URI ?? DEFAULT_BACKEND_STORE_URI,
    )
    .option(
      '--artifacts-destination <uri>',
      "the server's --artifacts-destination, where mlflow-artifacts: URIs of runs point",
      process.env.MLFLOW_ARTIFACTS_DESTINATION ?? DEFAULT_ARTIFACTS_DESTINATION,
    )
    .option(
      '--older-than <age>',
      'only runs deleted (and experiments last changed) longer ago than this, as #d#h#m#s, e.g. 1d2h3m4s or 1.5d',
    )
    .option(
      '--run-ids <ids>',
      'comma-separated runs to delete permanently (each must be in the deleted stage); default: all deleted runs',
    )
    .option(
      '--experiment-ids <ids>',
      'comma-separated deleted experiments to delete permanently with their runs; default: all deleted experiments',
    )
    .helpOption('--help', 'show this help')
    .action(async (options: GcCommandOptions) => {
      // Checked before anything is opened, so a typo never touches the store.
      if (options.olderThan !== undefined) parseOlderThan(options.olderThan);
      const destination = openArtifactDestination(options.artifactsDestination);
      let database: Awaited<ReturnType<typeof openDatabase>>;
      try {
        database = await openDatabase(options.backendStoreUri);
      } catch (error) {
        throw new Error(
          `could not open the backend store ${options.backendStoreUri}: ${(error as Error).message}
Check that the path or database exists, or pass the server's store with --backend-store-uri.`,
        );
      }
      // Artifact locations only matter for creating experiments, which gc never does.
      const store = new SqlTrackingStore(database, new ArtifactLocations('mlflow-artifacts:/'));
      try {
        const report = await garbageCollect(
          store,
          destination,
          {
            olderThan: options.olderThan,
            runIds: options.runIds === undefined ? undefined : idList(options.runIds),
            experimentIds: options.experimentIds === undefined ? undefined : idList(options.experimentIds),
          },
          { info: (line) => console.log(line), warn: (line) => console.error(line) },
        );
        console.log(
          `Permanently deleted ${plural(report.runs.length, 'run')} and ${plural(report.experiments.length, 'experiment')}.`,
        );
      } finally {
        await store.close();
      }
    });
}
