// The cheap paths for small requests: a streamed answer that fits in 64 KB sent whole, and the writer
// thread's messages gathered per turn of the event loop.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Outbox } from '../src/store/outbox.js';
import { call, startTestServer, type TestServer } from './helpers.js';

describe('Outbox', () => {
  test('posts what was sent in one turn as one list, in order, and nothing when nothing was sent', async () => {
    const posted: number[][] = [];
    const outbox = new Outbox<number>((list) => posted.push(list));
    outbox.send(1);
    outbox.send(2);
    await Promise.resolve();
    assert.deepEqual(posted, [], 'not before the turn ends');
    await new Promise((resolve) => setImmediate(resolve));
    outbox.send(3);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(posted, [[1, 2], [3]]);
  });

  test('flush posts at once, and the turn then has nothing left to post', async () => {
    const posted: string[][] = [];
    const outbox = new Outbox<string>((list) => posted.push(list));
    outbox.send('a');
    outbox.flush();
    assert.deepEqual(posted, [['a']]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(posted, [['a']]);
  });
});

describe('metric history answers, small and large (SQLite file: writes through the writer thread)', () => {
  let srv: TestServer;
  let runId: string;
  const api = (method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>) =>
    call(srv.api, method, endpoint, body);

  before(async () => {
    srv = await startTestServer('sqlite');
    const created = await api('POST', 'runs/create', { experiment_id: '0' });
    runId = created.body.run.info.run_id;
    // Concurrent writes: each turn's calls travel to the writer thread together; all must land.
    await Promise.all(
      Array.from({ length: 10 }, (_, step) =>
        api('POST', 'runs/log-metric', { run_id: runId, key: 'small', value: step / 2, timestamp: 7, step }),
      ),
    );
    // About 70 bytes a point: 3,000 points are well past the 64 KB sent whole.
    for (let start = 0; start < 3000; start += 1000) {
      const metrics = Array.from({ length: 1000 }, (_, i) => ({
        key: 'large',
        value: start + i,
        timestamp: 1700000000000 + start + i,
        step: start + i,
      }));
      assert.equal((await api('POST', 'runs/log-batch', { run_id: runId, metrics })).status, 200);
    }
  });
  after(() => srv?.close());

  test('a small history is sent whole, with a length and the same JSON type as a streamed one', async () => {
    const res = await fetch(`${srv.api}/metrics/get-history?run_id=${runId}&metric_key=small`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const text = await res.text();
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(text)));
    const body = JSON.parse(text);
    assert.deepEqual(
      body.metrics.map((m: { step: number; value: number }) => [m.step, m.value]),
      Array.from({ length: 10 }, (_, step) => [step, step / 2]),
    );
    assert.equal(body.next_page_token, undefined);
  });

  test('a large history is still streamed, every point in order', async () => {
    const res = await fetch(`${srv.api}/metrics/get-history?run_id=${runId}&metric_key=large`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('content-length'), null);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    const body = (await res.json()) as { metrics: { step: number }[] };
    assert.equal(body.metrics.length, 3000);
    assert.ok(body.metrics.every((m, i) => m.step === i));
  });

  test('an empty page and a paged answer keep their shapes', async () => {
    const none = await api('GET', 'metrics/get-history', { run_id: runId, metric_key: 'absent' });
    assert.deepEqual(none, { status: 200, body: {} });
    const page = await api('GET', 'metrics/get-history', {
      run_id: runId,
      metric_key: 'small',
      max_results: 3,
    });
    assert.equal(page.body.metrics.length, 3);
    assert.equal(typeof page.body.next_page_token, 'string');
  });
});
