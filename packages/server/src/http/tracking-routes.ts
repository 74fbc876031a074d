import { type DatasetInput, HISTORY_SAMPLINGS, RUN_STATUSES, VIEW_TYPES } from '../entities/tracking.js';
import type { TrackingService } from '../services/tracking-service.js';
import type { Endpoint } from './endpoint.js';
import { keyValue, missing, type RequestFields, wrongType } from './request-fields.js';
import { JsonStream, metricHistoryJson } from './wire-json.js';

const empty = {};

async function searchExperiments(tracking: TrackingService, f: RequestFields) {
  const page = await tracking.searchExperiments({
    filter: f.optionalString('filter'),
    orderBy: f.stringList('order_by'),
    viewType: f.optionalEnum('view_type', VIEW_TYPES) ?? 'ACTIVE_ONLY',
    // MLflow has no server default here (a missing value fails there); 1000 is its clients' default.
    maxResults: f.optionalInt('max_results') ?? 1000,
    pageToken: f.optionalString('page_token'),
  });
  return { experiments: page.items, next_page_token: page.nextPageToken };
}

function datasetInputs(f: RequestFields): DatasetInput[] {
  return f.objects('datasets').map((item, i) => {
    const path = `datasets[${i}]`;
    const d = item.dataset;
    if (d === undefined || d === null) throw missing(`${path}.dataset`);
    if (typeof d !== 'object' || Array.isArray(d)) throw wrongType(`${path}.dataset`, d);
    const ds = d as Record<string, unknown>;
    const str = (name: string, required: boolean): string | undefined => {
      const v = ds[name];
      if (v === undefined || v === null || v === '') {
        if (required) throw missing(`${path}.dataset.${name}`);
        return undefined;
      }
      if (typeof v !== 'string') throw wrongType(`${path}.dataset.${name}`, v);
      return v;
    };
    const tags = item.tags ?? [];
    if (!Array.isArray(tags)) throw wrongType(`${path}.tags`, tags);
    return {
      dataset: {
        name: str('name', true) as string,
        digest: str('digest', true) as string,
        source_type: str('source_type', true) as string,
        source: str('source', true) as string,
        schema: str('schema', false),
        profile: str('profile', false),
      },
      tags: tags.map((t: unknown, j: number) => {
        if (t === null || typeof t !== 'object') throw wrongType(`${path}.tags[${j}]`, t);
        return keyValue(t as Record<string, unknown>, `${path}.tags[${j}]`);
      }),
    };
  });
}

/** MLflow's tracking endpoints, each reading its request and calling the tracking service. */
export function trackingEndpoints(): Endpoint<TrackingService>[] {
  return [
    // experiments
    {
      method: 'POST',
      path: 'experiments/create',
      handle: async (tracking, f) => ({
        experiment_id: await tracking.createExperiment(
          f.requiredString('name'),
          f.optionalString('artifact_location'),
          f.tags('tags'),
        ),
      }),
    },
    {
      // Under /api too: MLflow serves its proto endpoints under both prefixes; its UI calls /ajax-api.
      method: 'POST',
      path: 'experiments/search-datasets',
      handle: async (tracking, f) => ({
        dataset_summaries: await tracking.searchDatasets(f.stringList('experiment_ids')),
      }),
    },
    {
      method: 'GET',
      path: 'experiments/get',
      handle: async (tracking, f) => ({ experiment: await tracking.getExperiment(f.requiredExperimentId()) }),
    },
    {
      method: 'GET',
      path: 'experiments/get-by-name',
      handle: async (tracking, f) => ({
        experiment: await tracking.getExperimentByName(f.requiredString('experiment_name')),
      }),
    },
    { method: 'GET', path: 'experiments/search', handle: searchExperiments },
    { method: 'POST', path: 'experiments/search', handle: searchExperiments },
    {
      method: 'POST',
      path: 'experiments/update',
      handle: async (tracking, f) => {
        const id = f.requiredExperimentId();
        const newName = f.optionalString('new_name');
        if (newName) await tracking.renameExperiment(id, newName);
        else await tracking.getExperiment(id);
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'experiments/delete',
      handle: async (tracking, f) => {
        await tracking.deleteExperiment(f.requiredExperimentId());
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'experiments/restore',
      handle: async (tracking, f) => {
        await tracking.restoreExperiment(f.requiredExperimentId());
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'experiments/set-experiment-tag',
      handle: async (tracking, f) => {
        await tracking.setExperimentTag(f.requiredExperimentId(), {
          key: f.requiredString('key'),
          value: f.optionalString('value') ?? '',
        });
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'experiments/delete-experiment-tag',
      handle: async (tracking, f) => {
        await tracking.deleteExperimentTag(f.requiredExperimentId(), f.requiredString('key'));
        return empty;
      },
    },

    // runs
    {
      method: 'POST',
      path: 'runs/create',
      handle: async (tracking, f) => ({
        run: await tracking.createRun({
          experimentId: f.optionalExperimentId(),
          userId: f.optionalString('user_id'),
          runName: f.optionalString('run_name'),
          startTime: f.optionalInt('start_time'),
          tags: f.tags('tags'),
        }),
      }),
    },
    {
      method: 'GET',
      path: 'runs/get',
      handle: async (tracking, f) => ({ run: await tracking.getRun(f.runId()) }),
    },
    {
      method: 'POST',
      path: 'runs/update',
      handle: async (tracking, f) => ({
        run_info: await tracking.updateRun(f.runId(), {
          status: f.optionalEnum('status', RUN_STATUSES),
          endTime: f.optionalInt('end_time'),
          runName: f.optionalString('run_name'),
        }),
      }),
    },
    {
      method: 'POST',
      path: 'runs/delete',
      handle: async (tracking, f) => {
        await tracking.deleteRun(f.runId());
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'runs/restore',
      handle: async (tracking, f) => {
        await tracking.restoreRun(f.runId());
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'runs/log-metric',
      handle: async (tracking, f) => {
        const runId = f.runId();
        const metric = {
          key: f.requiredString('key'),
          value: f.requiredDouble('value'),
          timestamp: f.requiredInt('timestamp'),
          step: f.optionalInt('step') ?? 0,
        };
        await tracking.logMetric(runId, f.addModelFields(metric));
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'runs/log-parameter',
      handle: async (tracking, f) => {
        await tracking.logParam(f.runId(), {
          key: f.requiredString('key'),
          value: f.optionalString('value') ?? '',
        });
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'runs/set-tag',
      handle: async (tracking, f) => {
        await tracking.setTag(f.runId(), {
          key: f.requiredString('key'),
          value: f.optionalString('value') ?? '',
        });
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'runs/delete-tag',
      handle: async (tracking, f) => {
        await tracking.deleteTag(f.runId(), f.requiredString('key'));
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'runs/log-batch',
      handle: async (tracking, f) => {
        await tracking.logBatch(f.runId(), f.metrics('metrics'), f.tags('params'), f.tags('tags'));
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'runs/log-inputs',
      handle: async (tracking, f) => {
        const models = f.objects('models').map((item, i) => {
          const id = item.model_id;
          if (id === undefined || id === null || id === '') throw missing(`models[${i}].model_id`);
          if (typeof id !== 'string') throw wrongType(`models[${i}].model_id`, id);
          return id;
        });
        await tracking.logInputs(f.runId(), datasetInputs(f), models);
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'runs/search',
      handle: async (tracking, f) => {
        const page = await tracking.searchRuns({
          experimentIds: f.stringList('experiment_ids'),
          filter: f.optionalString('filter'),
          orderBy: f.stringList('order_by'),
          viewType: f.optionalEnum('run_view_type', VIEW_TYPES) ?? 'ACTIVE_ONLY',
          maxResults: f.optionalInt('max_results') ?? 1000,
          pageToken: f.optionalString('page_token'),
        });
        return { runs: page.items, next_page_token: page.nextPageToken };
      },
    },

    // metric history
    {
      method: 'GET',
      path: 'metrics/get-history',
      handle: async (tracking, f) => {
        const history = await tracking.streamMetricHistory({
          runId: f.runId(),
          key: f.requiredString('metric_key'),
          maxResults: f.optionalInt('max_results'),
          pageToken: f.optionalString('page_token'),
        });
        return new JsonStream(metricHistoryJson(history.batches, history.nextPageToken));
      },
    },
    {
      method: 'GET',
      path: 'metrics/get-history-bulk-interval',
      handle: async (tracking, f) => {
        const runIds = f.stringList('run_ids');
        if (runIds.length === 0) throw missing('run_ids');
        return {
          metrics: await tracking.getMetricHistoryBulkInterval({
            runIds,
            key: f.requiredString('metric_key'),
            startStep: f.optionalInt('start_step'),
            endStep: f.optionalInt('end_step'),
            maxResults: f.optionalInt('max_results'),
            // Not one of MLflow's fields: our extension (docs/tracking-server.md); MLflow clients never send it.
            sampling: f.optionalEnum('sampling', HISTORY_SAMPLINGS),
          }),
        };
      },
    },
    {
      // Our extension (docs/tracking-server.md): several metrics' sampled histories in one answer.
      method: 'GET',
      path: 'metrics/get-histories-bulk-interval',
      ajaxOnly: true,
      handle: async (tracking, f) => {
        const runIds = f.stringList('run_ids');
        if (runIds.length === 0) throw missing('run_ids');
        return {
          series: await tracking.getMetricHistoriesBulkInterval({
            runIds,
            keys: f.stringList('metric_keys'),
            maxResults: f.optionalInt('max_results'),
            sampling: f.optionalEnum('sampling', HISTORY_SAMPLINGS),
          }),
        };
      },
    },
    {
      method: 'GET',
      path: 'metrics/get-history-bulk',
      ajaxOnly: true,
      handle: async (tracking, f) => ({
        metrics: await tracking.getMetricHistoryBulk(
          f.stringList('run_id'),
          f.optionalString('metric_key'),
          f.optionalInt('max_results'),
        ),
      }),
    },
  ];
}
