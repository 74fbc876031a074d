// The real `mlflow-ts server` as a child process for the crash, fault and limit campaigns: started in its
// own process group on a fixed port (so a restart keeps its address), timed until /health answers, and
// killed hard, workers included.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../test/helpers.js';

/** The built CLI; MLFLOW_TS_RELIABILITY_CLI names another build (a copy, so that a long run survives a rebuild). */
export const CLI =
  process.env.MLFLOW_TS_RELIABILITY_CLI ?? path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');

export interface ServerSpec {
  storeUri: string;
  artifactsDir: string;
  port: number;
  workers?: number;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export interface LiveServer {
  child: ChildProcess;
  base: string;
  api: string;
  /** From spawn to the first 200 from /health. */
  startMs: number;
  output(): string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    // The negative pid is the whole group: with --workers the workers die with their primary, as in
    // a machine-level crash or an OOM kill of the service.
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

/** Starts the server and resolves once /health answers 200 (fails after `timeoutMs`). */
export async function startServerProcess(spec: ServerSpec, timeoutMs = 30_000): Promise<LiveServer> {
  const began = performance.now();
  const child = spawn(
    process.execPath,
    [
      CLI,
      'server',
      '--backend-store-uri',
      spec.storeUri,
      '--artifacts-destination',
      spec.artifactsDir,
      '--host',
      '127.0.0.1',
      '--port',
      String(spec.port),
      '--workers',
      String(spec.workers ?? 1),
      ...(spec.extraArgs ?? []),
    ],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, ...spec.env },
    },
  );
  live.add(child);
  child.once('exit', () => live.delete(child));
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const base = `http://127.0.0.1:${spec.port}`;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) on start:\n${log}`);
    }
    const up = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (performance.now() - began > timeoutMs) {
      await killHard(child);
      throw new Error(`the server did not answer /health within ${timeoutMs} ms:\n${log}`);
    }
    await sleep(10);
  }
  return {
    child,
    base,
    api: `${base}/api/2.0/mlflow`,
    startMs: performance.now() - began,
    output: () => log,
  };
}

/** SIGKILL to the server's process group; resolves when the primary has exited. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    killGroup(child, 'SIGKILL'); // stray workers, if any
    return;
  }
  const exited = once(child, 'exit');
  killGroup(child, 'SIGKILL');
  await exited;
}

/** SIGTERM and wait (a clean stop at the end of a campaign). */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
