#!/usr/bin/env node
import { Command } from 'commander';
import { MlflowError } from '../entities/errors.js';
import { VERSION } from '../version.js';
import { gcCommand } from './gc-command.js';
import { runCommand } from './run-command.js';
import { dbCommand, serverCommand } from './server-command.js';

const program = new Command('mlflow-ts')
  .description('MLflow-compatible tracking server and tools.')
  .version(VERSION)
  // Root options only before the command name, so `run --version <git ref>` reaches `run`.
  .enablePositionalOptions()
  .addCommand(serverCommand())
  .addCommand(dbCommand())
  .addCommand(gcCommand())
  .addCommand(runCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof MlflowError || (error instanceof Error && error.constructor === Error)) {
    console.error(`Error: ${error.message}`);
  } else {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exit(1);
});
