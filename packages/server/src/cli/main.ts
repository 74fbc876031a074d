#!/usr/bin/env node
import { MlflowError as ClientError } from '@mlflow-ts/client';
import { Command } from 'commander';
import { MlflowError } from '../entities/errors.js';
import { MLFLOW_API_VERSION, VERSION } from '../version.js';
import { artifactsCommand } from './artifacts-command.js';
import { experimentsCommand } from './experiments-command.js';
import { modelsCommand } from './models-command.js';
import { runsCommand } from './runs-command.js';

const program = new Command('mlflow-ts')
  .description('MLflow-compatible tracking server and tools.')
  .version(`${VERSION} (MLflow REST API ${MLFLOW_API_VERSION})`)
  // Root options only before the command name, so `run --version <git ref>` reaches `run`.
  .enablePositionalOptions();

// The data commands talk HTTP only; loading the server (Fastify, stores, cloud SDKs) takes most of a
// second, so it is skipped when one of them runs.
const DATA_COMMANDS = new Set(['experiments', 'runs', 'artifacts', 'models']);
if (!DATA_COMMANDS.has(process.argv[2] ?? '')) {
  const { dbCommand, serverCommand } = await import('./server-command.js');
  const { gcCommand } = await import('./gc-command.js');
  const { runCommand } = await import('./run-command.js');
  const { tokensCommand, usersCommand } = await import('./users-command.js');
  program
    .addCommand(serverCommand())
    .addCommand(dbCommand())
    .addCommand(gcCommand())
    .addCommand(runCommand())
    .addCommand(usersCommand())
    .addCommand(tokensCommand());
}
program
  .addCommand(experimentsCommand())
  .addCommand(runsCommand())
  .addCommand(artifactsCommand())
  .addCommand(modelsCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
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
