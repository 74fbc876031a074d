// Drives a whole tracking flow through `mlflow` 2.0.7, a third-party Node MLflow client that nobody on
// this project wrote, against both store dialects. It sends what it sends (run_uuid beside run_id,
// `filter` in runs/search, int64 fields as JSON numbers) and only accepts HTTP 200 as success.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mlflowPkg from 'mlflow';
import { RunStatus, ViewType } from 'mlflow/enum.js';
import { DIALECTS, startTestServer, type TestServer } from './helpers.js';

// The package's runtime export is `module.exports = class MLflow`, while its typings declare an ES
// default export; under NodeNext the default import is typed as the module namespace.
const MLflow = ((mlflowPkg as any).default ?? mlflowPkg) as typeof mlflowPkg.default;
type Client = InstanceType<typeof MLflow>;
type Experiment = Awaited<ReturnType<Client['Experiments']['get']>>['experiment'];

interface KeyValue {
  key: string;
  value: unknown;
}

/**
 * The package has no get-by-name or experiments/search; reuse its own (protected) transport so those
 * calls get the same URL building and error handling as the rest.
 */
function raw<T>(service: object, method: 'get' | 'post', path: string, param: object): Promise<T> {
  type Transport = { req(method: string, path: string, param: object): Promise<T> };
  return (service as unknown as Transport).req(method, path, param);
}

/** The package throws `new Error(String(new Error(JSON.stringify({status, statusText, data}))))`. */
function parseClientError(error: unknown): {
  status?: number;
  data?: { error_code?: string; message?: string };
} {
  assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
  const text = error.message.replace(/^Error: /, '');
  try {
    return JSON.parse(text);
  } catch {
    assert.fail(`the client's error does not carry an HTTP response: ${error.message}`);
  }
}

const byKey = (items: KeyValue[] | undefined) =>
  Object.fromEntries((items ?? []).map((x) => [x.key, x.value]));

for (const dialect of DIALECTS) {
  describe(`third-party npm client "mlflow" 2.0.7 (${dialect})`, () => {
    let server: TestServer;
    let client: Client;
    const originalLog = console.log;
    const name = `npm-mlflow-flow-${dialect}`;
    const t0 = 1_700_000_000_000;
    let experimentId = '';
    let runId = '';
    const lossValues = [0.9, 0.7, 0.45, 0.3, 0.25];

    before(async () => {
      server = await startTestServer(dialect);
      client = new MLflow({ endpoint: server.url });
      // The package console.logs every POST body; keep the test output readable.
      console.log = () => {};
    });

    after(async () => {
      console.log = originalLog;
      await server?.close();
    });

    test('creates an experiment and finds it by name and by id', async () => {
      const created = await client.Experiments.create({
        name,
        artifact_location: undefined as unknown as string,
      });
      experimentId = created.experiment_id;
      assert.equal(typeof experimentId, 'string');
      assert.match(experimentId, /^\d+$/);

      const byName = await raw<{ experiment: Experiment }>(client.Experiments, 'get', '/get-by-name', {
        experiment_name: name,
      });
      assert.equal(byName.experiment.experiment_id, experimentId);
      assert.equal(byName.experiment.name, name);
      assert.equal(byName.experiment.lifecycle_stage, 'active');

      const { experiment } = await client.Experiments.get({ experiment_id: experimentId });
      assert.equal(experiment.experiment_id, experimentId);
      assert.equal(experiment.name, name);
      assert.equal(experiment.artifact_location, `mlflow-artifacts:/${experimentId}`);
    });

    test('creates a run', async () => {
      const { run } = await client.Runs.create({
        experiment_id: experimentId,
        user_id: 'npm-client',
        start_time: t0,
        tags: [{ key: 'mlflow.runName', value: 'flow-run' }],
      });
      runId = run.info.run_id;
      assert.match(runId, /^[0-9a-f]{32}$/);
      assert.equal(run.info.experiment_id, experimentId);
      assert.equal(run.info.status, 'RUNNING');
      assert.equal(run.info.user_id, 'npm-client');
      assert.equal(Number(run.info.start_time), t0);
      assert.equal(run.info.lifecycle_stage, 'active');
      assert.equal(byKey(run.data?.tags)['mlflow.runName'], 'flow-run');
    });

    test('logs a param, metrics with steps, a batch and a tag', async () => {
      const param = await client.Runs.logParameter({ run_id: runId, key: 'lr', value: '0.01' });
      assert.deepEqual(param, {});
      for (const [step, value] of lossValues.entries()) {
        const ack = await client.Runs.logMetric({
          run_id: runId,
          key: 'loss',
          value,
          timestamp: t0 + step,
          step,
        });
        assert.deepEqual(ack, {});
      }
      // Out of order: the latest value is the one at the highest step, not the last one logged.
      await client.Runs.logMetric({ run_id: runId, key: 'lr_scale', value: 4, timestamp: t0 + 10, step: 4 });
      await client.Runs.logMetric({ run_id: runId, key: 'lr_scale', value: 2, timestamp: t0 + 20, step: 2 });

      const batch = await client.Runs.logBatch({
        run_id: runId,
        metrics: [0, 1, 2].map((step) => ({
          key: 'acc',
          value: 0.5 + step / 10,
          timestamp: t0 + step,
          step,
        })),
        params: [{ key: 'batch_size', value: '32' }],
        tags: [{ key: 'phase', value: 'train' }],
      });
      assert.deepEqual(batch, {});
      assert.deepEqual(await client.Runs.setTag({ run_id: runId, key: 'owner', value: 'flow' }), {});
    });

    test('gets the run with its params, latest metrics and tags', async () => {
      const { run } = await client.Runs.get({ run_id: runId });
      assert.equal(run.info.run_id, runId);
      assert.deepEqual(byKey(run.data.params), { lr: '0.01', batch_size: '32' });

      const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m]));
      assert.deepEqual(Object.keys(metrics).sort(), ['acc', 'loss', 'lr_scale']);
      assert.deepEqual(
        { ...metrics.loss, timestamp: Number(metrics.loss.timestamp), step: Number(metrics.loss.step) },
        { key: 'loss', value: 0.25, timestamp: t0 + 4, step: 4 },
      );
      assert.equal(metrics.acc.value, 0.7);
      assert.equal(Number(metrics.acc.step), 2);
      assert.equal(metrics.lr_scale.value, 4);
      assert.equal(Number(metrics.lr_scale.step), 4);

      const tags = byKey(run.data.tags);
      assert.equal(tags.owner, 'flow');
      assert.equal(tags.phase, 'train');
      assert.equal(tags['mlflow.runName'], 'flow-run');
    });

    test('gets the metric history, every point in order', async () => {
      const { metrics } = await client.Metrics.getHistory({ run_id: runId, metric_key: 'loss' });
      assert.deepEqual(
        metrics.map((m) => ({
          key: m.key,
          value: m.value,
          timestamp: Number(m.timestamp),
          step: Number(m.step),
        })),
        lossValues.map((value, step) => ({ key: 'loss', value, timestamp: t0 + step, step })),
      );
      const scale = await client.Metrics.getHistory({ run_id: runId, metric_key: 'lr_scale' });
      assert.deepEqual(
        scale.metrics.map((m) => [Number(m.step), m.value]),
        [
          [4, 4],
          [2, 2],
        ],
      );
    });

    test('searches runs with a matching and a non-matching filter', async () => {
      // A second run that the filter must leave out.
      const other = await client.Runs.create({
        experiment_id: experimentId,
        user_id: 'npm-client',
        start_time: t0,
      });
      await client.Runs.logMetric({
        run_id: other.run.info.run_id,
        key: 'loss',
        value: 0.8,
        timestamp: t0,
        step: 0,
      });

      const found = await client.Runs.search({
        experiment_ids: [experimentId],
        filter: "metrics.loss < 0.5 and params.lr = '0.01' and tags.owner = 'flow'",
        run_view_type: ViewType.ACTIVE_ONLY,
        max_results: 10,
        order_by: ['metrics.loss ASC'],
      });
      assert.deepEqual(
        found.runs.map((r) => r.info.run_id),
        [runId],
      );
      assert.equal(byKey(found.runs[0].data.params).batch_size, '32');

      const all = await client.Runs.search({
        experiment_ids: [experimentId],
        order_by: ['metrics.loss DESC'],
      });
      assert.deepEqual(
        all.runs.map((r) => r.info.run_id),
        [other.run.info.run_id, runId],
      );

      const none = await client.Runs.search({ experiment_ids: [experimentId], filter: 'metrics.loss > 5' });
      assert.deepEqual(none.runs ?? [], []);
    });

    test('finishes the run', async () => {
      const end = t0 + 60_000;
      const updated = await client.Runs.update({ run_id: runId, status: RunStatus.FINISHED, end_time: end });
      assert.equal(updated.run_info.run_id, runId);
      assert.equal(updated.run_info.status, 'FINISHED');
      assert.equal(Number(updated.run_info.end_time), end);

      const { run } = await client.Runs.get({ run_id: runId });
      assert.equal(run.info.status, 'FINISHED');
      assert.equal(Number(run.info.end_time), end);

      const finished = await client.Runs.search({
        experiment_ids: [experimentId],
        filter: "status = 'FINISHED'",
      });
      assert.deepEqual(
        finished.runs.map((r) => r.info.run_id),
        [runId],
      );
    });

    test('searches experiments', async () => {
      const found = await raw<{ experiments?: Experiment[] }>(client.Experiments, 'post', '/search', {
        filter: `name = '${name}'`,
        max_results: 10,
        view_type: ViewType.ACTIVE_ONLY,
      });
      assert.deepEqual(
        (found.experiments ?? []).map((e) => [e.experiment_id, e.name]),
        [[experimentId, name]],
      );
      const missing = await raw<{ experiments?: Experiment[] }>(client.Experiments, 'post', '/search', {
        filter: "name = 'no-such-experiment'",
      });
      assert.deepEqual(missing.experiments ?? [], []);
    });

    test('reports an unknown run as 404 RESOURCE_DOES_NOT_EXIST', async () => {
      const unknown = '0123456789abcdef0123456789abcdef';
      const error = await client.Runs.get({ run_id: unknown }).then(
        () => assert.fail('getting an unknown run succeeded'),
        (e: unknown) => e,
      );
      const { status, data } = parseClientError(error);
      assert.equal(status, 404);
      assert.equal(data?.error_code, 'RESOURCE_DOES_NOT_EXIST');
      assert.match(data?.message ?? '', new RegExp(unknown));

      const logError = await client.Runs.logMetric({
        run_id: unknown,
        key: 'x',
        value: 1,
        timestamp: t0,
      }).then(
        () => assert.fail('logging to an unknown run succeeded'),
        (e: unknown) => e,
      );
      assert.equal(parseClientError(logError).status, 404);
      assert.equal(parseClientError(logError).data?.error_code, 'RESOURCE_DOES_NOT_EXIST');
    });
  });
}
