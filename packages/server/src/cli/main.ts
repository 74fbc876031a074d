#!/usr/bin/env node
import { Command } from 'commander';
import { MlflowError } from '../entities/errors.js';
import { MLFLOW_API_VERSION, VERSION } from '../version.js';

const program = new Command('mlflow-ts')
  .description('MLflow-compatible tracking server and tools.')
  .version(`${VERSION} (MLflow REST API ${MLFLOW_API_VERSION})`)
  // Root options only before the command name, so `run --version <git ref>` reaches `run`.
  .enablePositionalOptions();

// Each command's module is loaded only when that command runs: the server's start-up (its restart time
// after a crash) would otherwise pay for the projects runner, the model server, the importers and their
// libraries, and the data commands (HTTP only) for Fastify, the stores and the cloud SDKs. Help and
// unknown names load them all, so that the list is complete.
const COMMANDS: Record<string, () => Promise<Command>> = {
  server: async () => (await import('./server-command.js')).serverCommand(),
  db: async () => (await import('./db-command.js')).dbCommand(),
  gc: async () => (await import('./gc-command.js')).gcCommand(),
  run: async () => (await import('./run-command.js')).runCommand(),
  users: async () => (await import('./users-command.js')).usersCommand(),
  tokens: async () => (await import('./users-command.js')).tokensCommand(),
  experiments: async () => (await import('./experiments-command.js')).experimentsCommand(),
  runs: async () => (await import('./runs-command.js')).runsCommand(),
  artifacts: async () => (await import('./artifacts-command.js')).artifactsCommand(),
  models: async () => (await import('./models-command.js')).modelsCommand(),
};
const name = process.argv[2] ?? '';
const wanted = Object.hasOwn(COMMANDS, name) ? [COMMANDS[name]] : Object.values(COMMANDS);
for (const command of await Promise.all(wanted.map((load) => load()))) program.addCommand(command);

program.parseAsync(process.argv).catch(async (error: unknown) => {
  // The SDK is loaded here only (the server does not need it to start); its errors are the data commands'.
  const { MlflowError: ClientError } = await import('@mlflow-ts/client');
  if (error instanceof ClientError) {
    // An answer from the tracking server (or no answer): its code tells scripts what happened.
    console.error(
      `Error: ${error.message} (${error.errorCode}${error.status ? `, HTTP ${error.status}` : ''})`,
    );
  } else if (error instanceof MlflowError || (error instanceof Error && error.constructor === Error)) {
    console.error(`Error: ${error.message}`);
  } else {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exit(1);
});
