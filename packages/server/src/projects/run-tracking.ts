import { MlflowClient, type Run } from '@mlflow-ts/client';

// The few tracking calls a project run needs, behind one small interface. The HTTP implementation
// below is the only place the projects runner touches the client SDK; local stores (a path or
// sqlite:///) get the in-process implementation in local-run-tracking.ts.

export type TerminalStatus = 'FINISHED' | 'FAILED' | 'KILLED';
export type RunStatusName = 'RUNNING' | 'SCHEDULED' | TerminalStatus;

/** The status as a terminal one, or undefined while the run is still going. */
export function terminalStatus(status: RunStatusName | undefined): TerminalStatus | undefined {
  return status === 'FINISHED' || status === 'FAILED' || status === 'KILLED' ? status : undefined;
}

export interface TrackedRun {
  runId: string;
  experimentId: string;
  status: RunStatusName;
  artifactUri: string;
  tags: Record<string, string>;
}

export interface RunTracking {
  /** The tracking URI the run's process gets as MLFLOW_TRACKING_URI. */
  readonly trackingUri: string;
  /** The experiment's id for a name, creating the experiment when it does not exist. */
  experimentIdForName(name: string): Promise<string>;
  createRun(experimentId: string, tags: Record<string, string>, runName?: string): Promise<TrackedRun>;
  getRun(runId: string): Promise<TrackedRun>;
  logParams(runId: string, params: Array<[string, string]>): Promise<void>;
  setTags(runId: string, tags: Record<string, string>): Promise<void>;
  /** Ends the run with `status` now. */
  setTerminated(runId: string, status: TerminalStatus): Promise<void>;
  /** Sets a non-terminal status (SCHEDULED while a cluster job waits, RUNNING once it runs). */
  setStatus(runId: string, status: 'RUNNING' | 'SCHEDULED'): Promise<void>;
  /** Reads an artifact of a proxied (mlflow-artifacts:) location, for `path` parameters. */
  artifactProxyBase?(): string;
  close(): Promise<void>;
}

/**
 * Ends a remote job's run with `status` unless it is already over. The code on the cluster normally
 * ends its own run; this covers a job that never started, crashed, was cancelled or was deleted.
 */
export async function endRunUnlessEnded(
  tracking: RunTracking,
  runId: string,
  status: TerminalStatus,
): Promise<void> {
  const current = await tracking.getRun(runId);
  if (current.status === 'RUNNING' || current.status === 'SCHEDULED') {
    await tracking.setTerminated(runId, status);
  }
}

function trackedRun(run: Run): TrackedRun {
  const info = run.info;
  return {
    runId: info.run_id,
    experimentId: info.experiment_id,
    status: info.status as RunStatusName,
    artifactUri: info.artifact_uri,
    tags: Object.fromEntries(run.data.tags.map((t) => [t.key, t.value])),
  };
}

/**
 * RunTracking over MLflow's REST API (an http(s) tracking URI), through the SDK's client: it brings
 * MLflow's credentials (MLFLOW_TRACKING_TOKEN, USERNAME/PASSWORD), retries and log-batch limits.
 */
export class RestRunTracking implements RunTracking {
  private readonly client: MlflowClient;

  constructor(readonly trackingUri: string) {
    this.client = new MlflowClient({ trackingUri });
  }

  async experimentIdForName(name: string): Promise<string> {
    const found = await this.client.getExperimentByName(name);
    return found ? found.experiment_id : this.client.createExperiment(name);
  }

  async createRun(experimentId: string, tags: Record<string, string>, runName?: string): Promise<TrackedRun> {
    return trackedRun(
      await this.client.createRun(experimentId, { tags, runName, userId: tags['mlflow.user'] }),
    );
  }

  async getRun(runId: string): Promise<TrackedRun> {
    return trackedRun(await this.client.getRun(runId));
  }

  async logParams(runId: string, params: Array<[string, string]>): Promise<void> {
    await this.client.logBatch(runId, { params: params.map(([key, value]) => ({ key, value })) });
  }

  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    const list = Object.entries(tags).map(([key, value]) => ({ key, value }));
    if (list.length > 0) await this.client.logBatch(runId, { tags: list });
  }

  async setTerminated(runId: string, status: TerminalStatus): Promise<void> {
    await this.client.setTerminated(runId, status);
  }

  async setStatus(runId: string, status: 'RUNNING' | 'SCHEDULED'): Promise<void> {
    await this.client.updateRun(runId, { status });
  }

  artifactProxyBase(): string {
    return `${this.trackingUri.replace(/\/+$/, '')}/api/2.0/mlflow-artifacts/artifacts`;
  }

  async close(): Promise<void> {}
}
