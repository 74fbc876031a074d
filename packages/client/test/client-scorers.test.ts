import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MlflowClient, MlflowError } from '@mlflow-ts/client';
import { DIALECTS, startTestServer, type TestServer } from '../../server/test/helpers.js';

// MlflowClient's scorer methods against a real server on both dialects: they reach MLflow 3's
// /api/3.0/mlflow/scorers/* endpoints (also from a client configured with the ajax-api prefix) and
// hand back the wire types, with MlflowError for what the server refuses.

for (const dialect of DIALECTS) {
  describe(`client scorers on ${dialect}`, () => {
    let srv: TestServer;
    let client: MlflowClient;
    let exp: string;

    before(async () => {
      srv = await startTestServer(dialect);
      client = new MlflowClient({ trackingUri: srv.url });
      exp = await client.createExperiment('client-scorers');
    });
    after(async () => {
      await srv.close();
    });

    test('register, list, versions, get and delete', async () => {
      const first = await client.registerScorer(exp, 'tone', '{"name": "tone", "v": 1}');
      assert.equal(first.version, 1);
      assert.equal(first.experiment_id, exp);
      assert.equal(first.name, 'tone');
      assert.equal((await client.registerScorer(exp, 'tone', '{"name": "tone", "v": 2}')).version, 2);
      await client.registerScorer(exp, 'length', '{"name": "length"}');

      const listed = await client.listScorers(exp);
      assert.deepEqual(
        listed.map((s) => [s.scorer_name, s.scorer_version, s.experiment_id]),
        [
          ['length', 1, Number(exp)],
          ['tone', 2, Number(exp)],
        ],
      );
      assert.deepEqual(
        (await client.listScorerVersions(exp, 'tone')).map((s) => s.serialized_scorer),
        ['{"name": "tone", "v": 1}', '{"name": "tone", "v": 2}'],
      );
      assert.equal((await client.getScorer(exp, 'tone')).scorer_version, 2);
      assert.equal((await client.getScorer(exp, 'tone', 1)).serialized_scorer, '{"name": "tone", "v": 1}');

      await client.deleteScorer(exp, 'tone', 2);
      assert.equal((await client.getScorer(exp, 'tone')).scorer_version, 1);
      await client.deleteScorer(exp, 'tone');
      assert.deepEqual(
        (await client.listScorers(exp)).map((s) => s.scorer_name),
        ['length'],
      );
      await assert.rejects(client.getScorer(exp, 'tone'), (error: unknown) => {
        assert.ok(error instanceof MlflowError);
        assert.equal(error.errorCode, 'RESOURCE_DOES_NOT_EXIST');
        assert.equal(error.status, 404);
        return true;
      });
      const empty = await client.createExperiment('client-scorers-empty');
      assert.deepEqual(await client.listScorers(empty), []);
    });

    test('a client on the ajax-api prefix reaches the 3.0 endpoints there', async () => {
      const ajax = new MlflowClient({ trackingUri: srv.url, apiPrefix: '/ajax-api/2.0/mlflow' });
      assert.deepEqual(
        (await ajax.listScorers(exp)).map((s) => s.scorer_name),
        ['length'],
      );
    });
  });
}
