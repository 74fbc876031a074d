// MLflow 3's registered scorers: the rules around the scorer store (a name fits its column, a version
// is an int32), and the time a new version is stamped with.
import { MlflowError } from '../entities/errors.js';
import type { ScorerVersion } from '../entities/scorer.js';
import type { SqlScorerStore } from '../store/scorer-store.js';
import { exceedsMaximumLength } from './validation.js';

/** MLflow's scorers.scorer_name column is String(256). */
export const SCORER_NAME_LENGTH = 256;
const INT32_MAX = 2 ** 31 - 1;

function checkName(name: string): void {
  if (name.length > SCORER_NAME_LENGTH) throw exceedsMaximumLength('name', SCORER_NAME_LENGTH);
}

/** The proto field is an int32; a value past it is refused as MLflow's JSON parsing refuses it. */
function checkVersion(version: number | undefined): void {
  if (version !== undefined && (version > INT32_MAX || version < -INT32_MAX - 1)) {
    throw MlflowError.invalidParameter(`Invalid value ${version} for parameter 'version' supplied.`);
  }
}

export class ScorerService {
  constructor(private readonly store: SqlScorerStore) {}

  registerScorer(experimentId: string, name: string, serializedScorer: string): Promise<ScorerVersion> {
    checkName(name);
    return this.store.registerScorer(experimentId, name, serializedScorer, Date.now());
  }

  listScorers(experimentId: string): Promise<ScorerVersion[]> {
    return this.store.listScorers(experimentId);
  }

  listScorerVersions(experimentId: string, name: string): Promise<ScorerVersion[]> {
    return this.store.listScorerVersions(experimentId, name);
  }

  getScorer(experimentId: string, name: string, version?: number): Promise<ScorerVersion> {
    checkVersion(version);
    return this.store.getScorer(experimentId, name, version);
  }

  /** Deletes a version, or every version and the scorer. */
  deleteScorer(experimentId: string, name: string, version?: number): Promise<void> {
    checkVersion(version);
    return this.store.deleteScorer(experimentId, name, version);
  }
}
