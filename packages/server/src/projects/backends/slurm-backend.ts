import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutionError } from '../execution-error.js';
import { terminalStatus } from '../run-tracking.js';
import { shellQuote } from '../shell-quote.js';
import type { JobHandle, JobTarget, ProjectBackend, ProjectRequest } from './project-backend.js';
import { parseSlurmConfig, type SlurmConfig } from './slurm-config.js';
import { runStatusOfJobState, SlurmJob } from './slurm-job.js';

// -b slurm: the run is created here, then one sbatch job runs `mlflow-ts run <project> --run-id <id>`
// on a compute node. That inner run prepares the environment on the node, runs the command, and records
// FINISHED / FAILED / KILLED itself (scancel's SIGTERM reaches it like Ctrl-C); this side follows the
// job and fills in the status when the job ended without the inner run recording one (e.g. it never
// started). Nodes must see the project directory, the storage directory and node + mlflow-ts at the
// same paths (a shared filesystem, or a single node).

/** The command line that starts this same mlflow-ts CLI (built, or from source through tsx). */
export function mlflowTsCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  const cli = path.resolve(path.dirname(here), '..', '..', 'cli', `main${ext}`);
  if (!existsSync(cli))
    throw new ExecutionError(`Cannot find the mlflow-ts CLI at ${cli} to run on the cluster.`);
  if (ext === '.ts') return [process.execPath, '--import', import.meta.resolve('tsx'), cli];
  return [process.execPath, cli];
}

/** The inner `mlflow-ts run` the job executes. */
export function innerRunCommand(request: ProjectRequest, runId: string, trackingUri: string): string {
  const args = [
    ...mlflowTsCommand(),
    'run',
    request.source.workDir,
    '--entry-point',
    request.entryPointName,
    '--run-id',
    runId,
    '--env-manager',
    request.envManager,
    '--tracking-uri',
    trackingUri,
  ];
  if (request.storageDir) args.push('--storage-dir', request.storageDir);
  for (const [key, value] of Object.entries(request.parameters)) args.push('-P', `${key}=${value}`);
  for (const [key, value] of Object.entries(request.dockerArgs))
    args.push('-A', value === true ? key : `${key}=${value}`);
  if (request.buildImage) args.push('--build-image');
  return args.map(shellQuote).join(' ');
}

async function submitSlurmJob(
  request: ProjectRequest,
  config: SlurmConfig,
  { tracking, run, log }: JobTarget,
): Promise<JobHandle> {
  const command = innerRunCommand(request, run.runId, tracking.trackingUri);
  const logDir = path.join(request.storageDir ?? tmpdir(), `mlflow-ts-slurm-${run.runId}`);
  const { job, output } = await SlurmJob.submit({
    runId: run.runId,
    // The submitter's directory, so relative paths in parameters mean the same on the node; the inner
    // run starts the command in the project directory itself.
    workDir: process.cwd(),
    logDir,
    config,
    env: {
      MLFLOW_RUN_ID: run.runId,
      MLFLOW_TRACKING_URI: tracking.trackingUri,
      MLFLOW_EXPERIMENT_ID: run.experimentId,
    },
    command,
  });
  await tracking.setTags(run.runId, { 'mlflow.slurm.jobId': job.jobId });
  await tracking.setStatus(run.runId, 'SCHEDULED');
  log(`=== Submitted run '${run.runId}' as Slurm job ${job.jobId} (output: ${output}) ===`);

  let cancelled = false;
  return {
    command,
    jobId: job.jobId,
    async wait() {
      const state = await job.waitForEnd();
      log(`=== Slurm job ${job.jobId} of run '${run.runId}' ended ${state} ===`);
      return cancelled ? 'KILLED' : (terminalStatus(runStatusOfJobState(state)) ?? 'FAILED');
    },
    status: () =>
      cancelled && runStatusOfJobState(job.lastKnownState) !== 'FINISHED'
        ? 'KILLED'
        : (runStatusOfJobState(job.lastKnownState) ?? 'FAILED'),
    async cancel() {
      cancelled = true;
      await job.cancel();
    },
  };
}

export const slurmBackend: ProjectBackend = {
  name: 'slurm',
  detached: true,
  async prepare({ config }) {
    const slurm = parseSlurmConfig(config);
    return { submit: (request, target) => submitSlurmJob(request, slurm, target) };
  },
};
