import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ExecutionError } from './execution-error.js';

// Git through the git CLI (as MLflow does through GitPython): metadata of a checkout, and fresh clones
// of a repository at a version, with progress on stderr.

const execFileAsync = promisify(execFile);

async function gitOutput(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('git', args, { cwd, env: gitEnv() });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Never wait on a terminal prompt: a run must fail with a message, not hang.
  return { ...process.env, GIT_TERMINAL_PROMPT: '0', ...extra };
}

/** What tracking records about a checkout; each field is undefined outside a Git repository. */
export interface GitInfo {
  /** The checkout's top-level directory. */
  root?: string;
  commit?: string;
  /** The URL of the first remote, as MLflow's get_git_repo_url. */
  repoUrl?: string;
}

export async function gitInfo(directory: string): Promise<GitInfo> {
  const root = await gitOutput(directory, ['rev-parse', '--show-toplevel']);
  if (!root) return {};
  const commit = await gitOutput(directory, ['rev-parse', '--verify', '--quiet', 'HEAD']);
  const remotes = (await gitOutput(directory, ['remote']))?.split('\n').filter(Boolean) ?? [];
  const repoUrl =
    remotes.length > 0 ? await gitOutput(directory, ['remote', 'get-url', remotes[0]]) : undefined;
  return { root, commit: commit || undefined, repoUrl: repoUrl || undefined };
}

/** True when `name` is a local branch of the checkout at `directory` (MLflow's branch tag rule). */
export async function isBranch(directory: string, name: string): Promise<boolean> {
  return (
    (await gitOutput(directory, ['rev-parse', '--verify', '--quiet', `refs/heads/${name}`])) !== undefined
  );
}

function run(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', () => {});
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stderr += text;
      // git writes progress with carriage returns; show the completed lines only.
      for (const line of text.split(/\n/))
        if (line.trim() && !line.includes('\r')) log(`  git: ${line.trim()}`);
    });
    child.on('error', (error) =>
      reject(new ExecutionError(`Could not run git (${error.message}). Install git and put it on PATH.`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(stderr.trim() || `git ${args[0]} exited with ${code}`));
    });
  });
}

/**
 * A GIT_ASKPASS helper answering with MLFLOW_GIT_USERNAME / MLFLOW_GIT_PASSWORD, so credentials never
 * appear in a URL, a command line or the clone's config.
 */
function askpassEnv(): { env: Record<string, string>; cleanup(): void } {
  const user = process.env.MLFLOW_GIT_USERNAME;
  const password = process.env.MLFLOW_GIT_PASSWORD;
  if (user === undefined && password === undefined) return { env: {}, cleanup() {} };
  const dir = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-askpass-'));
  const script = path.join(dir, 'askpass.sh');
  writeFileSync(
    script,
    '#!/bin/sh\ncase "$1" in\n  Username*) printf \'%s\\n\' "$MLFLOW_GIT_USERNAME" ;;\n  *) printf \'%s\\n\' "$MLFLOW_GIT_PASSWORD" ;;\nesac\n',
  );
  chmodSync(script, 0o700);
  return { env: { GIT_ASKPASS: script }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Clones `uri` into the empty directory `dest` and checks out `version` (a commit, branch or tag; the
 * remote's default branch when absent), with submodules. Errors name the version and repository.
 */
export async function cloneRepository(
  uri: string,
  dest: string,
  version: string | undefined,
  log: (line: string) => void,
): Promise<void> {
  const askpass = askpassEnv();
  try {
    await checkoutClone(uri, dest, version, gitEnv(askpass.env), log);
  } finally {
    askpass.cleanup();
  }
}

async function checkoutClone(
  uri: string,
  dest: string,
  version: string | undefined,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  try {
    await run(['clone', '--progress', '--no-checkout', uri, dest], path.dirname(dest), env, log);
  } catch (error) {
    throw new ExecutionError(`Could not clone the Git repository ${uri}: ${(error as Error).message}`);
  }
  try {
    if (version === undefined) {
      await run(['checkout', '--quiet'], dest, env, log);
    } else {
      // A branch name becomes a local branch tracking origin's (so the branch tag can be recorded).
      const remoteBranch = await gitOutput(dest, [
        'rev-parse',
        '--verify',
        '--quiet',
        `refs/remotes/origin/${version}`,
      ]);
      const args = remoteBranch
        ? ['checkout', '--quiet', '-B', version, `origin/${version}`]
        : ['checkout', '--quiet', '--detach', version];
      await run(args, dest, env, log);
    }
  } catch (error) {
    throw new ExecutionError(
      `Unable to checkout version '${version ?? 'HEAD'}' of git repo ${uri} - please ensure that the version exists in the repo. Error: ${(error as Error).message}`,
    );
  }
  try {
    await run(['submodule', 'update', '--init', '--recursive'], dest, env, log);
  } catch (error) {
    throw new ExecutionError(`Could not fetch the submodules of ${uri}: ${(error as Error).message}`);
  }
}
