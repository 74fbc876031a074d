import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpHttpExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { call, DIALECTS, expectError, startTestServer, type TestServer } from './helpers.js';

// MLflow 3's trace endpoints over real HTTP on both dialects: the v3 calls MLflow 3 clients make, the
// 2.x ones, the search grammar, deletion and run links, and spans exported by a real OpenTelemetry
// SDK to the OTLP receiver (protobuf and JSON), read back through GetTrace.

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

function traceInfo(traceId: string, experimentId: string, extra: Record<string, unknown> = {}) {
  return {
    trace_id: traceId,
    trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
    request_time: '2026-12-07T17:42:11.748Z',
    execution_duration: '0.250s',
    state: 'OK',
    request_preview: '{"q": "hi"}',
    response_preview: '{"a": "there"}',
    trace_metadata: { 'mlflow.user': 'root', 'mlflow.trace_schema.version': '3' },
    tags: { 'mlflow.traceName': 'predict', team: 'search' },
    ...extra,
  };
}

/** Exports one trace (a root and a child) through `exporter`; answers its OpenTelemetry trace id. */
async function exportTrace(exporter: SpanExporter, name: string): Promise<string> {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('mlflow-ts-test');
  const root = tracer.startSpan(name);
  root.setAttribute('mlflow.spanType', 'CHAIN');
  root.setAttribute('mlflow.spanInputs', '{"question": "why"}');
  root.setAttribute('mlflow.spanOutputs', '"because"');
  root.setAttribute('tokens', 42);
  const child = tracer.startSpan('retrieve', {}, trace.setSpan(context.active(), root));
  child.addEvent('cache-miss', { key: 'k1' });
  child.setStatus({ code: 2, message: 'not found' });
  child.end();
  root.end();
  await provider.forceFlush();
  await provider.shutdown();
  return root.spanContext().traceId;
}

for (const dialect of DIALECTS) {
  describe(`traces on ${dialect}`, () => {
    let srv: TestServer;
    let v3: string;
    let experimentId: string;
    const api = (method: Method, endpoint: string, body?: Record<string, unknown>) =>
      call(srv.api, method, endpoint, body);
    const api3 = (method: Method, endpoint: string, body?: Record<string, unknown>) =>
      call(v3, method, endpoint, body);
    const start = async (traceId: string, extra: Record<string, unknown> = {}, exp = experimentId) => {
      const res = await api3('POST', 'traces', { trace: { trace_info: traceInfo(traceId, exp, extra) } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.trace.trace_info;
    };
    const search = async (body: Record<string, unknown>) => {
      const res = await api3('POST', 'traces/search', {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
        ...body,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { traces?: { trace_id: string }[]; next_page_token?: string };
    };
    const ids = (page: { traces?: { trace_id: string }[] }) => (page.traces ?? []).map((t) => t.trace_id);

    before(async () => {
      srv = await startTestServer(dialect);
      v3 = srv.api.replace('/api/2.0/', '/api/3.0/');
      experimentId = (await api('POST', 'experiments/create', { name: 'traces' })).body.experiment_id;
    });
    after(async () => {
      await srv.close();
    });

    test('StartTraceV3 then GetTraceInfoV3: MLflow 3 JSON, artifact location tag added', async () => {
      const info = await start('tr-0001');
      assert.equal(info.trace_id, 'tr-0001');
      assert.equal(info.request_time, '2026-12-07T17:42:11.748Z');
      assert.equal(info.execution_duration, '0.250s');
      assert.equal(info.state, 'OK');
      assert.deepEqual(info.trace_location, {
        type: 'MLFLOW_EXPERIMENT',
        mlflow_experiment: { experiment_id: experimentId },
      });
      assert.equal(info.trace_metadata['mlflow.user'], 'root');
      assert.match(info.tags['mlflow.artifactLocation'], /\/traces\/tr-0001\/artifacts$/);
      const got = await api3('GET', 'traces/tr-0001');
      assert.equal(got.status, 200);
      assert.deepEqual(got.body.trace.trace_info, info);
      // A second start of the same id merges (MLflow's clients may send spans first).
      const merged = await start('tr-0001', { tags: { extra: 'yes' }, state: 'ERROR' });
      assert.equal(merged.state, 'ERROR');
      assert.equal(merged.tags.team, 'search');
      assert.equal(merged.tags.extra, 'yes');
    });

    test('StartTraceV3 bad input: missing trace, unknown experiment, bad timestamp and state', async () => {
      await expectError(api3('POST', 'traces', {}), 400, 'INVALID_PARAMETER_VALUE', /'trace'/);
      await expectError(
        api3('POST', 'traces', { trace: { trace_info: traceInfo('tr-x', '987654') } }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'No Experiment with id=987654 exists',
      );
      await expectError(
        api3('POST', 'traces', {
          trace: { trace_info: traceInfo('tr-x', experimentId, { request_time: 'yesterday' }) },
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /request_time/,
      );
      await expectError(
        api3('POST', 'traces', { trace: { trace_info: traceInfo('tr-x', experimentId, { state: 'DONE' }) } }),
        400,
        'INVALID_PARAMETER_VALUE',
        /state/,
      );
      await expectError(
        api3('POST', 'traces', { trace: { trace_info: traceInfo('', experimentId) } }),
        400,
        'INVALID_PARAMETER_VALUE',
        /trace_id/,
      );
      await expectError(
        api3('GET', 'traces/tr-none'),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        "Trace with request_id='tr-none' not found.",
      );
    });

    test('trace tags: set, overwrite, delete; a missing tag or trace is an error', async () => {
      await start('tr-tags');
      assert.equal((await api3('PATCH', 'traces/tr-tags/tags', { key: 'k', value: 'v1' })).status, 200);
      assert.equal((await api3('PATCH', 'traces/tr-tags/tags', { key: 'k', value: 'v2' })).status, 200);
      assert.equal((await api3('GET', 'traces/tr-tags')).body.trace.trace_info.tags.k, 'v2');
      assert.equal((await api3('DELETE', 'traces/tr-tags/tags', { key: 'k' })).status, 200);
      assert.equal((await api3('GET', 'traces/tr-tags')).body.trace.trace_info.tags.k, undefined);
      await expectError(api3('DELETE', 'traces/tr-tags/tags', { key: 'k' }), 404, 'RESOURCE_DOES_NOT_EXIST');
      await expectError(
        api3('PATCH', 'traces/tr-none/tags', { key: 'k', value: 'v' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api3('PATCH', 'traces/tr-tags/tags', { value: 'v' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'key'/,
      );
      await expectError(
        api3('PATCH', 'traces/tr-tags/tags', { key: 'k', value: 'x'.repeat(8001) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /exceeded length limit of 8000/,
      );
    });

    test('search: filters on attributes, tags, metadata, run id; order and pages', async () => {
      const exp = (await api('POST', 'experiments/create', { name: 'search-traces' })).body.experiment_id;
      const searchIn = async (body: Record<string, unknown>) => {
        const res = await api3('POST', 'traces/search', {
          locations: [{ mlflow_experiment: { experiment_id: exp } }],
          ...body,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res.body as { traces?: { trace_id: string }[]; next_page_token?: string };
      };
      const run = (await api('POST', 'runs/create', { experiment_id: exp })).body.run.info.run_id;
      for (let i = 0; i < 5; i++) {
        const time = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
        const res = await api3('POST', 'traces', {
          trace: {
            trace_info: traceInfo(`tr-s${i}`, exp, {
              request_time: time,
              execution_duration: `${i}s`,
              state: i === 4 ? 'ERROR' : 'OK',
              tags: { 'mlflow.traceName': i % 2 === 0 ? 'even' : 'odd', n: String(i) },
              trace_metadata:
                i === 1 ? { 'mlflow.user': 'root', 'mlflow.sourceRun': run } : { 'mlflow.user': 'root' },
            }),
          },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
      assert.deepEqual(ids(await searchIn({})), ['tr-s4', 'tr-s3', 'tr-s2', 'tr-s1', 'tr-s0']);
      assert.deepEqual(ids(await searchIn({ order_by: ['timestamp_ms ASC'] })), [
        'tr-s0',
        'tr-s1',
        'tr-s2',
        'tr-s3',
        'tr-s4',
      ]);
      assert.deepEqual(ids(await searchIn({ filter: "trace.status = 'ERROR'" })), ['tr-s4']);
      assert.deepEqual(ids(await searchIn({ filter: 'execution_time_ms >= 3000' })), ['tr-s4', 'tr-s3']);
      const t2 = Date.UTC(2026, 0, 1, 0, 0, 2);
      assert.deepEqual(ids(await searchIn({ filter: `attributes.timestamp_ms < ${t2}` })), [
        'tr-s1',
        'tr-s0',
      ]);
      assert.deepEqual(ids(await searchIn({ filter: "tags.n = '3'" })), ['tr-s3']);
      assert.deepEqual(ids(await searchIn({ filter: "trace.name = 'odd'" })), ['tr-s3', 'tr-s1']);
      assert.deepEqual(
        ids(await searchIn({ filter: "metadata.`mlflow.user` = 'root' AND tags.n LIKE '%4'" })),
        ['tr-s4'],
      );
      assert.deepEqual(ids(await searchIn({ filter: `trace.run_id = '${run}'` })), ['tr-s1']);
      // Linking adds traces to the run's search.
      assert.equal(
        (await api('POST', 'traces/link-to-run', { trace_ids: ['tr-s3', 'tr-s3'], run_id: run })).status,
        200,
      );
      assert.deepEqual(ids(await searchIn({ filter: `trace.run_id = '${run}'` })), ['tr-s3', 'tr-s1']);
      // Pages of two.
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await searchIn({ max_results: 2, page_token: token });
        seen.push(...ids(page));
        token = page.next_page_token;
      } while (token);
      assert.deepEqual(seen, ['tr-s4', 'tr-s3', 'tr-s2', 'tr-s1', 'tr-s0']);
    });

    test('search bad input: MLflow-style errors, never a 500', async () => {
      for (const filter of [
        "foo.bar = 'x'",
        "trace.unknown = 'x'",
        "trace.timestamp_ms = 'x'",
        'tags.a = 1',
        "trace.status > 'OK'",
        "span.kind = 'x'",
        'trace.status = ',
      ]) {
        const res = await api3('POST', 'traces/search', {
          locations: [{ mlflow_experiment: { experiment_id: experimentId } }],
          filter,
        });
        assert.equal(res.status, 400, `${filter}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
      }
      await expectError(
        api3('POST', 'traces/search', { filter: '' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'locations'/,
      );
      await expectError(
        api3('POST', 'traces/search', { locations: [], max_results: 501 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /max_results/,
      );
      await expectError(
        api3('POST', 'traces/search', { locations: [], order_by: ['tags.x DESC'] }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api3('POST', 'traces/search', { locations: [], page_token: '!!' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
    });

    test('delete traces: by ids, by time with max_traces, and the rules between them', async () => {
      const exp = (await api('POST', 'experiments/create', { name: 'delete-traces' })).body.experiment_id;
      for (let i = 0; i < 4; i++) {
        await start(`tr-d${i}`, { request_time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }, exp);
      }
      const del = (body: Record<string, unknown>) =>
        api3('POST', 'traces/delete-traces', { experiment_id: exp, ...body });
      await expectError(del({}), 400, 'INVALID_PARAMETER_VALUE', /max_timestamp_millis/);
      await expectError(
        del({ request_ids: ['tr-d0'], max_timestamp_millis: 1 }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        del({ max_timestamp_millis: Date.now(), max_traces: 0 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /max_traces/,
      );
      await expectError(
        api3('POST', 'traces/delete-traces', { request_ids: ['x'] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /experiment_id/,
      );
      let res = await del({ request_ids: ['tr-d3', 'tr-unknown'] });
      assert.equal(res.body.traces_deleted, 1);
      res = await del({ max_timestamp_millis: Date.UTC(2026, 0, 1, 0, 0, 2), max_traces: 2 });
      assert.equal(res.body.traces_deleted, 2);
      const left = await api3('POST', 'traces/search', {
        locations: [{ mlflow_experiment: { experiment_id: exp } }],
      });
      assert.deepEqual(ids(left.body), ['tr-d2']);
      // The 2.x path deletes the same way.
      res = await api('POST', 'traces/delete-traces', { experiment_id: exp, request_ids: ['tr-d2'] });
      assert.equal(res.body.traces_deleted, 1);
      await expectError(api3('GET', 'traces/tr-d2'), 404, 'RESOURCE_DOES_NOT_EXIST');
    });

    test('link traces to a run: limits, unknown run or trace', async () => {
      await start('tr-link');
      const run = (await api('POST', 'runs/create', { experiment_id: experimentId })).body.run.info.run_id;
      await expectError(
        api('POST', 'traces/link-to-run', { trace_ids: ['tr-link'] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /run_id/,
      );
      await expectError(
        api('POST', 'traces/link-to-run', { trace_ids: ['tr-link'], run_id: 'nope' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api('POST', 'traces/link-to-run', { trace_ids: ['tr-zz'], run_id: run }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      const many = Array.from({ length: 101 }, (_, i) => `tr-${i}`);
      await expectError(
        api('POST', 'traces/link-to-run', { trace_ids: many, run_id: run }),
        400,
        'INVALID_PARAMETER_VALUE',
        /more than 100/,
      );
    });

    test('2.x endpoints: start, end, get info, search, tags', async () => {
      const started = await api('POST', 'traces', {
        experiment_id: experimentId,
        timestamp_ms: 1_700_000_000_000,
        request_metadata: [{ key: 'm', value: '1' }],
        tags: [{ key: 't', value: 'x' }],
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const info = started.body.trace_info;
      assert.match(info.request_id, /^[0-9a-f]{32}$/);
      assert.equal(info.status, 'IN_PROGRESS');
      assert.equal(info.timestamp_ms, 1_700_000_000_000);
      const ended = await api('PATCH', `traces/${info.request_id}`, {
        timestamp_ms: 1_700_000_000_500,
        status: 'OK',
      });
      assert.equal(ended.status, 200, JSON.stringify(ended.body));
      assert.equal(ended.body.trace_info.execution_time_ms, 500);
      assert.equal(ended.body.trace_info.status, 'OK');
      const got = await api('GET', `traces/${info.request_id}/info`);
      assert.deepEqual(got.body.trace_info.request_metadata, [{ key: 'm', value: '1' }]);
      const found = await api('GET', 'traces', { experiment_ids: [experimentId], filter: "tags.t = 'x'" });
      assert.deepEqual(
        found.body.traces.map((t: { request_id: string }) => t.request_id),
        [info.request_id],
      );
      assert.equal(
        (await api('PATCH', `traces/${info.request_id}/tags`, { key: 'k', value: 'v' })).status,
        200,
      );
      assert.equal((await api('DELETE', `traces/${info.request_id}/tags`, { key: 'k' })).status, 200);
      await expectError(api('GET', 'traces', {}), 400, 'INVALID_PARAMETER_VALUE', /experiment_ids/);
      await expectError(api('PATCH', 'traces/nope', { status: 'OK' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    });

    for (const [format, makeExporter] of [
      ['protobuf', (url: string, headers: Record<string, string>) => new OtlpProtoExporter({ url, headers })],
      ['JSON', (url: string, headers: Record<string, string>) => new OtlpHttpExporter({ url, headers })],
    ] as const) {
      test(`OTLP ${format} from the OpenTelemetry SDK: spans stored, trace created, read back`, async () => {
        const exporter = makeExporter(`${srv.url}/v1/traces`, { 'x-mlflow-experiment-id': experimentId });
        const otelTraceId = await exportTrace(exporter, `agent-${format}`);
        const traceId = `tr-${otelTraceId}`;
        const info = (await api3('GET', `traces/${traceId}`)).body.trace.trace_info;
        assert.equal(info.state, 'OK');
        assert.equal(info.tags['mlflow.traceName'], `agent-${format}`);
        assert.equal(info.tags['mlflow.trace.spansLocation'], 'TRACKING_STORE');
        assert.equal(info.request_preview, '{"question": "why"}');

        const whole = await api3('GET', 'traces/get', { trace_id: traceId });
        assert.equal(whole.status, 200, JSON.stringify(whole.body));
        const spans = whole.body.trace.spans as Record<string, any>[];
        assert.equal(spans.length, 2);
        const root = spans.find((s) => s.parent_span_id === undefined);
        const child = spans.find((s) => s.parent_span_id !== undefined);
        assert.ok(root && child);
        assert.equal(Buffer.from(root.trace_id, 'base64').toString('hex'), otelTraceId);
        assert.equal(child.parent_span_id, root.span_id);
        assert.equal(child.status.code, 'STATUS_CODE_ERROR');
        assert.equal(child.events[0].name, 'cache-miss');
        const attr = (name: string) => root.attributes.find((a: { key: string }) => a.key === name)?.value;
        assert.deepEqual(attr('tokens'), { int_value: 42 });
        assert.deepEqual(attr('mlflow.traceRequestId'), { string_value: traceId });

        // Batch get and the web UI's trace data carry the same spans.
        const batch = await api3('GET', 'traces/batchGet', { trace_ids: [traceId, 'tr-none'] });
        assert.equal(batch.body.traces.length, 1);
        assert.equal(batch.body.traces[0].spans.length, 2);
        const data = await fetch(`${srv.url}/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${traceId}`);
        assert.equal(data.status, 200);
        const doc = (await data.json()) as { spans: Record<string, any>[] };
        assert.equal(doc.spans.length, 2);
        assert.equal(
          JSON.parse(doc.spans.find((s) => s.name === `agent-${format}`)?.attributes['mlflow.spanType']),
          'CHAIN',
        );

        // Spans are searchable by name, type and status.
        assert.deepEqual(
          ids(
            await search({ filter: "span.name = 'retrieve' AND span.status = 'ERROR'", order_by: [] }),
          ).includes(traceId),
          true,
        );
      });
    }

    test('assessments: create, get, update, delete, with overrides; shown in the trace info', async () => {
      await start('tr-assess');
      const create = (assessment: Record<string, unknown>) =>
        api3('POST', 'traces/tr-assess/assessments', { assessment });
      const first = await create({
        assessment_name: 'correct',
        source: { source_type: 'HUMAN', source_id: 'alice' },
        feedback: { value: true },
        rationale: 'looks right',
        metadata: { round: '1' },
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const a = first.body.assessment;
      assert.match(a.assessment_id, /^a-[0-9a-f]{32}$/);
      assert.equal(a.trace_id, 'tr-assess');
      assert.deepEqual(a.feedback, { value: true });
      assert.deepEqual(a.source, { source_type: 'HUMAN', source_id: 'alice' });
      assert.equal(a.valid, true);
      assert.deepEqual(a.metadata, { round: '1' });
      const got = await api3('GET', `traces/tr-assess/assessments/${a.assessment_id}`);
      assert.deepEqual(got.body.assessment, a);

      // An override invalidates the original; deleting the override restores it.
      const second = await create({
        assessment_name: 'correct',
        source: { source_type: 'HUMAN', source_id: 'bob' },
        feedback: { value: false },
        overrides: a.assessment_id,
      });
      assert.equal(second.status, 200, JSON.stringify(second.body));
      const b = second.body.assessment;
      assert.equal(
        (await api3('GET', `traces/tr-assess/assessments/${a.assessment_id}`)).body.assessment.valid,
        false,
      );
      const info = (await api3('GET', 'traces/tr-assess')).body.trace.trace_info;
      assert.deepEqual(
        info.assessments.map((x: { assessment_id: string }) => x.assessment_id),
        [a.assessment_id, b.assessment_id],
      );
      assert.equal((await api3('DELETE', `traces/tr-assess/assessments/${b.assessment_id}`)).status, 200);
      assert.equal(
        (await api3('GET', `traces/tr-assess/assessments/${a.assessment_id}`)).body.assessment.valid,
        true,
      );
      await expectError(
        api3('GET', `traces/tr-assess/assessments/${b.assessment_id}`),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );

      // Update: the mask as protobuf's JSON writes it; the kind cannot change.
      const updated = await api3('PATCH', `traces/tr-assess/assessments/${a.assessment_id}`, {
        assessment: { assessment_name: 'right', feedback: { value: 0.5 }, rationale: 'partly' },
        update_mask: 'assessmentName,feedback,rationale',
      });
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      assert.equal(updated.body.assessment.assessment_name, 'right');
      assert.deepEqual(updated.body.assessment.feedback, { value: 0.5 });
      assert.equal(updated.body.assessment.rationale, 'partly');
      await expectError(
        api3('PATCH', `traces/tr-assess/assessments/${a.assessment_id}`, {
          assessment: { expectation: { value: 'x' } },
          update_mask: 'expectation',
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Feedback assessment/,
      );
      const expected = await create({
        assessment_name: 'answer',
        expectation: { value: { text: 'because' } },
      });
      assert.deepEqual(expected.body.assessment.expectation, { value: { text: 'because' } });
      // MLflow's clients send objects, lists and null as a JSON serialized_value; it reads back as a value.
      const serialized = await create({
        assessment_name: 'steps',
        expectation: { serialized_value: { serialization_format: 'JSON_FORMAT', value: '[{"k": 1}, null]' } },
      });
      assert.equal(serialized.status, 200, JSON.stringify(serialized.body));
      const stored = await api3(
        'GET',
        `traces/tr-assess/assessments/${serialized.body.assessment.assessment_id}`,
      );
      assert.deepEqual(stored.body.assessment.expectation, { value: [{ k: 1 }, null] });
      const updatedSerialized = await api3(
        'PATCH',
        `traces/tr-assess/assessments/${serialized.body.assessment.assessment_id}`,
        {
          assessment: {
            expectation: { serialized_value: { serialization_format: 'JSON_FORMAT', value: 'null' } },
          },
          update_mask: 'expectation',
        },
      );
      assert.deepEqual(updatedSerialized.body.assessment.expectation, { value: null });
      for (const [bad, message] of [
        [
          { serialization_format: 'PICKLE', value: 'x' },
          /Unknown serialization format: PICKLE\. Only JSON_FORMAT/,
        ],
        [{ value: '1' }, /Unknown serialization format: null/],
        [{ serialization_format: 'JSON_FORMAT', value: '{nope' }, /is not JSON/],
        [{ serialization_format: 'JSON_FORMAT', value: 7 }, /serialized_value\.value/],
      ] as const) {
        await expectError(
          create({ assessment_name: 'bad', expectation: { serialized_value: bad } }),
          400,
          'INVALID_PARAMETER_VALUE',
          message,
        );
      }
      await expectError(
        create({
          assessment_name: 'both',
          expectation: { value: 1, serialized_value: { serialization_format: 'JSON_FORMAT', value: '1' } },
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /not both/,
      );

      // Bad input.
      await expectError(
        api3('POST', 'traces/tr-assess/assessments', {}),
        400,
        'INVALID_PARAMETER_VALUE',
        /'assessment'/,
      );
      await expectError(
        create({ feedback: { value: 1 } }),
        400,
        'INVALID_PARAMETER_VALUE',
        /assessment_name/,
      );
      await expectError(
        create({ assessment_name: 'x' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /feedback or an expectation/,
      );
      await expectError(
        create({ assessment_name: 'x', feedback: { value: 1 }, source: { source_type: 'ROBOT' } }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        create({ assessment_name: 'x', feedback: { value: 1 }, overrides: 'a-none' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api3('POST', 'traces/tr-none/assessments', {
          assessment: { assessment_name: 'x', feedback: { value: 1 } },
        }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      await expectError(
        api3('PATCH', `traces/tr-assess/assessments/${a.assessment_id}`, { assessment: { rationale: 'r' } }),
        400,
        'INVALID_PARAMETER_VALUE',
        /update_mask/,
      );
      // Deleting the trace deletes its assessments.
      await api3('POST', 'traces/delete-traces', { experiment_id: experimentId, request_ids: ['tr-assess'] });
      await expectError(
        api3('GET', `traces/tr-assess/assessments/${a.assessment_id}`),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
    });

    test('OTLP bad requests: header, content type, body, unknown experiment', async () => {
      const post = (headers: Record<string, string>, body: string | Buffer) =>
        fetch(`${srv.url}/v1/traces`, {
          method: 'POST',
          headers,
          body: typeof body === 'string' ? body : new Uint8Array(body),
        });
      let res = await post(
        { 'content-type': 'application/x-protobuf' },
        Buffer.from([0x0a, 0x00]).toString('latin1'),
      );
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { message: string }).message, /x-mlflow-experiment-id/);
      res = await post({ 'content-type': 'text/plain', 'x-mlflow-experiment-id': experimentId }, 'hi');
      assert.equal(res.status, 400);
      res = await post(
        { 'content-type': 'application/x-protobuf', 'x-mlflow-experiment-id': experimentId },
        Buffer.from([0x0a, 0xff, 0xff]),
      );
      assert.equal(res.status, 400);
      res = await post(
        { 'content-type': 'application/json', 'x-mlflow-experiment-id': experimentId },
        '{"resourceSpans": []}',
      );
      assert.equal(res.status, 400);
      const span = {
        traceId: 'ab'.repeat(16),
        spanId: 'cd'.repeat(8),
        name: 's',
        startTimeUnixNano: '1700000000000000001',
        endTimeUnixNano: '1700000000000000002',
      };
      const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
      res = await post({ 'content-type': 'application/json', 'x-mlflow-experiment-id': '98765' }, body);
      assert.equal(res.status, 404);
      res = await post({ 'content-type': 'application/json', 'x-mlflow-experiment-id': experimentId }, body);
      assert.equal(res.status, 200);
      // Nanosecond times survive exactly.
      const whole = await api3('GET', 'traces/get', { trace_id: `tr-${'ab'.repeat(16)}` });
      const text = await (await fetch(`${v3}/traces/get?trace_id=tr-${'ab'.repeat(16)}`)).text();
      assert.match(text, /"start_time_unix_nano":1700000000000000001/);
      assert.equal(whole.body.trace.trace_info.request_time, '2023-11-14T22:13:20Z');
    });
  });
}
