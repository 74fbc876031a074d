import { type ChildProcess, spawn } from 'node:child_process';
import type { RunStatusName, TerminalStatus } from '../run-tracking.js';

// The entry point as a local process: `bash -c <command>` in its own process group, so cancelling
// stops everything the command started (pipelines, workers, grandchildren), not just bash.

/** How long a cancelled process group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 10_000;

export class LocalProcess {
  private readonly child: ChildProcess;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exit?: { code: number | null; signal: NodeJS.Signals | null };
  private cancelled = false;

  constructor(command: string, options: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.child = spawn('bash', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['inherit', 'inherit', 'inherit'],
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', () => {
        this.exit = { code: 127, signal: null };
        resolve(this.exit);
      });
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves when the process has exited: true for exit code 0. */
  async wait(): Promise<boolean> {
    const { code } = await this.exited;
    return code === 0;
  }

  /** Resolves when the process has exited, with the status its run ends with. */
  async waitForEnd(): Promise<TerminalStatus> {
    const { code } = await this.exited;
    if (this.wasKilled) return 'KILLED';
    return code === 0 ? 'FINISHED' : 'FAILED';
  }

  status(): RunStatusName {
    if (!this.exit) return 'RUNNING';
    if (this.wasKilled) return 'KILLED';
    return this.exit.code === 0 ? 'FINISHED' : 'FAILED';
  }

  /**
   * Cancelled by us, or ended by a signal from outside (scancel, kill, Ctrl-C on the terminal's
   * process group): the shell died of the signal, or reported its child's death by SIGINT/SIGTERM
   * (exit codes 130 and 143). SIGKILL stays FAILED: it is also how the OOM killer ends processes.
   */
  get wasKilled(): boolean {
    if (this.cancelled) return true;
    if (!this.exit) return false;
    const signal = this.exit.signal;
    return (signal !== null && signal !== 'SIGKILL') || this.exit.code === 130 || this.exit.code === 143;
  }

  /** SIGTERM to the whole process group, SIGKILL after the grace period; resolves once it exited. */
  async cancel(graceMs = KILL_GRACE_MS): Promise<void> {
    if (this.exit) return;
    this.cancelled = true;
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    // Stragglers that ignored SIGTERM while bash exited: the group may still hold them.
    this.signalGroup('SIGKILL');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group is already gone.
    }
  }
}
