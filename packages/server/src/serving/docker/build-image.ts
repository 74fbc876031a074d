// Builds a model image from a written context with the machine's container engine (docker, else
// podman), the engine's own output shown as progress on stderr.
import { MlflowError } from '../../entities/errors.js';
import { findContainerCli } from '../../projects/env/docker-env.js';
import { runStep } from '../../projects/env/env-manager.js';
import { ExecutionError } from '../../projects/execution-error.js';

const PIP_SETTINGS = ['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_TRUSTED_HOST'] as const;

/**
 * pip's index settings of this machine as build arguments. Only network URLs go: a file:// index or
 * a local path is not inside the build.
 */
export function pipBuildArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  const args: string[] = [];
  for (const name of PIP_SETTINGS) {
    const value = env[name];
    if (!value) continue;
    const kept =
      name === 'PIP_TRUSTED_HOST'
        ? value
        : value
            .split(/\s+/)
            .filter((url) => /^https?:\/\//.test(url))
            .join(' ');
    if (kept) args.push('--build-arg', `${name}=${kept}`);
  }
  return args;
}

/** The container CLI (docker, else podman), checked to be working. */
export async function containerEngine(): Promise<string> {
  try {
    return await findContainerCli();
  } catch (error) {
    if (error instanceof ExecutionError) throw new MlflowError('INVALID_STATE', error.message);
    throw error;
  }
}

export interface BuildImageOptions {
  /** The container CLI, from containerEngine(). */
  cli: string;
  contextDir: string;
  tag: string;
  /** `docker build --network` (e.g. host, to reach a package index on this machine's loopback). */
  network?: string;
  log: (line: string) => void;
}

export async function buildImage(o: BuildImageOptions): Promise<void> {
  const { cli } = o;
  const args = [
    'build',
    '-t',
    o.tag,
    ...pipBuildArgs(),
    ...(o.network ? ['--network', o.network] : []),
    o.contextDir,
  ];
  o.log(`=== Building image ${o.tag}: ${cli} ${args.join(' ')} ===`);
  try {
    await runStep(cli, args);
  } catch (error) {
    if (error instanceof ExecutionError) {
      throw new MlflowError(
        'INVALID_STATE',
        `Building the image failed: ${error.message} The engine's output is above.`,
      );
    }
    throw error;
  }
  o.log(`=== Built image ${o.tag}: run it with \`${cli} run -p 5001:8080 ${o.tag}\` ===`);
}
