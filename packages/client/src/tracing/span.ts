// A live span: what user code records while an operation runs (attributes, inputs and outputs, events,
// status) until end(). Attribute names and the OK-unless-failed rule follow MLflow's span entity.

import { nowNs } from './ids.js';

/** MLflow's attribute keys (mlflow/tracing/constant.py). */
export const SpanAttributeKey = {
  TRACE_ID: 'mlflow.traceRequestId',
  SPAN_TYPE: 'mlflow.spanType',
  INPUTS: 'mlflow.spanInputs',
  OUTPUTS: 'mlflow.spanOutputs',
  TOKEN_USAGE: 'mlflow.chat.tokenUsage',
} as const;

/** MLflow's predefined span types; any other string is accepted too, as MLflow does. */
export const SpanType = {
  LLM: 'LLM',
  CHAIN: 'CHAIN',
  AGENT: 'AGENT',
  TOOL: 'TOOL',
  CHAT_MODEL: 'CHAT_MODEL',
  RETRIEVER: 'RETRIEVER',
  PARSER: 'PARSER',
  EMBEDDING: 'EMBEDDING',
  RERANKER: 'RERANKER',
  MEMORY: 'MEMORY',
  UNKNOWN: 'UNKNOWN',
} as const;

export type SpanStatusCode = 'UNSET' | 'OK' | 'ERROR';

export interface SpanEvent {
  name: string;
  timeUnixNano: bigint;
  attributes: Record<string, unknown>;
}

/** A JSON-safe copy of a value, taken when it is set so later mutation by the caller does not leak in. */
export function snapshot(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    const text = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Error) return { name: v.name, message: v.message };
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      return v;
    });
    return text === undefined ? String(value) : JSON.parse(text);
  } catch {
    // Cycles and the like: MLflow falls back to the value's text too.
    return String(value);
  }
}

export interface LiveSpanInit {
  traceId: string;
  otelTraceId: string;
  spanId: string;
  parentId: string | null;
  name: string;
  spanType: string;
  startTimeNs?: bigint;
}

export class LiveSpan {
  /** The MLflow trace id (`tr-` and the OpenTelemetry trace id). */
  readonly traceId: string;
  readonly otelTraceId: string;
  readonly spanId: string;
  readonly parentId: string | null;
  readonly name: string;
  readonly startTimeNs: bigint;
  endTimeNs: bigint | undefined;
  status: { code: SpanStatusCode; message: string } = { code: 'UNSET', message: '' };
  readonly attributes = new Map<string, unknown>();
  readonly events: SpanEvent[] = [];

  constructor(
    init: LiveSpanInit,
    private readonly onEnd: (span: LiveSpan) => void,
  ) {
    this.traceId = init.traceId;
    this.otelTraceId = init.otelTraceId;
    this.spanId = init.spanId;
    this.parentId = init.parentId;
    this.name = init.name;
    this.startTimeNs = init.startTimeNs ?? nowNs();
    this.attributes.set(SpanAttributeKey.TRACE_ID, init.traceId);
    this.attributes.set(SpanAttributeKey.SPAN_TYPE, init.spanType);
  }

  get ended(): boolean {
    return this.endTimeNs !== undefined;
  }

  get spanType(): string {
    return String(this.attributes.get(SpanAttributeKey.SPAN_TYPE));
  }

  get inputs(): unknown {
    return this.attributes.get(SpanAttributeKey.INPUTS);
  }

  get outputs(): unknown {
    return this.attributes.get(SpanAttributeKey.OUTPUTS);
  }

  /** Sets one attribute (any JSON-serializable value); a span that has ended is left unchanged. */
  setAttribute(key: string, value: unknown): this {
    if (!this.ended) this.attributes.set(key, snapshot(value));
    return this;
  }

  setAttributes(attributes: Record<string, unknown>): this {
    for (const [key, value] of Object.entries(attributes)) this.setAttribute(key, value);
    return this;
  }

  setSpanType(spanType: string): this {
    return this.setAttribute(SpanAttributeKey.SPAN_TYPE, spanType);
  }

  setInputs(inputs: unknown): this {
    return this.setAttribute(SpanAttributeKey.INPUTS, inputs);
  }

  setOutputs(outputs: unknown): this {
    return this.setAttribute(SpanAttributeKey.OUTPUTS, outputs);
  }

  addEvent(name: string, attributes: Record<string, unknown> = {}, timeUnixNano: bigint = nowNs()): this {
    if (!this.ended) {
      this.events.push({ name, timeUnixNano, attributes: snapshot(attributes) as Record<string, unknown> });
    }
    return this;
  }

  setStatus(code: SpanStatusCode, message = ''): this {
    if (!this.ended) this.status = { code, message };
    return this;
  }

  /**
   * Records a failure as OpenTelemetry's `exception` event (type, message, stack) and sets the status
   * to ERROR with "Type: message", as MLflow's record_exception does.
   */
  recordException(error: unknown): this {
    const e = error instanceof Error ? error : new Error(String(error));
    this.addEvent('exception', {
      'exception.type': e.name,
      'exception.message': e.message,
      'exception.stacktrace': e.stack ?? '',
    });
    return this.setStatus('ERROR', `${e.name}: ${e.message}`);
  }

  /**
   * Ends the span (a second call does nothing). A span not marked ERROR ends OK: MLflow's rule, since
   * a wrapped function has no other way to say it succeeded.
   */
  end(
    options: {
      outputs?: unknown;
      attributes?: Record<string, unknown>;
      status?: SpanStatusCode;
      endTimeNs?: bigint;
    } = {},
  ): void {
    if (this.ended) return;
    if (options.attributes) this.setAttributes(options.attributes);
    if (options.outputs !== undefined) this.setOutputs(options.outputs);
    if (options.status) this.setStatus(options.status);
    if (this.status.code !== 'ERROR') this.status = { code: 'OK', message: this.status.message };
    this.endTimeNs = options.endTimeNs ?? nowNs();
    if (this.endTimeNs < this.startTimeNs) this.endTimeNs = this.startTimeNs;
    this.onEnd(this);
  }
}
