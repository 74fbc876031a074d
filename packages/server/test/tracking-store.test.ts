import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TrackingService } from '../src/services/tracking-service.js';
import { ArtifactLocations } from '../src/store/artifact-locations.js';
import { openDatabase } from '../src/store/database.js';
import { SqlTrackingStore } from '../src/store/sql-tracking-store.js';
import { DIALECTS, freshStoreUri, rejectsWith, useTestTracking } from './helpers.js';

// One suite for the store and its rules, run against a real SQLite file and a real PostgreSQL server.

for (const dialect of DIALECTS) {
  describe(`tracking store on ${dialect}`, () => {
    const svc = useTestTracking(dialect);

    const newRun = async (experimentId: string, extra: { runName?: string; startTime?: number } = {}) =>
      (
        await svc.createRun({
          experimentId,
          userId: 'tester',
          startTime: extra.startTime ?? Date.now(),
          runName: extra.runName,
          tags: [],
        })
      ).info.run_id;

    test('a fresh store has the Default experiment 0 with an artifact location', async () => {
      const exp = await svc.getExperiment('0');
      assert.equal(exp.name, 'Default');
      assert.equal(exp.lifecycle_stage, 'active');
      assert.equal(exp.artifact_location, 'mlflow-artifacts:/0');
    });

    test('experiments: create, get, names unique across active and deleted, rename, delete and restore', async () => {
      const id = await svc.createExperiment('exp-a', undefined, [{ key: 'team', value: 'x' }]);
      assert.match(id, /^\d+$/);
      const exp = await svc.getExperimentByName('exp-a');
      assert.equal(exp.experiment_id, id);
      assert.equal(exp.artifact_location, `mlflow-artifacts:/${id}`);
      assert.deepEqual(exp.tags, [{ key: 'team', value: 'x' }]);
      await rejectsWith(svc.createExperiment('exp-a', undefined, []), 'RESOURCE_ALREADY_EXISTS');

      const runId = await newRun(id);
      await svc.deleteExperiment(id);
      assert.equal((await svc.getExperiment(id)).lifecycle_stage, 'deleted');
      assert.equal((await svc.getRun(runId)).info.lifecycle_stage, 'deleted');
      await rejectsWith(svc.createExperiment('exp-a', undefined, []), 'RESOURCE_ALREADY_EXISTS', /deleted/);
      await rejectsWith(svc.deleteExperiment(id), 'RESOURCE_DOES_NOT_EXIST');
      await rejectsWith(svc.renameExperiment(id, 'other'), 'INVALID_PARAMETER_VALUE', /non-active/);
      await rejectsWith(
        svc.createRun({ experimentId: id, tags: [] }),
        'INVALID_PARAMETER_VALUE',
        /must be in the 'active' state/,
      );

      await svc.restoreExperiment(id);
      assert.equal((await svc.getRun(runId)).info.lifecycle_stage, 'active');
      await rejectsWith(svc.restoreExperiment(id), 'RESOURCE_DOES_NOT_EXIST');
      await svc.renameExperiment(id, 'exp-a-renamed');
      assert.equal((await svc.getExperiment(id)).name, 'exp-a-renamed');
      await rejectsWith(
        svc.getExperimentByName('exp-a'),
        'RESOURCE_DOES_NOT_EXIST',
        /Could not find experiment with name 'exp-a'/,
      );
      await rejectsWith(
        svc.getExperiment('999999'),
        'RESOURCE_DOES_NOT_EXIST',
        /No Experiment with id=999999 exists/,
      );
      await rejectsWith(svc.getExperiment('abc'), 'RESOURCE_DOES_NOT_EXIST');
    });

    test('experiment tags: upsert, delete, and errors', async () => {
      const id = await svc.createExperiment('exp-tags', 's3://bucket/place', []);
      assert.equal((await svc.getExperiment(id)).artifact_location, 's3://bucket/place');
      await svc.setExperimentTag(id, { key: 'k', value: '1' });
      await svc.setExperimentTag(id, { key: 'k', value: '2' });
      assert.deepEqual((await svc.getExperiment(id)).tags, [{ key: 'k', value: '2' }]);
      await svc.deleteExperimentTag(id, 'k');
      assert.deepEqual((await svc.getExperiment(id)).tags, []);
      await rejectsWith(svc.deleteExperimentTag(id, 'k'), 'RESOURCE_DOES_NOT_EXIST', /No tag with name: k/);
      await rejectsWith(
        svc.setExperimentTag(id, { key: 'k', value: 'v'.repeat(5001) }),
        'INVALID_PARAMETER_VALUE',
        /5000/,
      );
    });

    test('runs: names, the mlflow.runName tag, update and lifecycle', async () => {
      const exp = await svc.createExperiment('exp-runs', undefined, []);
      const run = await svc.createRun({
        experimentId: exp,
        userId: 'u',
        startTime: 10,
        tags: [{ key: 'a', value: 'b' }],
      });
      assert.match(run.info.run_id, /^[0-9a-f]{32}$/);
      assert.equal(run.info.run_uuid, run.info.run_id);
      assert.match(run.info.run_name, /^[a-z]+-[a-z]+-\d+$/);
      assert.equal(run.info.artifact_uri, `mlflow-artifacts:/${exp}/${run.info.run_id}/artifacts`);
      assert.ok(run.data.tags.some((t) => t.key === 'mlflow.runName' && t.value === run.info.run_name));

      const named = await svc.createRun({
        experimentId: exp,
        tags: [{ key: 'mlflow.runName', value: 'from-tag' }],
      });
      assert.equal(named.info.run_name, 'from-tag');
      await rejectsWith(
        svc.createRun({ experimentId: exp, runName: 'x', tags: [{ key: 'mlflow.runName', value: 'y' }] }),
        'INVALID_PARAMETER_VALUE',
        /Both 'run_name' argument and 'mlflow.runName' tag are specified/,
      );

      const id = run.info.run_id;
      const info = await svc.updateRun(id, { status: 'FINISHED', endTime: 99, runName: 'renamed' });
      assert.equal(info.status, 'FINISHED');
      assert.equal(info.end_time, 99);
      const fetched = await svc.getRun(id);
      assert.equal(fetched.info.run_name, 'renamed');
      assert.ok(fetched.data.tags.some((t) => t.key === 'mlflow.runName' && t.value === 'renamed'));
      await svc.setTag(id, { key: 'mlflow.runName', value: 'via-tag' });
      assert.equal((await svc.getRun(id)).info.run_name, 'via-tag');

      await svc.deleteRun(id);
      assert.equal((await svc.getRun(id)).info.lifecycle_stage, 'deleted');
      await rejectsWith(
        svc.logParam(id, { key: 'p', value: '1' }),
        'INVALID_PARAMETER_VALUE',
        /must be in the 'active' state/,
      );
      await svc.restoreRun(id);
      await svc.logParam(id, { key: 'p', value: '1' });
      await rejectsWith(svc.getRun('0'.repeat(32)), 'RESOURCE_DOES_NOT_EXIST', /Run with id=0{32} not found/);
      await rejectsWith(svc.deleteTag(id, 'missing'), 'RESOURCE_DOES_NOT_EXIST', /No tag with name: missing/);
    });

    test('params are write-once; a failing batch writes nothing', async () => {
      const exp = await svc.createExperiment('exp-params', undefined, []);
      const id = await newRun(exp);
      await svc.logParam(id, { key: 'lr', value: '0.1' });
      await svc.logParam(id, { key: 'lr', value: '0.1' });
      await rejectsWith(
        svc.logParam(id, { key: 'lr', value: '0.2' }),
        'INVALID_PARAMETER_VALUE',
        /Param with key='lr' was already logged with value='0.1'.*Attempted logging new value '0.2'/,
      );
      await rejectsWith(
        svc.logBatch(
          id,
          [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
          [{ key: 'lr', value: '0.3' }],
          [{ key: 't', value: 'v' }],
        ),
        'INVALID_PARAMETER_VALUE',
        /Params were already logged/,
      );
      const run = await svc.getRun(id);
      assert.deepEqual(run.data.metrics, []);
      assert.ok(!run.data.tags.some((t) => t.key === 't'));
      assert.deepEqual(run.data.params, [{ key: 'lr', value: '0.1' }]);
      await rejectsWith(
        svc.logBatch(
          id,
          [],
          [
            { key: 'a', value: '1' },
            { key: 'a', value: '2' },
          ],
          [],
        ),
        'INVALID_PARAMETER_VALUE',
        /Duplicate parameter keys have been submitted: \['a'\]/,
      );
    });

    test('metrics: full history, latest by step then timestamp then value, NaN and infinities, dedupe', async () => {
      const exp = await svc.createExperiment('exp-metrics', undefined, []);
      const id = await newRun(exp);
      await svc.logBatch(
        id,
        [
          { key: 'loss', value: 0.5, timestamp: 300, step: 1 },
          { key: 'loss', value: 0.4, timestamp: 100, step: 2 },
          { key: 'loss', value: 0.9, timestamp: 200, step: 0 },
          { key: 'loss', value: 0.4, timestamp: 100, step: 2 },
          { key: 'nan', value: Number.NaN, timestamp: 1, step: 0 },
          { key: 'inf', value: Number.POSITIVE_INFINITY, timestamp: 1, step: 0 },
          { key: 'ninf', value: Number.NEGATIVE_INFINITY, timestamp: 1, step: 0 },
        ],
        [],
        [],
      );
      await svc.logMetric(id, { key: 'loss', value: 0.3, timestamp: 50, step: 2 });
      const latest = Object.fromEntries((await svc.getRun(id)).data.metrics.map((m) => [m.key, m]));
      assert.deepEqual(latest.loss, { key: 'loss', value: 0.4, timestamp: 100, step: 2 });
      assert.ok(Number.isNaN(latest.nan.value));
      assert.equal(latest.inf.value, 1.7976931348623157e308);
      assert.equal(latest.ninf.value, -1.7976931348623157e308);

      const history = await svc.getMetricHistory({ runId: id, key: 'loss' });
      assert.deepEqual(
        history.items.map((m) => [m.timestamp, m.step, m.value]),
        [
          [50, 2, 0.3],
          [100, 2, 0.4],
          [200, 0, 0.9],
          [300, 1, 0.5],
        ],
      );
      const page1 = await svc.getMetricHistory({ runId: id, key: 'loss', maxResults: 3 });
      assert.equal(page1.items.length, 3);
      assert.ok(page1.nextPageToken);
      const page2 = await svc.getMetricHistory({
        runId: id,
        key: 'loss',
        maxResults: 3,
        pageToken: page1.nextPageToken,
      });
      assert.deepEqual(
        page2.items.map((m) => m.value),
        [0.5],
      );
      assert.equal(page2.nextPageToken, undefined);
      assert.deepEqual((await svc.getMetricHistory({ runId: 'f'.repeat(32), key: 'loss' })).items, []);
      await rejectsWith(
        svc.logMetric(id, { key: 'bad!', value: 1, timestamp: 1, step: 0 }),
        'INVALID_PARAMETER_VALUE',
        /Names may only contain/,
      );
      await rejectsWith(
        svc.logMetric(id, { key: 'a/../b', value: 1, timestamp: 1, step: 0 }),
        'INVALID_PARAMETER_VALUE',
        /would resolve to 'b'/,
      );
      await rejectsWith(
        svc.logMetric(id, { key: 'x', value: 1, timestamp: -1, step: 0 }),
        'INVALID_PARAMETER_VALUE',
        /nonnegative/,
      );
    });

    test('bulk history and the sampled bulk-interval history', async () => {
      const exp = await svc.createExperiment('exp-bulk', undefined, []);
      const a = await newRun(exp);
      const b = await newRun(exp);
      const points = (n: number, offset = 0) =>
        Array.from({ length: n }, (_, i) => ({
          key: 'acc',
          value: i / n,
          timestamp: 1000 + i,
          step: i + offset,
        }));
      for (let i = 0; i < 10; i++) await svc.logBatch(a, points(1000).slice(i * 100, i * 100 + 100), [], []);
      await svc.logBatch(b, points(10, 5), [], []);
      const bulk = await svc.getMetricHistoryBulk([a, b], 'acc', undefined);
      assert.equal(bulk.filter((m) => m.run_id === a).length, 1000);
      assert.equal(bulk.filter((m) => m.run_id === b).length, 10);

      const sampled = await svc.getMetricHistoryBulkInterval({ runIds: [a, b], key: 'acc', maxResults: 50 });
      const stepsA = sampled.filter((m) => m.run_id === a).map((m) => m.step);
      assert.ok(stepsA.length >= 50 && stepsA.length <= 60, `sampled ${stepsA.length}`);
      assert.equal(stepsA[0], 0);
      assert.equal(stepsA.at(-1), 999);
      const stepsB = sampled.filter((m) => m.run_id === b).map((m) => m.step);
      assert.ok(stepsB.includes(5) && stepsB.includes(14), 'each run keeps its first and last step');

      const ranged = await svc.getMetricHistoryBulkInterval({
        runIds: [a],
        key: 'acc',
        startStep: 100,
        endStep: 110,
        maxResults: 2500,
      });
      assert.deepEqual(
        ranged.map((m) => m.step),
        Array.from({ length: 11 }, (_, i) => 100 + i),
      );
      await rejectsWith(
        svc.getMetricHistoryBulkInterval({ runIds: [a], key: 'acc', startStep: 5 }),
        'INVALID_PARAMETER_VALUE',
        /both must be specified/,
      );
      await rejectsWith(
        svc.getMetricHistoryBulkInterval({ runIds: [a], key: 'acc', maxResults: 2501 }),
        'INVALID_PARAMETER_VALUE',
        /between 1 and 2500/,
      );
    });

    test('dataset inputs are stored once per run with their tags', async () => {
      const exp = await svc.createExperiment('exp-inputs', undefined, []);
      const id = await newRun(exp);
      const input = {
        dataset: {
          name: 'train',
          digest: 'abc123',
          source_type: 'local',
          source: '{"uri":"/data"}',
          schema: '{}',
        },
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
      };
      await svc.logInputs(id, [input, input]);
      await svc.logInputs(id, [input]);
      const run = await svc.getRun(id);
      assert.equal(run.inputs.dataset_inputs.length, 1);
      assert.deepEqual(run.inputs.dataset_inputs[0], input);
      const found = await svc.searchRuns({
        experimentIds: [exp],
        filter: "dataset.context = 'training'",
        orderBy: [],
        viewType: 'ACTIVE_ONLY',
        maxResults: 10,
      });
      assert.deepEqual(
        found.items.map((r) => r.info.run_id),
        [id],
      );
    });

    test('search runs: filters, ordering with missing values last, paging and view types', async () => {
      const exp = await svc.createExperiment('exp-srch', undefined, []);
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const id = await newRun(exp, { runName: `run-${i}`, startTime: 1000 + i });
        ids.push(id);
        const metrics = i === 5 ? [] : [{ key: 'acc', value: i / 10, timestamp: 1, step: 0 }];
        await svc.logBatch(
          id,
          metrics,
          [{ key: 'model', value: i % 2 ? 'cnn' : 'MLP' }],
          [{ key: 'group', value: `g${i % 3}` }],
        );
      }
      await svc.deleteRun(ids[0]);
      const search = async (
        filter?: string,
        orderBy: string[] = [],
        viewType: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL' = 'ACTIVE_ONLY',
      ) =>
        (
          await svc.searchRuns({ experimentIds: [exp], filter, orderBy, viewType, maxResults: 100 })
        ).items.map((r) => r.info.run_name);

      assert.deepEqual(await search(), ['run-5', 'run-4', 'run-3', 'run-2', 'run-1']);
      assert.deepEqual(await search('metrics.acc >= 0.3'), ['run-4', 'run-3']);
      assert.deepEqual(await search("params.model = 'cnn' and metrics.acc < 0.3"), ['run-1']);
      assert.deepEqual(await search("params.model LIKE 'ml%'"), []);
      assert.deepEqual(await search("params.model ILIKE 'ml%'"), ['run-4', 'run-2']);
      assert.deepEqual(await search("tags.group != 'g0'"), ['run-5', 'run-4', 'run-2', 'run-1']);
      assert.deepEqual(await search(`attributes.run_id IN ('${ids[1]}', '${ids[3]}')`), ['run-3', 'run-1']);
      assert.deepEqual(await search(`attributes.run_id = '${ids[2]}'`), ['run-2']);
      assert.deepEqual(await search('attributes.start_time > 1003'), ['run-5', 'run-4']);
      assert.deepEqual(await search("tags.`mlflow.runName` = 'run-3'"), ['run-3']);
      assert.deepEqual(await search(undefined, ['metrics.acc DESC']), [
        'run-4',
        'run-3',
        'run-2',
        'run-1',
        'run-5',
      ]);
      assert.deepEqual(await search(undefined, ['metrics.acc ASC']), [
        'run-1',
        'run-2',
        'run-3',
        'run-4',
        'run-5',
      ]);
      assert.deepEqual(await search(undefined, ['params.model', 'attributes.start_time ASC']), [
        'run-2',
        'run-4',
        'run-1',
        'run-3',
        'run-5',
      ]);
      assert.deepEqual(await search(undefined, [], 'DELETED_ONLY'), ['run-0']);
      assert.equal((await search(undefined, [], 'ALL')).length, 6);

      const page1 = await svc.searchRuns({
        experimentIds: [exp],
        orderBy: [],
        viewType: 'ALL',
        maxResults: 4,
      });
      assert.equal(page1.items.length, 4);
      const page2 = await svc.searchRuns({
        experimentIds: [exp],
        orderBy: [],
        viewType: 'ALL',
        maxResults: 4,
        pageToken: page1.nextPageToken,
      });
      assert.deepEqual(
        page2.items.map((r) => r.info.run_name),
        ['run-1', 'run-0'],
      );
      assert.equal(page2.nextPageToken, undefined);

      await rejectsWith(search('metrics.acc > '), 'INVALID_PARAMETER_VALUE', /position/);
      await rejectsWith(search("metrics.acc = 'x'"), 'INVALID_PARAMETER_VALUE', /numeric/);
      await rejectsWith(search('params.model = 3'), 'INVALID_PARAMETER_VALUE', /quoted string/);
      await rejectsWith(search('attributes.nope = 1'), 'INVALID_PARAMETER_VALUE', /Invalid attribute key/);
      await rejectsWith(
        svc.searchRuns({ experimentIds: [exp], orderBy: [], viewType: 'ALL', maxResults: 50001 }),
        'INVALID_PARAMETER_VALUE',
        /Invalid value 50001 for parameter 'max_results' supplied/,
      );
      await rejectsWith(
        svc.searchRuns({
          experimentIds: [exp],
          orderBy: [],
          viewType: 'ALL',
          maxResults: 10,
          pageToken: '!!',
        }),
        'INVALID_PARAMETER_VALUE',
        /page token/,
      );
    });

    test('search experiments: name and tag filters, ordering, paging', async () => {
      for (const name of ['zeta-xs', 'alpha-xs', 'beta-xs']) {
        const id = await svc.createExperiment(name, undefined, [
          { key: 'kind', value: name.startsWith('a') ? 'first' : 'other' },
        ]);
        if (name === 'beta-xs') await svc.deleteExperiment(id);
      }
      const names = async (
        filter: string | undefined,
        orderBy: string[] = [],
        viewType: 'ACTIVE_ONLY' | 'ALL' = 'ACTIVE_ONLY',
      ) =>
        (await svc.searchExperiments({ filter, orderBy, viewType, maxResults: 100 })).items.map(
          (e) => e.name,
        );
      assert.deepEqual(await names("name LIKE '%-xs'", ['name ASC']), ['alpha-xs', 'zeta-xs']);
      assert.deepEqual(await names("name LIKE '%-xs'", ['name DESC'], 'ALL'), [
        'zeta-xs',
        'beta-xs',
        'alpha-xs',
      ]);
      assert.deepEqual(await names("tags.kind = 'first'"), ['alpha-xs']);
      const first = await svc.searchExperiments({ orderBy: [], viewType: 'ALL', maxResults: 2 });
      assert.equal(first.items.length, 2);
      assert.ok(first.nextPageToken);
      await rejectsWith(names('metrics.x > 1'), 'INVALID_PARAMETER_VALUE');
    });

    test('concurrent writes are grouped and isolated from each other', async () => {
      const exp = await svc.createExperiment('exp-concurrency', undefined, []);
      const runIds = await Promise.all(Array.from({ length: 20 }, () => newRun(exp)));
      const writes = runIds.flatMap((id, r) =>
        Array.from({ length: 10 }, (_, i) =>
          svc.logBatch(
            id,
            [{ key: 'm', value: i, timestamp: i, step: i }],
            [{ key: `p${i}`, value: String(r) }],
            [],
          ),
        ),
      );
      // A write that fails inside a group must not undo its neighbours.
      const doomed = svc.logParam(runIds[0], { key: 'p0', value: 'different' });
      const results = await Promise.allSettled([...writes, doomed]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 200);
      assert.equal(results.at(-1)?.status, 'rejected');
      for (const id of runIds) {
        const run = await svc.getRun(id);
        assert.equal(run.data.params.length, 10);
        assert.equal((await svc.getMetricHistory({ runId: id, key: 'm' })).items.length, 10);
      }
    });
  });
}

// Search and get keep each run's params, tags and latest metrics between reads (run-data-cache.ts). Every
// write to those lists must show in the next read, whether this store or another one on the same
// database (another server process) made it; a store that has never read the run is the reference.
for (const dialect of DIALECTS) {
  test(`${dialect}: reads of a run's lists follow every write, from this store or another on the database`, async () => {
    const fresh = await freshStoreUri(dialect);
    const locations = new ArtifactLocations('mlflow-artifacts:');
    const here = await openDatabase(fresh.uri);
    const elsewhere = await openDatabase(fresh.uri);
    const reader = new TrackingService(new SqlTrackingStore(here, locations));
    const writers = [reader, new TrackingService(new SqlTrackingStore(elsewhere, locations))];
    try {
      const exp = await reader.createExperiment('exp-run-data', undefined, []);
      const run = await reader.createRun({
        experimentId: exp,
        runName: 'first',
        tags: [{ key: 't', value: '1' }],
      });
      const runId = run.info.run_id;
      const lists = async (svc: TrackingService) => {
        const page = await svc.searchRuns({
          experimentIds: [exp],
          orderBy: [],
          viewType: 'ALL',
          maxResults: 10,
        });
        const found = page.items[0].data;
        const fromGet = (await svc.getRun(runId)).data;
        const searched = {
          params: found.params.decode(),
          tags: found.tags.decode(),
          metrics: found.metrics.decode(),
        };
        assert.deepEqual(fromGet, searched);
        return searched;
      };
      const writes: [string, (svc: TrackingService) => Promise<unknown>][] = [
        [
          'log-batch',
          (svc) =>
            svc.logBatch(
              runId,
              [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
              [{ key: 'p', value: 'a' }],
              [{ key: 'u', value: 'x' }],
            ),
        ],
        ['log-metric', (svc) => svc.logMetric(runId, { key: 'm', value: 2, timestamp: 2, step: 1 })],
        ['log-param', (svc) => svc.logParam(runId, { key: 'q', value: 'b' })],
        ['set-tag', (svc) => svc.setTag(runId, { key: 't', value: '2' })],
        ['delete-tag', (svc) => svc.deleteTag(runId, 'u')],
        ['rename', (svc) => svc.updateRun(runId, { runName: 'second' })],
        [
          'batch naming the run',
          (svc) => svc.logBatch(runId, [], [], [{ key: 'mlflow.runName', value: 'third' }]),
        ],
      ];
      let previous = await lists(reader);
      for (const [i, [name, write]] of writes.entries()) {
        await write(writers[i % 2]);
        const now = await lists(reader);
        const reference = await lists(new TrackingService(new SqlTrackingStore(here, locations)));
        assert.deepEqual(now, reference, `after ${name}`);
        assert.notDeepEqual(now, previous, `${name} changed the run's lists`);
        previous = now;
      }
      assert.deepEqual(previous, {
        params: [
          { key: 'p', value: 'a' },
          { key: 'q', value: 'b' },
        ],
        tags: [
          { key: 'mlflow.runName', value: 'third' },
          { key: 't', value: '2' },
        ],
        metrics: [{ key: 'm', value: 2, timestamp: 2, step: 1 }],
      });
      assert.equal((await reader.getRun(runId)).info.run_name, 'third');
    } finally {
      await here.close();
      await elsewhere.close();
      fresh.cleanup();
    }
  });
}
