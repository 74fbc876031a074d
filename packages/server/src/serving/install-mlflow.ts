// --install-mlflow: puts the mlflow Python package into the environment mlflow-ts built for a model,
// as MLflow does after activating a conda / virtualenv / uv environment. MLflow pins its own version;
// mlflow-ts is not an mlflow release, so pip picks the newest mlflow that fits the model's pins.
import { spawn } from 'node:child_process';
import { MlflowError } from '../entities/errors.js';
import { runStep } from '../projects/env/env-manager.js';
import { ExecutionError } from '../projects/execution-error.js';
import { shellQuote } from '../projects/shell-quote.js';
import type { ModelEnv } from './model-env.js';

/** pip's arguments: MLFLOW_HOME (a source checkout, as in MLflow) installed in editable mode, else `mlflow`. */
export function mlflowPipArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return env.MLFLOW_HOME ? ['-e', env.MLFLOW_HOME] : ['mlflow'];
}

function inEnv(env: ModelEnv, args: string[]): [string, string[]] {
  const command = [env.python, ...args];
  if (!env.wrap) return [command[0] as string, command.slice(1)];
  return ['bash', ['-c', env.wrap(command.map(shellQuote).join(' '))]];
}

function succeeds(command: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/**
 * Installs mlflow with the environment's pip unless it already imports (MLflow reinstalls it every
 * time; checking first keeps a cached environment usable offline).
 */
export async function installMlflow(env: ModelEnv, log: (line: string) => void): Promise<void> {
  if (await succeeds(...inEnv(env, ['-c', 'import mlflow']))) {
    log('=== mlflow is already installed in the model environment ===');
    return;
  }
  const pip = ['-m', 'pip', 'install', ...mlflowPipArgs()];
  log(`=== Installing mlflow: python ${pip.join(' ')} ===`);
  try {
    await runStep(...inEnv(env, pip), { env: { ...process.env, PIP_NO_INPUT: '1' } });
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `--install-mlflow could not install mlflow into the model's environment (\`pip install ${mlflowPipArgs().join(' ')}\` failed; pip's output is above). Point pip at a package index that has mlflow (PIP_INDEX_URL or PIP_FIND_LINKS, or MLFLOW_HOME for a source checkout), or leave out --install-mlflow: mlflow-ts serves sklearn, onnx and loader_module models without mlflow.`,
    );
  }
}
