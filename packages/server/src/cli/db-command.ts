// `mlflow-ts db`: schema upgrades and moving whole stores in and out (db-transfer-commands.ts).
import { Command } from 'commander';
import { upgradeDatabase } from '../store/database.js';
import { addTransferCommands } from './db-transfer-commands.js';

export function dbCommand(): Command {
  const db = new Command('db').description('Manage the tracking database.');
  db.command('upgrade')
    .description('Apply pending schema migrations to the store at <url>.')
    .argument('<url>', 'the backend store URI, e.g. sqlite:///mlflow.db or postgresql://user@host/db')
    .action(async (url: string) => {
      const applied = await upgradeDatabase(url);
      console.log(
        applied.length ? `Applied migrations: ${applied.join(', ')}` : 'The database schema is up to date.',
      );
    });
  addTransferCommands(db);
  return db;
}
