// The Python environment a model's workers run in: the current interpreter (local), or one built from
// the model's python_env.yaml / conda.yaml by the same env managers, cache and lock `mlflow-ts run`
// uses for projects (MLFLOW_ENV_ROOT), so a model and a project with the same requirements share one.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MlflowError } from '../entities/errors.js';
import { prepareConda } from '../projects/env/conda-env.js';
import type { EnvContext, PreparedEnv } from '../projects/env/env-manager.js';
import { prepareUv } from '../projects/env/uv-env.js';
import { prepareVirtualenv } from '../projects/env/virtualenv-env.js';
import { ExecutionError } from '../projects/execution-error.js';
import type { Project } from '../projects/project-spec.js';
import { installMlflow } from './install-mlflow.js';

export type ModelEnvManager = 'local' | 'virtualenv' | 'uv' | 'conda';

export interface ModelEnv {
  /** The interpreter to start (inside the environment when `wrap` is set). */
  python: string;
  /** Turns a shell command into one that runs inside the environment. */
  wrap?: (command: string) => string;
}

/** The model directory seen as a project whose environment file is the model's. */
function modelAsProject(modelDir: string, manager: ModelEnvManager): Project {
  const pythonEnv = path.join(modelDir, 'python_env.yaml');
  const conda = path.join(modelDir, 'conda.yaml');
  // virtualenv and uv prefer python_env.yaml and fall back to conda.yaml's Python parts, as MLflow does.
  const useConda = manager === 'conda' ? existsSync(conda) : !existsSync(pythonEnv) && existsSync(conda);
  const file = useConda ? conda : existsSync(pythonEnv) ? pythonEnv : undefined;
  return {
    directory: modelDir,
    envType: useConda ? 'conda_env' : 'python_env',
    envConfigPath: file,
    entryPoints: new Map(),
  };
}

export async function modelEnv(
  modelDir: string,
  manager: ModelEnvManager,
  python: string,
  log: (line: string) => void,
  options: { installMlflow?: boolean } = {},
): Promise<ModelEnv> {
  if (manager === 'local') {
    // As in MLflow, --install-mlflow only touches environments mlflow-ts builds, never the user's own.
    if (options.installMlflow) log('--install-mlflow has no effect with --env-manager local');
    return { python };
  }
  const ctx: EnvContext = {
    project: modelAsProject(modelDir, manager),
    workDir: modelDir,
    log,
    runEnv: {},
    trackingUri: '',
    dockerArgs: {},
    buildImage: false,
    runId: '',
  };
  const prepare: Record<Exclude<ModelEnvManager, 'local'>, (c: EnvContext) => Promise<PreparedEnv>> = {
    virtualenv: prepareVirtualenv,
    uv: prepareUv,
    conda: prepareConda,
  };
  let prepared: PreparedEnv;
  try {
    prepared = await prepare[manager](ctx);
  } catch (error) {
    // The env managers' failures (no conda, a pip install that failed) are the user's to fix: their
    // message is the whole story, as `mlflow-ts run` prints it.
    if (error instanceof ExecutionError) throw new MlflowError('INVALID_PARAMETER_VALUE', error.message);
    throw error;
  }
  const env: ModelEnv = { python: 'python', wrap: (command) => prepared.wrap(command) };
  if (options.installMlflow) await installMlflow(env, log);
  return env;
}
