import cluster from 'node:cluster';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_ARTIFACTS_DESTINATION, startServer } from '../server.js';
import { upgradeDatabase } from '../store/database.js';

export const DEFAULT_BACKEND_STORE_URI = 'sqlite:///mlflow.db';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number (0-65535).');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number.');
  return n;
}

interface ServerOptions {
  backendStoreUri: string;
  defaultArtifactRoot?: string;
  serveArtifacts: boolean;
  artifactsDestination: string;
  artifactsOnly: boolean;
  host: string;
  port: number;
  workers: number;
}

export function serverCommand(): Command {
  return new Command('server')
    .description('Run the tracking server (MLflow REST API) on an SQLite or PostgreSQL store.')
    .option(
      '--backend-store-uri <uri>',
      'where runs and experiments are stored: sqlite:///<path>.db or postgresql://user@host:port/db',
      process.env.MLFLOW_BACKEND_STORE_URI ?? DEFAULT_BACKEND_STORE_URI,
    )
    .option(
      '--default-artifact-root <uri>',
      'artifact root for new experiments (default: mlflow-artifacts:/ when serving artifacts)',
    )
    .option('--serve-artifacts', 'proxy artifact uploads and downloads through this server (default)', true)
    .option('--no-serve-artifacts', 'do not proxy artifacts; clients write to the artifact root directly')
    .option(
      '--artifacts-destination <uri>',
      'where proxied artifacts are stored (a local directory or file: URI)',
      process.env.MLFLOW_ARTIFACTS_DESTINATION ?? DEFAULT_ARTIFACTS_DESTINATION,
    )
    .option(
      '--artifacts-only',
      'serve only the artifact proxy; tracking endpoints are disabled (answer 503)',
      ['1', 'true'].includes((process.env.MLFLOW_ARTIFACTS_ONLY ?? '').toLowerCase()),
    )
    .option('-h, --host <host>', 'the network address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'the port to listen on', port, 5000)
    .addOption(
      new Option('-w, --workers <n>', 'number of server processes sharing the port')
        .argParser(positiveInt)
        .default(1),
    )
    .helpOption('--help', 'show this help')
    .action(async (options: ServerOptions) => {
      await runServer(options);
    });
}

async function runServer(options: ServerOptions): Promise<void> {
  if (options.artifactsOnly && options.backendStoreUri !== DEFAULT_BACKEND_STORE_URI) {
    // MLflow's rule: an artifacts-only server has no backend store of its own.
    throw new Error(
      `You are starting a tracking server in \`--artifacts-only\` mode and have provided a value for \`--backend-store-uri\`: '${options.backendStoreUri}'. A tracking server in \`--artifacts-only\` mode cannot have a value set for \`--backend-store-uri\` to properly proxy access to the artifact storage location.`,
    );
  }
  if (options.workers > 1 && cluster.isPrimary) {
    // Migrate once before forking so workers never race on the schema.
    if (!options.artifactsOnly) await upgradeDatabase(options.backendStoreUri);
    for (let i = 0; i < options.workers; i++) cluster.fork();
    let exiting = false;
    const stop = () => {
      exiting = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    cluster.on('exit', (worker, code) => {
      if (!exiting) {
        console.error(`worker ${worker.process.pid} exited with code ${code}; starting a new one`);
        cluster.fork();
      } else if (Object.keys(cluster.workers ?? {}).length === 0) {
        process.exit(0);
      }
    });
    console.log(
      `mlflow-ts listening on http://${options.host}:${options.port} with ${options.workers} workers`,
    );
    return;
  }
  const server = await startServer({
    backendStoreUri: options.backendStoreUri,
    defaultArtifactRoot: options.defaultArtifactRoot,
    serveArtifacts: options.serveArtifacts,
    artifactsDestination: options.artifactsDestination,
    artifactsOnly: options.artifactsOnly,
    host: options.host,
    port: options.port,
  }).catch((error: unknown) => {
    throw new Error(startFailure(error, options));
  });
  if (cluster.isPrimary)
    console.log(`mlflow-ts listening on ${server.url} (store: ${options.backendStoreUri})`);
  const shutdown = (signal: string) => {
    if (cluster.isPrimary) console.log(`${signal} received: finishing pending writes and stopping`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

/** Says what went wrong when the server could not start, and what to do about it. */
function startFailure(
  error: unknown,
  options: { backendStoreUri: string; host: string; port: number },
): string {
  const e = error as Error & { code?: string };
  if (e.code === 'EADDRINUSE') {
    return `${options.host}:${options.port} is already in use; stop the process using it or pass another --port.`;
  }
  if (e.code === 'EACCES' && e.message.includes('listen')) {
    return `not allowed to listen on ${options.host}:${options.port}; pass a port above 1023 with --port.`;
  }
  if (e.message?.startsWith('artifact destination ')) return e.message;
  return `could not open the backend store ${options.backendStoreUri}: ${e.message ?? String(error)}
Check that the path or database exists and is writable, or pass another --backend-store-uri.`;
}

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
  return db;
}
