// -b local: the environment prepared here (virtualenv, uv, conda, docker or none) and the entry point
// run as a process tree on this machine, with the run's identity in its environment.
import { DownloadDir } from '../download-dir.js';
import { entryPointCommand } from '../entry-point-command.js';
import { prepareConda } from '../env/conda-env.js';
import { prepareDocker } from '../env/docker-env.js';
import type { EnvContext, EnvManagerName, PreparedEnv } from '../env/env-manager.js';
import { prepareUv } from '../env/uv-env.js';
import { prepareVirtualenv } from '../env/virtualenv-env.js';
import { ExecutionError } from '../execution-error.js';
import { localizeParameters } from '../parameters.js';
import { pathDownloader } from '../path-downloads.js';
import type { Project } from '../project-spec.js';
import { LocalProcess } from './local-process.js';
import {
  commandEntryPoint,
  type JobHandle,
  type JobTarget,
  type ProjectBackend,
  type ProjectRequest,
} from './project-backend.js';

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

async function startProcess(request: ProjectRequest, { tracking, run, log }: JobTarget): Promise<JobHandle> {
  const entryPoint = commandEntryPoint(request);
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
    dockerArgs: request.dockerArgs,
    buildImage: request.buildImage,
    runId: run.runId,
    signal: request.signal,
  });
  if (Object.keys(env.tags).length > 0) await tracking.setTags(run.runId, env.tags);

  const downloads = new DownloadDir(request.storageDir, log);
  let command: string;
  try {
    const values = await localizeParameters(entryPoint, request.resolved, {
      storageDir: () => downloads.path(),
      download: pathDownloader(tracking),
    });
    command = env.wrap(entryPointCommand(entryPoint, values));
    if (request.signal?.aborted)
      throw new ExecutionError('The project run was cancelled before its command started.');
  } catch (error) {
    downloads.remove();
    throw error;
  }
  if (run.status === 'SCHEDULED') await tracking.setStatus(run.runId, 'RUNNING');
  log(`=== Running command '${command}' in run with ID '${run.runId}' ===`);
  const child = new LocalProcess(command, {
    cwd: request.source.workDir,
    env: { ...process.env, ...runEnv },
  });
  return {
    command,
    followAtOnce: true,
    wait: () => child.waitForEnd(),
    status: () => child.status(),
    cancel: () => child.cancel(),
    cleanup: () => downloads.remove(),
  };
}

export const localBackend: ProjectBackend = {
  name: 'local',
  detached: false,
  async prepare() {
    return {
      // A command outside a container reaches a local store through a server this process runs for
      // the command's life; a container gets the SQLite file mounted, as MLflow does.
      servesLocalStore: (request) => !request.project.dockerEnv,
      submit: startProcess,
    };
  },
};
