// A span as OpenTelemetry describes it, read from OTLP (protobuf or JSON) into one plain shape, and the
// AnyValue form of attribute values (decoding what OTLP sends, encoding what GetTrace answers).
import { MlflowError } from '../entities/errors.js';

export interface OtelEvent {
  name: string;
  timeUnixNano: string;
  attributes: Record<string, unknown>;
}

export interface OtelSpan {
  traceIdHex: string;
  spanIdHex: string;
  parentSpanIdHex: string | null;
  name: string;
  /** Nanoseconds since the epoch, as decimal text. */
  startTimeUnixNano: string;
  endTimeUnixNano: string | null;
  attributes: Record<string, unknown>;
  events: OtelEvent[];
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
}

type Obj = Record<string, unknown>;

function bad(message: string): MlflowError {
  return MlflowError.invalidParameter(message);
}

/** A field by its JSON (lowerCamel) name or its proto (snake_case) name. */
function field(o: Obj, camel: string): unknown {
  if (o[camel] !== undefined) return o[camel];
  return o[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

function list(o: Obj, camel: string): Obj[] {
  const v = field(o, camel);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(`OTLP field '${camel}' must be a list.`);
  return v.filter((x): x is Obj => typeof x === 'object' && x !== null);
}

function nanos(v: unknown, what: string): string | null {
  if (v === undefined || v === null || v === '' || v === '0' || v === 0) return null;
  const text = typeof v === 'number' ? BigInt(Math.trunc(v)).toString() : typeof v === 'string' ? v : '';
  if (!/^\d+$/.test(text)) throw bad(`OTLP field '${what}' must be an unsigned integer.`);
  return text.replace(/^0+(?=\d)/, '');
}

/** An id: bytes (protobuf) or hex text (OTLP/JSON), as lower-case hex; empty bytes are no id. */
function hexId(v: unknown, bytes: number, what: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  let hex: string;
  if (v instanceof Uint8Array) hex = Buffer.from(v).toString('hex');
  else if (typeof v === 'string' && /^[0-9a-fA-F]+$/.test(v)) hex = v.toLowerCase();
  else throw bad(`OTLP field '${what}' must be a hex-encoded id.`);
  if (hex.length === 0) return null;
  if (hex.length !== bytes * 2) throw bad(`OTLP field '${what}' must be ${bytes} bytes long.`);
  return /^0+$/.test(hex) ? null : hex;
}

/** Decodes an OTLP AnyValue to the value it stands for. */
export function decodeAnyValue(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Obj;
  const s = field(o, 'stringValue');
  if (s !== undefined) return s;
  const b = field(o, 'boolValue');
  if (b !== undefined) return b;
  const i = field(o, 'intValue');
  if (i !== undefined) {
    const n = Number(i);
    return Number.isSafeInteger(n) ? n : String(i);
  }
  const d = field(o, 'doubleValue');
  if (d !== undefined) return Number(d);
  const a = field(o, 'arrayValue');
  if (a !== undefined) return list(a as Obj, 'values').map(decodeAnyValue);
  const kv = field(o, 'kvlistValue');
  if (kv !== undefined) return decodeAttributes(list(kv as Obj, 'values'));
  const bytes = field(o, 'bytesValue');
  if (bytes instanceof Uint8Array) return Buffer.from(bytes).toString('base64');
  if (typeof bytes === 'string') return bytes;
  return null;
}

function decodeAttributes(kvs: Obj[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs) {
    const key = field(kv, 'key');
    if (typeof key === 'string') out[key] = decodeAnyValue(field(kv, 'value'));
  }
  return out;
}

/** The AnyValue of a value, in MLflow's JSON (proto field names). */
export function encodeAnyValue(value: unknown): Obj {
  if (typeof value === 'string') return { string_value: value };
  if (typeof value === 'boolean') return { bool_value: value };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { int_value: value } : { double_value: value };
  if (Array.isArray(value)) return { array_value: { values: value.map(encodeAnyValue) } };
  if (value !== null && typeof value === 'object') {
    return {
      kvlist_value: {
        values: Object.entries(value).map(([key, v]) => ({ key, value: encodeAnyValue(v) })),
      },
    };
  }
  return {};
}

function statusCode(v: unknown): number {
  if (v === 'STATUS_CODE_OK') return 1;
  if (v === 'STATUS_CODE_ERROR') return 2;
  return typeof v === 'number' && (v === 1 || v === 2) ? v : 0;
}

function readSpan(s: Obj): OtelSpan {
  const traceIdHex = hexId(field(s, 'traceId'), 16, 'traceId');
  const spanIdHex = hexId(field(s, 'spanId'), 8, 'spanId');
  if (!traceIdHex || !spanIdHex) throw bad('Every OTLP span needs a trace id and a span id.');
  const start = nanos(field(s, 'startTimeUnixNano'), 'startTimeUnixNano');
  if (start === null) throw bad('Every OTLP span needs a start time.');
  const status = (field(s, 'status') ?? {}) as Obj;
  const name = field(s, 'name');
  return {
    traceIdHex,
    spanIdHex,
    parentSpanIdHex: hexId(field(s, 'parentSpanId'), 8, 'parentSpanId'),
    name: typeof name === 'string' ? name : '',
    startTimeUnixNano: start,
    endTimeUnixNano: nanos(field(s, 'endTimeUnixNano'), 'endTimeUnixNano'),
    attributes: decodeAttributes(list(s, 'attributes')),
    events: list(s, 'events').map((e) => ({
      name: String(field(e, 'name') ?? ''),
      timeUnixNano: nanos(field(e, 'timeUnixNano'), 'timeUnixNano') ?? '0',
      attributes: decodeAttributes(list(e, 'attributes')),
    })),
    statusCode: statusCode(field(status, 'code')),
    statusMessage: String(field(status, 'message') ?? ''),
  };
}

function spansOf(request: Obj): OtelSpan[] {
  return list(request, 'resourceSpans').flatMap((rs) =>
    list(rs, 'scopeSpans').flatMap((ss) => list(ss, 'spans').map(readSpan)),
  );
}

/** The spans of an ExportTraceServiceRequest in OTLP's binary protobuf encoding. */
export async function decodeOtlpProtobuf(body: Buffer): Promise<OtelSpan[]> {
  // protobufjs and the schema load on the first binary OTLP request, not on every server start.
  const { ExportTraceServiceRequest } = await import('./otlp-schema.js');
  let message: protobufMessage;
  try {
    message = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), {
      longs: String,
      oneofs: false,
      defaults: false,
    }) as protobufMessage;
  } catch {
    throw bad('Invalid OpenTelemetry protobuf format');
  }
  return spansOf(message);
}

type protobufMessage = Obj;

/** The spans of an ExportTraceServiceRequest in OTLP/JSON (ids as hex, names lowerCamel). */
export function decodeOtlpJson(body: Buffer): OtelSpan[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw bad('Invalid OpenTelemetry JSON format');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw bad('Invalid OpenTelemetry JSON format');
  }
  return spansOf(parsed as Obj);
}
