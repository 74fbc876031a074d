// The execution backends by -b name: the one list the runner and the CLI read.
import { ExecutionError } from '../execution-error.js';
import { databricksBackend } from './databricks-backend.js';
import { kubernetesBackend } from './kubernetes-backend.js';
import { localBackend } from './local-backend.js';
import type { ProjectBackend } from './project-backend.js';
import { slurmBackend } from './slurm-backend.js';

export const PROJECT_BACKENDS: readonly ProjectBackend[] = [
  localBackend,
  slurmBackend,
  databricksBackend,
  kubernetesBackend,
];

/** The backend -b names; MLflow's error for an unknown one. */
export function projectBackend(name: string): ProjectBackend {
  const backend = PROJECT_BACKENDS.find((b) => b.name === name);
  if (backend) return backend;
  throw new ExecutionError(
    `Got unsupported execution mode ${name}. Supported values: ${PROJECT_BACKENDS.map((b) => `'${b.name}'`).join(', ')}`,
  );
}

/** `a, b and c`: names for help and error text. */
export function spokenList(words: readonly string[], conjunction: 'and' | 'or'): string {
  if (words.length < 2) return words.join('');
  return `${words.slice(0, -1).join(', ')} ${conjunction} ${words[words.length - 1]}`;
}
