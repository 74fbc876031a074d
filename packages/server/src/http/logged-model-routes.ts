import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MlflowError } from '../entities/errors.js';
import { LOGGED_MODEL_STATUSES } from '../entities/logged-model.js';
import type { OrderByRequest } from '../search/logged-model-rules.js';
import type { ArtifactService } from '../services/artifact-service.js';
import type { LoggedModelService } from '../services/logged-model-service.js';
import { sendArtifact } from './artifact-routes.js';
import type { Endpoint } from './endpoint.js';
import { missing, RequestFields, wrongType } from './request-fields.js';

// MLflow 3's logged-model endpoints (CreateLoggedModel ... ListLoggedModelArtifacts in MLflow's
// service.proto), under /api/2.0/mlflow and /ajax-api/2.0/mlflow. The model id travels in the path.

const empty = {};

/** Statuses a finalize may set, in proto order from 1, so that numbers map as MLflow's enum does. */
const SETTABLE_STATUSES = LOGGED_MODEL_STATUSES.slice(1);

function optionalText(item: Record<string, unknown>, field: string, path: string): string | undefined {
  const v = item[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw wrongType(`${path}.${field}`, v);
  return v;
}

function orderBy(f: RequestFields): OrderByRequest[] {
  return f.objects('order_by').map((item, i) => {
    const path = `order_by[${i}]`;
    const fieldName = optionalText(item, 'field_name', path);
    if (fieldName === undefined) throw missing(`${path}.field_name`);
    const ascending = item.ascending ?? true;
    if (typeof ascending !== 'boolean') throw wrongType(`${path}.ascending`, ascending);
    const order: OrderByRequest = { field_name: fieldName, ascending };
    const datasetName = optionalText(item, 'dataset_name', path);
    const datasetDigest = optionalText(item, 'dataset_digest', path);
    if (datasetName !== undefined) order.dataset_name = datasetName;
    if (datasetDigest !== undefined) order.dataset_digest = datasetDigest;
    return order;
  });
}

function datasets(f: RequestFields): { dataset_name?: string; dataset_digest?: string }[] {
  return f.objects('datasets').map((item, i) => ({
    dataset_name: optionalText(item, 'dataset_name', `datasets[${i}]`),
    dataset_digest: optionalText(item, 'dataset_digest', `datasets[${i}]`),
  }));
}

/** The logged-model endpoints (with `artifacts` for the listing). */
export function loggedModelEndpoints(artifacts: ArtifactService): Endpoint<LoggedModelService>[] {
  return [
    {
      method: 'POST',
      path: 'runs/outputs',
      handle: async (models, f) => {
        const runId = f.requiredString('run_id');
        if (!f.has('models')) throw missing('models');
        const outputs = f.objects('models').map((item, i) => {
          const modelId = optionalText(item, 'model_id', `models[${i}]`);
          if (modelId === undefined) throw missing(`models[${i}].model_id`);
          const fields = new RequestFields(item, false);
          if (!fields.has('step')) throw missing(`models[${i}].step`);
          let step: number;
          try {
            step = fields.requiredInt('step');
          } catch {
            throw wrongType(`models[${i}].step`, item.step);
          }
          return { modelId, step };
        });
        await models.logOutputs(runId, outputs);
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'logged-models',
      handle: async (models, f) => ({
        model: await models.createLoggedModel({
          experimentId: f.requiredExperimentId(),
          name: f.optionalString('name'),
          modelType: f.optionalString('model_type'),
          sourceRunId: f.optionalString('source_run_id'),
          params: f.tags('params'),
          tags: f.tags('tags'),
        }),
      }),
    },
    {
      method: 'POST',
      path: 'logged-models/search',
      handle: async (models, f) => {
        const page = await models.searchLoggedModels({
          experimentIds: f.stringList('experiment_ids'),
          filter: f.optionalString('filter'),
          datasets: datasets(f),
          maxResults: f.optionalInt('max_results'),
          orderBy: orderBy(f),
          pageToken: f.optionalString('page_token'),
        });
        return { models: page.models, next_page_token: page.nextPageToken };
      },
    },
    {
      method: 'GET',
      path: 'logged-models/:model_id',
      handle: async (models, _f, p) => ({ model: await models.getLoggedModel(p.model_id) }),
    },
    {
      method: 'PATCH',
      path: 'logged-models/:model_id',
      handle: async (models, f, p) => {
        // MLflow's client sends the id in the body as well; the path's is used when it does not.
        const modelId = f.optionalString('model_id') || p.model_id;
        const status = f.optionalEnum('status', SETTABLE_STATUSES);
        if (status === undefined) throw missing('status');
        return { model: await models.finalizeLoggedModel(modelId, status) };
      },
    },
    {
      method: 'DELETE',
      path: 'logged-models/:model_id',
      handle: async (models, _f, p) => {
        await models.deleteLoggedModel(p.model_id);
        return empty;
      },
    },
    {
      method: 'PATCH',
      path: 'logged-models/:model_id/tags',
      handle: async (models, f, p) => {
        await models.setLoggedModelTags(p.model_id, f.tags('tags'));
        return empty;
      },
    },
    {
      // The key is the rest of the path: tag keys may hold slashes.
      method: 'DELETE',
      path: 'logged-models/:model_id/tags/*',
      handle: async (models, _f, p) => {
        const key = p['*'];
        if (!key) throw missing('tag_key');
        await models.deleteLoggedModelTag(p.model_id, key);
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'logged-models/:model_id/params',
      handle: async (models, f, p) => {
        await models.logLoggedModelParams(f.optionalString('model_id') || p.model_id, f.tags('params'));
        return empty;
      },
    },
    {
      method: 'GET',
      path: 'logged-models/:model_id/artifacts/directories',
      handle: async (models, f, p) => {
        const model = await models.getLoggedModel(p.model_id);
        const listing = await artifacts.listLoggedModelArtifacts(
          p.model_id,
          model.info.artifact_uri,
          f.optionalString('artifact_directory_path'),
        );
        return { root_uri: listing.rootUri, files: listing.files };
      },
    },
  ];
}

/**
 * The web UI's download of one file of a logged model, outside the protos as in MLflow:
 * GET /ajax-api/2.0/mlflow/logged-models/<id>/artifacts/files?artifact_file_path=<path>.
 */
export function loggedModelArtifactFileRoute(
  app: FastifyInstance,
  models: LoggedModelService,
  artifacts: ArtifactService,
  fields: (r: FastifyRequest) => RequestFields,
): void {
  app.get('/ajax-api/2.0/mlflow/logged-models/:model_id/artifacts/files', async (request, reply) => {
    const modelId = (request.params as { model_id: string }).model_id;
    const path = fields(request).optionalString('artifact_file_path');
    if (!path) {
      throw new MlflowError('BAD_REQUEST', 'Request must include the "artifact_file_path" query parameter.');
    }
    const model = await models.getLoggedModel(modelId);
    return sendArtifact(request, reply, path, (range) =>
      artifacts.readLoggedModelArtifact(modelId, model.info.artifact_uri, path, range),
    );
  });
}
