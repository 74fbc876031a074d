import { EncodedList } from '../entities/encoded-list.js';

// MLflow's JSON (protobuf's JSON mapping): empty lists and unset fields are left out, and doubles that
// JSON cannot hold are written as the strings "NaN", "Infinity" and "-Infinity".

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    if (Number.isNaN(value)) return 'NaN';
    return value > 0 ? 'Infinity' : '-Infinity';
  }
  if (Array.isArray(value) && value.length === 0) return undefined;
  return value;
}

/**
 * Serialises a response body as MLflow's JSON, splicing in lists the store encoded itself. A body with
 * such lists (a search answer can be 1 MB) is encoded piece by piece into one buffer: joining the
 * pieces into a string, which the socket then measured and encoded again, cost more than the rest of
 * building the answer.
 */
export function toWireBytes(body: unknown): string | Buffer {
  const json = wireJsonParts(body);
  if (typeof json === 'string') return json;
  let size = 0;
  for (const part of json) size += Buffer.byteLength(part);
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (const part of json) at += bytes.write(part, at);
  return bytes;
}

/** The JSON text, or its pieces in order when stored lists were spliced in. */
function wireJsonParts(body: unknown): string | string[] {
  const spliced: string[] = [];
  // Each list becomes a placeholder string, replaced once the text is built. JSON.stringify escapes the
  // NUL it starts with, and the random part differs per call, so no user string can pose as one.
  const nonce = Math.random().toString(36).slice(2);
  EncodedList.spliceHook = (list) => `\u0000${nonce}:${spliced.push(list.json) - 1}`;
  let text: string;
  try {
    text = JSON.stringify(body, replacer);
  } finally {
    EncodedList.spliceHook = undefined;
  }
  if (spliced.length === 0) return text;
  const quotedMarker = `"\\u0000${nonce}:`;
  const parts: string[] = [];
  let from = 0;
  for (let at = text.indexOf(quotedMarker); at !== -1; at = text.indexOf(quotedMarker, from)) {
    const end = text.indexOf('"', at + quotedMarker.length);
    parts.push(text.slice(from, at), spliced[Number(text.slice(at + quotedMarker.length, end))]);
    from = end + 1;
  }
  parts.push(text.slice(from));
  return parts;
}

const BARE_NON_FINITE = /("(?:[^"\\]|\\.)*")|(-?Infinity|NaN)/g;

/**
 * Parses a JSON body. Python's json module (used by some MLflow clients) writes NaN and Infinity as
 * bare tokens, which JSON.parse rejects; those are retried as the strings protobuf's mapping uses.
 */
export function parseRequestJson(text: string): unknown {
  try {
    return remember(JSON.parse(text), text);
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error;
    return JSON.parse(
      text.replace(BARE_NON_FINITE, (match, quoted: string | undefined) => (quoted ? match : `"${match}"`)),
    );
  }
}

// The text each parsed request object came from, for the rare error message that must tell `9.0`
// from `9` (JSON.parse cannot); weak, so a body is kept no longer than its parsed object.
const sourceTexts = new WeakMap<object, string>();

function remember(value: unknown, text: string): unknown {
  if (value !== null && typeof value === 'object') sourceTexts.set(value, text);
  return value;
}

const STRING_OR_NUMBER = /("(?:[^"\\]|\\.)*")|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
const FLOAT_MARK = '\u0000float';

/**
 * Whether `body[field]` was written as a JSON float literal (`9.0`, `1e3`): Python, which parses such
 * a literal as a float, names and prints it as one in MLflow's type errors. Reads the text again, so
 * it is for error paths only; false for objects that were not parsed from a request body.
 */
export function writtenAsFloat(body: object, field: string): boolean {
  const text = sourceTexts.get(body);
  if (text === undefined) return false;
  const marked = text.replace(STRING_OR_NUMBER, (match, quoted: string | undefined) =>
    quoted || !/[.eE]/.test(match) ? match : `"\\u0000float"`,
  );
  try {
    return (JSON.parse(marked) as Record<string, unknown>)[field] === FLOAT_MARK;
  } catch {
    return false;
  }
}

/** A response body written piece by piece, for answers too large to build as one string. */
export class JsonStream {
  constructor(readonly chunks: AsyncIterable<string | Uint8Array>) {}
}

/**
 * GetMetricHistory.Response as a stream: `{"metrics":[...],"next_page_token":"..."}`, written one
 * batch of points (already JSON, see TrackingStore.getMetricHistoryJson) at a time. As with
 * toWireBytes, an empty list and an absent token are left out.
 */
export async function* metricHistoryJson(
  batches: AsyncIterable<string | Uint8Array>,
  nextPageToken: () => string | undefined,
): AsyncGenerator<string | Uint8Array> {
  let opened = false;
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    // Bytes come from the store's fast path for the rest of a history, which always follows a
    // first batch of text and so brings its own leading comma.
    yield typeof batch === 'string' ? `${opened ? ',' : '{"metrics":['}${batch}` : batch;
    opened = true;
  }
  const token = nextPageToken();
  const tail = token === undefined ? '' : `${opened ? ',' : ''}"next_page_token":${JSON.stringify(token)}`;
  yield `${opened ? ']' : '{'}${tail}}`;
}
