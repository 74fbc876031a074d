#!/usr/bin/env node
import { MlflowError as ClientError } from '@mlflow-ts/client';
import { Command } from 'commander';
import { MlflowError } from '../entities/errors.js';
import { VERSION } from '../version.js';
import { artifactsCommand } from './artifacts-command.js';
import { experimentsCommand } from './experiments-command.js';
import { gcCommand } from './gc-command.js';
import { runsCommand } from './runs-command.js';
import { dbCommand, serverCommand } from './server-command.js';

const program = new Command('mlflow-ts')
  .description('MLflow-compatible tracking server and tools.')
  .version(VERSION)
  .addCommand(serverCommand())
  .addCommand(dbCommand())
  .addCommand(gcCommand())
  .addCommand(experimentsCommand())
  .addCommand(runsCommand())
  .addCommand(artifactsCommand());

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
