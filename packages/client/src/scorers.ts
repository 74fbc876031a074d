// MLflow 3's registered scorers: the client methods of the scorers endpoints (types in wire.ts).
import { RegistryMethods } from './registry.js';
import type { RegisteredScorer, Scorer } from './wire.js';

const since3 = { since: 3 } as const;

/**
 * The scorer endpoints as methods MlflowClient inherits (named as MLflow's tracking store names them).
 * Every method throws MlflowError with the server's code and status.
 */
export abstract class ScorerMethods extends RegistryMethods {
  /** Stores a new version of the experiment's scorer `name` (version 1 for a new name). */
  registerScorer(experimentId: string, name: string, serializedScorer: string): Promise<RegisteredScorer> {
    return this.transport.call<RegisteredScorer>(
      'POST',
      'scorers/register',
      { experiment_id: experimentId, name, serialized_scorer: serializedScorer },
      since3,
    );
  }

  /** The newest version of each of the experiment's scorers, by name. */
  async listScorers(experimentId: string): Promise<Scorer[]> {
    const r = await this.transport.call<{ scorers?: Scorer[] }>(
      'GET',
      'scorers/list',
      { experiment_id: experimentId },
      since3,
    );
    return r.scorers ?? [];
  }

  /** Every version of one scorer, oldest first. */
  async listScorerVersions(experimentId: string, name: string): Promise<Scorer[]> {
    const r = await this.transport.call<{ scorers?: Scorer[] }>(
      'GET',
      'scorers/versions',
      { experiment_id: experimentId, name },
      since3,
    );
    return r.scorers ?? [];
  }

  /** One version of a scorer, or its newest when `version` is left out. */
  async getScorer(experimentId: string, name: string, version?: number): Promise<Scorer> {
    const query: Record<string, unknown> = { experiment_id: experimentId, name };
    if (version !== undefined) query.version = version;
    return (await this.transport.call<{ scorer: Scorer }>('GET', 'scorers/get', query, since3)).scorer;
  }

  /** Deletes one version of a scorer, or every version (and the scorer) when `version` is left out. */
  async deleteScorer(experimentId: string, name: string, version?: number): Promise<void> {
    const body: Record<string, unknown> = { experiment_id: experimentId, name };
    if (version !== undefined) body.version = version;
    await this.transport.call('DELETE', 'scorers/delete', body, since3);
  }
}
