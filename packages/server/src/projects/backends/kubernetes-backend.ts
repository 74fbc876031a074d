import { setTimeout as sleep } from 'node:timers/promises';
import { entryPointCommand } from '../entry-point-command.js';
import { findContainerCli } from '../env/docker-env.js';
import { ExecutionError } from '../execution-error.js';
import { type RunStatusName, type TerminalStatus, terminalStatus } from '../run-tracking.js';
import { type KubeConnection, resolveKubeConnection } from './kubeconfig.js';
import { type Job, KubernetesApi, KubernetesApiError } from './kubernetes-api.js';
import { type KubernetesBackendConfig, parseKubernetesConfig } from './kubernetes-config.js';
import { buildAndPushProjectImage } from './kubernetes-image.js';
import { containerCommand, jobDefinition, jobName, jobProgress } from './kubernetes-job.js';
import {
  commandEntryPoint,
  type JobHandle,
  type JobTarget,
  type ProjectBackend,
  type ProjectRequest,
} from './project-backend.js';

// -b kubernetes, as MLflow's kubernetes.py does it: build the project image FROM the docker_env image
// and push it, create a Job from the user's template running the entry point in that image with the
// run's MLFLOW_* variables, then follow the Job's status (SCHEDULED until it starts, RUNNING, then
// FINISHED or FAILED from its Complete / Failed condition). cancel() deletes the Job.

/** Consecutive failed status reads (network, 5xx) tolerated while following a Job. */
const POLL_RETRIES = 5;

function pollMs(): number {
  const seconds = Number(process.env.MLFLOW_TS_KUBERNETES_POLL_SECONDS ?? 5);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 5000;
}

/**
 * The tracking URI the Job gets: KUBE_MLFLOW_TRACKING_URI when set (the server's address as seen from
 * inside the cluster, as in MLflow), else ours, which must then be a server the pods can reach.
 */
export function kubernetesTrackingUri(trackingUri: string, log: (line: string) => void): string {
  const inCluster = process.env.KUBE_MLFLOW_TRACKING_URI;
  if (inCluster) return inCluster;
  if (!/^https?:\/\//i.test(trackingUri)) {
    throw new ExecutionError(
      `When running on Kubernetes, the tracking URI must be an HTTP(S) server the Job's pods can reach; got local store ${trackingUri}. Pass --tracking-uri http(s)://..., set MLFLOW_TRACKING_URI, or set KUBE_MLFLOW_TRACKING_URI to the address the pods should use.`,
    );
  }
  const host = new URL(trackingUri).hostname;
  if (host === 'localhost' || host.startsWith('127.') || host === '[::1]') {
    log(
      `=== The tracking URI ${trackingUri} is a loopback address, which pods in the cluster cannot reach; set KUBE_MLFLOW_TRACKING_URI to the server's address as seen from the cluster ===`,
    );
  }
  return trackingUri;
}

/** Where Jobs go: the cluster connection and the CLI that builds and pushes the image. */
interface KubernetesTarget {
  config: KubernetesBackendConfig;
  connection: KubeConnection;
  /** The container CLI (docker or podman), already checked to reach its engine. */
  cli: string;
}

async function submitKubernetesJob(
  request: ProjectRequest,
  { config, connection, cli }: KubernetesTarget,
  { tracking, run, log }: JobTarget,
): Promise<JobHandle> {
  const { project } = request;
  if (config.ignoredKeys.length > 0) {
    log(
      `=== Ignoring backend config key(s) ${config.ignoredKeys.join(', ')}: not used by the kubernetes backend ===`,
    );
  }
  await tracking.setTags(run.runId, { 'mlflow.project.env': 'docker' });
  const baseImage = project.dockerEnv?.image as string;
  const { tag, digest } = await buildAndPushProjectImage(
    cli,
    request.source.workDir,
    baseImage,
    config.repositoryUri,
    log,
    request.signal,
  );
  await tracking.setTags(run.runId, { 'mlflow.docker.image.uri': tag, 'mlflow.docker.image.id': digest });

  // Parameters are passed as given: relative paths then mean the project's copy in the image (its
  // working directory), and remote URIs are for the code in the pod to read.
  const command = entryPointCommand(commandEntryPoint(request), request.resolved);
  const env = {
    MLFLOW_RUN_ID: run.runId,
    MLFLOW_TRACKING_URI: kubernetesTrackingUri(tracking.trackingUri, () => {}),
    MLFLOW_EXPERIMENT_ID: run.experimentId,
  };
  const templateNamespace = (config.template.metadata as { namespace?: string } | undefined)?.namespace;
  const namespace = templateNamespace ?? connection.namespace;
  const name = jobName(project.name ?? 'mlflow-project');
  const job = jobDefinition(config.template, {
    projectName: project.name ?? 'mlflow-project',
    image: `${tag}@${digest}`,
    command: containerCommand(command),
    env,
    name,
    namespace,
  });
  if (request.signal?.aborted)
    throw new ExecutionError('The project run was cancelled before its Job was created.');
  const api = new KubernetesApi(connection);
  log(`=== Creating Job ${name} in namespace ${namespace} (${connection.source}, ${connection.server}) ===`);
  await api.createJob(namespace, job);
  await tracking.setTags(run.runId, {
    'mlflow.kubernetes.jobName': name,
    'mlflow.kubernetes.namespace': namespace,
  });
  log(`=== Running command '${command}' in run with ID '${run.runId}' as Job ${namespace}/${name} ===`);
  return followJob(api, { name, namespace, command }, { tracking, run, log });
}

function followJob(
  api: KubernetesApi,
  job: { name: string; namespace: string; command: string },
  { tracking, run, log }: JobTarget,
): JobHandle {
  let status: RunStatusName = 'SCHEDULED';
  let cancelled = false;
  const wake = new AbortController();
  const shown = new Set<string>();

  /** One status read: updates `status`, logs what changed; false once the Job has ended. */
  const update = async (): Promise<boolean> => {
    let current: Job;
    try {
      current = await api.readJobStatus(job.namespace, job.name);
    } catch (error) {
      // Gone: deleted by someone else, or by ttlSecondsAfterFinished before we saw it end.
      if (error instanceof KubernetesApiError && error.status === 404) {
        if (cancelled) return false;
        const recorded = await tracking.getRun(run.runId);
        if (recorded.status === 'FINISHED' || recorded.status === 'FAILED' || recorded.status === 'KILLED') {
          status = recorded.status;
        } else {
          log(
            `=== Job ${job.namespace}/${job.name} no longer exists and the run did not end: recording FAILED ===`,
          );
          status = 'FAILED';
        }
        return false;
      }
      throw error;
    }
    const progress = jobProgress(current.status);
    if (status === 'SCHEDULED') {
      if (progress.started) {
        log('=== Job started ===');
        status = 'RUNNING';
      } else if (!shown.has('waiting')) {
        shown.add('waiting');
        log('=== Waiting for Job to start ===');
      }
    }
    for (const message of progress.messages) {
      if (!shown.has(message)) {
        shown.add(message);
        log(`=== Job ${job.name}: ${message} ===`);
      }
    }
    if (progress.outcome) status = progress.outcome;
    return progress.outcome === undefined;
  };

  const follow = async (): Promise<TerminalStatus> => {
    let failures = 0;
    while (!cancelled) {
      let going: boolean;
      try {
        going = await update();
        failures = 0;
      } catch (error) {
        const transient = !(error instanceof KubernetesApiError) || error.status >= 500;
        if (!transient || ++failures > POLL_RETRIES || cancelled) throw error;
        log(`=== Could not read the Job's status (${(error as Error).message}); trying again ===`);
        going = true;
      }
      if (!going) break;
      await sleep(pollMs(), undefined, { signal: wake.signal }).catch(() => {});
    }
    // Also covers a pod that never started (an image pull error, an unschedulable pod).
    return cancelled ? 'KILLED' : (terminalStatus(status) ?? 'FAILED');
  };

  return {
    command: job.command,
    jobId: job.name,
    wait: follow,
    status: () => status,
    async cancel() {
      if (status === 'FINISHED' || status === 'FAILED' || status === 'KILLED') {
        log('=== Attempting to cancel a Job that already ended ===');
        return;
      }
      log(`=== Cancelling Job ${job.namespace}/${job.name} ===`);
      try {
        await api.deleteJob(job.namespace, job.name);
      } catch (error) {
        // Already gone is what we wanted.
        if (!(error instanceof KubernetesApiError && error.status === 404)) throw error;
      }
      cancelled = true;
      wake.abort();
      status = 'KILLED';
      log('=== Job cancelled ===');
    },
  };
}

export const kubernetesBackend: ProjectBackend = {
  name: 'kubernetes',
  detached: true,
  async prepare({ config, trackingUri, log }) {
    const kubernetes = parseKubernetesConfig(config);
    kubernetesTrackingUri(trackingUri, log);
    const connection = resolveKubeConnection(kubernetes.kubeContext, log);
    const target = { config: kubernetes, connection, cli: await findContainerCli() };
    return {
      checkProject({ project }) {
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
      },
      submit: (request, jobTarget) => submitKubernetesJob(request, target, jobTarget),
    };
  },
};
