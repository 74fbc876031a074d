import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ExecutionError } from '../execution-error.js';
import type { RunStatusName } from '../run-tracking.js';
import { shellQuote } from '../shell-quote.js';
import { type SlurmConfig, sbatchOptions } from './slurm-config.js';

// One project run as one sbatch job, followed through squeue while it is queued or running and
// `scontrol show job` (or sacct, when accounting is on) once it has left the queue.

const execFileAsync = promisify(execFile);

async function slurm(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { timeout: 60_000 });
    return stdout.trim();
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new ExecutionError(
        `Could not find ${command}: install Slurm's client commands (Debian: slurm-client) to use -b slurm.`,
      );
    }
    throw new ExecutionError(`\`${command} ${args.join(' ')}\` failed: ${(e.stderr || e.message).trim()}`);
  }
}

/** Slurm's job states, as MLflow run statuses (undefined while the job has not ended). */
export function runStatusOfJobState(state: string): RunStatusName | undefined {
  const s = state.toUpperCase().replace(/\+$/, '').split(/\s/)[0];
  if (
    [
      'PENDING',
      'CONFIGURING',
      'REQUEUED',
      'REQUEUE_HOLD',
      'REQUEUE_FED',
      'RESV_DEL_HOLD',
      'SUSPENDED',
    ].includes(s)
  ) {
    return 'SCHEDULED';
  }
  if (['RUNNING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING', 'RESIZING', 'STOPPED'].includes(s))
    return 'RUNNING';
  if (s === 'COMPLETED') return 'FINISHED';
  if (s === 'CANCELLED' || s === 'PREEMPTED' || s === 'REVOKED') return 'KILLED';
  if (
    ['FAILED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'SPECIAL_EXIT'].includes(s)
  ) {
    return 'FAILED';
  }
  return undefined;
}

/** The batch script: the sbatch options, the run's variables, then the command. */
export function batchScript(options: {
  jobName: string;
  output: string;
  workDir: string;
  config: SlurmConfig;
  env: Record<string, string>;
  command: string;
}): string {
  const lines = [
    '#!/bin/bash',
    `#SBATCH --job-name=${options.jobName}`,
    `#SBATCH --output=${options.output}`,
  ];
  lines.push(`#SBATCH --chdir=${options.workDir}`);
  for (const option of sbatchOptions(options.config)) lines.push(`#SBATCH ${option}`);
  for (const [key, value] of Object.entries(options.env)) lines.push(`export ${key}=${shellQuote(value)}`);
  lines.push(`exec ${options.command}`, '');
  return lines.join('\n');
}

export class SlurmJob {
  private lastState = 'PENDING';

  private constructor(readonly jobId: string) {}

  /** Writes the batch script into `logDir` and submits it; the job's output goes there too. */
  static async submit(options: {
    runId: string;
    workDir: string;
    logDir: string;
    config: SlurmConfig;
    env: Record<string, string>;
    command: string;
  }): Promise<{ job: SlurmJob; script: string; output: string }> {
    mkdirSync(options.logDir, { recursive: true });
    const output = path.join(options.logDir, 'slurm-%j.out');
    const script = path.join(options.logDir, 'job.sh');
    writeFileSync(
      script,
      batchScript({
        jobName: `mlflow-${options.runId.slice(0, 8)}`,
        output,
        workDir: options.workDir,
        config: options.config,
        env: options.env,
        command: options.command,
      }),
      { mode: 0o755 },
    );
    const answer = await slurm('sbatch', ['--parsable', script]);
    const jobId = answer.split(';')[0].trim();
    if (!/^\d+(_\d+)?$/.test(jobId))
      throw new ExecutionError(`sbatch answered '${answer}', which holds no job id.`);
    return { job: new SlurmJob(jobId), script, output: output.replace('%j', jobId) };
  }

  /** The job's current Slurm state (PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, ...). */
  async state(): Promise<string> {
    const queued = await slurm('squeue', ['-h', '-j', this.jobId, '-o', '%T']).catch(() => '');
    if (queued) {
      this.lastState = queued.split('\n')[0].trim();
      return this.lastState;
    }
    const shown = await slurm('scontrol', ['show', 'job', '-o', this.jobId]).catch(() => '');
    const m = /\bJobState=(\S+)/.exec(shown);
    if (m) {
      this.lastState = m[1];
      return this.lastState;
    }
    const accounted = await slurm('sacct', ['-n', '-X', '-P', '-j', this.jobId, '-o', 'State']).catch(
      () => '',
    );
    if (accounted) {
      this.lastState = accounted.split('\n')[0].trim();
      return this.lastState;
    }
    throw new ExecutionError(
      `Slurm no longer knows job ${this.jobId} (not in squeue, scontrol or sacct); its final state is unknown.`,
    );
  }

  get lastKnownState(): string {
    return this.lastState;
  }

  /** Polls until the job has ended; returns its final state. */
  async waitForEnd(pollMs = 1000): Promise<string> {
    for (;;) {
      const state = await this.state();
      const status = runStatusOfJobState(state);
      if (status === 'FINISHED' || status === 'FAILED' || status === 'KILLED') return state;
      await sleep(pollMs);
    }
  }

  async cancel(): Promise<void> {
    await slurm('scancel', [this.jobId]);
  }
}
