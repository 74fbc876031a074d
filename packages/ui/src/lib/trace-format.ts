// How trace records read in the table and on the trace page: times, latency, token counts, previews
// and a one-line summary of assessments.

/** protobuf's Timestamp text as milliseconds since the epoch (NaN when absent or unreadable). */
export function timestampMs(text: string | undefined): number {
  return text ? Date.parse(text) : Number.NaN;
}

/** protobuf's Duration text ("1.250s") as milliseconds; undefined when absent or unreadable. */
export function durationMs(text: string | undefined): number | undefined {
  const m = text ? /^(-?\d+(?:\.\d+)?)s$/.exec(text) : null;
  return m ? Math.round(Number(m[1]) * 1e6) / 1e3 : undefined;
}

import type { Assessment, TraceInfoV3 } from '@mlflow-ts/client/wire';

/** A latency in milliseconds as a person reads it: 0.42 ms, 850 ms, 1.25 s, 2 min 5 s. */
export function formatLatency(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1) return `${Number(ms.toPrecision(2))} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toPrecision(3))} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

export interface TokenUsage {
  input?: number;
  output?: number;
  total?: number;
}

/** Where MLflow keeps a trace's token counts (JSON: input_tokens, output_tokens, total_tokens). */
export const TOKEN_USAGE_METADATA = 'mlflow.trace.tokenUsage';
/** The same counts on a chat span (an LLM call). */
export const TOKEN_USAGE_ATTRIBUTE = 'mlflow.chat.tokenUsage';

function count(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/** Token counts from a parsed usage object; undefined when it holds none. */
export function tokenUsageOf(value: unknown): TokenUsage | undefined {
  if (typeof value === 'string') {
    try {
      return tokenUsageOf(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  if (!value || typeof value !== 'object') return undefined;
  const o = value as Record<string, unknown>;
  const usage: TokenUsage = {
    input: count(o.input_tokens),
    output: count(o.output_tokens),
    total: count(o.total_tokens),
  };
  if (usage.total === undefined && usage.input !== undefined && usage.output !== undefined)
    usage.total = usage.input + usage.output;
  return usage.input === undefined && usage.output === undefined && usage.total === undefined
    ? undefined
    : usage;
}

export function traceTokens(info: Pick<TraceInfoV3, 'trace_metadata'>): TokenUsage | undefined {
  return tokenUsageOf(info.trace_metadata?.[TOKEN_USAGE_METADATA]);
}

/** Sums the chat spans' counts, for traces whose record carries none. */
export function sumTokens(usages: (TokenUsage | undefined)[]): TokenUsage | undefined {
  let found = false;
  const sum = { input: 0, output: 0, total: 0 };
  for (const u of usages) {
    if (!u) continue;
    found = true;
    sum.input += u.input ?? 0;
    sum.output += u.output ?? 0;
    sum.total += u.total ?? (u.input ?? 0) + (u.output ?? 0);
  }
  return found ? sum : undefined;
}

export function formatTokens(u: TokenUsage | undefined): string {
  if (!u) return '—';
  const parts = [u.total !== undefined ? `${u.total}` : '?'];
  if (u.input !== undefined || u.output !== undefined)
    parts.push(`(${u.input ?? '?'} in / ${u.output ?? '?'} out)`);
  return parts.join(' ');
}

/** A preview on one line: JSON is compacted, whitespace runs become one space, long text is cut. */
export function oneLine(text: string | undefined, max = 300): string {
  if (!text) return '';
  let s = text;
  try {
    s = JSON.stringify(JSON.parse(text));
  } catch {
    // Not JSON: shown as it is.
  }
  s = s.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** An assessment's value as short text (strings unquoted, the rest as JSON). */
export function assessmentValue(a: Assessment): string {
  const v = a.feedback ? a.feedback.value : a.expectation?.value;
  if (a.feedback?.error && (v === null || v === undefined))
    return `error: ${a.feedback.error.error_code ?? a.feedback.error.error_message ?? '?'}`;
  if (typeof v === 'string') return v;
  return JSON.stringify(v ?? null);
}

/**
 * The table's assessment cell: each valid assessment as `name: value`, names in first-seen order
 * (an assessment overridden by a newer one is `valid: false` and left out).
 */
export function assessmentSummary(list: Assessment[] | undefined): string[] {
  return (list ?? [])
    .filter((a) => a.valid !== false)
    .map((a) => `${a.assessment_name}: ${assessmentValue(a)}`);
}

/** Parses what a person typed as a feedback value: JSON when it is JSON (true, 0.8, {...}), else text. */
export function parseFeedbackValue(text: string): unknown {
  const t = text.trim();
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}
