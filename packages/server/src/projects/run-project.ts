import { readFileSync } from 'node:fs';
import path from 'node:path';
import { currentUserName } from '@mlflow-ts/client';
import {
  type JobHandle,
  type PreparedBackend,
  type ProjectBackend,
  type ProjectRequest,
  SPARK_JOBS_ON_DATABRICKS_ONLY,
} from './backends/project-backend.js';
import { projectBackend } from './backends/registry.js';
import { checkEnvManager, type EnvManagerName } from './env/env-manager.js';
import { ExecutionError } from './execution-error.js';
import { type SubmittedRun, superviseJob } from './job-lifecycle.js';
import { openRunTracking, resolveTrackingUri } from './open-run-tracking.js';
import { resolveParameters } from './parameters.js';
import { type FetchedProject, fetchProject } from './project-source.js';
import { getEntryPoint, loadProject, type Project } from './project-spec.js';
import type { RunTracking, TrackedRun } from './run-tracking.js';
import { shellQuote } from './shell-quote.js';

// runProject: MLflow's mlflow.projects.run. Everything that can be checked is checked before the run
// is created (backend config, source, MLproject, entry point, parameters); then the run is created
// with its tags and params and handed to the backend, whose job the lifecycle sees to its end.

export type { SubmittedRun };

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
  /** A backend of backends/registry.ts: 'local' (default), 'slurm', 'databricks' or 'kubernetes'. */
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

/** Fetches and checks the project for the backend; nothing is recorded yet. */
async function loadRequest(
  options: RunProjectOptions,
  backend: ProjectBackend,
  prepared: PreparedBackend,
  envManagerOption: EnvManagerName | undefined,
  log: (line: string) => void,
): Promise<ProjectRequest> {
  const source = await fetchProject(options.uri, options.version, log);
  const project = loadProject(source.workDir);
  if (project.databricksSparkJob && !backend.runsSparkJobs) {
    throw new ExecutionError(SPARK_JOBS_ON_DATABRICKS_ONLY);
  }
  const entryPointName = options.entryPoint ?? 'main';
  const entryPoint = getEntryPoint(project, entryPointName);
  const parameters = options.parameters ?? {};
  // Validates required parameters and types now, so a typo fails before a run exists. A Spark job
  // with python_file has no entry point: its parameters come from the MLproject and -P is ignored.
  const resolved = entryPoint
    ? await resolveParameters(entryPoint, parameters)
    : { declared: new Map<string, string>(), extra: new Map<string, string>() };
  if (envManagerOption === 'conda' && project.envType === 'python_env' && project.envConfigPath) {
    throw new ExecutionError(
      "python_env project cannot be executed using conda. Set `--env-manager` to 'virtualenv' or 'local' to execute this project.",
    );
  }
  const request: ProjectRequest = {
    uri: options.uri,
    source,
    project,
    entryPointName,
    entryPoint,
    parameters,
    resolved,
    envManager: envManagerOption ?? defaultEnvManager(project),
    envManagerOption,
    dockerArgs: options.dockerArgs ?? {},
    buildImage: options.buildImage ?? false,
    storageDir: options.storageDir,
    signal: options.signal,
  };
  prepared.checkProject?.(request);
  return request;
}

/** Creates (or, with runId, takes over) the run with its tags and params; closes tracking on failure. */
async function recordRun(
  tracking: RunTracking,
  options: RunProjectOptions,
  request: ProjectRequest,
  backend: string,
): Promise<TrackedRun> {
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
      const params = [...request.resolved.declared, ...request.resolved.extra].map(
        ([k, v]): [string, string] => [k, shellQuote(v)],
      );
      await tracking.logParams(run.runId, params);
    }
    // A run handed over with --run-id (e.g. by the slurm backend) keeps the backend it was started on.
    const tags: Record<string, string> = {};
    if (!options.runId || !run.tags['mlflow.project.backend']) tags['mlflow.project.backend'] = backend;
    if (options.runId && options.runName) tags['mlflow.runName'] = options.runName;
    await tracking.setTags(run.runId, tags);
    return run;
  } catch (error) {
    // A run created but not fully recorded (e.g. a param name the server refuses) must not stay RUNNING.
    if (run && !options.runId) await tracking.setTerminated(run.runId, 'FAILED').catch(() => {});
    await tracking.close();
    throw error;
  }
}

/**
 * Runs an MLflow project and returns once its command has started (local backend) or its job has been
 * submitted (slurm, databricks, kubernetes). Throws an ExecutionError (before any run is created) when
 * the project, parameters or backend config are invalid.
 */
export async function runProject(options: RunProjectOptions): Promise<SubmittedRun> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backend = projectBackend(options.backend ?? 'local');
  const envManagerOption = options.envManager === undefined ? undefined : checkEnvManager(options.envManager);
  const trackingUri = resolveTrackingUri(options.trackingUri);
  const prepared = await backend.prepare({ config: options.backendConfig, trackingUri, log });
  const request = await loadRequest(options, backend, prepared, envManagerOption, log);
  if (options.signal?.aborted) throw new ExecutionError('The project run was cancelled before it started.');
  const serve = prepared.servesLocalStore?.(request) ?? false;
  const tracking = await openRunTracking(trackingUri, { serve });
  const run = await recordRun(tracking, options, request, backend.name);
  const target = { tracking, run, log };
  let job: JobHandle;
  try {
    job = await prepared.submit(request, target);
  } catch (error) {
    const status = options.signal?.aborted ? 'KILLED' : 'FAILED';
    await tracking.setTerminated(run.runId, status).catch(() => {});
    await tracking.close();
    throw error;
  }
  return superviseJob(job, target);
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
