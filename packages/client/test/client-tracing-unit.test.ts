import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { decodeOtlpProtobuf } from '../../server/src/tracing/otel-span.js';
import { encodeSpans } from '../src/tracing/otlp-protobuf.js';
import { LiveSpan } from '../src/tracing/span.js';
import { spanDocument } from '../src/tracing/trace-record.js';

// Tracing pieces without a server: the OTLP protobuf encoder (checked against the server's decoder),
// span semantics, and the browser entry's synchronous span context.

function span(overrides: Partial<ConstructorParameters<typeof LiveSpan>[0]> = {}): LiveSpan {
  return new LiveSpan(
    {
      traceId: 'tr-0af7651916cd43dd8448eb211c80319c',
      otelTraceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      parentId: null,
      name: 'root',
      spanType: 'CHAIN',
      startTimeNs: 1765000000123456789n,
      ...overrides,
    },
    () => {},
  );
}

test('OTLP protobuf: ids, exact nanosecond times, typed attribute values, events and status decode as sent', async () => {
  const root = span();
  root.setAttributes({
    text: 'héllo',
    count: -42,
    big: 2 ** 60,
    ratio: 0.125,
    flag: false,
    list: [1, 'two', [3]],
    nested: { a: { b: null }, empty: {} },
    nothing: null,
  });
  root.addEvent('tick', { n: 1 }, 1765000000123456999n);
  root.setStatus('ERROR', 'boom');
  root.end({ endTimeNs: 1765000001000000001n });
  const child = span({ spanId: '00f067aa0ba902b7', parentId: 'b7ad6b7169203331', name: 'child' });
  child.end({ endTimeNs: 1765000000200000000n });

  const decoded = await decodeOtlpProtobuf(
    Buffer.from(await encodeSpans([root, child], { name: 'mlflow-ts', version: '0' })),
  );
  assert.equal(decoded.length, 2);
  const [r, c] = decoded;
  assert.equal(r.traceIdHex, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(r.spanIdHex, 'b7ad6b7169203331');
  assert.equal(r.parentSpanIdHex, null);
  assert.equal(c.parentSpanIdHex, 'b7ad6b7169203331');
  assert.equal(r.startTimeUnixNano, '1765000000123456789');
  assert.equal(r.endTimeUnixNano, '1765000001000000001');
  assert.deepEqual(r.attributes, {
    'mlflow.traceRequestId': 'tr-0af7651916cd43dd8448eb211c80319c',
    'mlflow.spanType': 'CHAIN',
    text: 'héllo',
    count: -42,
    // Beyond 2^53 a number is not an exact integer, so it travels as a double.
    big: 2 ** 60,
    ratio: 0.125,
    flag: false,
    list: [1, 'two', [3]],
    nested: { a: { b: null }, empty: {} },
    nothing: null,
  });
  assert.deepEqual(r.events, [{ name: 'tick', timeUnixNano: '1765000000123456999', attributes: { n: 1 } }]);
  assert.deepEqual([r.statusCode, r.statusMessage], [2, 'boom']);
  assert.deepEqual([c.statusCode, c.name], [1, 'child']);
});

test("span semantics: values copied when set, nothing changes after end, OK unless ERROR, MLflow's span document", () => {
  const s = span();
  const inputs = { messages: ['hi'] };
  s.setInputs(inputs);
  inputs.messages.push('changed later');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  s.setAttribute('cyclic', cyclic);
  s.setAttribute('when', 10n);
  s.recordException('plain text failure');
  s.end({ outputs: 'out' });
  s.setAttribute('late', 1);
  s.setOutputs('later');
  s.end({ outputs: 'again' });
  assert.deepEqual(s.inputs, { messages: ['hi'] });
  assert.equal(s.attributes.get('cyclic'), '[object Object]');
  assert.equal(s.attributes.get('when'), '10');
  assert.equal(s.attributes.has('late'), false);
  assert.equal(s.outputs, 'out');
  assert.deepEqual(s.status, { code: 'ERROR', message: 'Error: plain text failure' });
  assert.equal(s.events[0].attributes['exception.message'], 'plain text failure');

  const ok = span();
  ok.end();
  assert.equal(ok.status.code, 'OK');

  const doc = JSON.parse(
    spanDocument(s).replace(/"start_time_unix_nano":(\d+)/, '"start_time_unix_nano":"$1"'),
  );
  assert.equal(doc.start_time_unix_nano, '1765000000123456789');
  assert.equal(doc.trace_id, Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex').toString('base64'));
  assert.equal(doc.parent_span_id, null);
  assert.equal(doc.status.code, 'STATUS_CODE_ERROR');
  assert.equal(doc.attributes['mlflow.spanInputs'], '{"messages":["hi"]}');
  assert.equal(doc.attributes['mlflow.spanType'], '"CHAIN"');
});

test('the browser entry: parents within synchronous code, none after an await; destructured arguments as args', async (t) => {
  // dist/index.js installs no AsyncLocalStorage, as in a browser.
  const sdk = await import('../dist/index.js');
  const warn = mock.method(console, 'warn', () => {});
  t.after(() => warn.mock.restore());
  sdk.configureTracing({
    client: new sdk.MlflowClient({ trackingUri: 'http://127.0.0.1:9', maxRetries: 0 }),
  });
  const seen: (string | undefined)[] = [];
  sdk.withSpan('outer', () => {
    sdk.withSpan('inner', (inner) => seen.push(inner.parentId ?? undefined));
  });
  const outerId = await sdk.withSpan('outer-async', async (outer) => {
    await Promise.resolve();
    sdk.withSpan('after-await', (s) => seen.push(s.parentId ?? 'none'));
    return outer.spanId;
  });
  assert.equal(typeof seen[0], 'string');
  assert.equal(seen[1], 'none');
  assert.notEqual(outerId, undefined);
  assert.equal(sdk.getCurrentActiveSpan(), null);

  let captured: unknown;
  const destructured = sdk.trace(({ a }: { a: number }, ...rest: number[]) => {
    captured = sdk.getCurrentActiveSpan()?.inputs;
    return a + rest.length;
  });
  assert.equal(destructured({ a: 1 }, 2, 3), 3);
  assert.deepEqual(captured, { args: [{ a: 1 }, 2, 3] });
  await sdk.flushTraces();
});
