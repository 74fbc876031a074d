import { spawn } from 'node:child_process';
import { ExecutionError } from '../execution-error.js';
import type { Project } from '../project-spec.js';

/** MLflow's --env-manager values this runner supports. */
export const ENV_MANAGERS = ['local', 'virtualenv', 'uv', 'conda'] as const;
export type EnvManagerName = (typeof ENV_MANAGERS)[number];

/** Refuses env manager names we do not know, listing the ones we do. */
export function checkEnvManager(name: string): EnvManagerName {
  if ((ENV_MANAGERS as readonly string[]).includes(name)) return name as EnvManagerName;
  throw new ExecutionError(
    `Invalid value for \`env_manager\`: ${name}. Must be one of ${ENV_MANAGERS.map((m) => `'${m}'`).join(', ')}.`,
  );
}

/** An environment ready for the entry point: how to run a command in it, and what to tag the run with. */
export interface PreparedEnv {
  /** The shell command that runs `entryCommand` inside the environment. */
  wrap(entryCommand: string): string;
  /** Tags to set on the run (mlflow.project.env, docker image tags). */
  tags: Record<string, string>;
}

export interface EnvContext {
  project: Project;
  workDir: string;
  log: (line: string) => void;
  /** Variables the run's process gets (MLFLOW_RUN_ID, MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_ID). */
  runEnv: Record<string, string>;
  trackingUri: string;
  /** `docker run` arguments from -A name=value / -A name. */
  dockerArgs: Record<string, string | true>;
  buildImage: boolean;
  runId: string;
  /** Aborted when the run is cancelled while its environment is being prepared. */
  signal?: AbortSignal;
}

/** Runs a set-up step (venv creation, installs), its output shown on our stderr as progress. */
export function runStep(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', process.stderr, process.stderr],
      signal: options.signal,
    });
    child.on('error', (error) =>
      reject(
        options.signal?.aborted
          ? new ExecutionError(`\`${command}\` was cancelled.`)
          : new ExecutionError(`Could not run ${command}: ${error.message}`),
      ),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new ExecutionError(
            `\`${[command, ...args].join(' ')}\` failed (${signal ? `signal ${signal}` : `exit code ${code}`}).`,
          ),
        );
    });
  });
}
