import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LocalArtifactRepository } from '../src/artifacts/local-artifact-repository.js';
import { garbageCollect } from '../src/services/gc.js';
import { ArtifactLocations } from '../src/store/artifact-locations.js';
import { openDatabase } from '../src/store/database.js';
import { ScorerReads } from '../src/store/scorer-repository.js';
import { SqlTrackingStore } from '../src/store/sql-tracking-store.js';
import {
  call,
  DIALECTS,
  expectError,
  freshStoreUri,
  startTestServer,
  type TestServer,
  tempDir,
} from './helpers.js';

// MLflow 3's scorer endpoints over real HTTP on both dialects, as MLflow's REST store calls them
// (/api/3.0/mlflow/scorers/..., GET with a query string, DELETE with a JSON body): versions number
// per name and experiment, lists answer each scorer's newest version by name, deletion of one version
// or all, and MLflow's errors for unknown scorers, versions and experiments and for bad input.

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

const serialized = (name: string, body: string) =>
  JSON.stringify({ name, call_source: body, call_signature: '(outputs)', original_func_name: name });

for (const dialect of DIALECTS) {
  describe(`scorers on ${dialect}`, () => {
    let srv: TestServer;
    let v3: string;
    let exp: string;
    let other: string;
    const api = (method: Method, endpoint: string, body?: Record<string, unknown>) =>
      call(srv.api, method, endpoint, body);
    const api3 = (method: Method, endpoint: string, body?: Record<string, unknown>) =>
      call(v3, method, endpoint, body);
    const register = async (name: string, code: string, experimentId = exp) => {
      const res = await api3('POST', 'scorers/register', {
        experiment_id: experimentId,
        name,
        serialized_scorer: serialized(name, code),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };

    before(async () => {
      srv = await startTestServer(dialect);
      v3 = srv.api.replace('/api/2.0/', '/api/3.0/');
      exp = (await api('POST', 'experiments/create', { name: 'scorers' })).body.experiment_id;
      other = (await api('POST', 'experiments/create', { name: 'scorers-other' })).body.experiment_id;
    });
    after(async () => {
      await srv.close();
    });

    test('register numbers versions per name and experiment, with RegisterScorer.Response fields', async () => {
      const before = Date.now();
      const first = await register('relevance', 'return 1');
      assert.equal(first.version, 1);
      assert.equal(first.experiment_id, exp); // a string in RegisterScorer.Response
      assert.equal(first.name, 'relevance');
      assert.equal(first.serialized_scorer, serialized('relevance', 'return 1'));
      assert.match(first.scorer_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.ok(first.creation_time >= before && first.creation_time <= Date.now());
      const second = await register('relevance', 'return 2');
      assert.equal(second.version, 2);
      assert.equal(second.scorer_id, first.scorer_id);
      // The same name in another experiment is another scorer, starting at 1.
      const elsewhere = await register('relevance', 'return 9', other);
      assert.equal(elsewhere.version, 1);
      assert.notEqual(elsewhere.scorer_id, first.scorer_id);
    });

    test('concurrent registrations of one name get distinct versions', async () => {
      const results = await Promise.all([1, 2, 3, 4, 5].map((i) => register('concurrent', `v${i}`)));
      assert.deepEqual(results.map((r) => r.version).sort(), [1, 2, 3, 4, 5]);
      assert.equal(new Set(results.map((r) => r.scorer_id)).size, 1);
    });

    test('list answers the newest version of each scorer, by name, as Scorer messages', async () => {
      await register('accuracy', 'return 0.5');
      const res = await api3('GET', 'scorers/list', { experiment_id: exp });
      assert.equal(res.status, 200);
      const scorers = res.body.scorers as Record<string, unknown>[];
      assert.deepEqual(
        scorers.map((s) => [s.scorer_name, s.scorer_version]),
        [
          ['accuracy', 1],
          ['concurrent', 5],
          ['relevance', 2],
        ],
      );
      const relevance = scorers[2];
      assert.equal(relevance.experiment_id, Number(exp)); // an int32 in the Scorer message
      assert.equal(relevance.serialized_scorer, serialized('relevance', 'return 2'));
      assert.equal(typeof relevance.creation_time, 'number');
      assert.equal(typeof relevance.scorer_id, 'string');
      // An experiment without scorers answers an empty message (empty lists are left out).
      const empty = (await api('POST', 'experiments/create', { name: 'no-scorers' })).body.experiment_id;
      assert.deepEqual((await api3('GET', 'scorers/list', { experiment_id: empty })).body, {});
    });

    test('versions lists every version oldest first; get answers one or the newest', async () => {
      const versions = await api3('GET', 'scorers/versions', { experiment_id: exp, name: 'relevance' });
      assert.equal(versions.status, 200);
      assert.deepEqual(
        versions.body.scorers.map((s: { scorer_version: number; serialized_scorer: string }) => [
          s.scorer_version,
          JSON.parse(s.serialized_scorer).call_source,
        ]),
        [
          [1, 'return 1'],
          [2, 'return 2'],
        ],
      );
      const newest = await api3('GET', 'scorers/get', { experiment_id: exp, name: 'relevance' });
      assert.equal(newest.status, 200);
      assert.equal(newest.body.scorer.scorer_version, 2);
      assert.equal(newest.body.scorer.scorer_name, 'relevance');
      const first = await api3('GET', 'scorers/get', { experiment_id: exp, name: 'relevance', version: 1 });
      assert.equal(first.body.scorer.scorer_version, 1);
      assert.equal(JSON.parse(first.body.scorer.serialized_scorer).call_source, 'return 1');
    });

    test('unknown scorers, versions and experiments are RESOURCE_DOES_NOT_EXIST', async () => {
      await expectError(
        api3('GET', 'scorers/get', { experiment_id: exp, name: 'nope' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        `Scorer with name 'nope' not found for experiment ${exp}.`,
      );
      await expectError(
        api3('GET', 'scorers/get', { experiment_id: exp, name: 'relevance', version: 7 }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        `Scorer with name 'relevance' and version 7 not found for experiment ${exp}.`,
      );
      await expectError(
        api3('GET', 'scorers/versions', { experiment_id: exp, name: 'nope' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api3('GET', 'scorers/list', { experiment_id: '987654' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'No Experiment with id=987654 exists',
      );
      await expectError(
        api3('POST', 'scorers/register', { experiment_id: 'abc', name: 'x', serialized_scorer: '{}' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
    });

    test('bad input is INVALID_PARAMETER_VALUE, never a 500', async () => {
      await expectError(
        api3('POST', 'scorers/register', { experiment_id: exp, name: 'x' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'serialized_scorer'/,
      );
      await expectError(
        api3('POST', 'scorers/register', { name: 'x', serialized_scorer: '{}' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'experiment_id'/,
      );
      await expectError(
        api3('POST', 'scorers/register', {
          experiment_id: exp,
          name: 'x'.repeat(257),
          serialized_scorer: '{}',
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'name' exceeds the maximum length of 256 characters/,
      );
      await expectError(
        api3('POST', 'scorers/register', { experiment_id: exp, name: ['x'], serialized_scorer: '{}' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(api3('GET', 'scorers/list', {}), 400, 'INVALID_PARAMETER_VALUE');
      await expectError(
        api3('GET', 'scorers/get', { experiment_id: exp, name: 'relevance', version: 'one' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api3('GET', 'scorers/get', { experiment_id: exp, name: 'relevance', version: 2 ** 31 }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api3('GET', 'scorers/versions', { experiment_id: exp }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
    });

    test('a deleted experiment has no scorers to reach: MLflow asks for an active one', async () => {
      const gone = (await api('POST', 'experiments/create', { name: 'scorers-deleted' })).body.experiment_id;
      await register('kept', 'x', gone);
      assert.equal((await api('POST', 'experiments/delete', { experiment_id: gone })).status, 200);
      await expectError(
        api3('GET', 'scorers/list', { experiment_id: gone }),
        400,
        'INVALID_PARAMETER_VALUE',
        `The experiment ${gone} must be in the 'active' state. Current state is deleted.`,
      );
      await expectError(
        api3('POST', 'scorers/register', { experiment_id: gone, name: 'more', serialized_scorer: '{}' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
    });

    test('delete removes one version, or every version and the scorer', async () => {
      await register('ephemeral', 'a');
      await register('ephemeral', 'b');
      await register('ephemeral', 'c');
      const one = await api3('DELETE', 'scorers/delete', {
        experiment_id: exp,
        name: 'ephemeral',
        version: 3,
      });
      assert.equal(one.status, 200);
      assert.deepEqual(one.body, {});
      assert.equal(
        (await api3('GET', 'scorers/get', { experiment_id: exp, name: 'ephemeral' })).body.scorer
          .scorer_version,
        2,
      );
      await expectError(
        api3('DELETE', 'scorers/delete', { experiment_id: exp, name: 'ephemeral', version: 3 }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        `Scorer with name 'ephemeral' and version 3 not found for experiment ${exp}.`,
      );
      // The next version continues from the newest left (MLflow numbers from the maximum).
      assert.equal((await register('ephemeral', 'd')).version, 3);
      assert.equal(
        (await api3('DELETE', 'scorers/delete', { experiment_id: exp, name: 'ephemeral' })).status,
        200,
      );
      await expectError(
        api3('GET', 'scorers/versions', { experiment_id: exp, name: 'ephemeral' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      const names = (await api3('GET', 'scorers/list', { experiment_id: exp })).body.scorers.map(
        (s: { scorer_name: string }) => s.scorer_name,
      );
      assert.ok(!names.includes('ephemeral'));
      await expectError(
        api3('DELETE', 'scorers/delete', { experiment_id: exp, name: 'ephemeral' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        `Scorer with name 'ephemeral' not found for experiment ${exp}.`,
      );
      // Registered again, it is a new scorer from version 1.
      assert.equal((await register('ephemeral', 'e')).version, 1);
    });

    test('the ajax-api prefix serves them too; the 2.0 prefix does not', async () => {
      const ajax = await call(`${srv.url}/ajax-api/3.0/mlflow`, 'GET', 'scorers/list', {
        experiment_id: exp,
      });
      assert.equal(ajax.status, 200);
      assert.ok(Array.isArray(ajax.body.scorers));
      await expectError(api('GET', 'scorers/list', { experiment_id: exp }), 404, 'ENDPOINT_NOT_FOUND');
    });
  });

  test(`gc of a deleted experiment on ${dialect} deletes its scorers and their versions`, async () => {
    const store = await freshStoreUri(dialect);
    const files = tempDir('mlflow-ts-scorer-gc-');
    const database = await openDatabase(store.uri);
    const tracking = new SqlTrackingStore(database, new ArtifactLocations('mlflow-artifacts:'));
    try {
      await tracking.init();
      const srv = await startTestServer(dialect, { backendStoreUri: store.uri });
      let gone: string;
      let kept: string;
      try {
        const v3 = srv.api.replace('/api/2.0/', '/api/3.0/');
        gone = (await call(srv.api, 'POST', 'experiments/create', { name: 'gc-gone' })).body.experiment_id;
        kept = (await call(srv.api, 'POST', 'experiments/create', { name: 'gc-kept' })).body.experiment_id;
        for (const experimentId of [gone, kept]) {
          for (const serialized of ['{"v": 1}', '{"v": 2}']) {
            const res = await call(v3, 'POST', 'scorers/register', {
              experiment_id: experimentId,
              name: 'judge',
              serialized_scorer: serialized,
            });
            assert.equal(res.status, 200);
          }
        }
        assert.equal(
          (await call(srv.api, 'POST', 'experiments/delete', { experiment_id: gone })).status,
          200,
        );
      } finally {
        await srv.close();
      }
      const report = await garbageCollect(
        tracking,
        new LocalArtifactRepository(files.dir),
        { experimentIds: [gone] },
        { info: () => {}, warn: () => {} },
      );
      assert.deepEqual(report.experiments, [gone]);
      const count = async (table: 'scorers' | 'scorer_versions') =>
        (
          await database.reader
            .selectFrom(table)
            .select(({ fn }) => fn.countAll().as('n'))
            .executeTakeFirst()
        )?.n;
      assert.equal(Number(await count('scorers')), 1);
      assert.equal(Number(await count('scorer_versions')), 2);
      const left = await new ScorerReads(database).listScorers(kept);
      assert.deepEqual(
        left.map((s) => [s.scorerName, s.scorerVersion]),
        [['judge', 2]],
      );
    } finally {
      await tracking.close();
      store.cleanup();
      files.cleanup();
    }
  });
}
