import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// Environments are cached by a hash of their spec, one directory each. Building happens in place
// (virtualenvs and conda prefixes are not relocatable), so a lock file keeps two concurrent runs from
// building the same directory, and a marker written last tells a finished environment from one a
// crashed build left behind.

const READY_MARKER = '.mlflow-ts-ready';

/** Root of cached environments: MLFLOW_ENV_ROOT, else ~/.mlflow/envs (MLflow's default). */
export function envRoot(): string {
  return process.env.MLFLOW_ENV_ROOT || path.join(homedir(), '.mlflow', 'envs');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `lockFile` exclusively, waiting for a live holder and taking over from a dead one. */
async function acquireLock(lockFile: string, log: (line: string) => void): Promise<() => void> {
  let waiting = false;
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(lockFile, 'utf8'));
    } catch {
      continue; // removed between our open and read: try again
    }
    if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) {
      log(`=== Taking over the lock ${lockFile} from process ${holder}, which has exited ===`);
      try {
        unlinkSync(lockFile);
      } catch {}
      continue;
    }
    if (!waiting) {
      log(
        `=== Waiting for process ${Number.isNaN(holder) ? '?' : holder} to finish building this environment ===`,
      );
      waiting = true;
    }
    await sleep(200);
  }
}

/**
 * Returns `envDir`, building it first with `build` unless a finished copy exists. Concurrent callers
 * for the same directory wait for one build; a failed build leaves no directory behind.
 */
export async function cachedEnv(
  envDir: string,
  log: (line: string) => void,
  build: (dir: string) => Promise<void>,
): Promise<{ dir: string; reused: boolean }> {
  const marker = path.join(envDir, READY_MARKER);
  if (existsSync(marker)) return { dir: envDir, reused: true };
  mkdirSync(path.dirname(envDir), { recursive: true });
  const release = await acquireLock(`${envDir}.lock`, log);
  try {
    if (existsSync(marker)) return { dir: envDir, reused: true };
    rmSync(envDir, { recursive: true, force: true });
    try {
      await build(envDir);
    } catch (error) {
      rmSync(envDir, { recursive: true, force: true });
      throw error;
    }
    writeFileSync(marker, `${new Date().toISOString()}\n`);
    return { dir: envDir, reused: false };
  } finally {
    release();
  }
}
