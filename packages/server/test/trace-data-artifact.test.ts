import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, DIALECTS, expectError, startTestServer, type TestServer } from './helpers.js';

// Spans a client uploaded as the trace's traces.json artifact (StartTraceV3, then PUT through the
// artifact proxy, as MLflow's TypeScript package and older Python clients do) are served by GetTrace,
// BatchGetTraces and the web UI's get-trace-artifact, on both dialects; bad files are clear errors.

const OTEL_TRACE = '0123456789abcdef0123456789abcdef';
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/** MLflow 3's Span.to_dict() of a root and a child; times beyond a double's exact range. */
function v3Spans(traceId: string) {
  const attrs = (type: string) => ({
    'mlflow.traceRequestId': JSON.stringify(traceId),
    'mlflow.spanType': JSON.stringify(type),
  });
  return {
    spans: [
      {
        trace_id: b64(OTEL_TRACE),
        span_id: b64('00000000000000aa'),
        parent_span_id: null,
        name: 'agent',
        start_time_unix_nano: '__START__',
        end_time_unix_nano: '__END__',
        events: [],
        status: { code: 'STATUS_CODE_OK', message: '' },
        attributes: { ...attrs('AGENT'), 'mlflow.spanInputs': '{"q": "hi"}' },
      },
      {
        trace_id: b64(OTEL_TRACE),
        span_id: b64('00000000000000bb'),
        parent_span_id: b64('00000000000000aa'),
        name: 'tool',
        start_time_unix_nano: 1700000000100000000,
        end_time_unix_nano: 1700000000200000000,
        events: [{ name: 'retry', time_unix_nano: 1700000000150000000, attributes: { n: 1, timestamp: 5 } }],
        // MLflow 3.5 wrote the bare code.
        status: { code: 'ERROR', message: 'boom' },
        attributes: attrs('TOOL'),
      },
    ],
  };
}

/** The JSON text with the root's times as exact 19-digit numbers (a JavaScript number would round them). */
function v3File(traceId: string): string {
  return JSON.stringify(v3Spans(traceId))
    .replace('"__START__"', '1700000000000000001')
    .replace('"__END__"', '1700000000900000003');
}

/** MLflow 2's schema of one span. */
function v2File(traceId: string): string {
  return JSON.stringify({
    spans: [
      {
        name: 'old-root',
        context: { span_id: '0x00000000000000cc', trace_id: `0x${OTEL_TRACE}` },
        parent_id: null,
        start_time: '__V2START__',
        end_time: 1700000001000000000,
        status_code: 'OK',
        status_message: '',
        attributes: { 'mlflow.traceRequestId': JSON.stringify(traceId), 'mlflow.spanType': '"LLM"' },
        events: [],
      },
    ],
  }).replace('"__V2START__"', '1700000000000000007');
}

for (const dialect of DIALECTS) {
  describe(`traces.json spans on ${dialect}`, () => {
    let srv: TestServer;
    let v3: string;
    let experimentId: string;

    /** StartTraceV3 without spans; answers the artifact location the server gave the trace. */
    const start = async (traceId: string): Promise<string> => {
      const res = await call(v3, 'POST', 'traces', {
        trace: {
          trace_info: {
            trace_id: traceId,
            trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
            request_time: '2026-12-07T17:42:11.748Z',
            execution_duration: '0.900s',
            state: 'OK',
          },
        },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const tags = res.body.trace.trace_info.tags as Record<string, string>;
      assert.equal(tags['mlflow.trace.spansLocation'], undefined);
      return tags['mlflow.artifactLocation'];
    };
    /** Uploads traces.json through the artifact proxy, as the clients do. */
    const upload = async (location: string, body: string) => {
      const rel = location.replace(/^mlflow-artifacts:\//, '');
      const res = await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/${rel}/traces.json`, {
        method: 'PUT',
        body,
      });
      assert.equal(res.status, 200, await res.text());
    };
    const traceData = (traceId: string) =>
      fetch(`${srv.url}/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${traceId}`);

    before(async () => {
      srv = await startTestServer(dialect);
      v3 = srv.api.replace('/api/2.0/', '/api/3.0/');
      experimentId = (await call(srv.api, 'POST', 'experiments/create', { name: 'artifact-traces' })).body
        .experiment_id;
    });
    after(async () => {
      await srv.close();
    });

    test('GetTrace, BatchGetTraces and get-trace-artifact read the uploaded spans', async () => {
      const traceId = `tr-${OTEL_TRACE}`;
      const location = await start(traceId);
      assert.match(location, new RegExp(`^mlflow-artifacts:/${experimentId}/traces/${traceId}/artifacts$`));
      await upload(location, v3File(traceId));

      const text = await (await fetch(`${v3}/traces/get?trace_id=${traceId}`)).text();
      assert.match(text, /"start_time_unix_nano":1700000000000000001[,}]/);
      const whole = JSON.parse(text) as Record<string, any>;
      const spans = whole.trace.spans as Record<string, any>[];
      assert.deepEqual(
        spans.map((s) => s.name),
        ['agent', 'tool'],
      );
      const tool = spans[1];
      assert.equal(tool.parent_span_id, b64('00000000000000aa'));
      assert.deepEqual(tool.status, { message: 'boom', code: 'STATUS_CODE_ERROR' });
      assert.equal(tool.events[0].name, 'retry');
      const type = tool.attributes.find((a: { key: string }) => a.key === 'mlflow.spanType');
      assert.deepEqual(type.value, { string_value: 'TOOL' });

      const batch = await call(v3, 'GET', 'traces/batchGet', { trace_ids: [traceId] });
      assert.equal(batch.status, 200);
      assert.equal(batch.body.traces[0].spans.length, 2);

      const data = await traceData(traceId);
      assert.equal(data.status, 200);
      const raw = await data.text();
      assert.match(raw, /"end_time_unix_nano":1700000000900000003/);
      const doc = JSON.parse(raw) as { spans: Record<string, any>[] };
      assert.equal(doc.spans.length, 2);
      assert.equal(doc.spans[0].attributes['mlflow.spanInputs'], '{"q": "hi"}');
      assert.equal(doc.spans[1].status.code, 'STATUS_CODE_ERROR');
      // An event attribute named like an MLflow 2 time field keeps its type.
      assert.deepEqual(doc.spans[1].events[0].attributes, { n: 1, timestamp: 5 });
    });

    test("MLflow 2's traces.json schema is read too", async () => {
      const traceId = 'tr-old-schema';
      await upload(await start(traceId), v2File(traceId));
      const text = await (await fetch(`${v3}/traces/get?trace_id=${traceId}`)).text();
      assert.match(text, /"start_time_unix_nano":1700000000000000007[,}]/);
      const whole = { body: JSON.parse(text) as Record<string, any> };
      const [span] = whole.body.trace.spans;
      assert.equal(span.name, 'old-root');
      assert.equal(span.span_id, b64('00000000000000cc'));
      assert.equal(span.status.code, 'STATUS_CODE_OK');
      assert.equal(span.parent_span_id, undefined);
    });

    test('no traces.json: NOT_FOUND, except GetTrace with allow_partial; batch get leaves it out', async () => {
      const traceId = 'tr-no-file';
      await start(traceId);
      await expectError(
        call(v3, 'GET', 'traces/get', { trace_id: traceId }),
        404,
        'NOT_FOUND',
        /Trace data not found/,
      );
      const partial = await call(v3, 'GET', 'traces/get', { trace_id: traceId, allow_partial: true });
      assert.equal(partial.status, 200, JSON.stringify(partial.body));
      assert.equal(partial.body.trace.spans, undefined);
      assert.equal(partial.body.trace.trace_info.trace_id, traceId);
      const batch = await call(v3, 'GET', 'traces/batchGet', { trace_ids: [traceId] });
      assert.deepEqual(batch.body, {});
      const data = await traceData(traceId);
      assert.equal(data.status, 404);
      assert.equal(((await data.json()) as { error_code: string }).error_code, 'NOT_FOUND');
      // An unknown trace stays RESOURCE_DOES_NOT_EXIST.
      await expectError(
        call(v3, 'GET', 'traces/get', { trace_id: 'tr-nowhere' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
    });

    test('corrupt or misshapen traces.json: INVALID_PARAMETER_VALUE, never 500', async () => {
      const cases: [string, string, RegExp][] = [
        ['tr-bad-json', '{"spans": [', /not JSON/],
        ['tr-no-spans', '{"data": []}', /no "spans" list/],
        ['tr-bad-span', '{"spans": [42]}', /span 0 is not an object/],
        [
          'tr-no-name',
          '{"spans": [{"trace_id": "x", "span_id": "y", "start_time_unix_nano": 1}]}',
          /span 0 lacks/,
        ],
        ['tr-no-start', '{"spans": [{"trace_id": "x", "span_id": "y", "name": "n"}]}', /start time/],
      ];
      for (const [traceId, body, message] of cases) {
        await upload(await start(traceId), body);
        await expectError(
          call(v3, 'GET', 'traces/get', { trace_id: traceId }),
          400,
          'INVALID_PARAMETER_VALUE',
          message,
        );
        const data = await traceData(traceId);
        assert.equal(data.status, 400, traceId);
      }
      // An empty file is no trace data, as in MLflow.
      await upload(await start('tr-empty'), '');
      await expectError(call(v3, 'GET', 'traces/get', { trace_id: 'tr-empty' }), 404, 'NOT_FOUND');
    });

    test('a traces.json of several pages is read as it arrives, by GetTrace, BatchGetTraces and get-trace-artifact', async () => {
      const traceId = 'tr-big-file';
      const count = 2500;
      const spans = Array.from({ length: count }, (_, i) => ({
        trace_id: b64(OTEL_TRACE),
        span_id: b64(i.toString(16).padStart(16, '0')),
        parent_span_id: i === 0 ? null : b64('0'.repeat(16)),
        name: `step-${i}`,
        start_time_unix_nano: `__T${i}__`,
        end_time_unix_nano: `__T${i}__`,
        events: [],
        status: { code: 'STATUS_CODE_OK', message: '' },
        attributes: { 'mlflow.spanInputs': JSON.stringify({ i, pad: 'x'.repeat(300) }) },
      }));
      const body = JSON.stringify({ spans }).replace(
        /"__T(\d+)__"/g,
        (_m, i: string) => `${1700000000000000000n + BigInt(i) * 1000n + 1n}`,
      );
      await upload(await start(traceId), body);

      const text = await (await fetch(`${v3}/traces/get?trace_id=${traceId}`)).text();
      assert.match(text, /"start_time_unix_nano":1700000000002499001[,}]/);
      const got = (JSON.parse(text) as { trace: { spans: { name: string }[] } }).trace.spans;
      assert.deepEqual(
        got.map((s) => s.name),
        spans.map((s) => s.name),
      );
      const data = (await (await traceData(traceId)).json()) as { spans: { name: string }[] };
      assert.equal(data.spans.length, count);

      // With a trace whose spans are stored, one unknown and one without spans anywhere, in the order asked.
      const otel = '11111111111111111111111111111111';
      const stored = await fetch(`${srv.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mlflow-experiment-id': experimentId },
        body: JSON.stringify({
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: otel,
                      spanId: 'ee'.repeat(8),
                      name: 'kept',
                      startTimeUnixNano: '1700000000000000000',
                      endTimeUnixNano: '1700000000000000009',
                    },
                  ],
                },
              ],
            },
          ],
        }),
      });
      assert.equal(stored.status, 200);
      await start('tr-batch-nothing');
      const batch = await call(v3, 'GET', 'traces/batchGet', {
        trace_ids: [`tr-${otel}`, 'tr-unknown', 'tr-batch-nothing', traceId],
      });
      assert.equal(batch.status, 200, JSON.stringify(batch.body).slice(0, 300));
      const traces = batch.body.traces as { trace_info: { trace_id: string }; spans: { name: string }[] }[];
      assert.deepEqual(
        traces.map((t) => [t.trace_info.trace_id, t.spans.length]),
        [
          [`tr-${otel}`, 1],
          [traceId, count],
        ],
      );
      assert.equal(traces[1].spans[count - 1].name, `step-${count - 1}`);
    });

    test('a traces.json that breaks after its first page: the answer is cut off, never whole', async () => {
      const traceId = 'tr-breaks-late';
      const good = Array.from({ length: 1500 }, (_, i) => ({
        trace_id: b64(OTEL_TRACE),
        span_id: b64(i.toString(16).padStart(16, '0')),
        name: `s-${i}`,
        start_time_unix_nano: 1700000000000000000,
        events: [],
        // Big enough that the first page is read before the file's last piece arrives.
        attributes: { pad: JSON.stringify('x'.repeat(1500)) },
      }));
      await upload(await start(traceId), `${JSON.stringify({ spans: good }).slice(0, -2)}, 42]}`);
      const res = await fetch(`${v3}/traces/get?trace_id=${traceId}`);
      // The first page was good, so the answer had begun: a client sees it end early.
      assert.equal(res.status, 200);
      await assert.rejects(res.text());
      const batch = await fetch(`${v3}/traces/batchGet?trace_ids=${traceId}`);
      assert.equal(batch.status, 200);
      await assert.rejects(batch.text());
      // The server is still answering.
      const ok = await call(v3, 'GET', `traces/${traceId}`);
      assert.equal(ok.status, 200);
    });

    test('spans in the tracking store win over a traces.json', async () => {
      const otel = 'fedcba9876543210fedcba9876543210';
      const traceId = `tr-${otel}`;
      const location = await start(traceId);
      await upload(location, v3File(traceId));
      const span = {
        traceId: otel,
        spanId: 'dd'.repeat(8),
        name: 'stored',
        startTimeUnixNano: '1700000000000000000',
        endTimeUnixNano: '1700000000000000009',
      };
      const res = await fetch(`${srv.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mlflow-experiment-id': experimentId },
        body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }),
      });
      assert.equal(res.status, 200);
      const whole = await call(v3, 'GET', 'traces/get', { trace_id: traceId });
      assert.deepEqual(
        whole.body.trace.spans.map((s: { name: string }) => s.name),
        ['stored'],
      );
    });
  });
}
