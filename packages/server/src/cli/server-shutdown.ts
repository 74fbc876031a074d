// How `mlflow-ts server` stops on SIGINT/SIGTERM: a bounded graceful shutdown, a second signal exits at
// once, and with --workers the primary stops its workers under the same bound.
import cluster, { type Worker } from 'node:cluster';
import { constants } from 'node:os';
import type { RunningServer } from '../server.js';

/** The message a primary sends its workers instead of a signal (see stopWorkers for why). */
const SHUTDOWN_MESSAGE = 'mlflow-ts:shutdown';

/** Extra time the primary allows a worker past the grace period to commit, close and exit. */
const WORKER_EXIT_MARGIN_MS = 3000;

type StopSignal = 'SIGINT' | 'SIGTERM';

/** The conventional exit status of a process ended by `signal`: 130 for SIGINT, 143 for SIGTERM. */
function signalExitCode(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/**
 * Installs the stop handlers of one server process (the only one, or a worker). Call it before the
 * server starts so that a signal during start-up is not lost, then hand it the server.
 */
export function handleStopSignals(graceMs: number): { serverStarted(server: RunningServer): void } {
  let server: RunningServer | undefined;
  let stopping = false;

  const stop = (reason: string) => {
    stopping = true;
    if (!server) return; // serverStarted() begins the shutdown as soon as there is a server
    if (cluster.isPrimary) {
      console.log(`${reason}: finishing in-flight requests and pending writes (at most ${graceMs / 1000} s)`);
    }
    server.shutdown(graceMs).then(
      (outcome) => {
        if (outcome === 'clean') process.exit(0);
        console.error(
          `mlflow-ts: requests were still running after ${graceMs / 1000} s (--graceful-timeout); they were cut off`,
        );
        process.exit(1);
      },
      (error: unknown) => {
        console.error(`mlflow-ts: shutdown failed: ${(error as Error).stack ?? String(error)}`);
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: StopSignal) => {
    if (stopping) {
      if (cluster.isPrimary) console.error(`${signal} received again: exiting now`);
      process.exit(signalExitCode(signal));
    }
    stop(`${signal} received`);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  if (cluster.isWorker) {
    process.on('message', (message) => {
      if (message === SHUTDOWN_MESSAGE && !stopping) stop('shutdown requested by the primary');
    });
  }
  return {
    serverStarted(started) {
      server = started;
      if (stopping) stop('stop requested during start-up');
    },
  };
}

/**
 * The primary's side of --workers: restarts a worker that dies while serving, and on a signal stops
 * them all within the grace period (plus a margin to commit and exit), killing any that overstay.
 * Exits 0 only when every worker shut down cleanly.
 */
export function superviseWorkers(count: number, graceMs: number): void {
  let stopping = false;
  let clean = true;
  const workers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);

  const onSignal = (signal: StopSignal) => {
    if (stopping) {
      console.error(`${signal} received again: stopping the workers now`);
      for (const worker of workers()) worker.process.kill('SIGKILL');
      process.exit(signalExitCode(signal));
    }
    stopping = true;
    console.log(`${signal} received: stopping ${workers().length} workers (at most ${graceMs / 1000} s)`);
    // A message, not a signal: Ctrl-C in a terminal already signals every worker of the process group,
    // and a second signal would make them exit at once.
    for (const worker of workers()) if (worker.isConnected()) worker.send(SHUTDOWN_MESSAGE);
    setTimeout(() => {
      const late = workers();
      if (late.length === 0) return;
      console.error(`mlflow-ts: ${late.length} worker(s) still running after the grace period; killing them`);
      clean = false;
      for (const worker of late) worker.process.kill('SIGKILL');
    }, graceMs + WORKER_EXIT_MARGIN_MS).unref();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // A worker still loading when the stop began may have missed the message; it listens only after
  // its handler is installed, so tell it again then.
  cluster.on('listening', (worker) => {
    if (stopping && worker.isConnected()) worker.send(SHUTDOWN_MESSAGE);
  });

  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.error(
        `worker ${worker.process.pid} exited with ${signal ?? `code ${code}`}; starting a new one`,
      );
      cluster.fork();
      return;
    }
    if (code !== 0) clean = false;
    if (workers().length === 0) process.exit(clean ? 0 : 1);
  });
  for (let i = 0; i < count; i++) cluster.fork();
}
