import { split } from 'shlex';
import { ExecutionError } from '../execution-error.js';
import type { JobStatus } from './kubernetes-api.js';

// The Job that runs a project, made from the user's template as MLflow makes it: a unique name
// (<project>-<timestamp>), and in the first container the project's name, the pushed image (pinned
// by digest), the entry point command and the run's MLFLOW_* variables. The template itself is
// never modified.

const MAX_NAME = 63;

/** A DNS-1123 label from a project name (Kubernetes refuses upper case, '_' and the like). */
export function dnsLabel(name: string, maxLength = MAX_NAME): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, maxLength)
    .replace(/^-+|-+$/g, '');
  return label || 'mlflow-project';
}

/** MLflow's timestamp suffix, %Y-%m-%d-%H-%M-%S-%f (local time, microseconds). */
export function jobTimestamp(now = new Date(), micros = Number(process.hrtime.bigint() % 1000n)): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return [
    now.getFullYear(),
    p(now.getMonth() + 1),
    p(now.getDate()),
    p(now.getHours()),
    p(now.getMinutes()),
    p(now.getSeconds()),
    p(now.getMilliseconds() * 1000 + micros, 6),
  ].join('-');
}

/** <project>-<timestamp>, within the 63 characters Kubernetes allows a Job name. */
export function jobName(projectName: string, timestamp = jobTimestamp()): string {
  return `${dnsLabel(projectName, MAX_NAME - timestamp.length - 1)}-${timestamp}`;
}

/**
 * The container's command: the entry point's shell command split into words as a POSIX shell would
 * (quotes removed), since Kubernetes runs it without a shell.
 */
export function containerCommand(shellCommand: string): string[] {
  try {
    return split(shellCommand);
  } catch (error) {
    throw new ExecutionError(
      `Could not split the entry point command into words: ${(error as Error).message}`,
    );
  }
}

export interface JobSpecInput {
  projectName: string;
  /** <repository>:<tag>@<digest>. */
  image: string;
  command: string[];
  env: Record<string, string>;
  name: string;
  namespace: string;
}

type Mapping = Record<string, unknown>;

/** A filled-in copy of the template (checked by loadJobTemplate to have a first container), ready to POST. */
export function jobDefinition(template: Mapping, input: JobSpecInput): Mapping {
  const job = structuredClone(template);
  job.apiVersion ??= 'batch/v1';
  job.kind ??= 'Job';
  job.metadata = {
    ...((job.metadata as Mapping | undefined) ?? {}),
    name: input.name,
    namespace: input.namespace,
  };
  const podSpec = ((job.spec as Mapping).template as Mapping).spec as Mapping;
  const container = (podSpec.containers as Mapping[])[0];
  container.name = dnsLabel(input.projectName);
  container.image = input.image;
  container.command = input.command;
  container.env = [
    ...(Array.isArray(container.env) ? container.env : []),
    ...Object.entries(input.env).map(([name, value]) => ({ name, value })),
  ];
  return job;
}

/** Where a Job stands, read from its status the way MLflow reads it. */
export interface JobProgress {
  started: boolean;
  /** FINISHED once a Complete condition is true, FAILED once a Failed one is; else undefined. */
  outcome?: 'FINISHED' | 'FAILED';
  /** The messages of the conditions that are true (reason when there is no message). */
  messages: string[];
}

export function jobProgress(status: JobStatus | undefined): JobProgress {
  const progress: JobProgress = { started: Boolean(status?.startTime), messages: [] };
  for (const condition of status?.conditions ?? []) {
    if (condition.status !== 'True') continue;
    const text = condition.message || condition.reason;
    if (text) progress.messages.push(`${condition.type}: ${text}`);
    if (condition.type === 'Failed') progress.outcome = 'FAILED';
    else if (condition.type === 'Complete') progress.outcome = 'FINISHED';
  }
  return progress;
}
