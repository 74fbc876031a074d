// What an execution backend (-b) provides: checks before anything is fetched or recorded, then one
// job per run, handed back as a JobHandle whose lifecycle job-lifecycle.ts owns.
import type { EnvManagerName } from '../env/env-manager.js';
import { ExecutionError } from '../execution-error.js';
import type { ResolvedParameters } from '../parameters.js';
import type { FetchedProject } from '../project-source.js';
import type { EntryPoint, Project } from '../project-spec.js';
import type { RunStatusName, RunTracking, TerminalStatus, TrackedRun } from '../run-tracking.js';

/** What a backend sees before the project is fetched. */
export interface BackendSetup {
  /** -c/--backend-config, parsed. */
  config: Record<string, unknown> | undefined;
  /** The tracking URI in effect (explicit, MLFLOW_TRACKING_URI or the default). */
  trackingUri: string;
  log: (line: string) => void;
}

/** One project run's request, checked and resolved once, before any run is created. */
export interface ProjectRequest {
  /** The project URI as the user gave it. */
  uri: string;
  source: FetchedProject;
  project: Project;
  entryPointName: string;
  /** Undefined only for a databricks_spark_job with python_file, which has no entry points. */
  entryPoint: EntryPoint | undefined;
  /** -P values as given (what a backend that runs `mlflow run` elsewhere passes on). */
  parameters: Record<string, string>;
  /** The entry point's values, checked (what is logged as the run's params). */
  resolved: ResolvedParameters;
  /** The env manager in effect. */
  envManager: EnvManagerName;
  /** The env manager the user chose, if any. */
  envManagerOption?: EnvManagerName;
  dockerArgs: Record<string, string | true>;
  buildImage: boolean;
  storageDir?: string;
  signal?: AbortSignal;
}

/** The created run a job is submitted for. */
export interface JobTarget {
  tracking: RunTracking;
  run: TrackedRun;
  log: (line: string) => void;
}

/** A started job, as the lifecycle sees it. */
export interface JobHandle {
  /** The shell command the entry point runs as. */
  readonly command: string;
  /** The Slurm job id, the Databricks job run id, or the Kubernetes Job name. */
  readonly jobId?: string;
  /** The Databricks run page. */
  readonly runPageUrl?: string;
  /**
   * A local process ends whether or not anyone waits, so its end is recorded as it happens; a remote
   * job is followed (polled) only once someone waits or cancels.
   */
  readonly followAtOnce?: boolean;
  /** Follows the job to its end: the status to record unless the run's code recorded its own. */
  wait(): Promise<TerminalStatus>;
  status(): RunStatusName;
  /** Stops the job (the process tree, the cluster job); wait() then settles. */
  cancel(): Promise<void>;
  /** Frees what the job held (downloaded parameters) once its end is recorded. */
  cleanup?(): void;
}

export interface PreparedBackend {
  /** Checks the fetched project against the backend; no run exists yet. */
  checkProject?(request: ProjectRequest): void;
  /** True when a local store should be served to the job (a command run here, outside a container). */
  servesLocalStore?(request: ProjectRequest): boolean;
  /** Starts the job for the created, tagged run. */
  submit(request: ProjectRequest, target: JobTarget): Promise<JobHandle>;
}

export interface ProjectBackend {
  readonly name: string;
  /** Jobs run elsewhere and record their own end, so `--no-wait` may leave them. */
  readonly detached: boolean;
  /** Runs databricks_spark_job projects. */
  readonly runsSparkJobs?: boolean;
  /** Reads the backend config and checks what can be checked before the project is fetched. */
  prepare(setup: BackendSetup): Promise<PreparedBackend>;
}

export const SPARK_JOBS_ON_DATABRICKS_ONLY =
  'Databricks Spark job projects run only on the databricks backend (-b databricks).';

/** The entry point of a project that is not a python_file Spark job (those run only on databricks). */
export function commandEntryPoint(request: ProjectRequest): EntryPoint {
  if (!request.entryPoint) throw new ExecutionError(SPARK_JOBS_ON_DATABRICKS_ONLY);
  return request.entryPoint;
}
