import { ExecutionError } from '../execution-error.js';

// -b slurm --backend-config: the sbatch options of the job. Keys are checked so a typo is an error,
// not a silently ignored setting.

export interface SlurmConfig {
  partition?: string;
  /** Wall-clock limit in any form sbatch accepts (`30`, `1:00:00`, `2-00:00:00`). */
  time?: string;
  /** CPUs per task (--cpus-per-task). */
  cpus?: number;
  /** Memory per node (--mem), e.g. `4G`. */
  memory?: string;
  /** GPUs (--gpus), e.g. `1` or `a100:2`. */
  gpus?: string;
  /** Further sbatch options, one per element, e.g. ["--account=ml", "--qos=high"]. */
  sbatchArgs: string[];
}

const KEYS = ['partition', 'time', 'cpus', 'memory', 'gpus', 'sbatch_args'];

function text(config: Record<string, unknown>, key: string): string | undefined {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new ExecutionError(`Slurm backend config: '${key}' must be a string or a number.`);
  }
  return String(value);
}

export function parseSlurmConfig(config: Record<string, unknown> | undefined): SlurmConfig {
  const c = config ?? {};
  const unknown = Object.keys(c).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) {
    throw new ExecutionError(
      `Slurm backend config: unknown key(s) ${unknown.map((k) => `'${k}'`).join(', ')}; known keys: ${KEYS.join(', ')}.`,
    );
  }
  const cpusText = text(c, 'cpus');
  const cpus = cpusText === undefined ? undefined : Number(cpusText);
  if (cpus !== undefined && !(Number.isInteger(cpus) && cpus > 0)) {
    throw new ExecutionError(`Slurm backend config: 'cpus' must be a positive integer, got ${cpusText}.`);
  }
  const extra = c.sbatch_args ?? [];
  if (!Array.isArray(extra) || !extra.every((a) => typeof a === 'string')) {
    throw new ExecutionError(
      'Slurm backend config: \'sbatch_args\' must be a list of strings, e.g. ["--qos=high"].',
    );
  }
  return {
    partition: text(c, 'partition'),
    time: text(c, 'time'),
    cpus,
    memory: text(c, 'memory'),
    gpus: text(c, 'gpus'),
    sbatchArgs: extra,
  };
}

/** The #SBATCH options for a config. */
export function sbatchOptions(config: SlurmConfig): string[] {
  const out: string[] = [];
  if (config.partition) out.push(`--partition=${config.partition}`);
  if (config.time) out.push(`--time=${config.time}`);
  if (config.cpus) out.push(`--cpus-per-task=${config.cpus}`);
  if (config.memory) out.push(`--mem=${config.memory}`);
  if (config.gpus) out.push(`--gpus=${config.gpus}`);
  out.push(...config.sbatchArgs);
  return out;
}
