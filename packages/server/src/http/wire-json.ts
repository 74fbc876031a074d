import type { Metric } from '../entities/tracking.js';

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

export function toWireJson(body: unknown): string {
  return JSON.stringify(body, replacer);
}

const BARE_NON_FINITE = /("(?:[^"\\]|\\.)*")|(-?Infinity|NaN)/g;

/**
 * Parses a JSON body. Python's json module (used by some MLflow clients) writes NaN and Infinity as
 * bare tokens, which JSON.parse rejects; those are retried as the strings protobuf's mapping uses.
 */
export function parseRequestJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error;
    return JSON.parse(
      text.replace(BARE_NON_FINITE, (match, quoted: string | undefined) => (quoted ? match : `"${match}"`)),
    );
  }
}

/** A response body written piece by piece, for answers too large to build as one string. */
export class JsonStream {
  constructor(readonly chunks: AsyncIterable<string>) {}
}

function wireNumber(n: number): string {
  if (Number.isFinite(n)) return String(n);
  return Number.isNaN(n) ? '"NaN"' : n > 0 ? '"Infinity"' : '"-Infinity"';
}

/**
 * GetMetricHistory.Response as a stream: the same text toWireJson makes of
 * `{ metrics, next_page_token }`, one batch of points at a time.
 */
export async function* metricHistoryJson(
  batches: AsyncIterable<Metric[]>,
  nextPageToken: () => string | undefined,
): AsyncGenerator<string> {
  let opened = false;
  let key: string | undefined;
  let keyJson = '';
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    const parts: string[] = [];
    for (const m of batch) {
      if (m.key !== key) {
        key = m.key;
        keyJson = JSON.stringify(key);
      }
      parts.push(
        `{"key":${keyJson},"value":${wireNumber(m.value)},"timestamp":${m.timestamp},"step":${m.step}}`,
      );
    }
    yield `${opened ? ',' : '{"metrics":['}${parts.join(',')}`;
    opened = true;
  }
  const token = nextPageToken();
  const tail = token === undefined ? '' : `${opened ? ',' : ''}"next_page_token":${JSON.stringify(token)}`;
  yield `${opened ? ']' : '{'}${tail}}`;
}
