import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EncodedRun, Run } from '../src/entities/tracking.js';
import { call, DIALECTS, rejectsWith, startTestServer, type TestServer, useTestTracking } from './helpers.js';

// Keyset paging: a page starts right after the last item of the previous one, so items added while a
// client pages through a result neither repeat an item nor skip one that existed when paging began.

// Groups of runs sharing a sort value are walked through the next key's index from 3 runs up, not
// read whole (10,000 by default), so these small stores exercise both ways of reading a group.
process.env.MLFLOW_TS_SEARCH_SORTED_GROUP_LIMIT = '3';

const token = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

// ---------------------------------------------------------------------------------------------------
// A reference implementation of MLflow's run order, to check the SQL against.

type Key = { entity: 'metric' | 'param' | 'tag' | 'attribute'; key: string; ascending: boolean };

function parseOrder(clause: string): Key {
  const m = /^(metrics|params|tags|attributes)\.(\S+)(?:\s+(ASC|DESC))?$/i.exec(clause);
  if (!m) throw new Error(`test order_by ${clause}`);
  const entity = { metrics: 'metric', params: 'param', tags: 'tag', attributes: 'attribute' }[
    m[1].toLowerCase()
  ] as Key['entity'];
  return { entity, key: m[2], ascending: (m[3] ?? 'ASC').toUpperCase() === 'ASC' };
}

/** [rank, value]: rank 0 present, 1 NaN, 2 missing. */
function sortValue(run: Run, k: Key): [number, number | string | null] {
  let v: number | string | undefined;
  if (k.entity === 'metric') v = run.data.metrics.find((m) => m.key === k.key)?.value;
  else if (k.entity === 'param') v = run.data.params.find((p) => p.key === k.key)?.value;
  else if (k.entity === 'tag') v = run.data.tags.find((t) => t.key === k.key)?.value;
  else v = (run.info as unknown as Record<string, number | string | undefined>)[k.key];
  if (v === undefined) return [2, null];
  if (typeof v === 'number' && Number.isNaN(v)) return [1, null];
  return [0, v];
}

function decoded(run: EncodedRun): Run {
  const { metrics, params, tags } = run.data;
  return { ...run, data: { metrics: metrics.decode(), params: params.decode(), tags: tags.decode() } };
}

function mlflowOrder(runs: Run[], orderBy: string[]): Run[] {
  const keys = orderBy.map(parseOrder);
  if (!keys.some((k) => k.entity === 'attribute' && k.key === 'start_time'))
    keys.push({ entity: 'attribute', key: 'start_time', ascending: false });
  keys.push({ entity: 'attribute', key: 'run_id', ascending: true });
  return [...runs].sort((a, b) => {
    for (const k of keys) {
      const [ra, va] = sortValue(a, k);
      const [rb, vb] = sortValue(b, k);
      if (ra !== rb) return ra - rb;
      if (ra > 0 || va === vb) continue;
      const less = (va as number | string) < (vb as number | string);
      return (less ? -1 : 1) * (k.ascending ? 1 : -1);
    }
    return 0;
  });
}

for (const dialect of DIALECTS) {
  describe(`keyset paging on ${dialect}`, () => {
    const svc = useTestTracking(dialect);

    let serial = 0;
    /** A run with a varied mix of values: ties, NaN and missing metrics, missing params and tags. */
    const addRun = async (experimentId: string, startTime: number): Promise<string> => {
      const i = serial++;
      const run = await svc.createRun({ experimentId, userId: 'u', startTime, runName: `r${i}`, tags: [] });
      const id = run.info.run_id;
      const metrics = [];
      if (i % 5 !== 0)
        metrics.push({ key: 'acc', value: i % 7 === 0 ? Number.NaN : (i % 4) / 4, timestamp: 1, step: 0 });
      if (i % 3 !== 0) metrics.push({ key: 'loss', value: (i % 6) / 3, timestamp: 1, step: 0 });
      const params = i % 4 === 3 ? [] : [{ key: 'model', value: ['cnn', 'mlp', 'rnn'][i % 3] }];
      const tags = i % 6 === 5 ? [] : [{ key: 'group', value: `g${i % 2}` }];
      await svc.logBatch(id, metrics, params, tags);
      if (i % 2 === 0) await svc.updateRun(id, { status: 'FINISHED', endTime: startTime + (i % 3) });
      return id;
    };

    const ORDERS: string[][] = [
      [],
      ['metrics.acc DESC'],
      ['metrics.acc ASC'],
      ['metrics.loss DESC', 'params.model ASC'],
      ['params.model ASC', 'metrics.loss DESC'],
      ['params.model DESC'],
      ['tags.group ASC'],
      ['tags.group DESC', 'attributes.start_time ASC'],
      ['attributes.end_time DESC'],
      ['attributes.run_name ASC'],
      // The attribute-first plan: value groups of every size (every run has user 'u', half of them
      // no end time), read across window boundaries by pages of 4.
      ['attributes.end_time ASC'],
      ['attributes.status ASC'],
      ['attributes.status DESC', 'metrics.loss ASC'],
      ['attributes.user_id DESC'],
      ['attributes.run_name DESC', 'params.model ASC'],
      ['attributes.artifact_uri ASC'],
      ['attributes.run_id DESC'],
    ];

    for (const orderBy of ORDERS) {
      test(`order_by [${orderBy.join(', ')}]: runs added between pages neither repeat nor hide a run`, async () => {
        const exp = await svc.createExperiment(
          `paging-${dialect}-${orderBy.join('-') || 'default'}`,
          undefined,
          [],
        );
        // Several runs share a start time, so the run_uuid tie-breaker matters.
        const existing = new Set<string>();
        for (let i = 0; i < 23; i++) existing.add(await addRun(exp, 1000 + Math.floor(i / 3)));
        const all = await svc.searchRuns({
          experimentIds: [exp],
          orderBy,
          viewType: 'ALL',
          maxResults: 1000,
        });
        assert.deepEqual(
          all.items.map((r) => r.info.run_id),
          mlflowOrder(all.items.map(decoded), orderBy).map((r) => r.info.run_id),
          'a single page is in MLflow order',
        );

        const seen: string[] = [];
        let pageToken: string | undefined;
        let pages = 0;
        do {
          const page = await svc.searchRuns({
            experimentIds: [exp],
            orderBy,
            viewType: 'ALL',
            maxResults: 4,
            pageToken,
          });
          assert.ok(page.items.length <= 4);
          seen.push(...page.items.map((r) => r.info.run_id));
          pageToken = page.nextPageToken;
          // New runs before, at and after the current position (newest first is the default order).
          for (const start of [900, 1003, 2000]) await addRun(exp, start);
          pages++;
        } while (pageToken && pages < 100);
        assert.equal(new Set(seen).size, seen.length, 'no run twice');
        assert.deepEqual(
          seen.filter((id) => existing.has(id)),
          all.items.map((r) => r.info.run_id),
          'every run that existed at the start, once, in order',
        );
      });
    }

    test('filters, view types and the metric-first plan page the same way', async () => {
      const exp = await svc.createExperiment(`paging-${dialect}-filtered`, undefined, []);
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push(await addRun(exp, 5000 + (i % 4)));
      await svc.deleteRun(ids[3]);
      await svc.deleteRun(ids[8]);
      for (const [filter, orderBy, viewType] of [
        ["params.model != 'rnn'", ['metrics.acc DESC'], 'ACTIVE_ONLY'],
        ['metrics.loss >= 0', ['metrics.acc ASC', 'tags.group ASC'], 'ALL'],
        [`attributes.run_id IN ('${ids.slice(0, 12).join("', '")}')`, ['metrics.acc DESC'], 'ALL'],
        [undefined, ['metrics.loss DESC'], 'DELETED_ONLY'],
      ] as const) {
        const q = { experimentIds: [exp], filter, orderBy: [...orderBy], viewType };
        const whole = await svc.searchRuns({ ...q, maxResults: 1000 });
        assert.deepEqual(
          whole.items.map((r) => r.info.run_id),
          mlflowOrder(whole.items.map(decoded), [...orderBy]).map((r) => r.info.run_id),
        );
        const paged: string[] = [];
        let pageToken: string | undefined;
        do {
          const page = await svc.searchRuns({ ...q, maxResults: 3, pageToken });
          paged.push(...page.items.map((r) => r.info.run_id));
          pageToken = page.nextPageToken;
        } while (pageToken);
        assert.deepEqual(
          paged,
          whole.items.map((r) => r.info.run_id),
          `${filter} ${orderBy}`,
        );
      }
    });

    test('several experiments: the page across them is the first of every experiment, in order', async () => {
      const exps: string[] = [];
      for (let e = 0; e < 3; e++) {
        const exp = await svc.createExperiment(`paging-${dialect}-across-${e}`, undefined, []);
        exps.push(exp);
        // Start times interleave across the experiments, and some repeat within one.
        for (let i = 0; i < 9 + e * 4; i++) await addRun(exp, 7000 + ((i * 3 + e) % 17));
      }
      const newest = await svc.searchRuns({
        experimentIds: [exps[1]],
        orderBy: [],
        viewType: 'ACTIVE_ONLY',
        maxResults: 1,
      });
      await svc.deleteRun(newest.items[0].info.run_id);
      for (const [orderBy, filter, viewType] of [
        [[], undefined, 'ACTIVE_ONLY'],
        [['metrics.acc DESC'], undefined, 'ALL'],
        [['params.model ASC', 'attributes.start_time ASC'], undefined, 'ACTIVE_ONLY'],
        [['tags.group DESC'], 'metrics.loss > 0', 'ACTIVE_ONLY'],
        [['attributes.status ASC'], undefined, 'ALL'],
        [['attributes.end_time DESC'], "params.model != 'cnn'", 'ACTIVE_ONLY'],
        [[], undefined, 'DELETED_ONLY'],
      ] as const) {
        const q = { experimentIds: exps, filter, orderBy: [...orderBy], viewType };
        const whole = await svc.searchRuns({ ...q, maxResults: 1000 });
        const expected = mlflowOrder(whole.items.map(decoded), [...orderBy]).map((r) => r.info.run_id);
        assert.deepEqual(
          whole.items.map((r) => r.info.run_id),
          expected,
          `${orderBy} ${filter} ${viewType}`,
        );
        if (viewType === 'ALL') assert.equal(whole.items.length, 9 + 13 + 17, 'every run of the three');
        for (const size of [1, 4, 7]) {
          const paged: string[] = [];
          let pageToken: string | undefined;
          do {
            const page = await svc.searchRuns({ ...q, maxResults: size, pageToken });
            paged.push(...page.items.map((r) => r.info.run_id));
            pageToken = page.nextPageToken;
          } while (pageToken);
          assert.deepEqual(paged, expected, `${orderBy} ${filter} ${viewType}, pages of ${size}`);
        }
      }
    });

    test('param and tag order: byte order, long values sharing a prefix, missing keys last, filters', async () => {
      const exp = await svc.createExperiment(`paging-${dialect}-text-order`, undefined, []);
      // PostgreSQL's index holds the first 200 characters: values equal that far must still sort by
      // the rest. Upper case sorts before lower case and 'é' after 'z', in byte order on both stores.
      const long = 'x'.repeat(210);
      const values = [`${long}b`, `${long}a`, `${long}`, 'Zeta', 'alpha', 'zulu', 'été', 'alpha', '', '0'];
      // 29 runs: each value on two or three runs, so groups of equal long values take the walk too.
      for (let i = 0; i < 29; i++) {
        const run = await svc.createRun({
          experimentId: exp,
          userId: 'u',
          startTime: 100 + (i % 5),
          runName: `t${i}`,
          tags: [],
        });
        const v = values[i % 13];
        const kv = v === undefined ? [] : [{ key: 'text', value: v }];
        await svc.logBatch(run.info.run_id, [], kv, kv);
        if (i === 7) await svc.deleteRun(run.info.run_id);
      }
      for (const [orderBy, filter, viewType] of [
        [['params.text ASC'], undefined, 'ACTIVE_ONLY'],
        [['params.text DESC'], undefined, 'ALL'],
        [['tags.text ASC'], "tags.text != 'zulu'", 'ACTIVE_ONLY'],
        [['tags.text DESC', 'attributes.run_name ASC'], "attributes.run_name LIKE 't1%'", 'ALL'],
        [['params.text DESC'], undefined, 'DELETED_ONLY'],
      ] as const) {
        const q = { experimentIds: [exp], filter, orderBy: [...orderBy], viewType };
        const whole = await svc.searchRuns({ ...q, maxResults: 1000 });
        const expected = mlflowOrder(whole.items.map(decoded), [...orderBy]).map((r) => r.info.run_id);
        assert.deepEqual(
          whole.items.map((r) => r.info.run_id),
          expected,
          `${orderBy} ${filter}`,
        );
        if (viewType !== 'DELETED_ONLY' && !filter?.startsWith('tags.')) {
          const last = decoded(whole.items[whole.items.length - 1]);
          assert.equal(sortValue(last, parseOrder(orderBy[0]))[0], 2, 'runs without the key come last');
        }
        for (const size of [1, 2, 5]) {
          const paged: string[] = [];
          let pageToken: string | undefined;
          do {
            const page = await svc.searchRuns({ ...q, maxResults: size, pageToken });
            paged.push(...page.items.map((r) => r.info.run_id));
            pageToken = page.nextPageToken;
          } while (pageToken);
          assert.deepEqual(paged, expected, `${orderBy} ${filter}, pages of ${size}`);
        }
      }
      // A page token taken in one direction does not fit the other.
      const first = await svc.searchRuns({
        experimentIds: [exp],
        orderBy: ['params.text ASC'],
        viewType: 'ACTIVE_ONLY',
        maxResults: 2,
      });
      await assert.rejects(
        svc.searchRuns({
          experimentIds: [exp],
          orderBy: ['params.text DESC'],
          viewType: 'ACTIVE_ONLY',
          maxResults: 2,
          pageToken: first.nextPageToken,
        }),
        /Invalid page token/,
      );
    });

    test('page tokens: MLflow offset tokens still work, bad or mismatched tokens are rejected', async () => {
      const exp = await svc.createExperiment(`paging-${dialect}-tokens`, undefined, []);
      for (let i = 0; i < 6; i++) await addRun(exp, 7000 + i);
      const q = { experimentIds: [exp], orderBy: ['metrics.acc DESC'], viewType: 'ALL' as const };
      const whole = (await svc.searchRuns({ ...q, maxResults: 100 })).items.map((r) => r.info.run_id);
      const fromOffset = await svc.searchRuns({ ...q, maxResults: 2, pageToken: token({ offset: 2 }) });
      assert.deepEqual(
        fromOffset.items.map((r) => r.info.run_id),
        whole.slice(2, 4),
      );
      // The next token after an offset page is a keyset token, and continues where the offset left off.
      const next = await svc.searchRuns({ ...q, maxResults: 2, pageToken: fromOffset.nextPageToken });
      assert.deepEqual(
        next.items.map((r) => r.info.run_id),
        whole.slice(4, 6),
      );

      const first = await svc.searchRuns({ ...q, maxResults: 2 });
      assert.ok(first.nextPageToken);
      await rejectsWith(
        svc.searchRuns({ ...q, orderBy: ['metrics.acc ASC'], maxResults: 2, pageToken: first.nextPageToken }),
        'INVALID_PARAMETER_VALUE',
        /Invalid page token/,
      );
      for (const bad of [
        'not base64!',
        Buffer.from('not json').toString('base64'),
        token([1, 2]),
        token({ offset: -1 }),
        token({
          order: [['metric', 'acc', false]],
          after: [
            [0, 'text'],
            [0, 1],
            [0, 'x'],
          ],
        }),
        token({
          order: [['metric', 'acc', false]],
          after: [
            [3, null],
            [0, 1],
            [0, 'x'],
          ],
        }),
        token({ order: [['metric', 'acc', false]], after: [[0, 1]] }),
      ]) {
        await rejectsWith(
          svc.searchRuns({ ...q, maxResults: 2, pageToken: bad }),
          'INVALID_PARAMETER_VALUE',
          /Invalid page token/,
        );
      }
    });

    test('experiments page by keyset too', async () => {
      const names = new Set<string>();
      for (let i = 0; i < 7; i++) names.add(`kexp-${dialect}-a${i}`);
      for (const name of names) await svc.createExperiment(name, undefined, []);
      const seen: string[] = [];
      let pageToken: string | undefined;
      let added = 0;
      do {
        const page = await svc.searchExperiments({
          filter: `name LIKE 'kexp-${dialect}-%'`,
          orderBy: ['name DESC'],
          viewType: 'ALL',
          maxResults: 2,
          pageToken,
        });
        seen.push(...page.items.map((e) => e.name));
        pageToken = page.nextPageToken;
        await svc.createExperiment(`kexp-${dialect}-z${added++}`, undefined, []); // sorts first
        await svc.createExperiment(`kexp-${dialect}-0${added++}`, undefined, []); // sorts last
      } while (pageToken);
      assert.equal(new Set(seen).size, seen.length);
      assert.deepEqual(
        seen.filter((n) => names.has(n)),
        [...names].sort().reverse(),
      );
    });

    test('metric history: keyset pages over ties and NaN, offset tokens, no upper limit', async () => {
      const exp = await svc.createExperiment(`history-${dialect}`, undefined, []);
      const id = await addRun(exp, 1);
      const points = [];
      for (let i = 0; i < 40; i++) {
        // Pairs of points share a timestamp and step; NaN (stored as 0) ties with a real 0.
        points.push({
          key: 'h',
          value: i % 10 === 0 ? Number.NaN : i % 10 === 1 ? 0 : i / 7,
          timestamp: Math.floor(i / 2),
          step: Math.floor(i / 4),
        });
      }
      await svc.logBatch(id, points, [], []);
      const whole = await svc.getMetricHistory({ runId: id, key: 'h' });
      assert.equal(whole.items.length, 40);
      assert.equal(whole.nextPageToken, undefined);
      const shape = (m: { timestamp: number; step: number; value: number }) =>
        `${m.timestamp}/${m.step}/${Number.isNaN(m.value) ? 'NaN' : m.value}`;
      const sorted = [...points].sort(
        (a, b) =>
          a.timestamp - b.timestamp ||
          a.step - b.step ||
          (Number.isNaN(a.value) ? 0 : a.value) - (Number.isNaN(b.value) ? 0 : b.value) ||
          (Number.isNaN(a.value) ? 1 : 0) - (Number.isNaN(b.value) ? 1 : 0),
      );
      assert.deepEqual(whole.items.map(shape), sorted.map(shape));

      const paged: string[] = [];
      let pageToken: string | undefined;
      let later = 100;
      do {
        const page = await svc.getMetricHistory({ runId: id, key: 'h', maxResults: 3, pageToken });
        assert.ok(page.items.length <= 3);
        paged.push(...page.items.map(shape));
        pageToken = page.nextPageToken;
        // Points logged meanwhile, later in the order: they show up once, at the end.
        await svc.logMetric(id, { key: 'h', value: 1, timestamp: later++, step: 0 });
      } while (pageToken);
      assert.equal(new Set(paged).size, paged.length, 'no point twice');
      assert.deepEqual(paged.slice(0, 40), sorted.map(shape));

      const fromOffset = await svc.getMetricHistory({
        runId: id,
        key: 'h',
        maxResults: 5,
        pageToken: token({ offset: 10 }),
      });
      assert.deepEqual(fromOffset.items.map(shape), sorted.slice(10, 15).map(shape));
      const afterOffset = await svc.getMetricHistory({
        runId: id,
        key: 'h',
        maxResults: 5,
        pageToken: fromOffset.nextPageToken,
      });
      assert.deepEqual(afterOffset.items.map(shape), sorted.slice(15, 20).map(shape));

      const now = (await svc.getMetricHistory({ runId: id, key: 'h' })).items.length;
      assert.equal(now, paged.length + 1, 'one more point was logged after the last page');
      assert.equal(
        (await svc.getMetricHistory({ runId: id, key: 'h', maxResults: 2 ** 31 - 1 })).items.length,
        now,
      );
      await rejectsWith(
        svc.getMetricHistory({ runId: id, key: 'h', maxResults: 0 }),
        'INVALID_PARAMETER_VALUE',
        /positive/,
      );
      await rejectsWith(
        svc.getMetricHistory({ runId: id, key: 'h', maxResults: 2, pageToken: token({ after: [1, 2] }) }),
        'INVALID_PARAMETER_VALUE',
        /Invalid page token/,
      );
    });
  });

  describe(`streamed metric history over HTTP on ${dialect}`, () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer(dialect);
    });
    after(async () => {
      await srv.close();
    });

    test('the whole history in one response, or pages with tokens; same JSON as MLflow', async () => {
      const api = (method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>) =>
        call(srv.api, method, endpoint, body);
      const run = await api('POST', 'runs/create', { experiment_id: '0', start_time: 1 });
      const runId = run.body.run.info.run_id as string;
      assert.deepEqual(
        (await api('GET', 'metrics/get-history', { run_id: runId, metric_key: 'x' })).body,
        {},
      );
      // More points than one read batch of the server (1,000 on SQLite, 10,000 on PostgreSQL).
      const total = 23_456;
      for (let from = 0; from < total; from += 1000) {
        const metrics = [];
        for (let i = from; i < Math.min(total, from + 1000); i++) {
          metrics.push({ key: 'x', value: i === 5 ? 'NaN' : i / 2, timestamp: i, step: i });
        }
        assert.equal((await api('POST', 'runs/log-batch', { run_id: runId, metrics })).status, 200);
      }
      const whole = await api('GET', 'metrics/get-history', { run_id: runId, metric_key: 'x' });
      assert.equal(whole.status, 200);
      assert.equal(whole.body.next_page_token, undefined);
      assert.equal(whole.body.metrics.length, total);
      assert.deepEqual(whole.body.metrics[4], { key: 'x', value: 2, timestamp: 4, step: 4 });
      assert.deepEqual(whole.body.metrics[5], { key: 'x', value: 'NaN', timestamp: 5, step: 5 });
      assert.deepEqual(whole.body.metrics[total - 1], {
        key: 'x',
        value: (total - 1) / 2,
        timestamp: total - 1,
        step: total - 1,
      });

      let pageToken: string | undefined;
      let steps: number[] = [];
      let pages = 0;
      do {
        const page = await api('GET', 'metrics/get-history', {
          run_id: runId,
          metric_key: 'x',
          max_results: 10_001,
          ...(pageToken ? { page_token: pageToken } : {}),
        });
        assert.equal(page.status, 200);
        steps = steps.concat(page.body.metrics.map((m: { step: number }) => m.step));
        pageToken = page.body.next_page_token;
        pages++;
      } while (pageToken);
      assert.equal(pages, 3);
      assert.deepEqual(
        steps,
        Array.from({ length: total }, (_, i) => i),
      );

      const bad = await api('GET', 'metrics/get-history', {
        run_id: runId,
        metric_key: 'x',
        page_token: 'abc!',
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(bad.body.message, /Invalid page token/);
    });
  });
}
