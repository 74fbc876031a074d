import { DEFAULT_TRACKING_URI } from '@mlflow-ts/client';
import { Command } from 'commander';
import { PROJECT_BACKENDS, spokenList } from '../projects/backends/registry.js';
import { ExecutionError } from '../projects/execution-error.js';
import { parseBackendConfig, type RunProjectOptions, runProject } from '../projects/run-project.js';
import { runSweep } from '../projects/sweep.js';

interface RunCommandOptions {
  entryPoint: string;
  version?: string;
  paramList: string[];
  dockerArgs: string[];
  experimentName?: string;
  experimentId?: string;
  backend: string;
  backendConfig?: string;
  envManager?: string;
  storageDir?: string;
  runId?: string;
  runName?: string;
  buildImage: boolean;
  trackingUri?: string;
  wait: boolean;
  sweep?: string;
  maxParallel?: string;
  maxTrials?: string;
  seed?: string;
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new ExecutionError(`${flag} must be a positive integer, got '${value}'.`);
  return n;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** -P/-A values as a map (MLflow's _user_args_to_dict): NAME=VALUE, or a bare NAME for -A. */
export function userArgsToDict(args: string[], type: 'P' | 'A'): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    let name: string;
    let value: string | true;
    if (eq < 0 && type === 'A') {
      name = arg;
      value = true;
    } else if (eq > 0) {
      name = arg.slice(0, eq);
      value = arg.slice(eq + 1);
    } else {
      throw new ExecutionError(`Invalid format for -${type} parameter: '${arg}'. Use -${type} name=value.`);
    }
    if (name in out) throw new ExecutionError(`Repeated parameter: '${name}'`);
    out[name] = value;
  }
  return out;
}

/** What a run and a sweep share, from the command line. */
type ProjectRunOptions = Omit<RunProjectOptions, 'runId' | 'parentRunId'>;

/** The runner's options from the flags, with MLflow's environment fallbacks. */
function projectRunOptions(uri: string, options: RunCommandOptions, signal: AbortSignal): ProjectRunOptions {
  return {
    uri,
    entryPoint: options.entryPoint,
    version: options.version,
    parameters: userArgsToDict(options.paramList, 'P') as Record<string, string>,
    dockerArgs: userArgsToDict(options.dockerArgs, 'A'),
    // A flag wins over both environment variables, so one flag drops the other's variable.
    experimentId:
      options.experimentName !== undefined
        ? undefined
        : (options.experimentId ?? process.env.MLFLOW_EXPERIMENT_ID),
    experimentName:
      options.experimentId !== undefined
        ? undefined
        : (options.experimentName ?? process.env.MLFLOW_EXPERIMENT_NAME),
    backend: options.backend,
    backendConfig: parseBackendConfig(options.backendConfig),
    envManager: options.envManager,
    storageDir: options.storageDir ?? process.env.MLFLOW_TMP_DIR,
    runName: options.runName,
    buildImage: options.buildImage,
    trackingUri: options.trackingUri,
    signal,
  };
}

const BACKEND_NAMES = PROJECT_BACKENDS.map((b) => b.name);
const DETACHED_NAMES = PROJECT_BACKENDS.filter((b) => b.detached).map((b) => b.name);

export function runCommand(): Command {
  return new Command('run')
    .description(
      'Run an MLflow project from a local directory, a Git URI or a .zip archive (path, file:// or http(s) URL; with optional #sub/directory), recording it as a run in tracking. Blocks until the run ends; Ctrl-C stops it and marks the run KILLED.',
    )
    .argument(
      '<uri>',
      'project directory, Git URI (https://, ssh://, file://, user@host:path) or .zip archive (path, file://, http(s)://), optionally #sub/dir',
    )
    .option(
      '-e, --entry-point <name>',
      'entry point of the MLproject, or a .py/.sh file of the project to run as a script',
      'main',
    )
    .option('-v, --version <version>', 'Git commit, branch or tag to run (Git projects)')
    .option(
      '-P, --param-list <name=value>',
      'a parameter (repeatable); parameters the entry point does not declare are passed as --name value',
      collect,
      [],
    )
    .option(
      '-A, --docker-args <name[=value]>',
      'a `docker run` argument (repeatable): -A gpus=all gives --gpus all, -A t gives -t',
      collect,
      [],
    )
    .option(
      '--experiment-name <name>',
      'experiment of the run (created if missing); env MLFLOW_EXPERIMENT_NAME',
    )
    .option('--experiment-id <id>', 'experiment id of the run; env MLFLOW_EXPERIMENT_ID')
    .option(
      '-b, --backend <backend>',
      `execution backend: ${spokenList(
        BACKEND_NAMES.map((n) => `'${n}'`),
        'or',
      )}`,
      'local',
    )
    .option(
      '-c, --backend-config <json-or-file>',
      'backend configuration: JSON text, or a path to a .json file',
    )
    .option(
      '--env-manager <manager>',
      'local, virtualenv, uv or conda; default: virtualenv for python_env projects, conda for conda_env, local otherwise',
    )
    .option(
      '--storage-dir <dir>',
      'where remote URIs given to `path` parameters are downloaded; env MLFLOW_TMP_DIR',
    )
    .option('--run-id <id>', 'use this existing run instead of creating one (used by workflows)')
    .option('--run-name <name>', 'name of the run')
    .option(
      '--sweep <grid|random>',
      'run many trials as child runs of one parent: each -P value is a list a,b,c (random also takes lo..hi and lo..hi:log)',
    )
    .option('--max-parallel <n>', 'sweep: trials running at the same time (default 1)')
    .option('--max-trials <n>', 'sweep: number of random trials (required for random; caps a grid)')
    .option('--seed <n>', 'sweep: seed of the random search, to reproduce it')
    .option(
      '--no-wait',
      `${spokenList(DETACHED_NAMES, 'and')} backends: return once the job is submitted; the job records the run's end itself`,
    )
    .option(
      '--build-image',
      'docker projects: build an image with the project copied in, instead of mounting it',
      false,
    )
    .option(
      '--tracking-uri <uri>',
      `tracking server or store; default: MLFLOW_TRACKING_URI, else ${DEFAULT_TRACKING_URI}`,
    )
    .helpOption('--help', 'show this help')
    .action(async (uri: string, options: RunCommandOptions) => {
      if (options.experimentId !== undefined && options.experimentName !== undefined) {
        throw new ExecutionError("Specify only one of 'experiment-name' or 'experiment-id' options.");
      }
      if (options.sweep !== undefined) {
        await sweepAction(uri, options);
        return;
      }
      if (!options.wait && !DETACHED_NAMES.includes(options.backend)) {
        throw new ExecutionError(
          `--no-wait applies to ${spokenList(
            DETACHED_NAMES.map((n) => `-b ${n}`),
            'and',
          )} only: local runs always wait for their command.`,
        );
      }
      const abort = new AbortController();
      const runOptions = projectRunOptions(uri, options, abort.signal);
      // Ctrl-C / SIGTERM: during set-up, abort it (the run, if created, is recorded KILLED); once the
      // command runs, stop its whole process tree and record KILLED; then exit as killed by the signal.
      let submitted: Awaited<ReturnType<typeof runProject>> | undefined;
      let stopping: NodeJS.Signals | undefined;
      const exitCode = () => (stopping === 'SIGINT' ? 130 : 143);
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = signal;
        abort.abort();
        if (!submitted) return;
        process.stderr.write(
          `=== Run (ID '${submitted.runId}') interrupted (${signal}), cancelling it ===\n`,
        );
        void submitted.cancel().finally(() => process.exit(exitCode()));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        submitted = await runProject({ ...runOptions, runId: options.runId });
      } catch (error) {
        if (stopping) {
          process.stderr.write(`Error: ${(error as Error).message}\n`);
          process.exit(exitCode());
        }
        throw error;
      }
      if (stopping) {
        // The signal came while the command was being started.
        await submitted.cancel();
        process.exit(exitCode());
      }
      if (!options.wait) {
        process.stdout.write(`${submitted.runId}${submitted.jobId ? ` ${submitted.jobId}` : ''}\n`);
        process.exit(0);
      }
      const ok = await submitted.wait();
      if (stopping) return;
      if (!ok) throw new ExecutionError(`Run (ID '${submitted.runId}') failed`);
    });
}

/** `mlflow-ts run --sweep`: the trials as child runs; Ctrl-C / SIGTERM cancels them and the sweep. */
async function sweepAction(uri: string, options: RunCommandOptions): Promise<void> {
  if (options.sweep !== 'grid' && options.sweep !== 'random') {
    throw new ExecutionError(`--sweep must be 'grid' or 'random', got '${options.sweep}'.`);
  }
  if (options.runId)
    throw new ExecutionError('--run-id cannot be combined with --sweep: each trial gets its own run.');
  if (!options.wait) throw new ExecutionError('--no-wait cannot be combined with --sweep.');
  const seed = options.seed === undefined ? undefined : Number(options.seed);
  if (seed !== undefined && !Number.isInteger(seed))
    throw new ExecutionError(`--seed must be an integer, got '${options.seed}'.`);
  const maxParallel = positiveInt('--max-parallel', options.maxParallel);
  const maxTrials = positiveInt('--max-trials', options.maxTrials);
  const abort = new AbortController();
  let stopping: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = signal;
    process.stderr.write(`=== Sweep interrupted (${signal}), cancelling its trials ===\n`);
    abort.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const result = await runSweep({
    ...projectRunOptions(uri, options, abort.signal),
    sweep: options.sweep,
    maxParallel,
    maxTrials,
    seed,
  });
  if (stopping) process.exit(stopping === 'SIGINT' ? 130 : 143);
  if (!result.ok) {
    const failed = result.trials.filter((t) => !t.ok).length;
    throw new ExecutionError(
      `Sweep (parent run '${result.parentRunId}'): ${failed} of ${result.trials.length} trial(s) failed`,
    );
  }
}
