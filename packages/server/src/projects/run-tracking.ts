import { MlflowRestError, RestClient } from '@mlflow-ts/client';

// The few tracking calls a project run needs, behind one small interface. The HTTP implementation
// below is the only place the projects runner touches the client SDK; local stores (a path or
// sqlite:///) get the in-process implementation in local-run-tracking.ts.

export type TerminalStatus = 'FINISHED' | 'FAILED' | 'KILLED';
export type RunStatusName = 'RUNNING' | 'SCHEDULED' | TerminalStatus;

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

/** MLflow's log-batch limit on params per request. */
const PARAMS_PER_BATCH = 100;

interface WireRun {
  run: {
    info: { run_id: string; experiment_id: string; status: RunStatusName; artifact_uri: string };
    data?: { tags?: Array<{ key: string; value: string }> };
  };
}

function trackedRun(wire: WireRun): TrackedRun {
  const info = wire.run.info;
  return {
    runId: info.run_id,
    experimentId: info.experiment_id,
    status: info.status,
    artifactUri: info.artifact_uri,
    tags: Object.fromEntries((wire.run.data?.tags ?? []).map((t) => [t.key, t.value])),
  };
}

/** Adds MLflow's tracking credentials (MLFLOW_TRACKING_TOKEN, or USERNAME/PASSWORD) to each request. */
function authenticatedFetch(): typeof fetch {
  const token = process.env.MLFLOW_TRACKING_TOKEN;
  const user = process.env.MLFLOW_TRACKING_USERNAME;
  const password = process.env.MLFLOW_TRACKING_PASSWORD;
  let authorization: string | undefined;
  if (token) authorization = `Bearer ${token}`;
  else if (user !== undefined && password !== undefined) {
    authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  if (!authorization) return fetch;
  const value = authorization;
  return (input, init) =>
    fetch(input, { ...init, headers: { ...(init?.headers ?? {}), Authorization: value } });
}

/** RunTracking over MLflow's REST API (an http(s) tracking URI). */
export class RestRunTracking implements RunTracking {
  private readonly client: RestClient;

  constructor(readonly trackingUri: string) {
    this.client = new RestClient({ trackingUri, fetch: authenticatedFetch() });
  }

  async experimentIdForName(name: string): Promise<string> {
    try {
      const found = await this.client.call<{ experiment: { experiment_id: string } }>(
        'GET',
        'experiments/get-by-name',
        { experiment_name: name },
      );
      return found.experiment.experiment_id;
    } catch (error) {
      if (!(error instanceof MlflowRestError) || error.errorCode !== 'RESOURCE_DOES_NOT_EXIST') throw error;
    }
    const created = await this.client.call<{ experiment_id: string }>('POST', 'experiments/create', { name });
    return created.experiment_id;
  }

  async createRun(experimentId: string, tags: Record<string, string>, runName?: string): Promise<TrackedRun> {
    const created = await this.client.call<WireRun>('POST', 'runs/create', {
      experiment_id: experimentId,
      user_id: tags['mlflow.user'],
      start_time: Date.now(),
      run_name: runName,
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    return trackedRun(created);
  }

  async getRun(runId: string): Promise<TrackedRun> {
    return trackedRun(await this.client.call<WireRun>('GET', 'runs/get', { run_id: runId }));
  }

  async logParams(runId: string, params: Array<[string, string]>): Promise<void> {
    for (let i = 0; i < params.length; i += PARAMS_PER_BATCH) {
      const batch = params.slice(i, i + PARAMS_PER_BATCH).map(([key, value]) => ({ key, value }));
      await this.client.call('POST', 'runs/log-batch', { run_id: runId, params: batch });
    }
  }

  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    const list = Object.entries(tags).map(([key, value]) => ({ key, value }));
    if (list.length > 0) await this.client.call('POST', 'runs/log-batch', { run_id: runId, tags: list });
  }

  async setTerminated(runId: string, status: TerminalStatus): Promise<void> {
    await this.client.call('POST', 'runs/update', { run_id: runId, status, end_time: Date.now() });
  }

  async setStatus(runId: string, status: 'RUNNING' | 'SCHEDULED'): Promise<void> {
    await this.client.call('POST', 'runs/update', { run_id: runId, status });
  }

  artifactProxyBase(): string {
    return `${this.trackingUri.replace(/\/+$/, '')}/api/2.0/mlflow-artifacts/artifacts`;
  }

  async close(): Promise<void> {}
}
