import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chunkBatch, MetricBuffer, MlflowClient } from '@mlflow-ts/client';
import { type ServerProcess, startServerProcess } from '../../server/test/server-process.js';

// MetricBuffer on its own: back-pressure and flush, against a server process; chunking rules.

let srv: ServerProcess;
before(async () => {
  srv = await startServerProcess('sqlite');
});
after(() => srv.close());

test('chunks respect 1000 metrics, 100 params, 100 tags and 1000 entities per request, in order', () => {
  const metrics = Array.from({ length: 2050 }, (_, i) => ({ key: 'm', value: i, step: i, timestamp: 0 }));
  const params = Array.from({ length: 250 }, (_, i) => ({ key: `p${i}`, value: '' }));
  const tags = Array.from({ length: 120 }, (_, i) => ({ key: `t${i}`, value: '' }));
  const chunks = chunkBatch({ metrics, params, tags });
  for (const c of chunks) {
    assert.ok(c.metrics.length <= 1000 && c.params.length <= 100 && c.tags.length <= 100);
    assert.ok(c.metrics.length + c.params.length + c.tags.length <= 1000);
  }
  assert.deepEqual(
    chunks.flatMap((c) => c.metrics.map((m) => m.value)),
    metrics.map((m) => m.value),
  );
  assert.equal(chunks.flatMap((c) => c.params).length, 250);
  assert.equal(chunks.flatMap((c) => c.tags).length, 120);
  assert.deepEqual(chunkBatch({}), []);
});

test('a full buffer makes add wait for the sends; several runs are flushed together', async () => {
  const client = new MlflowClient({ trackingUri: srv.url, maxRetries: 0 });
  const exp = await client.createExperiment('buffer');
  const runs = [(await client.createRun(exp)).info.run_id, (await client.createRun(exp)).info.run_id];
  const buffer = new MetricBuffer(client, { maxPending: 500, batchSize: 10_000, flushIntervalMs: 60_000 });
  let waited = 0;
  for (let i = 0; i < 3000; i++) {
    const pending = buffer.size;
    await buffer.add(runs[i % 2], { metrics: [{ key: 'k', value: i, step: i, timestamp: 1 }] });
    if (pending + 1 >= 500) {
      waited++;
      assert.equal(buffer.size, 0, 'the full buffer was handed to a send before add resolved');
    }
  }
  assert.ok(waited >= 5);
  await buffer.flush();
  for (const [n, runId] of runs.entries()) {
    const history = await client.getMetricHistory(runId, 'k');
    assert.equal(history.length, 1500);
    assert.deepEqual(
      history.map((m) => m.value),
      Array.from({ length: 1500 }, (_, i) => 2 * i + n),
    );
  }
});
