// Spans between their three forms: an OTLP span as received, the stored document (MLflow's
// Span.to_dict(): base64 ids, attributes as JSON text), and the OpenTelemetry proto JSON that GetTrace
// answers with. Nanosecond times stay exact throughout: they are written as text into the JSON.
import type { SpanRecord, TraceState } from '../entities/tracing.js';
import type { RootSummary } from '../store/trace-store.js';
import { encodeAnyValue, type OtelSpan } from './otel-span.js';

/** Attribute holding the MLflow trace id a span belongs to (JSON text). */
const TRACE_ID_ATTRIBUTE = 'mlflow.traceRequestId';
const SPAN_TYPE_ATTRIBUTE = 'mlflow.spanType';
const INPUTS_ATTRIBUTE = 'mlflow.spanInputs';
const OUTPUTS_ATTRIBUTE = 'mlflow.spanOutputs';

const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const STATUS_COLUMN = ['UNSET', 'OK', 'ERROR'];
const NANO_KEYS = /("(?:start_time_unix_nano|end_time_unix_nano|time_unix_nano)":\s*)(\d+)/g;

/** JSON text with each `\u0000n:<digits>` placeholder string turned into a bare number. */
function withExactNumbers(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000n:(\d+)"/g, '$1');
}

const exact = (digits: string | null) => (digits === null ? null : `\u0000n:${digits}`);

function base64OfHex(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

function parseJsonText(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The MLflow trace id of a span: its own attribute, or `tr-` and the OpenTelemetry trace id. */
export function mlflowTraceId(span: OtelSpan): string {
  const fromAttribute = parseJsonText(span.attributes[TRACE_ID_ATTRIBUTE]);
  return typeof fromAttribute === 'string' && fromAttribute !== '' ? fromAttribute : `tr-${span.traceIdHex}`;
}

/** The span as stored: its columns and MLflow's document of it. */
export function spanRecord(span: OtelSpan, traceId: string): SpanRecord {
  // Attribute values are kept as MLflow keeps them: each one's JSON text.
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(span.attributes)) attributes[key] = JSON.stringify(value);
  attributes[TRACE_ID_ATTRIBUTE] = JSON.stringify(traceId);
  const type = parseJsonText(attributes[SPAN_TYPE_ATTRIBUTE]);
  const content = withExactNumbers({
    trace_id: base64OfHex(span.traceIdHex),
    span_id: base64OfHex(span.spanIdHex),
    parent_span_id: span.parentSpanIdHex === null ? null : base64OfHex(span.parentSpanIdHex),
    name: span.name,
    start_time_unix_nano: exact(span.startTimeUnixNano),
    end_time_unix_nano: exact(span.endTimeUnixNano),
    events: span.events.map((e) => ({
      name: e.name,
      time_unix_nano: exact(e.timeUnixNano),
      attributes: e.attributes,
    })),
    status: { code: STATUS_NAMES[span.statusCode], message: span.statusMessage },
    attributes,
  });
  return {
    traceId,
    spanId: span.spanIdHex,
    parentSpanId: span.parentSpanIdHex,
    name: span.name,
    type: typeof type === 'string' ? type : null,
    status: STATUS_COLUMN[span.statusCode],
    startTimeUnixNano: span.startTimeUnixNano,
    endTimeUnixNano: span.endTimeUnixNano,
    content,
  };
}

/** What the root span (the one without a parent) tells of its trace, if it is among `spans`. */
export function rootSummary(spans: OtelSpan[]): RootSummary | undefined {
  const root = spans.find((s) => s.parentSpanIdHex === null);
  if (!root) return undefined;
  const state: TraceState = root.statusCode === 2 ? 'ERROR' : 'OK';
  const preview = (key: string) => {
    const v = root.attributes[key];
    return v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
  };
  return {
    name: root.name,
    state,
    requestPreview: preview(INPUTS_ATTRIBUTE),
    responsePreview: preview(OUTPUTS_ATTRIBUTE),
  };
}

interface StoredSpan {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  start_time_unix_nano: string | null;
  end_time_unix_nano: string | null;
  events?: { name: string; time_unix_nano: string | null; attributes?: Record<string, unknown> }[];
  status?: { code?: string; message?: string };
  attributes?: Record<string, string>;
}

/** A stored span document with its nanosecond times as text (JSON.parse would round them). */
function parseStored(content: string): StoredSpan {
  return JSON.parse(content.replace(NANO_KEYS, '$1"$2"')) as StoredSpan;
}

/**
 * A stored span as OpenTelemetry's Span message in MLflow's JSON (proto field names, ids base64,
 * times as exact integers): the form of Trace.spans in GetTrace and BatchGetTraces.
 */
export function otelSpanJson(content: string): string {
  const s = parseStored(content);
  const attributes = Object.entries(s.attributes ?? {}).map(([key, text]) => ({
    key,
    value: encodeAnyValue(parseJsonText(text)),
  }));
  const span: Record<string, unknown> = {
    trace_id: s.trace_id,
    span_id: s.span_id,
    trace_state: '',
    name: s.name,
    kind: 'SPAN_KIND_INTERNAL',
    start_time_unix_nano: exact(s.start_time_unix_nano),
    end_time_unix_nano: exact(s.end_time_unix_nano),
    attributes,
    events: (s.events ?? []).map((e) => ({
      time_unix_nano: exact(e.time_unix_nano),
      name: e.name,
      attributes: Object.entries(e.attributes ?? {}).map(([key, v]) => ({ key, value: encodeAnyValue(v) })),
    })),
    status: { message: s.status?.message ?? '', code: s.status?.code ?? 'STATUS_CODE_UNSET' },
  };
  if (s.parent_span_id) span.parent_span_id = s.parent_span_id;
  if (span.end_time_unix_nano === null) delete span.end_time_unix_nano;
  return withExactNumbers(span);
}
