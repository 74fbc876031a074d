import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Metric } from '../src/entities/tracking.js';
import { metricHistoryJson } from '../src/http/wire-json.js';
import { TrackingService } from '../src/services/tracking-service.js';
import { ArtifactLocations } from '../src/store/artifact-locations.js';
import { openDatabase } from '../src/store/database.js';
import { HistoryReaderPool } from '../src/store/history-readers.js';
import { SqlTrackingStore } from '../src/store/sql-tracking-store.js';
import { tempDir } from './helpers.js';

// The reader threads read the rest of a long SQLite history in timestamp slices, side by side. Their
// answer must be the very JSON the batch-by-batch read gives, whatever the timestamps look like.

/** A history that is anything but steady: overlapping blocks, bursts at one timestamp, ties, NaN, ±Inf, gaps. */
function unevenHistory(): Metric[] {
  const points: Metric[] = [];
  const add = (timestamp: number, step: number, value: number) =>
    points.push({ key: 'm', value, timestamp, step });
  for (let i = 0; i < 1500; i++) add(i, i, i / 3); // overlaps the next block in time
  for (let i = 0; i < 12_000; i++) add(1000 + i, i, Math.sin(i));
  for (let i = 0; i < 3000; i++) add(50_000, i, i % 7); // one timestamp, many steps
  // Ties on timestamp and step, ordered by value; NaN and the infinities among them.
  for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0.5, 0, 1e-300, 2.5])
    add(60_000, 7, v);
  for (let i = 0; i < 40; i++) add(60_000, 7, 3 + i * 1.25);
  add(1e7, 0, 1); // a gap of hours (thousands of empty slices), then a dense run again
  for (let i = 0; i < 6000; i++) add(1e7 + 1 + Math.floor(i / 3), i, 0.1 * i);
  return points;
}

/** The JSON body the HTTP layer sends for a history read. */
async function body(svc: TrackingService, q: Parameters<TrackingService['streamMetricHistory']>[0]) {
  const stream = await svc.streamMetricHistory(q);
  const pieces: Buffer[] = [];
  for await (const piece of metricHistoryJson(stream.batches, stream.nextPageToken))
    pieces.push(Buffer.from(piece));
  return JSON.parse(Buffer.concat(pieces).toString('utf8')) as {
    metrics?: unknown[];
    next_page_token?: string;
  };
}

describe('history reader threads (SQLite)', () => {
  const dir = tempDir();
  let store: SqlTrackingStore;
  let svc: TrackingService;
  let runId: string;
  let logged: number;

  before(async () => {
    store = new SqlTrackingStore(
      await openDatabase(`sqlite:///${path.join(dir.dir, 'mlflow.db')}`),
      new ArtifactLocations('mlflow-artifacts:'),
    );
    await store.init();
    svc = new TrackingService(store);
    runId = (await store.createRun({ experimentId: '0', userId: 'u', startTime: 1, runName: 'r', tags: [] }))
      .info.run_id;
    const points = unevenHistory();
    logged = points.length;
    for (let i = 0; i < points.length; i += 1000)
      await svc.logBatch(runId, points.slice(i, i + 1000), [], []);
  });
  after(async () => {
    await store.close();
    dir.cleanup();
  });

  test('the whole history equals the history read page by page, in MLflow order', async () => {
    const whole = await body(svc, { runId, key: 'm' });
    assert.equal(whole.next_page_token, undefined);
    assert.equal(whole.metrics?.length, logged);
    let paged: unknown[] = [];
    let pageToken: string | undefined;
    do {
      const page = await body(svc, { runId, key: 'm', maxResults: 997, pageToken });
      paged = paged.concat(page.metrics ?? []);
      pageToken = page.next_page_token;
    } while (pageToken);
    assert.deepEqual(whole.metrics, paged);
    const order = (whole.metrics as { timestamp: number; step: number }[]).map((m) => [m.timestamp, m.step]);
    for (let i = 1; i < order.length; i++) {
      const [t0, s0] = order[i - 1];
      const [t1, s1] = order[i];
      assert.ok(t0 < t1 || (t0 === t1 && s0 <= s1), `point ${i} out of order`);
    }
    assert.ok(whole.metrics?.some((m) => (m as { value: unknown }).value === 'NaN'));
  });

  test('pages read through the threads: the same points, tokens and page ends', async () => {
    const whole = JSON.stringify((await body(svc, { runId, key: 'm' })).metrics);
    const readInPages = async (maxResults: number) => {
      let points: unknown[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const page = await body(svc, { runId, key: 'm', maxResults, pageToken });
        assert.ok((page.metrics?.length ?? 0) <= maxResults);
        if (page.next_page_token) assert.equal(page.metrics?.length, maxResults);
        points = points.concat(page.metrics ?? []);
        pageToken = page.next_page_token;
        pages++;
      } while (pageToken);
      return { points: JSON.stringify(points), pages };
    };
    for (const size of [6000, 7777, 25_000]) {
      const read = await readInPages(size);
      assert.equal(read.points, whole, `pages of ${size}`);
      assert.equal(read.pages, Math.ceil(logged / size), `pages of ${size}`);
    }
    // A page that ends where the history ends has no token; one point short, the next page holds it.
    const all = await body(svc, { runId, key: 'm', maxResults: logged });
    assert.equal(all.next_page_token, undefined);
    assert.equal(JSON.stringify(all.metrics), whole);
    const short = await body(svc, { runId, key: 'm', maxResults: logged - 1 });
    assert.ok(short.next_page_token);
    const tail = await body(svc, { runId, key: 'm', maxResults: 10, pageToken: short.next_page_token });
    assert.equal(tail.next_page_token, undefined);
    assert.equal(JSON.stringify([...(short.metrics ?? []), ...(tail.metrics ?? [])]), whole);
  });

  test('the threads read the rest of a long history, and only of a long one', async () => {
    const first = await store.getMetricHistoryJson({ runId, key: 'm', maxResults: 1000 });
    assert.ok(first.next);
    assert.ok(await store.streamMetricHistoryAfter(runId, 'm', first.next));
    // Near the end, fewer points than a slice remain: the caller goes on in batches.
    const nearEnd = await store.getMetricHistoryJson({ runId, key: 'm', maxResults: logged - 3000 });
    assert.ok(nearEnd.next);
    assert.equal(await store.streamMetricHistoryAfter(runId, 'm', nearEnd.next), undefined);
    // Nor for a page that wants fewer than a slice.
    assert.equal(await store.streamMetricHistoryAfter(runId, 'm', first.next, 4999), undefined);
    assert.ok(await store.streamMetricHistoryAfter(runId, 'm', first.next, 5000));
  });

  test('an abandoned read frees its threads; reads side by side each get their own points', async () => {
    const expected = JSON.stringify((await body(svc, { runId, key: 'm' })).metrics);
    const first = await store.getMetricHistoryJson({ runId, key: 'm', maxResults: 1000 });
    assert.ok(first.next);
    for (let i = 0; i < 3; i++) {
      const rest = await store.streamMetricHistoryAfter(runId, 'm', first.next);
      assert.ok(rest);
      const iterator = rest.batches[Symbol.asyncIterator]();
      assert.equal((await iterator.next()).done, false);
      await iterator.return?.();
    }
    const together = await Promise.all([1, 2, 3].map(() => body(svc, { runId, key: 'm' })));
    for (const read of together) assert.equal(JSON.stringify(read.metrics), expected);
  });

  test('no threads on a single core or for an in-memory database', async () => {
    assert.equal(HistoryReaderPool.forFile(path.join(dir.dir, 'mlflow.db'), 1), undefined);
    assert.ok(HistoryReaderPool.forFile(path.join(dir.dir, 'mlflow.db'), 2));
    const memory = await openDatabase('sqlite:///:memory:');
    assert.equal(memory.historyReaders, undefined);
    await memory.close();
  });
});
