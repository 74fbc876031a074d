// Reads a trace's `traces.json` artifact (the span data clients upload when the server keeps no spans
// for them) into the stored span documents the rest of the server serves (MLflow's Span.to_dict()),
// a span at a time as the file arrives (spans-splitter.ts), so a big file is never held whole.
import { MlflowError } from '../entities/errors.js';
import { SpansShapeError, SpansSplitter } from './spans-splitter.js';

/** The artifact file under a trace's `mlflow.artifactLocation`. */
export const TRACE_DATA_FILE = 'traces.json';

/**
 * Time fields in the file's own JSON (attribute text is escaped, so never matches), quoted before
 * JSON.parse, which would round them. MLflow 2's names only for a file of its schema: in MLflow 3's,
 * an event attribute called `timestamp` is the user's value and keeps its type.
 */
const TIME_KEYS = /("(?:start_time_unix_nano|end_time_unix_nano|time_unix_nano)":\s*)(\d+)/g;
const V2_TIME_KEYS = /("(?:start_time|end_time|timestamp)":\s*)(\d+)/g;
const EXACT = /"\\u0000n:(\d+)"/g;

const OTEL_STATUS: Record<string, string> = {
  OK: 'STATUS_CODE_OK',
  ERROR: 'STATUS_CODE_ERROR',
  UNSET: 'STATUS_CODE_UNSET',
};

function corrupt(traceId: string, why: string): MlflowError {
  return MlflowError.invalidParameter(`Trace data is corrupted for request_id=${traceId}: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A time read as text (the file's digits, kept exact) becomes a bare number again when re-encoded. */
function exactTime(v: unknown): string | null {
  if (typeof v === 'string' && /^\d+$/.test(v)) return `\u0000n:${v}`;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return `\u0000n:${v}`;
  return null;
}

/** MLflow 2's ids are hex with `0x`; MLflow 3's documents carry them base64. */
function base64OfHexId(v: unknown): string | null {
  if (typeof v !== 'string' || v === '') return null;
  const hex = v.startsWith('0x') ? v.slice(2) : v;
  return /^[0-9a-f]+$/i.test(hex) && hex.length % 2 === 0 ? Buffer.from(hex, 'hex').toString('base64') : null;
}

/** Attribute values are each one's JSON text; a file written by hand may hold plain values. */
function attributeTexts(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(v)) return out;
  for (const [key, value] of Object.entries(v))
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  return out;
}

/** One span of MLflow 2's schema (`context`, `parent_id`, `start_time`...) as a v3 document. */
function fromV2(s: Record<string, unknown>): Record<string, unknown> {
  const context = isObject(s.context) ? s.context : {};
  const code = typeof s.status_code === 'string' ? s.status_code : 'UNSET';
  return {
    trace_id: base64OfHexId(context.trace_id),
    span_id: base64OfHexId(context.span_id),
    parent_span_id: base64OfHexId(s.parent_id),
    name: s.name,
    start_time_unix_nano: exactTime(s.start_time),
    end_time_unix_nano: exactTime(s.end_time),
    events: (Array.isArray(s.events) ? s.events : []).filter(isObject).map((e) => ({
      name: e.name,
      time_unix_nano: exactTime(e.timestamp),
      attributes: isObject(e.attributes) ? e.attributes : {},
    })),
    status: {
      code: OTEL_STATUS[code] ?? code,
      message: typeof s.status_message === 'string' ? s.status_message : '',
    },
    attributes: attributeTexts(s.attributes),
  };
}

function fromV3(s: Record<string, unknown>): Record<string, unknown> {
  const status = isObject(s.status) ? s.status : {};
  const code = typeof status.code === 'string' ? status.code : 'STATUS_CODE_UNSET';
  return {
    trace_id: s.trace_id,
    span_id: s.span_id,
    parent_span_id: typeof s.parent_span_id === 'string' && s.parent_span_id !== '' ? s.parent_span_id : null,
    name: s.name,
    start_time_unix_nano: exactTime(s.start_time_unix_nano),
    end_time_unix_nano: exactTime(s.end_time_unix_nano),
    events: (Array.isArray(s.events) ? s.events : []).filter(isObject).map((e) => ({
      name: e.name,
      time_unix_nano: exactTime(e.time_unix_nano),
      attributes: isObject(e.attributes) ? e.attributes : {},
    })),
    // MLflow 3.5 wrote the bare code ("OK"); later versions OpenTelemetry's name.
    status: {
      code: OTEL_STATUS[code] ?? code,
      message: typeof status.message === 'string' ? status.message : '',
    },
    attributes: attributeTexts(s.attributes),
  };
}

/** One element of the file's `spans` list as the document the store keeps. */
function spanDocument(text: string, i: number, traceId: string): string {
  let span: unknown;
  try {
    span = JSON.parse(text.replace(TIME_KEYS, '$1"$2"'));
    // MLflow 2's schema names its times differently; only a span of that schema has them quoted.
    if (isObject(span) && 'context' in span) {
      span = JSON.parse(text.replace(TIME_KEYS, '$1"$2"').replace(V2_TIME_KEYS, '$1"$2"'));
    }
  } catch {
    throw corrupt(traceId, 'the file is not JSON');
  }
  if (!isObject(span)) throw corrupt(traceId, `span ${i} is not an object`);
  const doc = 'context' in span ? fromV2(span) : fromV3(span);
  if (typeof doc.name !== 'string' || typeof doc.span_id !== 'string' || typeof doc.trace_id !== 'string') {
    throw corrupt(traceId, `span ${i} lacks its name, trace_id or span_id`);
  }
  if (doc.start_time_unix_nano === null) throw corrupt(traceId, `span ${i} lacks its start time`);
  return JSON.stringify(doc).replace(EXACT, '$1');
}

/**
 * The span documents of a `traces.json` (`{"spans": [...]}`, MLflow 3's Span.to_dict() or MLflow 2's
 * schema), each as the JSON text the store keeps, in pages of about `pageSize` as the file arrives:
 * only the spans of a page (and of the piece of the file being read) are held at once. Throws
 * INVALID_PARAMETER_VALUE where the file turns out not to be trace data (so, for a page after the
 * first, after earlier pages were handed out); an empty file is NOT_FOUND, as MLflow treats it.
 */
export async function* spanDocumentPages(
  pieces: AsyncIterable<Uint8Array | string>,
  traceId: string,
  pageSize: number,
): AsyncGenerator<string[]> {
  const splitter = new SpansSplitter();
  const decoder = new TextDecoder();
  let page: string[] = [];
  let index = 0;
  const add = (texts: string[]) => {
    for (const text of texts) page.push(spanDocument(text, index++, traceId));
  };
  try {
    for await (const piece of pieces) {
      add(splitter.push(typeof piece === 'string' ? piece : decoder.decode(piece, { stream: true })));
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
    add(splitter.push(decoder.decode()));
    if (!splitter.end()) throw traceDataNotFound(traceId);
  } catch (error) {
    if (error instanceof SpansShapeError) throw corrupt(traceId, error.message);
    throw error;
  }
  if (page.length > 0) yield page;
}

export function traceDataNotFound(traceId: string): MlflowError {
  return new MlflowError('NOT_FOUND', `Trace data not found for request_id=${traceId}`);
}
