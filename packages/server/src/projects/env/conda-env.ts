import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ExecutionError } from '../execution-error.js';
import { shellQuote } from '../shell-quote.js';
import { cachedEnv, envRoot } from './env-cache.js';
import type { EnvContext, PreparedEnv } from './env-manager.js';
import { runStep } from './env-manager.js';

// --env-manager conda: an environment built from conda.yaml by conda, mamba or micromamba, cached by a
// hash of the file under <env root>/conda_envs. Activation puts the prefix first on PATH, sets
// CONDA_PREFIX and sources the environment's etc/conda/activate.d scripts, which works the same for
// all three tools without their shell hooks.

export interface CondaTool {
  kind: 'conda' | 'mamba' | 'micromamba';
  executable: string;
}

function executableIn(dir: string, name: string): string | undefined {
  const candidate = path.join(dir, name);
  return existsSync(candidate) ? candidate : undefined;
}

/** MLFLOW_CONDA_HOME/bin/conda (or mamba, micromamba) first, then the same names on PATH. */
export function findCondaTool(): CondaTool {
  const kinds = ['conda', 'mamba', 'micromamba'] as const;
  const home = process.env.MLFLOW_CONDA_HOME;
  if (home) {
    for (const kind of kinds) {
      const executable = executableIn(path.join(home, 'bin'), kind);
      if (executable) return { kind, executable };
    }
    throw new ExecutionError(
      `MLFLOW_CONDA_HOME is ${home}, but ${home}/bin holds no conda, mamba or micromamba. Point it at a conda installation or unset it.`,
    );
  }
  for (const kind of kinds) {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      const executable = dir ? executableIn(dir, kind) : undefined;
      if (executable) return { kind, executable };
    }
  }
  throw new ExecutionError(
    'Could not find conda, mamba or micromamba on PATH, and MLFLOW_CONDA_HOME is not set. Install one of them (e.g. micromamba: https://mamba.readthedocs.io) or run with --env-manager virtualenv or local.',
  );
}

/** The command line that creates the environment at `prefix` from `file`. */
export function condaCreateArgs(tool: CondaTool, prefix: string, file: string): string[] {
  return tool.kind === 'micromamba'
    ? ['create', '--yes', '--prefix', prefix, '--file', file]
    : ['env', 'create', '--prefix', prefix, '--file', file];
}

export async function prepareConda(ctx: EnvContext): Promise<PreparedEnv> {
  const file = ctx.project.envConfigPath;
  if (!file || ctx.project.envType !== 'conda_env') {
    throw new ExecutionError(
      'This project has no conda environment (conda_env in MLproject or conda.yaml): run it with --env-manager virtualenv or local.',
    );
  }
  const tool = findCondaTool();
  const hash = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 40);
  const prefix = path.join(envRoot(), 'conda_envs', `mlflow-ts-${hash}`);
  const { reused } = await cachedEnv(prefix, ctx.log, async (dir) => {
    ctx.log(`=== Creating conda environment ${dir} from ${file} with ${tool.executable} ===`);
    await runStep(tool.executable, condaCreateArgs(tool, dir, file), {
      cwd: ctx.workDir,
      signal: ctx.signal,
    });
  });
  if (reused) ctx.log(`=== Using the cached conda environment ${prefix} ===`);
  const q = shellQuote(prefix);
  const activate =
    `export CONDA_PREFIX=${q} CONDA_DEFAULT_ENV=${q} PATH=${shellQuote(path.join(prefix, 'bin'))}:"$PATH" && ` +
    `for f in ${q}/etc/conda/activate.d/*.sh; do [ -e "$f" ] && . "$f"; done; true`;
  return { wrap: (command) => `${activate} && ${command}`, tags: { 'mlflow.project.env': 'conda' } };
}
