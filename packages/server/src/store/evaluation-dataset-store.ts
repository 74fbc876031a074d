// The evaluation-dataset store the services see: one facade over the dataset repository
// (evaluation-dataset-repository.ts), whose reads and writes are split by type (repository.ts).
import type {
  DatasetRecordRow,
  EvaluationDatasetRecord,
  RecordUpsert,
} from '../entities/evaluation-dataset.js';
import type { StoreDatabase } from './database.js';
import {
  EvaluationDatasetReads,
  EvaluationDatasetWrites,
  type NewDataset,
  type RecordPageStart,
  type SearchDatasetsQuery,
} from './evaluation-dataset-repository.js';
import { type Repository, readView, writeView } from './repository.js';

export type { NewDataset, RecordPageStart, SearchDatasetsQuery } from './evaluation-dataset-repository.js';

export type EvaluationDatasetRepositories = {
  datasets: Repository<EvaluationDatasetReads, EvaluationDatasetWrites>;
};

export function evaluationDatasetRepositories(database: StoreDatabase): EvaluationDatasetRepositories {
  return {
    datasets: {
      reads: new EvaluationDatasetReads(readView(database)),
      writes: new EvaluationDatasetWrites(writeView(database)),
    },
  };
}

export class SqlEvaluationDatasetStore {
  private readonly reads: EvaluationDatasetReads;
  private readonly writes: EvaluationDatasetWrites;

  constructor(
    database: StoreDatabase,
    repositories: EvaluationDatasetRepositories = evaluationDatasetRepositories(database),
  ) {
    this.reads = repositories.datasets.reads;
    this.writes = repositories.datasets.writes;
  }

  getDataset(datasetId: string): Promise<EvaluationDatasetRecord | undefined> {
    return this.reads.getDataset(datasetId);
  }
  searchDatasets(query: SearchDatasetsQuery): Promise<{ items: EvaluationDatasetRecord[]; more: boolean }> {
    return this.reads.searchDatasets(query);
  }
  getRecords(
    datasetId: string,
    maxResults: number,
    start: RecordPageStart | undefined,
  ): Promise<{ records: DatasetRecordRow[]; more: boolean } | undefined> {
    return this.reads.getRecords(datasetId, maxResults, start);
  }
  createDataset(dataset: NewDataset): Promise<EvaluationDatasetRecord> {
    return this.writes.createDataset(dataset);
  }
  deleteDataset(datasetId: string): Promise<void> {
    return this.writes.deleteDataset(datasetId);
  }
  setDatasetTags(datasetId: string, tags: Record<string, string | null>, time: number): Promise<void> {
    return this.writes.setDatasetTags(datasetId, tags, time);
  }
  deleteDatasetTag(datasetId: string, key: string): Promise<void> {
    return this.writes.deleteDatasetTag(datasetId, key);
  }
  addExperiments(datasetId: string, experimentIds: string[], time: number): Promise<EvaluationDatasetRecord> {
    return this.writes.addExperiments(datasetId, experimentIds, time);
  }
  removeExperiments(datasetId: string, experimentIds: string[]): Promise<EvaluationDatasetRecord> {
    return this.writes.removeExperiments(datasetId, experimentIds);
  }
  upsertRecords(
    datasetId: string,
    records: RecordUpsert[],
    time: number,
  ): Promise<{ inserted: number; updated: number }> {
    return this.writes.upsertRecords(datasetId, records, time);
  }
  deleteRecords(datasetId: string, recordIds: string[], time: number): Promise<number> {
    return this.writes.deleteRecords(datasetId, recordIds, time);
  }
}
