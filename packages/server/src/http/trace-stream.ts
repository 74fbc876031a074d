// A whole trace written as its spans are read, so a trace of 100,000 spans is never one string:
// GetTrace's and BatchGetTraces' answers and the web UI's trace data, a page of span documents at a time.
import { otelSpanJson } from '../tracing/span-content.js';
import { toWireBytes } from './wire-json.js';

/**
 * One Trace message, `{"trace_info":{...},"spans":[...]}`, with each stored document as
 * OpenTelemetry's Span JSON; as in toWireBytes, no spans leaves the list out.
 */
async function* traceJson(
  traceInfo: object,
  pages: AsyncIterable<string[]>,
): AsyncGenerator<string | Uint8Array> {
  yield '{"trace_info":';
  yield toWireBytes(traceInfo);
  let opened = false;
  for await (const page of pages) {
    if (page.length === 0) continue;
    yield `${opened ? ',' : ',"spans":['}${page.map(otelSpanJson).join(',')}`;
    opened = true;
  }
  yield opened ? ']}' : '}';
}

/** GetTrace.Response, `{"trace":{...}}`. */
export async function* getTraceJson(
  traceInfo: object,
  pages: AsyncIterable<string[]>,
): AsyncGenerator<string | Uint8Array> {
  yield '{"trace":';
  yield* traceJson(traceInfo, pages);
  yield '}';
}

/** BatchGetTraces.Response, `{"traces":[...]}`, a trace at a time; no traces is `{}`. */
export async function* batchGetTracesJson(
  traces: AsyncIterable<{ traceInfo: object; pages: AsyncIterable<string[]> }>,
): AsyncGenerator<string | Uint8Array> {
  let opened = false;
  for await (const { traceInfo, pages } of traces) {
    yield opened ? ',' : '{"traces":[';
    opened = true;
    yield* traceJson(traceInfo, pages);
  }
  yield opened ? ']}' : '{}';
}

/** MLflow's trace data file, `{"spans": [...]}`, the span documents as stored. */
export async function* traceDataJson(pages: AsyncIterable<string[]>): AsyncGenerator<string> {
  yield '{"spans": [';
  let first = true;
  for await (const page of pages) {
    if (page.length === 0) continue;
    yield `${first ? '' : ', '}${page.join(', ')}`;
    first = false;
  }
  yield ']}';
}
