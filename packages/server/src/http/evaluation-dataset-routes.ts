// MLflow 3's evaluation-dataset endpoints (CreateDataset ... RemoveDatasetFromExperiments in MLflow's
// service.proto), all under /api/3.0/mlflow and /ajax-api/3.0/mlflow.
import type { EvaluationDatasetService } from '../services/evaluation-dataset-service.js';
import type { Endpoint } from './endpoint.js';
import { datasetJson, recordsJson } from './evaluation-dataset-wire.js';
import type { RequestFields } from './request-fields.js';

const empty = {};

function search(datasets: EvaluationDatasetService, f: RequestFields) {
  return datasets
    .searchDatasets({
      experimentIds: f.stringList('experiment_ids'),
      filter: f.optionalString('filter_string'),
      maxResults: f.optionalInt('max_results'),
      orderBy: f.stringList('order_by'),
      pageToken: f.optionalString('page_token'),
    })
    .then((page) => ({ datasets: page.datasets.map(datasetJson), next_page_token: page.nextPageToken }));
}

export function evaluationDatasetEndpoints(): Endpoint<EvaluationDatasetService>[] {
  return [
    {
      since: 3,
      method: 'POST',
      path: 'datasets/create',
      handle: async (datasets, f) => ({
        dataset: datasetJson(
          await datasets.createDataset(
            f.requiredString('name'),
            f.stringList('experiment_ids'),
            f.optionalString('tags'),
          ),
        ),
      }),
    },
    { since: 3, method: 'POST', path: 'datasets/search', handle: search },
    { since: 3, method: 'GET', path: 'datasets/search', handle: search },
    {
      since: 3,
      method: 'GET',
      path: 'datasets/:dataset_id',
      handle: async (datasets, f, p) => {
        f.optionalString('page_token');
        return { dataset: datasetJson(await datasets.getDataset(p.dataset_id)) };
      },
    },
    {
      since: 3,
      method: 'DELETE',
      path: 'datasets/:dataset_id',
      handle: async (datasets, _f, p) => {
        await datasets.deleteDataset(p.dataset_id);
        return empty;
      },
    },
    {
      since: 3,
      method: 'PATCH',
      path: 'datasets/:dataset_id/tags',
      handle: async (datasets, f, p) => {
        await datasets.setDatasetTags(p.dataset_id, f.requiredString('tags'));
        return empty;
      },
    },
    {
      since: 3,
      method: 'DELETE',
      path: 'datasets/:dataset_id/tags/:key',
      handle: async (datasets, _f, p) => {
        await datasets.deleteDatasetTag(p.dataset_id, p.key);
        return empty;
      },
    },
    {
      since: 3,
      method: 'POST',
      path: 'datasets/:dataset_id/records',
      handle: async (datasets, f, p) => {
        const counts = await datasets.upsertRecords(p.dataset_id, f.requiredString('records'));
        return { inserted_count: counts.inserted, updated_count: counts.updated };
      },
    },
    {
      since: 3,
      method: 'GET',
      path: 'datasets/:dataset_id/records',
      handle: async (datasets, f, p) => {
        const page = await datasets.getRecords(
          p.dataset_id,
          f.optionalInt('max_results'),
          f.optionalString('page_token'),
        );
        return { records: recordsJson(page.records), next_page_token: page.nextPageToken };
      },
    },
    {
      since: 3,
      method: 'DELETE',
      path: 'datasets/:dataset_id/records',
      handle: async (datasets, f, p) => ({
        deleted_count: await datasets.deleteRecords(p.dataset_id, f.stringList('dataset_record_ids')),
      }),
    },
    {
      since: 3,
      method: 'GET',
      path: 'datasets/:dataset_id/experiment-ids',
      handle: async (datasets, _f, p) => {
        const ids = await datasets.experimentIds(p.dataset_id);
        return ids.length > 0 ? { experiment_ids: ids } : empty;
      },
    },
    {
      since: 3,
      method: 'POST',
      path: 'datasets/:dataset_id/add-experiments',
      handle: async (datasets, f, p) => ({
        dataset: datasetJson(await datasets.addExperiments(p.dataset_id, f.stringList('experiment_ids'))),
      }),
    },
    {
      since: 3,
      method: 'POST',
      path: 'datasets/:dataset_id/remove-experiments',
      handle: async (datasets, f, p) => ({
        dataset: datasetJson(await datasets.removeExperiments(p.dataset_id, f.stringList('experiment_ids'))),
      }),
    },
  ];
}
