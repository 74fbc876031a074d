import cluster from 'node:cluster';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type AuthConfig, AuthConfigError, readAuthConfig } from '../auth/auth-config.js';
import type { ResourceLimits } from '../entities/resource-limits.js';
import { DEFAULT_CONNECTION_LIMITS } from '../http/connection-limits.js';
import { DEFAULT_ARTIFACTS_DESTINATION, startServer } from '../server.js';
import { readLimits } from '../services/limits-config.js';
import { upgradeDatabase } from '../store/database.js';
import { handleStopSignals, superviseWorkers } from './server-shutdown.js';

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

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number (0 or more).');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('expected a number of seconds (0 or more).');
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
  gracefulTimeout: number;
  appName?: string;
  limits?: string;
  headersTimeout: number;
  requestTimeout: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
}

/** The apps `--app-name` can start (MLflow's entry points of that name). */
const APP_NAMES = ['basic-auth'];

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
    .addOption(
      new Option(
        '--graceful-timeout <seconds>',
        'on SIGINT/SIGTERM, how long in-flight requests may take to finish before they are cut off (exit status 1)',
      )
        .argParser(seconds)
        .default(10),
    )
    .addOption(
      new Option('--headers-timeout <seconds>', "a request's line and headers must arrive within this")
        .argParser(seconds)
        .default(DEFAULT_CONNECTION_LIMITS.headersTimeoutMs / 1000),
    )
    .addOption(
      new Option(
        '--request-timeout <seconds>',
        'a whole request, body included (an artifact upload), must arrive within this; 0: no limit',
      )
        .argParser(seconds)
        .default(DEFAULT_CONNECTION_LIMITS.requestTimeoutMs / 1000),
    )
    .addOption(
      new Option(
        '--max-connections <n>',
        'connections each server process holds at once; further ones are closed on arrival (0: no cap)',
      )
        .argParser(count)
        .default(DEFAULT_CONNECTION_LIMITS.maxConnections),
    )
    .addOption(
      new Option(
        '--max-connections-per-address <n>',
        'connections one client address may hold at once per server process; further ones are closed on arrival (0: no cap; leave it off behind a reverse proxy)',
      )
        .argParser(count)
        .default(0),
    )
    .option(
      '--app-name <name>',
      'run the server as this app: basic-auth turns on users and permissions (config: MLFLOW_AUTH_CONFIG_PATH)',
    )
    .option(
      '--limits <file>',
      'quotas to enforce, a YAML or JSON file (experiments, runs_per_experiment, params_per_run, tags_per_run, metric_values_per_run, artifact_bytes_per_run); also MLFLOW_TS_LIMIT_<NAME>',
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
  let auth: AuthConfig | undefined;
  if (options.appName !== undefined) {
    if (!APP_NAMES.includes(options.appName)) {
      throw new Error(
        `--app-name ${options.appName} is not an app mlflow-ts has; the supported name is: ${APP_NAMES.join(', ')}.`,
      );
    }
    auth = readAuthConfig();
  }
  // Read before forking, so a bad file stops the primary with one message (and no stack trace).
  let limits: ResourceLimits;
  try {
    limits = readLimits(options.limits);
  } catch (error) {
    throw new Error((error as Error).message);
  }
  const graceMs = options.gracefulTimeout * 1000;
  if (options.workers > 1 && cluster.isPrimary) {
    // Migrate once before forking so workers never race on the schema.
    if (!options.artifactsOnly) await upgradeDatabase(options.backendStoreUri);
    // The users store is migrated and the admin created once, here, for the same reason.
    if (auth) {
      const { AuthService } = await import('../auth/auth-service.js');
      await (await AuthService.start(auth)).close();
    }
    superviseWorkers(options.workers, graceMs);
    console.log(
      `mlflow-ts listening on http://${options.host}:${options.port} with ${options.workers} workers`,
    );
    return;
  }
  const signals = handleStopSignals(graceMs);
  const server = await startServer({
    backendStoreUri: options.backendStoreUri,
    defaultArtifactRoot: options.defaultArtifactRoot,
    serveArtifacts: options.serveArtifacts,
    artifactsDestination: options.artifactsDestination,
    artifactsOnly: options.artifactsOnly,
    host: options.host,
    port: options.port,
    auth,
    limits,
    connectionLimits: {
      headersTimeoutMs: options.headersTimeout * 1000,
      requestTimeoutMs: options.requestTimeout * 1000,
      maxConnections: options.maxConnections,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress,
    },
  }).catch((error: unknown) => {
    throw new Error(startFailure(error, options));
  });
  if (cluster.isPrimary)
    console.log(`mlflow-ts listening on ${server.url} (store: ${options.backendStoreUri})`);
  signals.serverStarted(server);
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
  if (error instanceof AuthConfigError) return e.message;
  return `could not open the backend store ${options.backendStoreUri}: ${e.message ?? String(error)}
Check that the path or database exists and is writable, or pass another --backend-store-uri.`;
}
