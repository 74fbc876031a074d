import { existsSync } from 'node:fs';
import path from 'node:path';
import { ExecutionError } from '../execution-error.js';
import { shellQuote } from '../shell-quote.js';
import { cachedEnv, envRoot } from './env-cache.js';
import type { EnvContext, PreparedEnv } from './env-manager.js';
import { runStep } from './env-manager.js';
import { installRequirements, pythonEnvOf, virtualenvName } from './virtualenv-env.js';

// --env-manager uv: the same python_env.yaml (or conda.yaml's Python parts) as virtualenv, built by
// uv instead: `uv venv --python <version>` finds or downloads the interpreter itself, and `uv pip
// install` installs into the env. uv reads its own configuration (uv.toml, UV_INDEX_URL and
// friends), not pip's, so a private index must be configured for uv.

/** `uv` from MLFLOW_UV_EXECUTABLE or PATH, or an error saying how to get it. */
function findUv(): string {
  const configured = process.env.MLFLOW_UV_EXECUTABLE;
  if (configured) {
    if (existsSync(configured)) return configured;
    throw new ExecutionError(`MLFLOW_UV_EXECUTABLE is ${configured}, which does not exist.`);
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'uv'))) return path.join(dir, 'uv');
  }
  throw new ExecutionError(
    'Could not find uv on PATH. Install it (`pip install uv`, or see https://docs.astral.sh/uv/), ' +
      'set MLFLOW_UV_EXECUTABLE to its path, or run with --env-manager virtualenv.',
  );
}

export async function prepareUv(ctx: EnvContext): Promise<PreparedEnv> {
  const uv = findUv();
  const spec = pythonEnvOf(ctx);
  // uv resolves the interpreter itself, so the cache key holds the requested version, not the
  // one found; the manager's name keeps uv's envs apart from virtualenv's in the shared folder.
  const name = virtualenvName(spec, `uv:${spec.python ?? 'default'}`, ctx.workDir);
  const envDir = path.join(envRoot(), 'virtualenv_envs', name);
  const { reused } = await cachedEnv(envDir, ctx.log, async (dir) => {
    ctx.log(`=== Creating a uv environment in ${dir} with Python ${spec.python ?? "(uv's default)"} ===`);
    const venvArgs = ['venv', dir, ...(spec.python ? [`--python=${spec.python}`] : [])];
    await runStep(uv, venvArgs, { signal: ctx.signal });
    const envPython = path.join(dir, 'bin', 'python');
    await installRequirements(spec, ctx, (args) =>
      runStep(uv, ['pip', 'install', '--python', envPython, ...args], {
        cwd: ctx.workDir,
        signal: ctx.signal,
      }),
    );
  });
  if (reused) ctx.log(`=== Using the cached uv environment ${envDir} ===`);
  const activate = `source ${shellQuote(path.join(envDir, 'bin', 'activate'))}`;
  return { wrap: (command) => `${activate} && ${command}`, tags: { 'mlflow.project.env': 'uv' } };
}
