// The scorer store the services see: one facade over the scorer repository (scorer-repository.ts),
// whose reads and writes are split by type (repository.ts).
import type { ScorerVersion } from '../entities/scorer.js';
import type { StoreDatabase } from './database.js';
import { type Repository, readView, writeView } from './repository.js';
import { ScorerReads, ScorerWrites } from './scorer-repository.js';

export type ScorerRepositories = { scorers: Repository<ScorerReads, ScorerWrites> };

export function scorerRepositories(database: StoreDatabase): ScorerRepositories {
  return {
    scorers: { reads: new ScorerReads(readView(database)), writes: new ScorerWrites(writeView(database)) },
  };
}

export class SqlScorerStore {
  private readonly reads: ScorerReads;
  private readonly writes: ScorerWrites;

  constructor(database: StoreDatabase, repositories: ScorerRepositories = scorerRepositories(database)) {
    this.reads = repositories.scorers.reads;
    this.writes = repositories.scorers.writes;
  }

  listScorers(experimentId: string): Promise<ScorerVersion[]> {
    return this.reads.listScorers(experimentId);
  }
  listScorerVersions(experimentId: string, name: string): Promise<ScorerVersion[]> {
    return this.reads.listScorerVersions(experimentId, name);
  }
  getScorer(experimentId: string, name: string, version?: number): Promise<ScorerVersion> {
    return this.reads.getScorer(experimentId, name, version);
  }
  registerScorer(
    experimentId: string,
    name: string,
    serializedScorer: string,
    creationTime: number,
  ): Promise<ScorerVersion> {
    return this.writes.registerScorer(experimentId, name, serializedScorer, creationTime);
  }
  deleteScorer(experimentId: string, name: string, version?: number): Promise<void> {
    return this.writes.deleteScorer(experimentId, name, version);
  }
}
