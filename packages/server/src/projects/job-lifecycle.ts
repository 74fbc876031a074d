// The one place a project job's run is seen to its end: followed once, cancelled on request, ended
// with the job's outcome unless the run's code ended it itself, and tracking closed whatever happens.
import type { JobHandle, JobTarget } from './backends/project-backend.js';
import { endRunUnlessEnded, type RunStatusName } from './run-tracking.js';

/** A started project run (MLflow's SubmittedRun). */
export interface SubmittedRun {
  readonly runId: string;
  readonly experimentId: string;
  /** The shell command the entry point runs as. */
  readonly command: string;
  /** Waits for the job; true when it succeeded. The run's final status is recorded by then. */
  wait(): Promise<boolean>;
  /** RUNNING (or SCHEDULED) until the job ends, then FINISHED, FAILED or KILLED. */
  status(): RunStatusName;
  /** Stops the whole process tree (or cancels the cluster job) and records the run as KILLED. */
  cancel(): Promise<void>;
  /** The Slurm job id, the Databricks job run id, or the Kubernetes Job name. */
  readonly jobId?: string;
  /** The Databricks run page, for runs on the databricks backend. */
  readonly runPageUrl?: string;
}

/** Takes over a started job: from here on the run's end is recorded and tracking closed exactly once. */
export function superviseJob(job: JobHandle, { tracking, run, log }: JobTarget): SubmittedRun {
  let finished: Promise<boolean> | undefined;
  const follow = () => {
    finished ??= (async () => {
      try {
        const status = await job.wait();
        await endRunUnlessEnded(tracking, run.runId, status);
        if (status === 'FINISHED') log(`=== Run (ID '${run.runId}') succeeded ===`);
        else if (status === 'KILLED') log(`=== Run (ID '${run.runId}') was killed ===`);
        else log(`=== Run (ID '${run.runId}') failed ===`);
        return status === 'FINISHED';
      } finally {
        job.cleanup?.();
        await tracking.close();
      }
    })();
    return finished;
  };
  if (job.followAtOnce) follow();
  return {
    runId: run.runId,
    experimentId: run.experimentId,
    command: job.command,
    jobId: job.jobId,
    runPageUrl: job.runPageUrl,
    wait: follow,
    status: () => job.status(),
    async cancel() {
      await job.cancel();
      await follow().catch(() => {});
    },
  };
}
