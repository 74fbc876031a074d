import path from 'node:path';
import { MlflowError } from '../entities/errors.js';
import { TrackingService } from '../services/tracking-service.js';
import { openStores } from '../store/open-stores.js';
import type { Stores } from '../store/store-set.js';
import type { RunTracking, TerminalStatus, TrackedRun } from './run-tracking.js';

// RunTracking over a local store, through the same services the server uses (no HTTP, no SQL here).
// Used when the tracking URI names a database (sqlite:///..., postgresql://...) rather than a server.

function trackedRun(run: Awaited<ReturnType<TrackingService['getRun']>>): TrackedRun {
  const info = run.info;
  return {
    runId: info.run_id,
    experimentId: info.experiment_id,
    status: info.status,
    artifactUri: info.artifact_uri,
    tags: Object.fromEntries(run.data.tags.map((t) => [t.key, t.value])),
  };
}

export class LocalRunTracking implements RunTracking {
  private constructor(
    readonly trackingUri: string,
    private readonly stores: Stores,
    private readonly service: TrackingService,
  ) {}

  /** Opens the store; new experiments get artifact locations under ./mlruns, as MLflow's default. */
  static async open(trackingUri: string): Promise<LocalRunTracking> {
    const stores = await openStores(trackingUri, path.resolve('mlruns'));
    return new LocalRunTracking(trackingUri, stores, new TrackingService(stores.tracking));
  }

  async experimentIdForName(name: string): Promise<string> {
    try {
      return (await this.service.getExperimentByName(name)).experiment_id;
    } catch (error) {
      if (!(error instanceof MlflowError) || error.errorCode !== 'RESOURCE_DOES_NOT_EXIST') throw error;
    }
    return this.service.createExperiment(name, undefined, []);
  }

  async createRun(experimentId: string, tags: Record<string, string>, runName?: string): Promise<TrackedRun> {
    const run = await this.service.createRun({
      experimentId,
      userId: tags['mlflow.user'],
      startTime: Date.now(),
      runName,
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    return trackedRun(run);
  }

  async getRun(runId: string): Promise<TrackedRun> {
    return trackedRun(await this.service.getRun(runId));
  }

  async logParams(runId: string, params: Array<[string, string]>): Promise<void> {
    for (let i = 0; i < params.length; i += 100) {
      const batch = params.slice(i, i + 100).map(([key, value]) => ({ key, value }));
      await this.service.logBatch(runId, [], batch, []);
    }
  }

  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    const list = Object.entries(tags).map(([key, value]) => ({ key, value }));
    if (list.length > 0) await this.service.logBatch(runId, [], [], list);
  }

  async setTerminated(runId: string, status: TerminalStatus): Promise<void> {
    await this.service.updateRun(runId, { status, endTime: Date.now() });
  }

  async setStatus(runId: string, status: 'RUNNING' | 'SCHEDULED'): Promise<void> {
    await this.service.updateRun(runId, { status });
  }

  async close(): Promise<void> {
    await this.stores.close();
  }
}
