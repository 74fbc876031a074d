import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  configureTracing,
  flushTraces,
  getCurrentActiveSpan,
  getLastActiveTraceId,
  MlflowClient,
  MlflowError,
  SpanType,
  startSpan,
  type Trace,
  type TraceSpan,
  trace,
  updateCurrentTrace,
  withSpan,
} from '@mlflow-ts/client';
import { DIALECTS } from '../../server/test/helpers.js';
import { type ServerProcess, startServerProcess } from '../../server/test/server-process.js';

// The SDK's tracing against the built server as its own process, on both store dialects: spans made
// by trace()/withSpan()/startSpan() go out over OTLP and StartTraceV3 and are read back through the
// SDK's read API and in the raw JSON MLflow's own clients and UI read.

const byName = (t: Trace, name: string): TraceSpan => {
  const span = t.spans.find((s) => s.name === name);
  assert.ok(span, `no span '${name}' in ${t.spans.map((s) => s.name).join(', ')}`);
  return span;
};

for (const dialect of DIALECTS) {
  describe(`SDK tracing against a server process on ${dialect}`, () => {
    let srv: ServerProcess;
    let client: MlflowClient;
    let experimentId: string;

    before(async () => {
      srv = await startServerProcess(dialect);
      client = new MlflowClient({ trackingUri: srv.url, maxRetries: 0 });
      experimentId = await client.createExperiment('tracing');
      configureTracing({ client, experimentId });
    });
    after(() => srv.close());

    test('nested spans from trace(), withSpan() and startSpan(): tree, attributes, inputs and outputs round-trip', async () => {
      const retrieve = trace(
        async (query: string, k: number) => {
          const span = getCurrentActiveSpan();
          span?.setAttributes({ 'retriever.k': k, hit: true, scores: [0.5, 0.25], meta: { source: 'wiki' } });
          span?.addEvent('cache-miss', { key: query });
          return [`doc about ${query}`];
        },
        { name: 'retrieve', spanType: SpanType.RETRIEVER },
      );
      const answer = trace(
        async function answer(question: string) {
          const docs = await retrieve(question, 2);
          // MLflow's order, withSpan(fn, options): the result becomes the outputs.
          const text = withSpan(
            (span) => {
              span.setInputs({ docs });
              return `${question}: ${docs[0]}`;
            },
            { name: 'format', spanType: SpanType.PARSER },
          );
          const manual = startSpan({ name: 'manual', inputs: { n: 1 }, attributes: { step: 3 } });
          manual.end({ outputs: { n: 2 } });
          updateCurrentTrace({ tags: { team: 'search' } });
          return { text };
        },
        { spanType: SpanType.CHAIN },
      );

      const result = await answer('why');
      assert.deepEqual(result, { text: 'why: doc about why' });
      const traceId = getLastActiveTraceId() ?? '';
      assert.match(traceId, /^tr-[0-9a-f]{32}$/);
      await flushTraces();

      const got = await client.getTrace(traceId);
      assert.equal(got.spans.length, 4);
      const root = byName(got, 'answer');
      const child = byName(got, 'retrieve');
      const format = byName(got, 'format');
      const manual = byName(got, 'manual');
      assert.equal(root.parentId, null);
      for (const s of [child, format, manual]) assert.equal(s.parentId, root.spanId);
      assert.equal(`tr-${root.traceId}`, traceId);
      assert.equal(root.spanType, 'CHAIN');
      assert.equal(child.spanType, 'RETRIEVER');
      assert.deepEqual(root.inputs, { question: 'why' });
      assert.deepEqual(root.outputs, { text: 'why: doc about why' });
      assert.deepEqual(child.inputs, { query: 'why', k: 2 });
      assert.deepEqual(child.outputs, ['doc about why']);
      assert.equal(child.attributes['retriever.k'], 2);
      assert.equal(child.attributes.hit, true);
      assert.deepEqual(child.attributes.scores, [0.5, 0.25]);
      assert.deepEqual(child.attributes.meta, { source: 'wiki' });
      assert.equal(child.attributes['mlflow.traceRequestId'], traceId);
      assert.deepEqual(
        child.events.map((e) => [e.name, e.attributes]),
        [['cache-miss', { key: 'why' }]],
      );
      assert.deepEqual(format.inputs, { docs: ['doc about why'] });
      assert.equal(format.outputs, 'why: doc about why');
      assert.deepEqual([manual.inputs, manual.outputs, manual.attributes.step], [{ n: 1 }, { n: 2 }, 3]);
      for (const s of got.spans) {
        assert.equal(s.status.code, 'OK');
        assert.ok(s.endTimeNs !== undefined && s.endTimeNs >= s.startTimeNs);
      }
      assert.ok(child.startTimeNs >= root.startTimeNs && (child.endTimeNs ?? 0n) <= (root.endTimeNs ?? 0n));

      const info = got.info;
      assert.equal(info.state, 'OK');
      assert.equal(info.trace_location.mlflow_experiment?.experiment_id, experimentId);
      assert.equal(info.tags['mlflow.traceName'], 'answer');
      assert.equal(info.tags['mlflow.trace.spansLocation'], 'TRACKING_STORE');
      assert.equal(info.tags.team, 'search');
      assert.equal(info.request_preview, '{"question":"why"}');
      assert.equal(info.response_preview, '{"text":"why: doc about why"}');
      assert.equal(info.trace_metadata['mlflow.trace_schema.version'], '3');
      assert.ok(Number(info.trace_metadata['mlflow.trace.sizeBytes']) > 500);
      const stats = JSON.parse(info.trace_metadata['mlflow.trace.sizeStats']);
      assert.equal(stats.num_spans, 4);
      assert.equal(stats.total_size_bytes, Number(info.trace_metadata['mlflow.trace.sizeBytes']));
      assert.ok(
        stats.p25 <= stats.p50 && stats.p50 <= stats.p75 && stats.p75 <= stats.max,
        JSON.stringify(stats),
      );
      assert.match(info.execution_duration ?? '', /^\d+(\.\d{1,3})?s$/);
    });

    test('@trace on class methods (standard decorators): named after the method, inputs by parameter name, this the instance', async () => {
      class Agent {
        constructor(readonly model: string) {}

        @trace({ spanType: SpanType.LLM })
        async complete(prompt: string, maxTokens: number): Promise<string> {
          return `${this.model}: ${prompt.slice(0, maxTokens)}`;
        }

        @trace
        *tokens(text: string): Generator<string> {
          yield* text.split(' ');
        }

        @trace({ name: 'plan-step', attributes: { planner: 'static' } })
        static plan(goal: string): string[] {
          return [goal, 'answer'];
        }

        @trace()
        async run(goal: string): Promise<{ steps: string[]; text: string; words: string[] }> {
          const steps = Agent.plan(goal);
          const text = await this.complete(goal, 5);
          return { steps, text, words: [...this.tokens(text)] };
        }

        @trace({ spanType: SpanType.TOOL })
        broken(input: string): never {
          throw new RangeError(`cannot ${input}`);
        }
      }

      const agent = new Agent('m1');
      // The decorated method keeps its name and arity.
      assert.equal(agent.complete.name, 'complete');
      assert.equal(agent.complete.length, 2);
      assert.deepEqual(await agent.run('hello world'), {
        steps: ['hello world', 'answer'],
        text: 'm1: hello',
        words: ['m1:', 'hello'],
      });
      const traceId = getLastActiveTraceId() ?? '';
      assert.throws(() => agent.broken('fly'), RangeError);
      const failedId = getLastActiveTraceId() ?? '';
      assert.notEqual(failedId, traceId);
      await flushTraces();

      const got = await client.getTrace(traceId);
      assert.deepEqual(got.spans.map((s) => s.name).sort(), ['complete', 'plan-step', 'run', 'tokens']);
      const root = byName(got, 'run');
      assert.equal(root.parentId, null);
      assert.deepEqual(root.inputs, { goal: 'hello world' });
      assert.deepEqual((root.outputs as { text: string }).text, 'm1: hello');
      assert.equal(got.info.tags['mlflow.traceName'], 'run');
      const complete = byName(got, 'complete');
      assert.equal(complete.parentId, root.spanId);
      assert.equal(complete.spanType, 'LLM');
      assert.deepEqual(complete.inputs, { prompt: 'hello world', maxTokens: 5 });
      assert.equal(complete.outputs, 'm1: hello');
      const plan = byName(got, 'plan-step');
      assert.equal(plan.parentId, root.spanId);
      assert.deepEqual(plan.inputs, { goal: 'hello world' });
      assert.equal(plan.attributes.planner, 'static');
      const tokens = byName(got, 'tokens');
      assert.deepEqual(tokens.inputs, { text: 'm1: hello' });
      assert.deepEqual(tokens.outputs, ['m1:', 'hello']);

      const failed = await client.getTrace(failedId);
      const [broken] = failed.spans;
      assert.equal(broken.name, 'broken');
      assert.equal(broken.spanType, 'TOOL');
      assert.equal(broken.status.code, 'ERROR');
      assert.match(broken.status.message ?? '', /RangeError: cannot fly/);
      assert.equal(failed.info.state, 'ERROR');

      // trace(options) is a decorator: used on anything but a method it says so.
      const decorator = trace({ name: 'x' }) as unknown as (f: () => void, c: unknown) => unknown;
      assert.throws(() => decorator(() => {}, undefined), /decorator for class methods/);
    });

    test('MLflow clients read our traces: v3 GetTrace JSON and the UI trace data carry the spans as MLflow writes them', async () => {
      const traced = trace((prompt: string) => ({ completion: prompt.toUpperCase() }), {
        name: 'llm',
        spanType: SpanType.LLM,
      });
      traced('hi');
      const traceId = getLastActiveTraceId() ?? '';
      await flushTraces();

      const raw = (await (
        await fetch(`${srv.url}/api/3.0/mlflow/traces/get?trace_id=${traceId}`)
      ).json()) as Record<string, any>;
      const info = raw.trace.trace_info;
      assert.equal(info.trace_id, traceId);
      assert.deepEqual(info.trace_location, {
        type: 'MLFLOW_EXPERIMENT',
        mlflow_experiment: { experiment_id: experimentId },
      });
      assert.match(info.request_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.equal(info.state, 'OK');
      const [span] = raw.trace.spans;
      assert.equal(Buffer.from(span.trace_id, 'base64').toString('hex'), traceId.slice(3));
      assert.equal(Buffer.from(span.span_id, 'base64').length, 8);
      assert.equal(span.parent_span_id, undefined);
      assert.equal(span.status.code, 'STATUS_CODE_OK');
      const attr = (key: string) => span.attributes.find((a: { key: string }) => a.key === key)?.value;
      assert.deepEqual(attr('mlflow.spanType'), { string_value: 'LLM' });

      // The web UI's trace data: MLflow's Span.to_dict(), each attribute as its JSON text.
      const doc = (await (
        await fetch(`${srv.url}/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${traceId}`)
      ).json()) as { spans: Record<string, any>[] };
      assert.equal(doc.spans.length, 1);
      assert.deepEqual(JSON.parse(doc.spans[0].attributes['mlflow.spanInputs']), { prompt: 'hi' });
      assert.deepEqual(JSON.parse(doc.spans[0].attributes['mlflow.spanOutputs']), { completion: 'HI' });
      assert.equal(JSON.parse(doc.spans[0].attributes['mlflow.spanType']), 'LLM');
    });

    test('concurrent async branches each keep their own parent (AsyncLocalStorage)', async () => {
      const leaf = trace(
        async (label: string, i: number) => {
          await sleep(5 * ((i * 7) % 3));
          return `${label}-${i}`;
        },
        { name: 'leaf' },
      );
      const branch = trace(async function fork(name: string) {
        const out: string[] = [];
        await Promise.all(
          [0, 1, 2].map(async (i) => {
            await sleep(i);
            out.push(await leaf(name, i));
          }),
        );
        return out.length;
      });
      await withSpan({ name: 'root', spanType: SpanType.AGENT }, async () => {
        await Promise.all([branch('a'), branch('b'), branch('c')]);
      });
      const traceId = getLastActiveTraceId() ?? '';
      await flushTraces();

      const got = await client.getTrace(traceId);
      assert.equal(got.spans.length, 1 + 3 + 9);
      const root = byName(got, 'root');
      const branches = got.spans.filter((s) => s.name === 'fork');
      assert.equal(branches.length, 3);
      for (const b of branches) {
        assert.equal(b.parentId, root.spanId);
        const mine = got.spans.filter((s) => s.parentId === b.spanId);
        assert.equal(mine.length, 3);
        const name = (b.inputs as { name: string }).name;
        for (const leafSpan of mine) {
          assert.equal(leafSpan.name, 'leaf');
          assert.equal((leafSpan.inputs as { label: string }).label, name);
        }
      }
      assert.equal(getCurrentActiveSpan(), null);
    });

    test('exceptions: recorded as an exception event with ERROR status, rethrown to the caller, the trace ERROR', async () => {
      const fails = trace(async function fails(x: number) {
        await sleep(1);
        throw new TypeError(`bad ${x}`);
      });
      const outer = trace(async function outer() {
        try {
          await fails(1);
        } catch {
          // handled: the outer span stays OK
        }
        trace(
          () => {
            throw new RangeError('sync failure');
          },
          { name: 'sync' },
        )();
      });
      await assert.rejects(outer(), /sync failure/);
      const traceId = getLastActiveTraceId() ?? '';
      await flushTraces();

      const got = await client.getTrace(traceId);
      assert.equal(got.info.state, 'ERROR');
      const failed = byName(got, 'fails');
      assert.equal(failed.status.code, 'ERROR');
      assert.equal(failed.status.message, 'TypeError: bad 1');
      const event = failed.events.find((e) => e.name === 'exception');
      assert.equal(event?.attributes['exception.type'], 'TypeError');
      assert.equal(event?.attributes['exception.message'], 'bad 1');
      assert.match(String(event?.attributes['exception.stacktrace']), /TypeError: bad 1/);
      assert.equal(byName(got, 'sync').status.message, 'RangeError: sync failure');
      assert.equal(byName(got, 'outer').status.code, 'ERROR');
      assert.equal(got.spans.filter((s) => s.status.code === 'ERROR').length, 3);
    });

    test('generators: the span stays open while values are pulled and records them as outputs', async () => {
      const numbers = trace(function* numbers(n: number) {
        for (let i = 0; i < n; i++) yield i;
      });
      const stream = trace(async function* stream(prefix: string) {
        yield `${prefix}1`;
        await sleep(1);
        yield `${prefix}2`;
      });
      await withSpan('consume', async () => {
        assert.deepEqual([...numbers(3)], [0, 1, 2]);
        const got: string[] = [];
        for await (const s of stream('x')) got.push(s);
        assert.deepEqual(got, ['x1', 'x2']);
      });
      const traceId = getLastActiveTraceId() ?? '';
      await flushTraces();
      const got = await client.getTrace(traceId);
      assert.deepEqual(byName(got, 'numbers').outputs, [0, 1, 2]);
      assert.deepEqual(byName(got, 'stream').outputs, ['x1', 'x2']);
      assert.equal(byName(got, 'stream').parentId, byName(got, 'consume').spanId);
    });

    test('spans are sent before their trace ends; flushTraces() sends them on demand', async () => {
      const root = startSpan({ name: 'long-running', parent: null });
      const child = startSpan({ name: 'step', parent: root });
      child.end();
      await flushTraces();
      const partial = await client.getTrace(root.traceId);
      assert.equal(partial.info.state, 'IN_PROGRESS');
      assert.deepEqual(
        partial.spans.map((s) => s.name),
        ['step'],
      );
      root.end({ outputs: 'done' });
      await flushTraces();
      const whole = await client.getTrace(root.traceId);
      assert.equal(whole.info.state, 'OK');
      assert.equal(whole.spans.length, 2);
      assert.equal(whole.info.response_preview, '"done"');
    });

    test('batching: spans share OTLP requests of at most maxBatchSpans; user code never waits for the network', async () => {
      let otlpRequests = 0;
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      // Holds every request until released: the traced code below must finish regardless.
      const gated: typeof fetch = async (input, init) => {
        if (String(input).endsWith('/v1/traces')) otlpRequests++;
        await gate;
        return fetch(input, init);
      };
      configureTracing({
        client: new MlflowClient({ trackingUri: srv.url, maxRetries: 0, fetch: gated }),
        experimentId,
        maxBatchSpans: 20,
        batchDelayMs: 60_000,
      });
      let traceId = '';
      try {
        const total = withSpan('batch-root', () => {
          let sum = 0;
          for (let i = 0; i < 50; i++) sum += withSpan(`child-${i}`, () => i);
          return sum;
        });
        assert.equal(total, 1225);
        traceId = getLastActiveTraceId() ?? '';
        let flushed = false;
        const flushing = flushTraces().then(() => {
          flushed = true;
        });
        await sleep(50);
        assert.equal(flushed, false, 'flushTraces() resolves only once the server has the spans');
        release();
        await flushing;
      } finally {
        release();
        configureTracing({ client, experimentId, maxBatchSpans: 200, batchDelayMs: 500 });
      }
      // 51 spans in requests of at most 20.
      assert.equal(otlpRequests, 3);
      const got = await client.getTrace(traceId);
      assert.equal(got.spans.length, 51);
      assert.equal(byName(got, 'batch-root').outputs, 1225);
    });

    test('an unreachable server: user code runs and returns normally, flush resolves, the failure is logged', async (t) => {
      const warn = mock.method(console, 'warn', () => {});
      t.after(() => warn.mock.restore());
      configureTracing({ client: new MlflowClient({ trackingUri: 'http://127.0.0.1:9', maxRetries: 0 }) });
      try {
        const add = trace((a: number, b: number) => a + b);
        assert.equal(add(2, 3), 5);
        const asyncAdd = trace(async (a: number) => a + 1);
        assert.equal(await asyncAdd(1), 2);
        await flushTraces();
      } finally {
        configureTracing({ client, experimentId });
      }
      const messages = warn.mock.calls.map((c) => String(c.arguments[0]));
      assert.ok(
        messages.some((m) => /could not (send|export)/.test(m)),
        messages.join('\n'),
      );
    });

    test("MLflow's TypeScript SDK wire format, replayed: StartTraceV3 then traces.json uploaded; our getTrace reads it", async () => {
      // What mlflow-tracing's MlflowSpanExporter sends when a root span ends (exporters/mlflow.ts and
      // clients/artifacts/mlflow.ts in mlflow/libs/typescript): TraceInfo.toJson(), then the trace
      // data (Span.toJson(): attributes already decoded, root parent '') PUT to the artifact proxy.
      const otelTraceId = '5b8aa5a2d2c872e8321cf37308d69df2';
      const traceId = `tr-${otelTraceId}`;
      const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
      const start = 1765000000123456789n;
      const traceInfo = {
        trace_id: traceId,
        trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
        request_preview: '{"question":"why"}',
        response_preview: '"because"',
        request_time: new Date(Number(start / 1_000_000n)).toISOString(),
        execution_duration: `${250 / 1000}s`,
        state: 'OK',
        trace_metadata: {
          'mlflow.trace_schema.version': '3',
          'mlflow.traceInputs': '{"question":"why"}',
          'mlflow.traceOutputs': '"because"',
        },
        tags: {},
        assessments: [],
      };
      const started = await fetch(`${srv.url}/api/3.0/mlflow/traces`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ trace: { trace_info: traceInfo } }),
      });
      assert.equal(started.status, 200);
      const location = ((await started.json()) as Record<string, any>).trace.trace_info.tags[
        'mlflow.artifactLocation'
      ];
      assert.match(location, /^mlflow-artifacts:/);
      const span = (id: string, parent: string, name: string, offset: bigint, attributes: object) =>
        `{"trace_id":"${b64(otelTraceId)}","span_id":"${b64(id)}","parent_span_id":"${parent}","name":"${name}",` +
        `"start_time_unix_nano":${start + offset},"end_time_unix_nano":${start + offset + 1000n},` +
        `"status":{"code":"STATUS_CODE_OK","message":""},"attributes":${JSON.stringify(attributes)},"events":[],"links":[]}`;
      const data = `{"spans":[${span('aaaaaaaaaaaaaaaa', '', 'agent', 0n, {
        'mlflow.traceRequestId': traceId,
        'mlflow.spanType': 'CHAIN',
        'mlflow.spanInputs': { question: 'why' },
        'mlflow.spanOutputs': 'because',
      })},${span('bbbbbbbbbbbbbbbb', b64('aaaaaaaaaaaaaaaa'), 'tool', 10n, {
        'mlflow.traceRequestId': traceId,
        'mlflow.spanType': 'TOOL',
        'mlflow.spanInputs': { q: 1 },
      })}]}`;
      const path = new URL(location).pathname;
      const put = await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts${path}/traces.json`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: data,
      });
      assert.equal(put.status, 200);

      const got = await client.getTrace(traceId);
      assert.equal(got.info.state, 'OK');
      assert.equal(got.info.request_preview, '{"question":"why"}');
      assert.equal(got.info.execution_duration, '0.250s');
      assert.equal(got.spans.length, 2);
      const root = byName(got, 'agent');
      const tool = byName(got, 'tool');
      assert.deepEqual(
        [root.traceId, root.spanId, root.parentId, tool.parentId],
        [otelTraceId, 'aaaaaaaaaaaaaaaa', null, 'aaaaaaaaaaaaaaaa'],
      );
      assert.equal(root.startTimeNs, start);
      assert.equal(tool.endTimeNs, start + 1010n);
      assert.deepEqual([root.spanType, root.inputs, root.outputs], ['CHAIN', { question: 'why' }, 'because']);
      assert.deepEqual([tool.spanType, tool.inputs, tool.status.code], ['TOOL', { q: 1 }, 'OK']);
    });

    test('a server that keeps no spans (no /v1/traces): the trace goes as traces.json and reads back', async () => {
      // A server without the OTLP endpoint answers 404 there; everything else passes through.
      const noOtlp: typeof fetch = (input, init) =>
        String(input).endsWith('/v1/traces')
          ? Promise.resolve(new Response('Not Found', { status: 404 }))
          : fetch(input, init);
      configureTracing({ client: new MlflowClient({ trackingUri: srv.url, maxRetries: 0, fetch: noOtlp }) });
      let traceId: string;
      try {
        await withSpan({ name: 'outer', inputs: { x: 1 } }, async (outer) => {
          withSpan('inner', (inner) => inner.setAttribute('k', 'v'));
          outer.setOutputs({ y: 2 });
        });
        traceId = getLastActiveTraceId() ?? '';
        await flushTraces();
      } finally {
        configureTracing({ client, experimentId });
      }
      const got = await client.getTrace(traceId);
      assert.equal(got.info.tags['mlflow.trace.spansLocation'], undefined);
      assert.equal(got.info.state, 'OK');
      assert.deepEqual(got.spans.map((s) => s.name).sort(), ['inner', 'outer']);
      assert.deepEqual(byName(got, 'outer').outputs, { y: 2 });
      assert.equal(byName(got, 'inner').attributes.k, 'v');
      assert.equal(byName(got, 'inner').parentId, byName(got, 'outer').spanId);
    });

    test('read API: searchTraces, trace tags, assessments, deleteTraces', async () => {
      const exp = await client.createExperiment('tracing-search');
      configureTracing({ client, experimentId: exp });
      const ids: string[] = [];
      try {
        for (const name of ['alpha', 'beta', 'gamma']) {
          trace(() => name, { name })();
          ids.push(getLastActiveTraceId() ?? '');
          await sleep(2);
        }
        await flushTraces();
      } finally {
        configureTracing({ client, experimentId });
      }
      const all = await client.searchTraces([exp]);
      assert.deepEqual(
        all.items.map((t) => t.trace_id),
        [...ids].reverse(),
      );
      const page = await client.searchTraces([exp], { maxResults: 2, orderBy: ['timestamp_ms ASC'] });
      assert.deepEqual(
        page.items.map((t) => t.tags['mlflow.traceName']),
        ['alpha', 'beta'],
      );
      assert.ok(page.nextPageToken);
      const rest = await client.searchTraces([exp], {
        maxResults: 2,
        orderBy: ['timestamp_ms ASC'],
        pageToken: page.nextPageToken,
      });
      assert.deepEqual(
        rest.items.map((t) => t.trace_id),
        [ids[2]],
      );

      await client.setTraceTag(ids[1], 'reviewed', 'yes');
      const tagged = await client.searchTraces([exp], { filter: "tags.reviewed = 'yes'" });
      assert.deepEqual(
        tagged.items.map((t) => t.trace_id),
        [ids[1]],
      );
      assert.deepEqual(
        (await client.searchTraces([exp], { filter: "trace.name = 'gamma'" })).items.map((t) => t.trace_id),
        [ids[2]],
      );
      await client.deleteTraceTag(ids[1], 'reviewed');
      assert.equal((await client.getTraceInfo(ids[1])).tags.reviewed, undefined);
      await assert.rejects(client.deleteTraceTag(ids[1], 'reviewed'), (e: unknown) => {
        assert.ok(e instanceof MlflowError);
        assert.equal(e.errorCode, 'RESOURCE_DOES_NOT_EXIST');
        return true;
      });
      await assert.rejects(client.searchTraces([exp], { filter: 'nonsense ~~ 1' }), (e: unknown) => {
        assert.ok(e instanceof MlflowError);
        assert.equal(e.errorCode, 'INVALID_PARAMETER_VALUE');
        assert.equal(e.status, 400);
        return true;
      });

      const feedback = await client.logFeedback(ids[0], 'relevance', 0.75, { rationale: 'close enough' });
      assert.match(feedback.assessment_id, /^a-/);
      assert.deepEqual(feedback.feedback?.value, 0.75);
      assert.equal(feedback.source?.source_type, 'CODE');
      const expectation = await client.logExpectation(ids[0], 'expected', { answer: 'alpha' });
      assert.deepEqual((await client.getAssessment(ids[0], expectation.assessment_id)).expectation?.value, {
        answer: 'alpha',
      });
      const updated = await client.updateAssessment(ids[0], feedback.assessment_id, {
        rationale: 'on reflection',
      });
      assert.equal(updated.rationale, 'on reflection');
      assert.deepEqual(updated.feedback?.value, 0.75);
      const override = await client.logFeedback(ids[0], 'relevance', 1, {
        overrides: feedback.assessment_id,
      });
      const info = await client.getTraceInfo(ids[0]);
      assert.equal(info.assessments.length, 3);
      assert.equal(info.assessments.find((a) => a.assessment_id === feedback.assessment_id)?.valid, false);
      await client.deleteAssessment(ids[0], override.assessment_id);
      assert.equal((await client.getAssessment(ids[0], feedback.assessment_id)).valid, true);

      assert.equal(await client.deleteTraces(exp, { traceIds: [ids[0]] }), 1);
      await assert.rejects(client.getTraceInfo(ids[0]), (e: unknown) => {
        assert.ok(e instanceof MlflowError);
        assert.equal(e.status, 404);
        return true;
      });
      assert.equal(await client.deleteTraces(exp, { maxTimestampMillis: Date.now(), maxTraces: 1 }), 1);
      assert.deepEqual(
        (await client.searchTraces([exp])).items.map((t) => t.trace_id),
        [ids[2]],
      );
    });
  });
}
