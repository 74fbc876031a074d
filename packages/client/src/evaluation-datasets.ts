// MLflow 3's evaluation datasets: the client methods of the dataset endpoints (types in wire.ts),
// named as Python's MlflowClient names them. They live under the server's 3.0 prefix.
import type { Page } from './entities.js';
import { WebhookMethods } from './webhooks.js';
import type { DatasetRecord, DatasetRecordInput, EvaluationDataset } from './wire.js';

export interface SearchDatasetsOptions {
  /** Only datasets linked to one of these experiments. */
  experimentIds?: string[];
  /** e.g. "name LIKE 'qa-%' AND tags.team = 'search'". */
  filter?: string;
  /** e.g. ['name ASC']; default newest first. */
  orderBy?: string[];
  /** Default 1000. */
  maxResults?: number;
  pageToken?: string;
}

const V3 = { since: 3 } as const;

function datasetPath(datasetId: string, ...rest: string[]): string {
  return ['datasets', encodeURIComponent(datasetId), ...rest].join('/');
}

/** Fills in the experiment list the server leaves out when empty. */
export function normalizeDataset(dataset: EvaluationDataset): EvaluationDataset {
  return { ...dataset, experiment_ids: dataset.experiment_ids ?? [] };
}

/** A dataset's tags as an object (the wire carries them as JSON text). */
export function datasetTags(dataset: EvaluationDataset): Record<string, string> {
  return dataset.tags ? (JSON.parse(dataset.tags) as Record<string, string>) : {};
}

/**
 * The evaluation-dataset endpoints as methods MlflowClient inherits. Every method throws MlflowError
 * with the server's code and status.
 */
export abstract class EvaluationDatasetMethods extends WebhookMethods {
  async createDataset(
    name: string,
    options: { experimentIds?: string[]; tags?: Record<string, string> } = {},
  ): Promise<EvaluationDataset> {
    const r = await this.transport.call<{ dataset: EvaluationDataset }>(
      'POST',
      'datasets/create',
      {
        name,
        experiment_ids: options.experimentIds ?? [],
        tags: options.tags && JSON.stringify(options.tags),
      },
      V3,
    );
    return normalizeDataset(r.dataset);
  }

  async getDataset(datasetId: string): Promise<EvaluationDataset> {
    const r = await this.transport.call<{ dataset: EvaluationDataset }>(
      'GET',
      datasetPath(datasetId),
      undefined,
      V3,
    );
    return normalizeDataset(r.dataset);
  }

  async deleteDataset(datasetId: string): Promise<void> {
    await this.transport.call('DELETE', datasetPath(datasetId), undefined, V3);
  }

  async searchDatasets(options: SearchDatasetsOptions = {}): Promise<Page<EvaluationDataset>> {
    const r = await this.transport.call<{ datasets?: EvaluationDataset[]; next_page_token?: string }>(
      'POST',
      'datasets/search',
      {
        experiment_ids: options.experimentIds ?? [],
        filter_string: options.filter,
        order_by: options.orderBy ?? [],
        max_results: options.maxResults,
        page_token: options.pageToken,
      },
      V3,
    );
    return { items: (r.datasets ?? []).map(normalizeDataset), nextPageToken: r.next_page_token };
  }

  /** Merges tags into the dataset's; a null value removes that tag. */
  async setDatasetTags(datasetId: string, tags: Record<string, string | null>): Promise<void> {
    await this.transport.call('PATCH', datasetPath(datasetId, 'tags'), { tags: JSON.stringify(tags) }, V3);
  }

  async deleteDatasetTag(datasetId: string, key: string): Promise<void> {
    await this.transport.call(
      'DELETE',
      datasetPath(datasetId, 'tags', encodeURIComponent(key)),
      undefined,
      V3,
    );
  }

  /** Adds records, merging each into a stored one with the same inputs (expectations and tags key by key). */
  async upsertDatasetRecords(
    datasetId: string,
    records: DatasetRecordInput[],
  ): Promise<{ inserted: number; updated: number }> {
    const r = await this.transport.call<{ inserted_count?: number; updated_count?: number }>(
      'POST',
      datasetPath(datasetId, 'records'),
      { records: JSON.stringify(records) },
      V3,
    );
    return { inserted: r.inserted_count ?? 0, updated: r.updated_count ?? 0 };
  }

  /** A page of the dataset's records, in the order they were added (default 1000 a page). */
  async getDatasetRecords(
    datasetId: string,
    options: { maxResults?: number; pageToken?: string } = {},
  ): Promise<Page<DatasetRecord>> {
    const r = await this.transport.call<{ records?: string; next_page_token?: string }>(
      'GET',
      datasetPath(datasetId, 'records'),
      { max_results: options.maxResults, page_token: options.pageToken },
      V3,
    );
    return {
      items: r.records ? (JSON.parse(r.records) as DatasetRecord[]) : [],
      nextPageToken: r.next_page_token,
    };
  }

  /** Deletes records by id; answers how many were deleted. */
  async deleteDatasetRecords(datasetId: string, recordIds: string[]): Promise<number> {
    const r = await this.transport.call<{ deleted_count?: number }>(
      'DELETE',
      datasetPath(datasetId, 'records'),
      { dataset_record_ids: recordIds },
      V3,
    );
    return r.deleted_count ?? 0;
  }

  async getDatasetExperimentIds(datasetId: string): Promise<string[]> {
    const r = await this.transport.call<{ experiment_ids?: string[] }>(
      'GET',
      datasetPath(datasetId, 'experiment-ids'),
      undefined,
      V3,
    );
    return r.experiment_ids ?? [];
  }

  async addDatasetToExperiments(datasetId: string, experimentIds: string[]): Promise<EvaluationDataset> {
    const r = await this.transport.call<{ dataset: EvaluationDataset }>(
      'POST',
      datasetPath(datasetId, 'add-experiments'),
      { experiment_ids: experimentIds },
      V3,
    );
    return normalizeDataset(r.dataset);
  }

  async removeDatasetFromExperiments(datasetId: string, experimentIds: string[]): Promise<EvaluationDataset> {
    const r = await this.transport.call<{ dataset: EvaluationDataset }>(
      'POST',
      datasetPath(datasetId, 'remove-experiments'),
      { experiment_ids: experimentIds },
      V3,
    );
    return normalizeDataset(r.dataset);
  }
}
