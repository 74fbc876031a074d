import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutionError } from '../execution-error.js';
import {
  endRunUnlessEnded,
  type RunStatusName,
  type RunTracking,
  type TerminalStatus,
  type TrackedRun,
} from '../run-tracking.js';
import { shellQuote } from '../shell-quote.js';
import type { SlurmConfig } from './slurm-config.js';
import { runStatusOfJobState, SlurmJob } from './slurm-job.js';

// -b slurm: the run is created here, then one sbatch job runs `mlflow-ts run <project> --run-id <id>`
// on a compute node. That inner run prepares the environment on the node, runs the command, and records
// FINISHED / FAILED / KILLED itself (scancel's SIGTERM reaches it like Ctrl-C); this side follows the
// job and fills in the status when the job ended without the inner run recording one (e.g. it never
// started). Nodes must see the project directory, the storage directory and node + mlflow-ts at the
// same paths (a shared filesystem, or a single node).

export interface SlurmRunRequest {
  workDir: string;
  entryPoint: string;
  envManager: string;
  parameters: Record<string, string>;
  dockerArgs: Record<string, string | true>;
  buildImage: boolean;
  storageDir?: string;
  config: SlurmConfig;
}

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
export function innerRunCommand(request: SlurmRunRequest, runId: string, trackingUri: string): string {
  const args = [
    ...mlflowTsCommand(),
    'run',
    request.workDir,
    '--entry-point',
    request.entryPoint,
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

export interface SlurmSubmittedRun {
  runId: string;
  experimentId: string;
  command: string;
  jobId: string;
  output: string;
  wait(): Promise<boolean>;
  status(): RunStatusName;
  cancel(): Promise<void>;
}

export async function submitSlurmRun(
  request: SlurmRunRequest,
  tracking: RunTracking,
  run: TrackedRun,
  log: (line: string) => void,
): Promise<SlurmSubmittedRun> {
  const command = innerRunCommand(request, run.runId, tracking.trackingUri);
  const logDir = path.join(request.storageDir ?? tmpdir(), `mlflow-ts-slurm-${run.runId}`);
  const { job, output } = await SlurmJob.submit({
    runId: run.runId,
    // The submitter's directory, so relative paths in parameters mean the same on the node; the inner
    // run starts the command in the project directory itself.
    workDir: process.cwd(),
    logDir,
    config: request.config,
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
  let finished: Promise<boolean> | undefined;
  const follow = () => {
    finished ??= (async () => {
      try {
        const state = await job.waitForEnd();
        let status = runStatusOfJobState(state) ?? 'FAILED';
        if (cancelled) status = 'KILLED';
        await endRunUnlessEnded(tracking, run.runId, status as TerminalStatus);
        log(`=== Slurm job ${job.jobId} of run '${run.runId}' ended ${state} ===`);
        return status === 'FINISHED';
      } finally {
        await tracking.close();
      }
    })();
    return finished;
  };
  return {
    runId: run.runId,
    experimentId: run.experimentId,
    command,
    jobId: job.jobId,
    output,
    wait: follow,
    status: () =>
      cancelled && runStatusOfJobState(job.lastKnownState) !== 'FINISHED'
        ? 'KILLED'
        : (runStatusOfJobState(job.lastKnownState) ?? 'FAILED'),
    async cancel() {
      cancelled = true;
      await job.cancel();
      await follow().catch(() => {});
    },
  };
}
