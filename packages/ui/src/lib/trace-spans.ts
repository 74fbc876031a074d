// A trace's spans as the trace page draws them: the SDK's spans in milliseconds, linked into a tree,
// flattened into rows, laid out in time.
import type { TraceSpan } from '@mlflow-ts/client/browser';

export type SpanStatus = 'OK' | 'ERROR' | 'UNSET';

export interface SpanNode {
  id: string;
  parentId: string | null;
  name: string;
  /** mlflow.spanType (LLM, CHAIN, TOOL, ...), if set. */
  type: string | undefined;
  status: SpanStatus;
  statusMessage: string;
  /** Milliseconds since the epoch, to the microsecond. */
  startMs: number;
  /** Undefined while the span is still open. */
  endMs: number | undefined;
  attributes: Record<string, unknown>;
  events: { name: string; timeMs: number; attributes: Record<string, unknown> }[];
  children: SpanNode[];
}

// Through whole microseconds, which a double holds exactly (nanoseconds since 1970 it does not).
const nsToMs = (ns: bigint) => Number(ns / 1000n) / 1000;

/** A span as the SDK's getTrace reads it (ids hex, times in exact nanoseconds), for drawing. */
export function fromTraceSpan(s: TraceSpan): SpanNode {
  return {
    id: s.spanId,
    parentId: s.parentId,
    name: s.name,
    type: s.spanType || undefined,
    status: s.status.code,
    statusMessage: s.status.message,
    startMs: nsToMs(s.startTimeNs),
    endMs: s.endTimeNs === undefined ? undefined : nsToMs(s.endTimeNs),
    attributes: s.attributes,
    events: s.events.map((e) => ({ name: e.name, timeMs: nsToMs(e.timeUnixNano), attributes: e.attributes })),
    children: [],
  };
}

const byStart = (a: SpanNode, b: SpanNode) => a.startMs - b.startMs || a.name.localeCompare(b.name);

/**
 * Links spans to their parents. A span whose parent is not in the trace (not received yet, or lost)
 * is shown as a root rather than dropped; siblings are in start order.
 */
export function buildSpanTree(spans: SpanNode[]): SpanNode[] {
  const byId = new Map<string, SpanNode>();
  for (const s of spans) {
    s.children = [];
    byId.set(s.id, s);
  }
  const roots: SpanNode[] = [];
  for (const s of spans) {
    const parent = s.parentId !== null && s.parentId !== s.id ? byId.get(s.parentId) : undefined;
    if (parent) parent.children.push(s);
    else roots.push(s);
  }
  // Spans on a parent cycle are reachable from no root: show them as roots too.
  const reached = new Set<SpanNode>();
  const stack = [...roots];
  while (stack.length) {
    const s = stack.pop() as SpanNode;
    reached.add(s);
    stack.push(...s.children);
  }
  for (const s of spans) {
    if (!reached.has(s)) {
      const parent = s.parentId === null ? undefined : byId.get(s.parentId);
      if (parent) parent.children = parent.children.filter((c) => c !== s);
      roots.push(s);
      const again = [s];
      while (again.length) {
        const n = again.pop() as SpanNode;
        reached.add(n);
        again.push(...n.children.filter((c) => !reached.has(c)));
      }
    }
  }
  for (const s of spans) s.children.sort(byStart);
  return roots.sort(byStart);
}

export interface SpanRow {
  node: SpanNode;
  depth: number;
}

/**
 * The rows the tree shows, depth first: a collapsed span's descendants are left out. Iterative, so a
 * chain of 10,000 nested spans does not exhaust the call stack.
 */
export function flattenSpanTree(roots: SpanNode[], collapsed: ReadonlySet<string>): SpanRow[] {
  const rows: SpanRow[] = [];
  const stack: SpanRow[] = roots.map((node) => ({ node, depth: 0 })).reverse();
  while (stack.length) {
    const row = stack.pop() as SpanRow;
    rows.push(row);
    if (collapsed.has(row.node.id)) continue;
    const kids = row.node.children;
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i], depth: row.depth + 1 });
  }
  return rows;
}

/** The ids of every ancestor of `id` (to open the tree down to a span). */
export function ancestors(spans: Map<string, SpanNode>, id: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let parent = spans.get(id)?.parentId ?? null;
  while (parent !== null && spans.has(parent) && !seen.has(parent)) {
    seen.add(parent);
    out.push(parent);
    parent = spans.get(parent)?.parentId ?? null;
  }
  return out;
}

export interface TimeRange {
  startMs: number;
  endMs: number;
}

/** The span of time the spans cover (an open span counts up to the latest time seen). */
export function traceRange(spans: SpanNode[]): TimeRange {
  let startMs = Number.POSITIVE_INFINITY;
  let endMs = Number.NEGATIVE_INFINITY;
  for (const s of spans) {
    startMs = Math.min(startMs, s.startMs);
    endMs = Math.max(endMs, s.endMs ?? s.startMs);
  }
  if (!Number.isFinite(startMs)) return { startMs: 0, endMs: 0 };
  return { startMs, endMs };
}

/** The smallest bar, as a fraction of the width, so an instant span stays visible. */
export const MIN_BAR = 0.002;

/**
 * Where a span's bar sits in the waterfall: `left` and `width` as fractions of the trace's duration,
 * clamped inside [0, 1]. An open span runs to the end of the trace.
 */
export function waterfallBar(span: SpanNode, range: TimeRange): { left: number; width: number } {
  const total = range.endMs - range.startMs;
  if (total <= 0) return { left: 0, width: 1 };
  const clamp = (x: number) => Math.min(1, Math.max(0, x));
  const left = clamp((span.startMs - range.startMs) / total);
  const right = clamp(((span.endMs ?? range.endMs) - range.startMs) / total);
  const width = Math.max(MIN_BAR, right - left);
  return { left: Math.min(left, 1 - width), width };
}
