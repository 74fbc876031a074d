import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, DIALECTS, startTestServer, type TestServer } from './helpers.js';

// A trace larger than one page of stored spans (1,000) is answered whole and in order by GetTrace and
// get-trace-artifact, which read the spans page by page: no span lost or repeated at page edges, even
// where many spans share one start time (the span id breaks those ties).

const SPANS = 2500;
const OTEL_TRACE = 'e5'.repeat(16);

function spans() {
  return Array.from({ length: SPANS }, (_, i) => ({
    traceId: OTEL_TRACE,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: i === 0 ? undefined : '0000000000000001',
    name: `s${i}`,
    // Groups of 7 spans share a start time; 19 digits, beyond a double's exact range.
    startTimeUnixNano: `17000000000000${String(Math.floor(i / 7)).padStart(5, '0')}`,
    endTimeUnixNano: '1700000000900000000',
  }));
}

for (const dialect of DIALECTS) {
  describe(`a trace of ${SPANS} spans on ${dialect}`, () => {
    let srv: TestServer;
    let v3: string;
    const traceId = `tr-${OTEL_TRACE}`;
    before(async () => {
      srv = await startTestServer(dialect);
      v3 = srv.api.replace('/api/2.0/', '/api/3.0/');
      const experimentId = (await call(srv.api, 'POST', 'experiments/create', { name: 'big' })).body
        .experiment_id;
      const res = await fetch(`${srv.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mlflow-experiment-id': experimentId },
        body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: spans() }] }] }),
      });
      assert.equal(res.status, 200, await res.text());
    });
    after(async () => {
      await srv.close();
    });

    /** The expected order: start time, then span id. */
    const expected = spans()
      .sort((a, b) =>
        a.startTimeUnixNano === b.startTimeUnixNano
          ? a.spanId.localeCompare(b.spanId)
          : a.startTimeUnixNano.localeCompare(b.startTimeUnixNano),
      )
      .map((s) => s.name);

    test('GetTrace streams every span once, in order, times exact', async () => {
      const res = await fetch(`${v3}/traces/get?trace_id=${traceId}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const text = await res.text();
      assert.match(text, /"start_time_unix_nano":1700000000000000357[,}]/);
      const body = JSON.parse(text) as {
        trace: { trace_info: { trace_id: string }; spans: { name: string }[] };
      };
      assert.equal(body.trace.trace_info.trace_id, traceId);
      assert.deepEqual(
        body.trace.spans.map((s) => s.name),
        expected,
      );
    });

    test('get-trace-artifact streams the same documents', async () => {
      const res = await fetch(`${srv.url}/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${traceId}`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { spans: { name: string }[] };
      assert.deepEqual(
        body.spans.map((s) => s.name),
        expected,
      );
    });

    test('BatchGetTraces gathers the pages too', async () => {
      const res = await call(v3, 'GET', 'traces/batchGet', { trace_ids: [traceId] });
      assert.equal(res.status, 200);
      assert.equal(res.body.traces[0].spans.length, SPANS);
    });
  });
}
