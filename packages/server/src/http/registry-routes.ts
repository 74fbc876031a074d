import type { FastifyInstance, FastifyRequest } from 'fastify';
import { safeArtifactPath } from '../artifacts/safe-path.js';
import type { ArtifactService } from '../services/artifact-service.js';
import type { RegistryService } from '../services/registry-service.js';
import { sendArtifact } from './artifact-routes.js';
import type { Endpoint } from './endpoint.js';
import { missing, type RequestFields } from './request-fields.js';

// MLflow's Model Registry endpoints (model_registry.proto): registered models, model versions, tags
// and aliases, each reading its request and calling the registry service.

const empty = {};

function name(f: RequestFields): string {
  return f.requiredString('name');
}

function version(f: RequestFields): string {
  const v = f.optionalStringOrInt('version');
  if (v === undefined || v === '') throw missing('version');
  return v;
}

function searchQuery(f: RequestFields) {
  return {
    filter: f.optionalString('filter'),
    orderBy: f.stringList('order_by'),
    maxResults: f.optionalInt('max_results'),
    pageToken: f.optionalString('page_token') || undefined,
  };
}

async function latestVersions(registry: RegistryService, f: RequestFields) {
  return { model_versions: await registry.getLatestVersions(name(f), f.stringList('stages')) };
}

/** The registry's endpoints below /api/2.0/mlflow and /ajax-api/2.0/mlflow. */
export function registryEndpoints(): Endpoint<RegistryService>[] {
  return [
    // registered models
    {
      method: 'POST',
      path: 'registered-models/create',
      handle: async (registry, f) => ({
        registered_model: await registry.createRegisteredModel(
          name(f),
          f.tags('tags'),
          f.optionalString('description') ?? '',
        ),
      }),
    },
    {
      method: 'GET',
      path: 'registered-models/get',
      handle: async (registry, f) => ({ registered_model: await registry.getRegisteredModel(name(f)) }),
    },
    {
      method: 'POST',
      path: 'registered-models/rename',
      handle: async (registry, f) => {
        const current = name(f);
        return {
          registered_model: await registry.renameRegisteredModel(current, f.requiredString('new_name')),
        };
      },
    },
    {
      method: 'PATCH',
      path: 'registered-models/update',
      handle: async (registry, f) => ({
        // Proto reads an absent description as the empty string, so MLflow clears it then.
        registered_model: await registry.updateRegisteredModel(
          name(f),
          f.optionalString('description') ?? '',
        ),
      }),
    },
    {
      method: 'DELETE',
      path: 'registered-models/delete',
      handle: async (registry, f) => {
        await registry.deleteRegisteredModel(name(f));
        return empty;
      },
    },
    {
      method: 'GET',
      path: 'registered-models/search',
      handle: async (registry, f) => {
        const page = await registry.searchRegisteredModels(searchQuery(f));
        return { registered_models: page.items, next_page_token: page.nextPageToken };
      },
    },
    { method: 'POST', path: 'registered-models/get-latest-versions', handle: latestVersions },
    { method: 'GET', path: 'registered-models/get-latest-versions', handle: latestVersions },
    {
      method: 'POST',
      path: 'registered-models/set-tag',
      handle: async (registry, f) => {
        const model = name(f);
        await registry.setRegisteredModelTag(model, {
          key: f.requiredString('key'),
          value: f.optionalString('value') ?? '',
        });
        return empty;
      },
    },
    {
      method: 'DELETE',
      path: 'registered-models/delete-tag',
      handle: async (registry, f) => {
        const model = name(f);
        await registry.deleteRegisteredModelTag(model, f.requiredString('key'));
        return empty;
      },
    },
    {
      method: 'POST',
      path: 'registered-models/alias',
      handle: async (registry, f) => {
        const model = name(f);
        const alias = f.requiredString('alias');
        await registry.setRegisteredModelAlias(model, alias, version(f));
        return empty;
      },
    },
    {
      method: 'DELETE',
      path: 'registered-models/alias',
      handle: async (registry, f) => {
        const model = name(f);
        await registry.deleteRegisteredModelAlias(model, f.requiredString('alias'));
        return empty;
      },
    },
    {
      method: 'GET',
      path: 'registered-models/alias',
      handle: async (registry, f) => {
        const model = name(f);
        return { model_version: await registry.getModelVersionByAlias(model, f.requiredString('alias')) };
      },
    },

    // model versions
    {
      method: 'POST',
      path: 'model-versions/create',
      handle: async (registry, f) => {
        const model = name(f);
        const source = f.requiredString('source');
        return {
          // Proto reads absent strings as empty ones, and MLflow stores and returns them that way.
          model_version: await registry.createModelVersion({
            name: model,
            source,
            runId: f.optionalString('run_id') ?? '',
            runLink: f.optionalString('run_link') ?? '',
            description: f.optionalString('description') ?? '',
            tags: f.tags('tags'),
            modelId: f.optionalString('model_id'),
          }),
        };
      },
    },
    {
      method: 'GET',
      path: 'model-versions/get',
      handle: async (registry, f) => {
        const model = name(f);
        return { model_version: await registry.getModelVersion(model, version(f)) };
      },
    },
    {
      method: 'PATCH',
      path: 'model-versions/update',
      handle: async (registry, f) => {
        const model = name(f);
        const v = version(f);
        // Here MLflow distinguishes an absent description (cleared) from an empty one.
        return {
          model_version: await registry.updateModelVersion(model, v, f.optionalString('description')),
        };
      },
    },
    {
      method: 'POST',
      path: 'model-versions/transition-stage',
      handle: async (registry, f) => {
        const model = name(f);
        const v = version(f);
        const stage = f.requiredString('stage');
        return {
          model_version: await registry.transitionModelVersionStage(
            model,
            v,
            stage,
            f.optionalBool('archive_existing_versions') ?? false,
          ),
        };
      },
    },
    {
      method: 'DELETE',
      path: 'model-versions/delete',
      handle: async (registry, f) => {
        const model = name(f);
        await registry.deleteModelVersion(model, version(f));
        return empty;
      },
    },
    {
      method: 'GET',
      path: 'model-versions/search',
      handle: async (registry, f) => {
        const page = await registry.searchModelVersions(searchQuery(f));
        return { model_versions: page.items, next_page_token: page.nextPageToken };
      },
    },
    {
      method: 'GET',
      path: 'model-versions/get-download-uri',
      handle: async (registry, f) => {
        const model = name(f);
        return { artifact_uri: await registry.getModelVersionDownloadUri(model, version(f)) };
      },
    },
    {
      method: 'POST',
      path: 'model-versions/set-tag',
      handle: async (registry, f) => {
        const model = name(f);
        const v = version(f);
        await registry.setModelVersionTag(model, v, {
          key: f.requiredString('key'),
          value: f.optionalString('value') ?? '',
        });
        return empty;
      },
    },
    {
      method: 'DELETE',
      path: 'model-versions/delete-tag',
      handle: async (registry, f) => {
        const model = name(f);
        const v = version(f);
        await registry.deleteModelVersionTag(model, v, f.requiredString('key'));
        return empty;
      },
    },
  ];
}

/**
 * GET /model-versions/get-artifact?name=&version=&path=: one file of a model version, read from the
 * version's storage location (its download URI) and streamed as /get-artifact streams a run's files.
 */
export function modelVersionArtifactRoute(
  app: FastifyInstance,
  registry: RegistryService,
  artifacts: ArtifactService,
  fields: (r: FastifyRequest) => RequestFields,
): void {
  app.get('/model-versions/get-artifact', async (request, reply) => {
    const f = fields(request);
    const model = name(f);
    const v = version(f);
    const path = f.requiredString('path');
    // MLflow refuses an unsafe path before it looks the version up.
    safeArtifactPath(path);
    const root = await registry.getModelVersionDownloadUri(model, v);
    return sendArtifact(request, reply, path, (range) => artifacts.readArtifactAt(root, path, range));
  });
}
