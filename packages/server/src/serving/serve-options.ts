// `models serve` / `models predict` flags checked and turned into the serving settings, MLflow's
// defaults and environment variables included.
import { MlflowError } from '../entities/errors.js';

export interface EnvFlags {
  envManager?: string;
  conda?: boolean;
  installMlflow?: boolean;
  python?: string;
}

export interface EnvChoice {
  manager: 'local' | 'virtualenv' | 'uv' | 'conda';
  /** The interpreter for `local`. */
  python: string;
  installMlflow: boolean;
}

/** Which environment runs the model's workers. */
export function envChoice(flags: EnvFlags): EnvChoice {
  // --no-conda is MLflow's old spelling of --env-manager local.
  const manager = flags.conda === false ? 'local' : (flags.envManager ?? 'local');
  if (!['local', 'virtualenv', 'uv', 'conda'].includes(manager)) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid value for \`env_manager\`: ${manager}. Must be one of 'local', 'virtualenv', 'uv', 'conda'.`,
    );
  }
  return {
    manager: manager as EnvChoice['manager'],
    python: flags.python ?? process.env.MLFLOW_TS_PYTHON ?? 'python3',
    installMlflow: flags.installMlflow === true,
  };
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
