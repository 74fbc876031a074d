import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MlflowError } from '../src/entities/errors.js';
import { type LoggedModelLocation, RegistryService } from '../src/services/registry-service.js';
import { openDatabase, type StoreDatabase } from '../src/store/database.js';
import { SqlRegistryStore } from '../src/store/sql-registry-store.js';
import { DIALECTS, freshStoreUri, rejectsWith } from './helpers.js';

// The registry service over a real store with a fixed logged-model lookup in place of the logged-model
// service: the registry's own rules for versions made from MLflow 3 logged models, and a registry
// without logged models. The whole path over REST (the mlflow.modelVersions tag included) is tested
// in logged-models.test.ts.

const LOGGED: Record<string, LoggedModelLocation> = {
  'm-abc': { artifactLocation: '/store/models/m-abc/artifacts', sourceRunId: 'r'.repeat(32) },
};

async function lookUp(modelId: string): Promise<LoggedModelLocation> {
  const found = LOGGED[modelId];
  if (!found) throw MlflowError.notFound(`Logged model with ID '${modelId}' not found.`);
  return found;
}

for (const dialect of DIALECTS) {
  describe(`registry service on ${dialect}`, () => {
    let database: StoreDatabase;
    let cleanup: () => void;
    let withModels: RegistryService;
    let withoutModels: RegistryService;

    before(async () => {
      const fresh = await freshStoreUri(dialect);
      cleanup = fresh.cleanup;
      database = await openDatabase(fresh.uri);
      const store = new SqlRegistryStore(database);
      const runArtifactUri = async (runId: string): Promise<string> => {
        throw MlflowError.notFound(`Run with id=${runId} not found`);
      };
      withModels = new RegistryService(store, { runArtifactUri, loggedModel: lookUp });
      withoutModels = new RegistryService(store, { runArtifactUri });
      await withModels.createRegisteredModel('lm', []);
    });
    after(async () => {
      await database.close();
      cleanup();
    });

    test('a models:/<model_id> source stores the logged model location and its run', async () => {
      const mv = await withModels.createModelVersion({
        name: 'lm',
        source: 'models:/m-abc',
        modelId: 'm-abc',
        tags: [],
      });
      assert.equal(mv.source, 'models:/m-abc');
      assert.equal(mv.run_id, 'r'.repeat(32));
      assert.equal(
        await withModels.getModelVersionDownloadUri('lm', mv.version),
        '/store/models/m-abc/artifacts',
      );
      await rejectsWith(
        withoutModels.createModelVersion({ name: 'lm', source: 'models:/m-abc', tags: [] }),
        'INVALID_PARAMETER_VALUE',
        /Unable to fetch model from model URI source artifact location 'models:\/m-abc'.*does not keep logged models/,
      );
      await rejectsWith(
        withModels.createModelVersion({ name: 'lm', source: 'models:/m-nope', tags: [] }),
        'INVALID_PARAMETER_VALUE',
        /Logged model with ID 'm-nope' not found/,
      );
    });

    test('a local source must lie inside the logged model artifact directory', async () => {
      const inside = await withModels.createModelVersion({
        name: 'lm',
        source: '/store/models/m-abc/artifacts/model',
        modelId: 'm-abc',
        tags: [],
      });
      assert.equal(inside.source, '/store/models/m-abc/artifacts/model');
      await rejectsWith(
        withModels.createModelVersion({
          name: 'lm',
          source: '/store/models/other',
          modelId: 'm-abc',
          tags: [],
        }),
        'INVALID_PARAMETER_VALUE',
        /^Invalid model version source: '\/store\/models\/other'. To use a local path as a model version source, the model_id request parameter has to be specified/,
      );
      await rejectsWith(
        withModels.createModelVersion({ name: 'lm', source: '/x', modelId: 'm-nope', tags: [] }),
        'RESOURCE_DOES_NOT_EXIST',
      );
    });
  });
}
