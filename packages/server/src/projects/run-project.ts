import { readFileSync } from 'node:fs';
import path from 'node:path';
import { currentUserName } from '@mlflow-ts/client';
import { DatabricksApi, databricksCredentials } from './backends/databricks-api.js';
import { checkTrackingUriForDatabricks, submitDatabricksRun } from './backends/databricks-backend.js';
import { parseDatabricksConfig } from './backends/databricks-config.js';
import { sparkJobCodeAndArgs } from './backends/databricks-spark-job.js';
import { resolveKubeConnection } from './backends/kubeconfig.js';
import { kubernetesTrackingUri, submitKubernetesRun } from './backends/kubernetes-backend.js';
import { parseKubernetesConfig } from './backends/kubernetes-config.js';
import { LocalProcess } from './backends/local-process.js';
import { submitSlurmRun } from './backends/slurm-backend.js';
import { parseSlurmConfig } from './backends/slurm-config.js';
import { DownloadDir } from './download-dir.js';
import { entryPointCommand } from './entry-point-command.js';
import { prepareConda } from './env/conda-env.js';
import { findContainerCli, prepareDocker } from './env/docker-env.js';
import {
  checkEnvManager,
  type EnvContext,
  type EnvManagerName,
  type PreparedEnv,
} from './env/env-manager.js';
import { prepareUv } from './env/uv-env.js';
import { prepareVirtualenv } from './env/virtualenv-env.js';
import { ExecutionError } from './execution-error.js';
import { openRunTracking, resolveTrackingUri } from './open-run-tracking.js';
import { resolveParameters } from './parameters.js';
import { pathDownloader } from './path-downloads.js';
import { type FetchedProject, fetchProject } from './project-source.js';
import { type EntryPoint, getEntryPoint, loadProject, type Project } from './project-spec.js';
import type { RunStatusName, RunTracking, TrackedRun } from './run-tracking.js';
import { shellQuote } from './shell-quote.js';

// runProject: MLflow's mlflow.projects.run for the local backend. Everything that can be checked is
// checked before the run is created (source, MLproject, entry point, parameters); then the run is
// created with its tags and params, the environment prepared, and the command started with the run's
// identity in its environment. The run ends FINISHED, FAILED or KILLED unless the code ended it itself.

export interface RunProjectOptions {
  /** A local directory or Git URI, optionally with #sub/directory. */
  uri: string;
  entryPoint?: string;
  /** Git commit, branch or tag. */
  version?: string;
  parameters?: Record<string, string>;
  /** `docker run` arguments: name -> value, or true for a bare flag. */
  dockerArgs?: Record<string, string | true>;
  experimentName?: string;
  experimentId?: string;
  /** 'local' (default), 'slurm', 'databricks' or 'kubernetes'. */
  backend?: string;
  /**
   * Backend settings; for slurm: partition, time, cpus, memory, gpus, sbatch_args; for databricks: a
   * new_cluster spec, or {new_cluster, libraries}; for kubernetes: kube-context, repository-uri,
   * kube-job-template-path.
   */
  backendConfig?: Record<string, unknown>;
  /** Default: from the project (python_env -> virtualenv, conda -> conda, docker -> local). */
  envManager?: string;
  /** Base directory for downloads of remote `path` parameters. */
  storageDir?: string;
  /** Use this existing run instead of creating one. */
  runId?: string;
  runName?: string;
  /** Makes the run a child of this run (tag mlflow.parentRunId), as MLflow does inside an active run. */
  parentRunId?: string;
  buildImage?: boolean;
  /** Default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db. */
  trackingUri?: string;
  /**
   * Cancels the run while it is being set up (fetch, environment): no run is created when aborted
   * before that, otherwise the run is recorded as KILLED. Once started, use the handle's cancel().
   */
  signal?: AbortSignal;
  /** Progress lines (fetching, env creation, the command). Default: stderr. */
  log?: (line: string) => void;
}

/** A started project run (MLflow's SubmittedRun). */
export interface SubmittedRun {
  readonly runId: string;
  readonly experimentId: string;
  /** The shell command the entry point runs as. */
  readonly command: string;
  /** Waits for the command; true when it succeeded. The run's final status is recorded by then. */
  wait(): Promise<boolean>;
  /** RUNNING until the command exits, then FINISHED, FAILED or KILLED. */
  status(): RunStatusName;
  /** Stops the whole process tree (or cancels the cluster job) and records the run as KILLED. */
  cancel(): Promise<void>;
  /** The Slurm job id, the Databricks job run id, or the Kubernetes Job name. */
  readonly jobId?: string;
  /** The Databricks run page, for runs on the databricks backend. */
  readonly runPageUrl?: string;
}

const BACKENDS = ['local', 'slurm', 'databricks', 'kubernetes'];

/** MLflow's rule for the default env manager of a project type. */
function defaultEnvManager(project: Project): EnvManagerName {
  if (project.envType === 'conda_env') return 'conda';
  if (project.envType === 'docker_env') return 'local';
  return 'virtualenv';
}

function experimentFromEnv(): string | undefined {
  return process.env.MLFLOW_EXPERIMENT_ID || undefined;
}

async function resolveExperimentId(tracking: RunTracking, options: RunProjectOptions): Promise<string> {
  if (options.experimentName && options.experimentId) {
    throw new ExecutionError("Specify only one of 'experiment_name' or 'experiment_id'.");
  }
  if (options.experimentId) return options.experimentId;
  const name = options.experimentName ?? process.env.MLFLOW_EXPERIMENT_NAME;
  if (name) return tracking.experimentIdForName(name);
  return experimentFromEnv() ?? '0';
}

/** MLflow's rule: getpass.getuser(), else 'unknown'. */
function currentUser(): string {
  return currentUserName() ?? 'unknown';
}

/** The tags MLflow's _create_run sets, plus the legacy mlflow.gitRepoURL that older UIs read. */
export function projectRunTags(source: FetchedProject, entryPoint: string): Record<string, string> {
  const tags: Record<string, string> = {
    'mlflow.user': currentUser(),
    'mlflow.source.name': source.sourceName,
    'mlflow.source.type': 'PROJECT',
    'mlflow.project.entryPoint': entryPoint,
  };
  if (source.commit) tags['mlflow.source.git.commit'] = source.commit;
  if (source.repoUrl) {
    tags['mlflow.source.git.repoURL'] = source.repoUrl;
    tags['mlflow.gitRepoURL'] = source.repoUrl;
  }
  if (source.branch) tags['mlflow.source.git.branch'] = source.branch;
  return tags;
}

async function prepareEnv(
  project: Project,
  envManager: EnvManagerName,
  ctx: EnvContext,
): Promise<PreparedEnv> {
  if (project.dockerEnv) return prepareDocker(ctx);
  if (envManager === 'virtualenv') return prepareVirtualenv(ctx);
  if (envManager === 'uv') return prepareUv(ctx);
  if (envManager === 'conda') return prepareConda(ctx);
  return { wrap: (command) => command, tags: {} };
}

/** Checks the request and the project, fetching it; nothing is recorded yet. */
async function loadRequest(options: RunProjectOptions, log: (line: string) => void) {
  const backend = options.backend ?? 'local';
  if (!BACKENDS.includes(backend)) {
    throw new ExecutionError(
      `Got unsupported execution mode ${backend}. Supported values: ${BACKENDS.map((b) => `'${b}'`).join(', ')}`,
    );
  }
  const envManagerOption = options.envManager === undefined ? undefined : checkEnvManager(options.envManager);
  const slurmConfig = backend === 'slurm' ? parseSlurmConfig(options.backendConfig) : undefined;
  let databricks: { config: ReturnType<typeof parseDatabricksConfig>; api: DatabricksApi } | undefined;
  if (backend === 'databricks') {
    const config = parseDatabricksConfig(options.backendConfig);
    checkTrackingUriForDatabricks(resolveTrackingUri(options.trackingUri));
    databricks = { config, api: new DatabricksApi(databricksCredentials()) };
  }
  const kubernetesConfig =
    backend === 'kubernetes' ? parseKubernetesConfig(options.backendConfig) : undefined;
  if (kubernetesConfig) kubernetesTrackingUri(resolveTrackingUri(options.trackingUri), log);
  const source = await fetchProject(options.uri, options.version, log);
  const project = loadProject(source.workDir);
  let kubernetes:
    | {
        config: NonNullable<typeof kubernetesConfig>;
        connection: ReturnType<typeof resolveKubeConnection>;
        cli: string;
      }
    | undefined;
  if (kubernetesConfig) {
    if (!project.dockerEnv) {
      throw new ExecutionError(
        'Running on Kubernetes needs a docker_env in the MLproject file: the Job runs the project in an image built from its docker_env image.',
      );
    }
    if (!project.name) {
      throw new ExecutionError(
        'Project name in MLProject must be specified when using docker for image tagging.',
      );
    }
    const connection = resolveKubeConnection(kubernetesConfig.kubeContext, log);
    kubernetes = { config: kubernetesConfig, connection, cli: await findContainerCli() };
  }
  if (project.databricksSparkJob && backend !== 'databricks') {
    throw new ExecutionError(
      'Databricks Spark job projects run only on the databricks backend (-b databricks).',
    );
  }
  const entryPointName = options.entryPoint ?? 'main';
  const entryPoint = getEntryPoint(project, entryPointName) as EntryPoint;
  const parameters = options.parameters ?? {};
  // Validates required parameters and types now, so a typo fails before a run exists. A Spark job
  // with python_file has no entry point: its parameters come from the MLproject and -P is ignored.
  const logged = entryPoint
    ? await resolveParameters(entryPoint, parameters)
    : { declared: new Map<string, string>(), extra: new Map<string, string>() };
  // A Spark job entry point must be a `python` command: checked before the run is created.
  if (databricks && project.databricksSparkJob)
    sparkJobCodeAndArgs(project.databricksSparkJob, entryPoint, logged);
  if (envManagerOption === 'conda' && project.envType === 'python_env' && project.envConfigPath) {
    throw new ExecutionError(
      "python_env project cannot be executed using conda. Set `--env-manager` to 'virtualenv' or 'local' to execute this project.",
    );
  }
  const envManager = envManagerOption ?? defaultEnvManager(project);
  return {
    backend,
    source,
    project,
    entryPointName,
    entryPoint,
    parameters,
    logged,
    envManager,
    slurmConfig,
    databricks,
    kubernetes,
  };
}

/**
 * Runs an MLflow project and returns once its command has started (local backend) or its job has been
 * submitted (slurm, databricks, kubernetes). Throws an ExecutionError (before any run is created) when
 * the project, parameters or backend config are invalid.
 */
export async function runProject(options: RunProjectOptions): Promise<SubmittedRun> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const request = await loadRequest(options, log);
  if (options.signal?.aborted) throw new ExecutionError('The project run was cancelled before it started.');
  // A local command (not in a container, which gets the SQLite file mounted as MLflow does) reaches a
  // local store through a server this process runs for the command's life.
  const serve = request.backend === 'local' && !request.project.dockerEnv;
  const tracking = await openRunTracking(resolveTrackingUri(options.trackingUri), { serve });
  let run: TrackedRun | undefined;
  try {
    const experimentId = await resolveExperimentId(tracking, options);
    if (options.runId) {
      run = await tracking.getRun(options.runId);
    } else {
      const tags = projectRunTags(request.source, request.entryPointName);
      if (options.parentRunId) tags['mlflow.parentRunId'] = options.parentRunId;
      run = await tracking.createRun(experimentId, tags, options.runName);
      // MLflow logs the values as they appear in the command (shell-quoted), with path values as given.
      const params = [...request.logged.declared, ...request.logged.extra].map(([k, v]): [string, string] => [
        k,
        shellQuote(v),
      ]);
      await tracking.logParams(run.runId, params);
    }
    // A run handed over with --run-id (e.g. by the slurm backend) keeps the backend it was started on.
    const tags: Record<string, string> = {};
    if (!options.runId || !run.tags['mlflow.project.backend'])
      tags['mlflow.project.backend'] = request.backend;
    if (options.runId && options.runName) tags['mlflow.runName'] = options.runName;
    await tracking.setTags(run.runId, tags);
  } catch (error) {
    // A run created but not fully recorded (e.g. a param name the server refuses) must not stay RUNNING.
    if (run && !options.runId) await tracking.setTerminated(run.runId, 'FAILED').catch(() => {});
    await tracking.close();
    throw error;
  }
  try {
    if (request.slurmConfig) {
      return await submitSlurmRun(
        {
          workDir: request.source.workDir,
          entryPoint: request.entryPointName,
          envManager: request.envManager,
          parameters: request.parameters,
          dockerArgs: options.dockerArgs ?? {},
          buildImage: options.buildImage ?? false,
          storageDir: options.storageDir,
          config: request.slurmConfig,
        },
        tracking,
        run,
        log,
      );
    }
    if (request.databricks) {
      return await submitDatabricksRun(
        request.databricks.api,
        {
          uri: options.uri,
          workDir: request.source.workDir,
          entryPoint: request.entryPointName,
          parameters: request.parameters,
          envManager: options.envManager,
          config: request.databricks.config,
          sparkJob: request.project.databricksSparkJob && {
            spec: request.project.databricksSparkJob,
            entryPoint: request.entryPoint,
            params: request.logged,
          },
        },
        tracking,
        run,
        log,
      );
    }
    if (request.kubernetes) {
      return await submitKubernetesRun(
        {
          project: request.project,
          workDir: request.source.workDir,
          entryPoint: request.entryPoint,
          parameters: request.parameters,
          config: request.kubernetes.config,
          connection: request.kubernetes.connection,
          cli: request.kubernetes.cli,
          signal: options.signal,
        },
        tracking,
        run,
        log,
      );
    }
    return await startRun(options, request, tracking, run, log);
  } catch (error) {
    const status = options.signal?.aborted ? 'KILLED' : 'FAILED';
    await tracking.setTerminated(run.runId, status).catch(() => {});
    await tracking.close();
    throw error;
  }
}

async function startRun(
  options: RunProjectOptions,
  request: Awaited<ReturnType<typeof loadRequest>>,
  tracking: RunTracking,
  run: TrackedRun,
  log: (line: string) => void,
): Promise<SubmittedRun> {
  const runEnv = {
    MLFLOW_RUN_ID: run.runId,
    MLFLOW_TRACKING_URI: tracking.trackingUri,
    MLFLOW_EXPERIMENT_ID: run.experimentId,
  };
  const env = await prepareEnv(request.project, request.envManager, {
    project: request.project,
    workDir: request.source.workDir,
    log,
    runEnv,
    trackingUri: tracking.trackingUri,
    dockerArgs: options.dockerArgs ?? {},
    buildImage: options.buildImage ?? false,
    runId: run.runId,
    signal: options.signal,
  });
  if (Object.keys(env.tags).length > 0) await tracking.setTags(run.runId, env.tags);

  const downloads = new DownloadDir(options.storageDir, log);
  let resolved: Awaited<ReturnType<typeof resolveParameters>>;
  try {
    resolved = await resolveParameters(request.entryPoint, request.parameters, {
      storageDir: () => downloads.path(),
      download: pathDownloader(tracking),
    });
  } catch (error) {
    downloads.remove();
    throw error;
  }
  const command = env.wrap(entryPointCommand(request.entryPoint, resolved));
  if (options.signal?.aborted) {
    downloads.remove();
    throw new ExecutionError('The project run was cancelled before its command started.');
  }
  if (run.status === 'SCHEDULED') await tracking.setStatus(run.runId, 'RUNNING');
  log(`=== Running command '${command}' in run with ID '${run.runId}' ===`);
  const child = new LocalProcess(command, {
    cwd: request.source.workDir,
    env: { ...process.env, ...runEnv },
  });

  // The final status is recorded when the process exits, whether or not anyone waits.
  const finished = (async () => {
    const ok = await child.wait();
    const status = child.status() as 'FINISHED' | 'FAILED' | 'KILLED';
    try {
      const current = await tracking.getRun(run.runId);
      // The code may have ended its run itself (mlflow.end_run): keep what it recorded.
      if (current.status === 'RUNNING' || current.status === 'SCHEDULED') {
        await tracking.setTerminated(run.runId, status);
      }
      if (status === 'FINISHED') log(`=== Run (ID '${run.runId}') succeeded ===`);
      else if (status === 'KILLED') log(`=== Run (ID '${run.runId}') was killed ===`);
      else log(`=== Run (ID '${run.runId}') failed ===`);
    } finally {
      downloads.remove();
      await tracking.close();
    }
    return ok && !child.wasKilled;
  })();

  return {
    runId: run.runId,
    experimentId: run.experimentId,
    command,
    wait: () => finished,
    status: () => child.status(),
    async cancel() {
      await child.cancel();
      await finished.catch(() => {});
    },
  };
}

/** Reads -c/--backend-config: JSON text, or a path to a .json file (MLflow's rule). */
export function parseBackendConfig(value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let text = value;
  if (path.extname(value) === '.json') {
    try {
      text = readFileSync(value, 'utf8');
    } catch (error) {
      throw new ExecutionError(
        `Could not read the backend config file ${value}: ${(error as Error).message}`,
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ExecutionError(`Invalid backend config JSON. Parse error: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ExecutionError('The backend config must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}
