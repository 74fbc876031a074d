import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildProjectImage } from '../env/docker-env.js';
import { ExecutionError } from '../execution-error.js';
import { gitInfo } from '../git.js';
import { archiveProject } from './project-archive.js';

// The image a Kubernetes Job runs: the project's docker_env image with the project copied in, tagged
// <repository-uri>:<commit> and pushed, then pinned by the digest the registry gave it (MLflow runs
// <tag>@<digest> too). Everything goes through the docker (or podman) CLI, which brings the user's
// registry logins and credential helpers.

const execFileAsync = promisify(execFile);
const DIGEST = /\bdigest: (sha256:[0-9a-f]{64})\b/;

/**
 * <repository>:<first 7 characters of the commit> as MLflow tags it; outside a Git checkout (where
 * MLflow has no tag at all, i.e. `latest`) the first 12 hex digits of the project's content hash,
 * so that runs of different code never share a tag.
 */
export async function projectImageTag(repositoryUri: string, workDir: string): Promise<string> {
  const commit = (await gitInfo(workDir)).commit;
  if (commit) return `${repositoryUri}:${commit.slice(0, 7)}`;
  const archive = await archiveProject(workDir);
  return `${repositoryUri}:${archive.sha256.slice(0, 12)}`;
}

/** Runs the CLI with its output shown as progress; resolves with what it printed on stdout. */
function runCaptured(
  cli: string,
  args: string[],
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stdout += text;
      for (const line of text.split('\n')) if (line.trim()) log(`  ${line.trimEnd()}`);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      process.stderr.write(chunk);
    });
    child.on('error', (error) =>
      reject(
        signal?.aborted
          ? new ExecutionError(`\`${cli} ${args[0]}\` was cancelled.`)
          : new ExecutionError(`Could not run ${cli}: ${error.message}`),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new ExecutionError(
            `Error while pushing to docker registry: \`${cli} ${args.join(' ')}\` exited with code ${code}${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`,
          ),
        );
    });
  });
}

/** The registry digest from the engine's record of the image, for engines that do not print it. */
async function recordedDigest(cli: string, tag: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(cli, [
      'image',
      'inspect',
      '--format',
      '{{json .RepoDigests}}',
      tag,
    ]);
    const digests = JSON.parse(stdout.trim() || '[]') as unknown;
    if (!Array.isArray(digests)) return undefined;
    const repository = tag.slice(0, tag.lastIndexOf(':'));
    for (const entry of digests) {
      if (typeof entry !== 'string') continue;
      const [name, digest] = entry.split('@');
      // Engines may spell Docker Hub names in full (docker.io/user/repo).
      if ((name === repository || name.endsWith(`/${repository}`)) && /^sha256:[0-9a-f]{64}$/.test(digest))
        return digest;
    }
  } catch {
    // Reported by the caller as a missing digest.
  }
  return undefined;
}

/** Pushes `tag` and returns the digest the registry stored it under. */
export async function pushImage(
  cli: string,
  tag: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<string> {
  log(`=== Pushing docker image ${tag} ===`);
  let digest: string | undefined;
  if (path.basename(cli) === 'podman') {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-digest-'));
    try {
      const file = path.join(dir, 'digest');
      await runCaptured(cli, ['push', '--digestfile', file, tag], log, signal);
      digest = readFileSync(file, 'utf8').trim() || undefined;
    } catch (error) {
      if (error instanceof ExecutionError) throw error;
      throw new ExecutionError(`\`${cli} push\` wrote no digest file: ${(error as Error).message}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    const output = await runCaptured(cli, ['push', tag], log, signal);
    digest = DIGEST.exec(output)?.[1] ?? (await recordedDigest(cli, tag));
  }
  if (!digest || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new ExecutionError(
      `Pushed ${tag}, but ${cli} reported no registry digest for it, so the Job could not be pinned to this image.`,
    );
  }
  return digest;
}

/** Builds the project image FROM the docker_env image and pushes it; the tag and its digest. */
export async function buildAndPushProjectImage(
  cli: string,
  workDir: string,
  baseImage: string,
  repositoryUri: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<{ tag: string; digest: string }> {
  const tag = await projectImageTag(repositoryUri, workDir);
  await buildProjectImage(cli, workDir, baseImage, tag, { log, signal });
  const digest = await pushImage(cli, tag, log, signal);
  return { tag, digest };
}
