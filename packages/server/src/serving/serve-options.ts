// `models serve` / `models predict` flags checked and turned into the serving settings, MLflow's
// defaults and environment variables included.
import { MlflowError } from '../entities/errors.js';

export interface EnvFlags {
  envManager?: string;
  conda?: boolean;
  installMlflow?: boolean;
  python?: string;
}

/** The interpreter that runs the model's workers. Only `local` (an existing interpreter) is built in. */
export function pythonFor(flags: EnvFlags): string {
  // --no-conda is MLflow's old spelling of --env-manager local.
  const manager = flags.conda === false ? 'local' : (flags.envManager ?? 'local');
  if (!['local', 'virtualenv', 'uv', 'conda'].includes(manager)) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid value for \`env_manager\`: ${manager}. Must be one of 'local', 'virtualenv', 'uv', 'conda'.`,
    );
  }
  if (manager !== 'local') {
    throw new MlflowError(
      'NOT_IMPLEMENTED',
      `--env-manager ${manager} is not supported by mlflow-ts model serving yet; use --env-manager local with an interpreter that has the model's requirements (--python or MLFLOW_TS_PYTHON).`,
    );
  }
  if (flags.installMlflow) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      '--install-mlflow installs mlflow into an environment mlflow-ts creates; with --env-manager local, install it into your interpreter yourself.',
    );
  }
  return flags.python ?? process.env.MLFLOW_TS_PYTHON ?? 'python3';
}

export function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid ${flag} '${text}': pass a positive whole number.`,
    );
  }
  return n;
}

export function port(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid --port '${text}': pass a port number from 0 to 65535.`,
    );
  }
  return n;
}
