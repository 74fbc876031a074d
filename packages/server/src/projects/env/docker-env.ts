import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ExecutionError } from '../execution-error.js';
import { gitInfo } from '../git.js';
import { shellQuote } from '../shell-quote.js';
import type { EnvContext, PreparedEnv } from './env-manager.js';
import { runStep } from './env-manager.js';

// docker_env projects run in a container through the docker CLI (podman when there is no docker). As in
// MLflow, the command runs as `docker run --rm [args] [-v ...] [-e ...] <image> <entry point command>`;
// the project is mounted at /mlflow/projects/code (or copied into a built image with --build-image).

const execFileAsync = promisify(execFile);
export const CONTAINER_WORKDIR = '/mlflow/projects/code/';
const CONTAINER_TRACKING_DIR = '/mlflow/tmp/mlruns';

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/**
 * The container CLI whose engine answers `info`: docker, else podman. A docker CLI without a reachable
 * daemon (a machine that has the client but runs podman) falls back to podman; when neither answers,
 * the error quotes the first one's failure.
 */
export async function findContainerCli(): Promise<string> {
  const candidates = ['docker', 'podman'].filter((name) => onPath(name));
  if (candidates.length === 0) {
    throw new ExecutionError(
      'Could not find the docker or podman executable, which docker_env projects need. Install Docker (https://docs.docker.com/engine/install/) or podman.',
    );
  }
  let firstFailure: ExecutionError | undefined;
  for (const cli of candidates) {
    try {
      await execFileAsync(cli, ['info'], { timeout: 60_000 });
      return cli;
    } catch (error) {
      const out = (error as { stdout?: string; stderr?: string }).stderr || (error as Error).message;
      firstFailure ??= new ExecutionError(
        `Ran \`${cli} info\` to ensure the container engine is running, but it failed:\n${out}`,
      );
    }
  }
  throw firstFailure as ExecutionError;
}

async function imageId(cli: string, image: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(cli, ['image', 'inspect', '--format', '{{.Id}}', image]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A sqlite:/// tracking store is mounted into the container, as MLflow does for local stores. */
function trackingMount(trackingUri: string): { args: string[]; env: Record<string, string> } {
  const m = /^sqlite:\/\/\/(.+)$/.exec(trackingUri);
  if (!m) return { args: [], env: {} };
  const file = path.resolve(m[1]);
  return {
    args: ['-v', `${file}:${CONTAINER_TRACKING_DIR}`],
    env: { MLFLOW_TRACKING_URI: `sqlite:///${CONTAINER_TRACKING_DIR}` },
  };
}

/** `docker run` flags from -A: one letter gives -x, longer names --name; true means a bare flag. */
export function dockerArgFlags(args: Record<string, string | true>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(args)) {
    const flag = name.length === 1 ? `-${name}` : `--${name}`;
    if (value === true) out.push(flag);
    else out.push(flag, value);
  }
  return out;
}

/** The argument list of `docker run` up to and including the image (the entry point command follows). */
export function dockerRunArgs(ctx: EnvContext, cli: string, image: string, mountProject: boolean): string[] {
  const docker = ctx.project.dockerEnv;
  if (!docker) throw new ExecutionError('This project has no docker_env.');
  const env: Record<string, string> = { ...ctx.runEnv };
  const tracking = trackingMount(ctx.trackingUri);
  Object.assign(env, tracking.env);
  for (const entry of docker.environment) {
    if (Array.isArray(entry)) env[entry[0]] = entry[1];
    else {
      const value = process.env[entry];
      if (value === undefined) {
        const names = docker.environment.map((e) => (Array.isArray(e) ? e[0] : e)).join(', ');
        throw new ExecutionError(
          `This project expects the ${names} environment variables to be set on the machine running the project, but ${entry} was not set. Please ensure all expected environment variables are set`,
        );
      }
      env[entry] = value;
    }
  }
  const args = [cli, 'run', '--rm', ...dockerArgFlags(ctx.dockerArgs), ...tracking.args];
  if (mountProject) args.push('-v', `${ctx.workDir}:${CONTAINER_WORKDIR}`, '-w', CONTAINER_WORKDIR);
  for (const volume of docker.volumes) args.push('-v', volume);
  for (const [key, value] of Object.entries(env)) args.push('-e', `${key}=${value}`);
  args.push(image);
  return args;
}

/**
 * Builds `tag` FROM `baseImage` with the project copied to /mlflow/projects/code/ (its working
 * directory), as MLflow's generated Dockerfile does. The project's .git directory stays out.
 */
export async function buildProjectImage(
  cli: string,
  workDir: string,
  baseImage: string,
  tag: string,
  options: { log: (line: string) => void; signal?: AbortSignal },
): Promise<void> {
  const context = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-docker-'));
  try {
    cpSync(workDir, path.join(context, 'project'), {
      recursive: true,
      filter: (src) => path.basename(src) !== '.git',
    });
    writeFileSync(
      path.join(context, 'Dockerfile'),
      `FROM ${baseImage}\nCOPY project/ ${CONTAINER_WORKDIR}\nWORKDIR ${CONTAINER_WORKDIR}\n`,
    );
    options.log(`=== Building docker image ${tag} ===`);
    await runStep(cli, ['build', '-t', tag, context], { signal: options.signal });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** Builds <project name>[:<commit>] FROM the project's image with the project copied in. */
async function buildImage(ctx: EnvContext, cli: string, baseImage: string): Promise<string> {
  const commit = (await gitInfo(ctx.workDir)).commit;
  const tag = `${ctx.project.name ?? 'docker-project'}${commit ? `:${commit.slice(0, 7)}` : ''}`;
  await buildProjectImage(cli, ctx.workDir, baseImage, tag, { log: ctx.log, signal: ctx.signal });
  return tag;
}

export async function prepareDocker(ctx: EnvContext): Promise<PreparedEnv> {
  const docker = ctx.project.dockerEnv;
  if (!docker) throw new ExecutionError('This project has no docker_env.');
  if (!ctx.project.name) {
    throw new ExecutionError(
      'Project name in MLProject must be specified when using docker for image tagging.',
    );
  }
  const cli = await findContainerCli();
  let image = docker.image;
  if (ctx.buildImage) image = await buildImage(ctx, cli, docker.image);
  else if (!(await imageId(cli, image))) {
    ctx.log(`=== Pulling ${image} ===`);
    await runStep(cli, ['pull', image], { signal: ctx.signal });
  }
  const id = await imageId(cli, image);
  const prefix = dockerRunArgs(ctx, cli, image, !ctx.buildImage).map(shellQuote).join(' ');
  const tags: Record<string, string> = { 'mlflow.project.env': 'docker', 'mlflow.docker.image.uri': image };
  if (id) tags['mlflow.docker.image.id'] = id;
  return { wrap: (command) => `${prefix} ${command}`, tags };
}
