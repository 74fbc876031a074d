// Ended spans as an OTLP ExportTraceServiceRequest in protobuf's binary encoding, the body MLflow's
// clients POST to a tracking server's /v1/traces. Attribute values go as their own types (a string as a
// string, an object as a key/value list), as MLflow's Python client sends them. protobufjs's writer is
// loaded on first use, so the browser entry keeps no static package import.

import type { Writer } from 'protobufjs';
import { hexToBytes } from './ids.js';
import type { LiveSpan } from './span.js';

// Wire types and the field numbers of opentelemetry/proto/{collector/trace,trace,common}/v1.
const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const tag = (field: number, wire: number) => (field << 3) | wire;

const STATUS_CODES = { UNSET: 0, OK: 1, ERROR: 2 } as const;
const SPAN_KIND_INTERNAL = 1;

let writerFactory: Promise<() => Writer> | undefined;

async function newWriter(): Promise<Writer> {
  writerFactory ??= import('protobufjs/minimal.js').then((m) => {
    const protobuf =
      (m as { default?: typeof import('protobufjs') }).default ?? (m as typeof import('protobufjs'));
    return () => protobuf.Writer.create();
  });
  return (await writerFactory)();
}

function fixed64(w: Writer, field: number, value: bigint): void {
  // Two little-endian 32-bit halves: exact beyond 2^53, which nanosecond times are.
  w.uint32(tag(field, FIXED64))
    .fixed32(Number(value & 0xffffffffn))
    .fixed32(Number(value >> 32n));
}

function anyValue(w: Writer, value: unknown): void {
  if (typeof value === 'string') w.uint32(tag(1, LENGTH)).string(value);
  else if (typeof value === 'boolean') w.uint32(tag(2, VARINT)).bool(value);
  else if (typeof value === 'number' && Number.isSafeInteger(value)) w.uint32(tag(3, VARINT)).int64(value);
  else if (typeof value === 'number') w.uint32(tag(4, FIXED64)).double(value);
  else if (Array.isArray(value)) {
    w.uint32(tag(5, LENGTH)).fork();
    for (const item of value) {
      w.uint32(tag(1, LENGTH)).fork();
      anyValue(w, item);
      w.ldelim();
    }
    w.ldelim();
  } else if (value !== null && typeof value === 'object') {
    w.uint32(tag(6, LENGTH)).fork();
    keyValues(w, 1, Object.entries(value));
    w.ldelim();
  }
  // null: an AnyValue with no value set.
}

function keyValues(w: Writer, field: number, entries: Iterable<[string, unknown]>): void {
  for (const [key, value] of entries) {
    w.uint32(tag(field, LENGTH)).fork();
    w.uint32(tag(1, LENGTH)).string(key);
    w.uint32(tag(2, LENGTH)).fork();
    anyValue(w, value);
    w.ldelim();
    w.ldelim();
  }
}

function span(w: Writer, s: LiveSpan): void {
  w.uint32(tag(1, LENGTH)).bytes(hexToBytes(s.otelTraceId));
  w.uint32(tag(2, LENGTH)).bytes(hexToBytes(s.spanId));
  if (s.parentId) w.uint32(tag(4, LENGTH)).bytes(hexToBytes(s.parentId));
  w.uint32(tag(5, LENGTH)).string(s.name);
  w.uint32(tag(6, VARINT)).int32(SPAN_KIND_INTERNAL);
  fixed64(w, 7, s.startTimeNs);
  fixed64(w, 8, s.endTimeNs ?? s.startTimeNs);
  keyValues(w, 9, s.attributes.entries());
  for (const e of s.events) {
    w.uint32(tag(11, LENGTH)).fork();
    fixed64(w, 1, e.timeUnixNano);
    w.uint32(tag(2, LENGTH)).string(e.name);
    keyValues(w, 3, Object.entries(e.attributes));
    w.ldelim();
  }
  w.uint32(tag(15, LENGTH)).fork();
  if (s.status.message) w.uint32(tag(2, LENGTH)).string(s.status.message);
  w.uint32(tag(3, VARINT)).int32(STATUS_CODES[s.status.code]);
  w.ldelim();
}

/** One ExportTraceServiceRequest holding `spans` under one resource and one instrumentation scope. */
export async function encodeSpans(
  spans: readonly LiveSpan[],
  scope: { name: string; version: string },
): Promise<Uint8Array> {
  const w = await newWriter();
  w.uint32(tag(1, LENGTH)).fork(); // ResourceSpans
  w.uint32(tag(1, LENGTH)).fork(); // Resource
  keyValues(w, 1, [['service.name', scope.name]]);
  w.ldelim();
  w.uint32(tag(2, LENGTH)).fork(); // ScopeSpans
  w.uint32(tag(1, LENGTH)).fork(); // InstrumentationScope
  w.uint32(tag(1, LENGTH)).string(scope.name);
  w.uint32(tag(2, LENGTH)).string(scope.version);
  w.ldelim();
  for (const s of spans) {
    w.uint32(tag(2, LENGTH)).fork();
    span(w, s);
    w.ldelim();
  }
  w.ldelim();
  w.ldelim();
  return w.finish();
}
