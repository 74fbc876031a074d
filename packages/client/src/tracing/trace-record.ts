// A finished trace in MLflow's two documents: TraceInfoV3 for StartTraceV3 (times, state, previews,
// metadata and tags as MLflow's exporter fills them in) and the trace data file, traces.json
// (MLflow's Span.to_dict() per span), uploaded to the trace's artifact location when the server does
// not keep spans itself.

import type { RestTransport } from '../rest.js';
import { hexToBase64 } from './ids.js';
import { type LiveSpan, SpanAttributeKey } from './span.js';

/** MLflow's request/response preview limit (REQUEST_RESPONSE_PREVIEW_MAX_LENGTH). */
export const PREVIEW_MAX_LENGTH = 1000;
export const TRACE_SCHEMA_VERSION = '3';

/** What a trace carries besides its spans, fixed when its root span starts or set while it runs. */
export interface TraceState {
  traceId: string;
  /** The server the trace goes to, fixed when it starts so that all its spans go to one place. */
  transport: RestTransport;
  experimentId: Promise<string>;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  clientRequestId?: string;
  requestPreview?: string;
  responsePreview?: string;
  /** Every span of the trace, in the order they ended. */
  spans: LiveSpan[];
}

function preview(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = JSON.stringify(value);
  return text.length > PREVIEW_MAX_LENGTH ? `${text.slice(0, PREVIEW_MAX_LENGTH - 3)}...` : text;
}

const STATUS_NAMES = { UNSET: 'STATUS_CODE_UNSET', OK: 'STATUS_CODE_OK', ERROR: 'STATUS_CODE_ERROR' };

// JSON.stringify cannot write an integer beyond 2^53 exactly: such numbers go in as marked strings
// and lose their quotes afterwards.
const exact = (ns: bigint | undefined) => (ns === undefined ? null : `\u0000n:${ns}`);
const unmark = (text: string) => text.replace(/"\\u0000n:(\d+)"/g, '$1');

/** A span as MLflow's Span.to_dict(): base64 ids, each attribute as its JSON text. */
export function spanDocument(s: LiveSpan): string {
  const attributes: Record<string, string> = {};
  for (const [key, value] of s.attributes) attributes[key] = JSON.stringify(value);
  return unmark(
    JSON.stringify({
      trace_id: hexToBase64(s.otelTraceId),
      span_id: hexToBase64(s.spanId),
      parent_span_id: s.parentId ? hexToBase64(s.parentId) : null,
      name: s.name,
      start_time_unix_nano: exact(s.startTimeNs),
      end_time_unix_nano: exact(s.endTimeNs),
      events: s.events.map((e) => ({
        name: e.name,
        time_unix_nano: exact(e.timeUnixNano),
        attributes: e.attributes,
      })),
      status: { code: STATUS_NAMES[s.status.code], message: s.status.message },
      attributes,
    }),
  );
}

/** The trace data file (traces.json) of the spans. */
export function traceDataDocument(spans: readonly LiveSpan[]): string {
  return `{"spans": [${spans.map(spanDocument).join(', ')}]}`;
}

/** numpy's default percentile (linear interpolation), which MLflow's size statistics use. */
function percentile(sorted: number[], p: number): number {
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.min(low + 1, sorted.length - 1);
  return Math.floor(sorted[low] + (sorted[high] - sorted[low]) * (rank - low));
}

/** The sum of the token usage LLM spans report (mlflow.chat.tokenUsage), if any does. */
function tokenUsage(spans: readonly LiveSpan[]): string | undefined {
  const total = { input_tokens: 0, output_tokens: 0, total_tokens: 0 };
  let found = false;
  for (const s of spans) {
    const usage = s.attributes.get(SpanAttributeKey.TOKEN_USAGE);
    if (!usage || typeof usage !== 'object') continue;
    found = true;
    const u = usage as Record<string, unknown>;
    for (const key of Object.keys(total) as (keyof typeof total)[]) {
      if (typeof u[key] === 'number') total[key] += u[key] as number;
    }
  }
  return found ? JSON.stringify(total) : undefined;
}

/**
 * MLflow's size metadata: `mlflow.trace.sizeBytes` and `mlflow.trace.sizeStats` (total, span count, the
 * largest span and the quartiles of span sizes, keys as TraceSizeStatsKey names them). The total is the
 * trace's JSON, record and spans, as Python's client measures it.
 */
function sizeMetadata(info: Record<string, unknown>, spans: readonly LiveSpan[]): Record<string, string> {
  const bytes = (text: string) => new TextEncoder().encode(text).length;
  const sizes = spans.map((s) => bytes(spanDocument(s))).sort((a, b) => a - b);
  const total = bytes(`{"info": ${JSON.stringify(info)}, "data": ${traceDataDocument(spans)}}`);
  const out: Record<string, string> = { 'mlflow.trace.sizeBytes': String(total) };
  if (sizes.length > 0) {
    out['mlflow.trace.sizeStats'] = JSON.stringify({
      total_size_bytes: total,
      num_spans: sizes.length,
      max: sizes[sizes.length - 1],
      p25: percentile(sizes, 25),
      p50: percentile(sizes, 50),
      p75: percentile(sizes, 75),
    });
  }
  return out;
}

/** TraceInfoV3 of a trace whose root span has ended, as MLflow's exporter sends to StartTraceV3. */
export function traceInfoJson(
  trace: TraceState,
  root: LiveSpan,
  experimentId: string,
): Record<string, unknown> {
  const metadata: Record<string, string> = { ...trace.metadata };
  const usage = tokenUsage(trace.spans);
  if (usage) metadata['mlflow.trace.tokenUsage'] = usage;
  const startMs = Number(root.startTimeNs / 1_000_000n);
  const durationMs = Number(((root.endTimeNs ?? root.startTimeNs) - root.startTimeNs) / 1_000_000n);
  const info: Record<string, unknown> = {
    trace_id: trace.traceId,
    client_request_id: trace.clientRequestId,
    trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
    request_preview: trace.requestPreview ?? preview(root.inputs),
    response_preview: trace.responsePreview ?? preview(root.outputs),
    request_time: new Date(startMs).toISOString(),
    // protobuf's Duration: at most nine fraction digits, so no binary-float tails.
    execution_duration: `${(durationMs / 1000).toFixed(3)}s`,
    state: root.status.code === 'ERROR' ? 'ERROR' : 'OK',
    trace_metadata: metadata,
    tags: { 'mlflow.traceName': root.name, ...trace.tags },
  };
  Object.assign(metadata, sizeMetadata(info, trace.spans));
  return info;
}
