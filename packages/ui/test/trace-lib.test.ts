// Unit tests of the trace views' pure helpers: span decoding, the span tree, its rows, the waterfall's
// bars, token counts, previews and assessment summaries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSpan } from '@mlflow-ts/client/browser';
import type { Assessment } from '@mlflow-ts/client/wire';
import {
  assessmentSummary,
  durationMs,
  formatLatency,
  formatTokens,
  oneLine,
  parseFeedbackValue,
  sumTokens,
  timestampMs,
  tokenUsageOf,
  traceTokens,
} from '../src/lib/trace-format.js';
import {
  ancestors,
  buildSpanTree,
  flattenSpanTree,
  fromTraceSpan,
  MIN_BAR,
  type SpanNode,
  traceRange,
  waterfallBar,
} from '../src/lib/trace-spans.js';

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

function span(
  id: string,
  parent: string | null,
  startMs: number,
  endMs: number | undefined,
  name = id,
): SpanNode {
  return {
    id,
    parentId: parent,
    name,
    type: undefined,
    status: 'OK',
    statusMessage: '',
    startMs,
    endMs,
    attributes: {},
    events: [],
    children: [],
  };
}

test('a GetTrace span as the SDK reads it becomes a drawn span: ms to the microsecond, type, status, events', () => {
  const wire = {
    trace_id: b64('0123456789abcdef0123456789abcdef'),
    span_id: b64('00000000000000aa'),
    parent_span_id: b64('00000000000000bb'),
    name: 'llm',
    start_time_unix_nano: '1700000000123456789',
    end_time_unix_nano: '1700000000373457789',
    attributes: [
      { key: 'mlflow.spanType', value: { string_value: '"LLM"' } },
      { key: 'mlflow.spanInputs', value: { string_value: '{"q": "hi", "n": [1, 2]}' } },
      { key: 'plain', value: { string_value: 'not json' } },
    ],
    events: [{ name: 'exception', time_unix_nano: '1700000000200000000', attributes: [] }],
    status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
  };
  const s = fromTraceSpan(parseSpan(wire));
  assert.equal(s.id, '00000000000000aa');
  assert.equal(s.parentId, '00000000000000bb');
  assert.equal(s.type, 'LLM');
  assert.equal(s.status, 'ERROR');
  assert.equal(s.statusMessage, 'boom');
  // Whole microseconds survive (differences of such large numbers are good to a few tenths of one).
  assert.ok(Math.abs((s.endMs as number) - s.startMs - 250.001) < 0.0003);
  assert.equal(s.startMs, 1_700_000_000_123.456);
  assert.deepEqual(s.attributes['mlflow.spanInputs'], { q: 'hi', n: [1, 2] });
  assert.equal(s.attributes.plain, 'not json');
  assert.ok(Math.abs(s.events[0].timeMs - s.startMs - 76.544) < 0.0003);
  assert.equal(s.children.length, 0);
  // No parent, no end time (an open span), no status, no type.
  const root = fromTraceSpan(
    parseSpan({ trace_id: '', span_id: b64('00000000000000bb'), name: 'root', start_time_unix_nano: '1000' }),
  );
  assert.equal(root.parentId, null);
  assert.equal(root.endMs, undefined);
  assert.equal(root.status, 'UNSET');
  assert.equal(root.type, undefined);
  assert.equal(root.startMs, 0.001);
});

test('span tree: children in start order, orphans and cycles shown as roots, nothing lost', () => {
  const spans = [
    span('c2', 'root', 30, 40),
    span('root', null, 0, 100),
    span('c1', 'root', 10, 20),
    span('g1', 'c1', 12, 15),
    span('orphan', 'missing', 50, 60),
    span('x', 'y', 70, 80),
    span('y', 'x', 71, 79),
    span('self', 'self', 90, 95),
  ];
  const roots = buildSpanTree(spans);
  assert.deepEqual(
    roots.map((r) => r.id),
    ['root', 'orphan', 'x', 'self'],
  );
  assert.deepEqual(
    roots[0].children.map((c) => c.id),
    ['c1', 'c2'],
  );
  const rows = flattenSpanTree(roots, new Set());
  assert.deepEqual(
    rows.map((r) => `${r.node.id}@${r.depth}`),
    ['root@0', 'c1@1', 'g1@2', 'c2@1', 'orphan@0', 'x@0', 'y@1', 'self@0'],
  );
  assert.equal(rows.length, spans.length, 'every span has one row');
  // A collapsed span hides its descendants only.
  assert.deepEqual(
    flattenSpanTree(roots, new Set(['c1'])).map((r) => r.node.id),
    ['root', 'c1', 'c2', 'orphan', 'x', 'y', 'self'],
  );
  assert.deepEqual(
    flattenSpanTree(roots, new Set(['root'])).map((r) => r.node.id),
    ['root', 'orphan', 'x', 'y', 'self'],
  );
  const byId = new Map(spans.map((s) => [s.id, s]));
  assert.deepEqual(ancestors(byId, 'g1'), ['c1', 'root']);
  // On a cycle the walk stops at the first span seen twice.
  assert.deepEqual(ancestors(byId, 'y'), ['x', 'y']);
  assert.deepEqual(ancestors(byId, 'root'), []);
});

test('a chain of 10,000 nested spans flattens without exhausting the stack', () => {
  const spans = Array.from({ length: 10_000 }, (_, i) =>
    span(`s${i}`, i === 0 ? null : `s${i - 1}`, i, 20_000 - i),
  );
  const rows = flattenSpanTree(buildSpanTree(spans), new Set());
  assert.equal(rows.length, 10_000);
  assert.equal(rows[9_999].depth, 9_999);
});

test('waterfall bars: placed by start and end, open spans run to the end, tiny spans stay visible', () => {
  const spans = [
    span('a', null, 1000, 2000),
    span('b', 'a', 1250, 1500),
    span('c', 'a', 1900, undefined),
    span('d', 'a', 1600, 1600),
  ];
  const range = traceRange(spans);
  assert.deepEqual(range, { startMs: 1000, endMs: 2000 });
  assert.deepEqual(waterfallBar(spans[0], range), { left: 0, width: 1 });
  assert.deepEqual(waterfallBar(spans[1], range), { left: 0.25, width: 0.25 });
  const open = waterfallBar(spans[2], range);
  assert.ok(Math.abs(open.left - 0.9) < 1e-9 && Math.abs(open.width - 0.1) < 1e-9);
  assert.deepEqual(waterfallBar(spans[3], range), { left: 0.6, width: MIN_BAR });
  // A span outside the range is clamped inside the chart; a zero-length trace fills it.
  const late = waterfallBar(span('e', null, 2500, 2600), range);
  assert.equal(late.left + late.width, 1);
  assert.deepEqual(waterfallBar(spans[0], { startMs: 5, endMs: 5 }), { left: 0, width: 1 });
  assert.deepEqual(traceRange([]), { startMs: 0, endMs: 0 });
});

test('trace formats: latency, token usage from metadata or spans, previews, feedback values', () => {
  assert.equal(formatLatency(undefined), '—');
  assert.equal(formatLatency(0.42), '0.42 ms');
  assert.equal(formatLatency(850.4), '850 ms');
  assert.equal(formatLatency(1250), '1.25 s');
  assert.equal(formatLatency(125_000), '2 min 5 s');
  assert.equal(durationMs('0.250s'), 250);
  assert.equal(durationMs('12s'), 12_000);
  assert.equal(durationMs(undefined), undefined);
  assert.equal(timestampMs('2026-12-07T17:42:11.748Z'), Date.UTC(2026, 11, 7, 17, 42, 11, 748));

  const info = {
    trace_id: 't',
    trace_location: { type: 'MLFLOW_EXPERIMENT' },
    request_time: '2026-01-01T00:00:00Z',
    state: 'OK' as const,
    trace_metadata: {
      'mlflow.trace.tokenUsage': '{"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}',
    },
  };
  assert.deepEqual(traceTokens(info), { input: 10, output: 5, total: 15 });
  assert.equal(traceTokens({ ...info, trace_metadata: {} }), undefined);
  assert.equal(tokenUsageOf('not json'), undefined);
  assert.deepEqual(tokenUsageOf({ input_tokens: 3, output_tokens: 4 }), { input: 3, output: 4, total: 7 });
  assert.deepEqual(sumTokens([{ input: 3, output: 4, total: 7 }, undefined, { total: 5 }]), {
    input: 3,
    output: 4,
    total: 12,
  });
  assert.equal(sumTokens([undefined]), undefined);
  assert.equal(formatTokens({ input: 10, output: 5, total: 15 }), '15 (10 in / 5 out)');
  assert.equal(formatTokens(undefined), '—');

  assert.equal(oneLine('{"messages":  [\n {"role": "user"}]}'), '{"messages":[{"role":"user"}]}');
  assert.equal(oneLine('plain\n\ttext'), 'plain text');
  assert.equal(oneLine('x'.repeat(50), 10), `${'x'.repeat(9)}…`);
  assert.equal(oneLine(undefined), '');

  assert.equal(parseFeedbackValue('true'), true);
  assert.equal(parseFeedbackValue(' 0.8 '), 0.8);
  assert.deepEqual(parseFeedbackValue('{"a": 1}'), { a: 1 });
  assert.equal(parseFeedbackValue('good answer'), 'good answer');
});

test('assessment summary: valid ones as name: value, overridden ones left out, errors named', () => {
  const base = {
    trace_id: 't',
    source: { source_type: 'HUMAN' as const },
    create_time: '2026-01-01T00:00:00Z',
    last_update_time: '2026-01-01T00:00:00Z',
  };
  const list: Assessment[] = [
    { ...base, assessment_id: 'a1', assessment_name: 'correct', feedback: { value: true }, valid: false },
    {
      ...base,
      assessment_id: 'a2',
      assessment_name: 'correct',
      feedback: { value: false },
      overrides: 'a1',
      valid: true,
    },
    { ...base, assessment_id: 'a3', assessment_name: 'tone', feedback: { value: 'polite' } },
    { ...base, assessment_id: 'a4', assessment_name: 'expected', expectation: { value: { answer: 42 } } },
    {
      ...base,
      assessment_id: 'a5',
      assessment_name: 'judge',
      feedback: { value: null, error: { error_code: 'RATE_LIMIT' } },
    },
  ];
  assert.deepEqual(assessmentSummary(list), [
    'correct: false',
    'tone: polite',
    'expected: {"answer":42}',
    'judge: error: RATE_LIMIT',
  ]);
  assert.deepEqual(assessmentSummary(undefined), []);
});
