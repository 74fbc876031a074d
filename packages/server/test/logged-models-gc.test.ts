import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LoggedModelService } from '../src/services/logged-model-service.js';
import { TrackingService } from '../src/services/tracking-service.js';
import { ArtifactLocations } from '../src/store/artifact-locations.js';
import { openDatabase } from '../src/store/database.js';
import { SqlTrackingStore } from '../src/store/sql-tracking-store.js';
import { DIALECTS, freshStoreUri, rejectsWith } from './helpers.js';

// Permanent deletion (gc) with logged models: a run's model metrics go with the run, an experiment's
// models (with their tags, params and metrics) go with the experiment, on both dialects.

for (const dialect of DIALECTS) {
  describe(`gc and logged models on ${dialect}`, () => {
    let store: SqlTrackingStore;
    let tracking: TrackingService;
    let models: LoggedModelService;
    let cleanup: () => void;

    before(async () => {
      const fresh = await freshStoreUri(dialect);
      cleanup = fresh.cleanup;
      store = new SqlTrackingStore(await openDatabase(fresh.uri), new ArtifactLocations('/tmp/gc-artifacts'));
      await store.init();
      tracking = new TrackingService(store);
      models = new LoggedModelService(store);
    });
    after(async () => {
      await store.close();
      cleanup();
    });

    test('removing a run removes its model metrics; removing an experiment removes its models', async () => {
      const exp = await tracking.createExperiment('gc-models', undefined, []);
      const run = (await tracking.createRun({ experimentId: exp, tags: [] })).info.run_id;
      const model = await models.createLoggedModel({
        experimentId: exp,
        name: 'kept',
        params: [{ key: 'p', value: '1' }],
        tags: [{ key: 't', value: 'v' }],
      });
      const id = model.info.model_id;
      assert.equal(model.info.artifact_uri, `/tmp/gc-artifacts/${exp}/models/${id}/artifacts`);
      await tracking.logBatch(run, [{ key: 'm', value: 1, timestamp: 1, step: 0, model_id: id }], [], []);
      await models.logOutputs(run, [{ modelId: id, step: 0 }]);
      await tracking.logInputs(run, [], [id]);
      assert.deepEqual((await tracking.getRun(run)).outputs, { model_outputs: [{ model_id: id, step: 0 }] });
      assert.equal((await models.getLoggedModel(id)).data.metrics.length, 1);

      await tracking.deleteRun(run);
      await store.hardDeleteRun(run);
      const kept = await models.getLoggedModel(id);
      // The run's links to models went with it.
      const db = (store as unknown as { db: import('kysely').Kysely<any> }).db;
      const links = await db.selectFrom('inputs').select('input_uuid').where('source_id', '=', run).execute();
      assert.deepEqual(links, []);
      assert.deepEqual(kept.data.metrics, []);
      assert.deepEqual(kept.data.params, [{ key: 'p', value: '1' }]);

      await tracking.deleteExperiment(exp);
      await store.hardDeleteExperiment(exp);
      await rejectsWith(models.getLoggedModel(id), 'RESOURCE_DOES_NOT_EXIST');
      await rejectsWith(models.deleteLoggedModel(id), 'RESOURCE_DOES_NOT_EXIST');
    });
  });
}
