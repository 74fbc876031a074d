// Quotas on both dialects: each limit at and over its value, a refused write leaving nothing behind,
// concurrent writers unable to overshoot, the limits endpoint, and the limits configuration.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ResourceLimits } from '../src/entities/resource-limits.js';
import { readLimits } from '../src/services/limits-config.js';
import { type ApiResponse, call, DIALECTS, startTestServer, type TestServer, tempDir } from './helpers.js';

type Answer = Promise<ApiResponse<Record<string, any>>>;

import { CLI } from './server-process.js';

const LIMITS: ResourceLimits = {
  experiments: 6,
  runs_per_experiment: 2,
  params_per_run: 3,
  tags_per_run: 4,
  metric_values_per_run: 5,
};

for (const dialect of DIALECTS) {
  describe(`quotas (${dialect})`, () => {
    let srv: TestServer;
    let api: string;
    const ok = async (promise: Answer) => {
      const res = await promise;
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };
    const refused = async (promise: Answer, message: RegExp) => {
      const res = await promise;
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error_code, 'RESOURCE_LIMIT_EXCEEDED');
      assert.match(res.body.message, message);
    };
    const newRun = async (name: string) => {
      const { experiment_id } = await ok(call(api, 'POST', 'experiments/create', { name }));
      const { run } = await ok(call(api, 'POST', 'runs/create', { experiment_id }));
      return { experimentId: experiment_id as string, runId: run.info.run_id as string };
    };
    const runData = async (runId: string) =>
      (await ok(call(api, 'GET', 'runs/get', { run_id: runId }))).run.data;

    before(async () => {
      srv = await startTestServer(dialect, { limits: LIMITS });
      api = srv.api;
    });
    after(() => srv.close());

    test('the limits in force are readable', async () => {
      assert.deepEqual(await ok(call(api, 'GET', 'server-limits')), { limits: LIMITS });
    });

    test('runs per experiment: the run over the limit is refused and not created', async () => {
      const { experimentId } = await newRun('runs-limit'); // one run
      await ok(call(api, 'POST', 'runs/create', { experiment_id: experimentId }));
      await refused(
        call(api, 'POST', 'runs/create', { experiment_id: experimentId }),
        new RegExp(
          `^The limit of 2 runs per experiment \\(runs_per_experiment\\) would be exceeded: experiment ${experimentId} has 2 runs and this request would make it 3\\. Nothing was written\\.$`,
        ),
      );
      const { runs } = await ok(call(api, 'POST', 'runs/search', { experiment_ids: [experimentId] }));
      assert.equal(runs.length, 2);
    });

    test('concurrent run creation cannot overshoot the limit', async () => {
      const { experiment_id } = await ok(call(api, 'POST', 'experiments/create', { name: 'race' }));
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => call(api, 'POST', 'runs/create', { experiment_id })),
      );
      assert.equal(answers.filter((a) => a.status === 200).length, 2);
      assert.ok(answers.every((a) => a.status === 200 || a.body.error_code === 'RESOURCE_LIMIT_EXCEEDED'));
      const { runs } = await ok(call(api, 'POST', 'runs/search', { experiment_ids: [experiment_id] }));
      assert.equal(runs.length, 2);
    });

    test('params, tags and metric values per run: a batch over any limit is refused whole', async () => {
      const { runId } = await newRun('data-limits'); // the run has one tag: mlflow.runName
      const now = Date.now();
      await ok(
        call(api, 'POST', 'runs/log-batch', {
          run_id: runId,
          params: [
            { key: 'a', value: '1' },
            { key: 'b', value: '2' },
          ],
          tags: [{ key: 't1', value: 'x' }],
          metrics: [0, 1, 2, 3].map((step) => ({ key: 'loss', value: step, timestamp: now, step })),
        }),
      );
      // Two new params (4 > 3), with a tag and a metric point that alone would fit: nothing is written.
      await refused(
        call(api, 'POST', 'runs/log-batch', {
          run_id: runId,
          params: [
            { key: 'c', value: '3' },
            { key: 'd', value: '4' },
          ],
          tags: [{ key: 't2', value: 'y' }],
          metrics: [{ key: 'acc', value: 0.5, timestamp: now, step: 0 }],
        }),
        new RegExp(
          `params_per_run\\) would be exceeded: run ${runId} has 2 params and this request would make it 4`,
        ),
      );
      let data = await runData(runId);
      assert.deepEqual(data.params.map((p: { key: string }) => p.key).sort(), ['a', 'b']);
      assert.deepEqual(data.tags.map((t: { key: string }) => t.key).sort(), ['mlflow.runName', 't1']);
      assert.deepEqual(
        data.metrics.map((m: { key: string }) => m.key),
        ['loss'],
      );
      // Up to the limit is fine, and so is logging an existing param again.
      await ok(call(api, 'POST', 'runs/log-parameter', { run_id: runId, key: 'c', value: '3' }));
      await ok(call(api, 'POST', 'runs/log-parameter', { run_id: runId, key: 'a', value: '1' }));
      await refused(
        call(api, 'POST', 'runs/log-parameter', { run_id: runId, key: 'e', value: '5' }),
        /The limit of 3 params per run/,
      );

      // Tags: 2 of 4; two more fit, a third does not; changing a tag's value adds nothing.
      await ok(call(api, 'POST', 'runs/set-tag', { run_id: runId, key: 't2', value: 'y' }));
      await ok(call(api, 'POST', 'runs/set-tag', { run_id: runId, key: 't3', value: 'z' }));
      await refused(
        call(api, 'POST', 'runs/set-tag', { run_id: runId, key: 't4', value: 'w' }),
        /has 4 tags/,
      );
      await ok(call(api, 'POST', 'runs/set-tag', { run_id: runId, key: 't1', value: 'changed' }));

      // Metric values: 4 of 5; a batch of two is refused (no point of it kept), one fits.
      await refused(
        call(api, 'POST', 'runs/log-batch', {
          run_id: runId,
          metrics: [4, 5].map((step) => ({ key: 'loss', value: step, timestamp: now, step })),
        }),
        /The limit of 5 metric values per run \(metric_values_per_run\) would be exceeded: .* has 4 metric values and this request would make it 6/,
      );
      const history = await ok(
        call(api, 'GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss' }),
      );
      assert.equal(history.metrics.length, 4);
      data = await runData(runId);
      assert.equal(
        data.metrics.find((m: { key: string }) => m.key === 'loss').step,
        3,
        'latest value unchanged',
      );
      await ok(
        call(api, 'POST', 'runs/log-metric', {
          run_id: runId,
          key: 'loss',
          value: 4,
          timestamp: now,
          step: 4,
        }),
      );
      await refused(
        call(api, 'POST', 'runs/log-metric', {
          run_id: runId,
          key: 'loss',
          value: 5,
          timestamp: now,
          step: 5,
        }),
        /metric_values_per_run/,
      );
    });

    test('a run created with more tags than the limit is not created', async () => {
      const { experiment_id } = await ok(call(api, 'POST', 'experiments/create', { name: 'tagged-run' }));
      await refused(
        call(api, 'POST', 'runs/create', {
          experiment_id,
          tags: ['a', 'b', 'c', 'd'].map((key) => ({ key, value: 'v' })),
        }),
        /tags_per_run\) would be exceeded: run \w+ has 0 tags and this request would make it 5/,
      );
      const { runs } = await ok(call(api, 'POST', 'runs/search', { experiment_ids: [experiment_id] }));
      assert.equal(runs ?? undefined, undefined);
    });

    test('experiments in total: Default counts; the one over the limit is refused', async () => {
      const { experiments } = await ok(call(api, 'POST', 'experiments/search', { max_results: 100 }));
      for (let i = experiments.length; i < 6; i++)
        await ok(call(api, 'POST', 'experiments/create', { name: `fill-${i}` }));
      await refused(
        call(api, 'POST', 'experiments/create', { name: 'one-too-many' }),
        /^The limit of 6 experiments \(experiments\) would be exceeded: the server has 6 experiments and this request would make it 7\./,
      );
      const missing = await call(api, 'GET', 'experiments/get-by-name', { experiment_name: 'one-too-many' });
      assert.equal(missing.status, 404);
    });
  });
}

describe('quotas off', () => {
  test('without limits nothing is limited and the endpoint shows none', async () => {
    const srv = await startTestServer('sqlite');
    try {
      assert.deepEqual((await call(srv.api, 'GET', 'server-limits')).body, { limits: {} });
    } finally {
      await srv.close();
    }
  });
});

describe('limits configuration', () => {
  test('a YAML or JSON file, MLFLOW_TS_LIMIT_* for what it leaves out, and clear errors', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'limits.yaml');
      writeFileSync(file, 'runs_per_experiment: 1000\nparams_per_run: 200\n');
      assert.deepEqual(
        readLimits(file, { MLFLOW_TS_LIMIT_PARAMS_PER_RUN: '5', MLFLOW_TS_LIMIT_EXPERIMENTS: '50' }),
        { runs_per_experiment: 1000, params_per_run: 200, experiments: 50 },
      );
      assert.deepEqual(readLimits(undefined, {}), {});
      writeFileSync(file, '{"tags_per_run": 10}');
      assert.deepEqual(readLimits(file, {}), { tags_per_run: 10 });
      writeFileSync(file, 'runs: 5\n');
      assert.throws(
        () => readLimits(file, {}),
        /runs \(in .*\) is not a limit; the limits are: experiments, /,
      );
      writeFileSync(file, 'params_per_run: -1\n');
      assert.throws(
        () => readLimits(file, {}),
        /params_per_run .* must be a whole number of 0 or more; got -1/,
      );
      assert.throws(
        () => readLimits(undefined, { MLFLOW_TS_LIMIT_TAGS_PER_RUN: 'many' }),
        /MLFLOW_TS_LIMIT_TAGS_PER_RUN must be a whole number/,
      );
      assert.throws(() => readLimits(path.join(dir, 'none.yaml'), {}), /could not read the limits file/);
      const bad = spawnSync(process.execPath, [CLI, 'server', '--limits', file, '--port', '0'], {
        encoding: 'utf8',
        cwd: dir,
      });
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /^Error: params_per_run \(in .*limits\.yaml\) must be a whole number/);
      assert.doesNotMatch(bad.stderr, /\n\s+at /);
    } finally {
      cleanup();
    }
  });
});
