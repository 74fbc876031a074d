// MLflow 3's trace endpoints as MlflowClient methods (named as Python's MlflowClient names them):
// reading traces with their spans, searching, tags, deletion, run links and assessments. Spans come
// from the server's store (GetTrace) or, for traces whose spans were uploaded as an artifact (MLflow's
// TypeScript SDK does that), from the trace's traces.json, as Python's client reads them.

import { RunArtifacts } from './artifacts.js';
import type { Page } from './entities.js';
import { MlflowError } from './errors.js';
import { ScorerMethods } from './scorers.js';
import { base64ToHex } from './tracing/ids.js';
import type { SpanStatusCode } from './tracing/span.js';
import type { Assessment, AssessmentSource, TraceInfoV3 } from './wire.js';

type Obj = Record<string, unknown>;

/** A span read back from the server, attribute values decoded (MLflow stores each as JSON text). */
export interface TraceSpan {
  traceId: string;
  spanId: string;
  parentId: string | null;
  name: string;
  spanType: string | undefined;
  /** Nanoseconds since the epoch, exact. */
  startTimeNs: bigint;
  endTimeNs: bigint | undefined;
  status: { code: SpanStatusCode; message: string };
  attributes: Record<string, unknown>;
  inputs: unknown;
  outputs: unknown;
  events: { name: string; timeUnixNano: bigint; attributes: Record<string, unknown> }[];
}

export interface Trace {
  info: TraceInfoV3;
  spans: TraceSpan[];
}

export interface SearchTracesOptions {
  /** MLflow's trace filter, e.g. "trace.status = 'OK' AND tags.team = 'search'". */
  filter?: string;
  /** Default 100 (the server's default), at most 500. */
  maxResults?: number;
  orderBy?: string[];
  pageToken?: string;
}

export interface AssessmentOptions {
  /** Default: CODE / 'default' for feedback, HUMAN / 'default' for expectations (MLflow's defaults). */
  source?: AssessmentSource;
  rationale?: string;
  metadata?: Record<string, string>;
  spanId?: string;
  runId?: string;
  /** The id of an earlier assessment this one replaces. */
  overrides?: string;
}

const NANO_KEYS = /("(?:start_time_unix_nano|end_time_unix_nano|time_unix_nano)"\s*:\s*)(\d+)/g;

/** JSON with the nanosecond times kept as text, since JSON.parse would round them. */
function parseExact(text: string): unknown {
  return JSON.parse(text.replace(NANO_KEYS, '$1"$2"'));
}

/** An attribute value: MLflow writes each as JSON text, so text is parsed when it is JSON. */
function attributeValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function anyValue(v: unknown): unknown {
  if (!v || typeof v !== 'object') return null;
  const o = v as Obj;
  if ('string_value' in o) return attributeValue(o.string_value);
  if ('bool_value' in o) return o.bool_value;
  if ('int_value' in o) {
    const n = Number(o.int_value);
    return Number.isSafeInteger(n) ? n : String(o.int_value);
  }
  if ('double_value' in o) return Number(o.double_value);
  if ('array_value' in o) return (((o.array_value as Obj)?.values as unknown[]) ?? []).map(anyValue);
  if ('kvlist_value' in o) return keyValues((o.kvlist_value as Obj)?.values);
  if ('bytes_value' in o) return o.bytes_value;
  return null;
}

function keyValues(list: unknown): Obj {
  const out: Obj = {};
  for (const kv of Array.isArray(list) ? (list as Obj[]) : []) out[String(kv.key)] = anyValue(kv.value);
  return out;
}

/** Attributes as OTLP key/value lists (GetTrace) or as MLflow's object of JSON texts (traces.json). */
function attributesOf(value: unknown): Obj {
  if (Array.isArray(value)) return keyValues(value);
  const out: Obj = {};
  for (const [k, v] of Object.entries((value as Obj) ?? {})) out[k] = attributeValue(v);
  return out;
}

const STATUS: Record<string, SpanStatusCode> = {
  STATUS_CODE_OK: 'OK',
  STATUS_CODE_ERROR: 'ERROR',
  OK: 'OK',
  ERROR: 'ERROR',
  '1': 'OK',
  '2': 'ERROR',
};

const nanos = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : BigInt(String(v)));

/** A span in either of MLflow's JSON forms: OpenTelemetry's Span message or Span.to_dict(). */
export function parseSpan(s: Obj): TraceSpan {
  const attributes = attributesOf(s.attributes);
  const status = (s.status as Obj | undefined) ?? {};
  const parent = s.parent_span_id;
  const type = attributes['mlflow.spanType'];
  return {
    traceId: base64ToHex(String(s.trace_id)),
    spanId: base64ToHex(String(s.span_id)),
    parentId: typeof parent === 'string' && parent !== '' ? base64ToHex(parent) : null,
    name: String(s.name ?? ''),
    spanType: typeof type === 'string' ? type : undefined,
    startTimeNs: nanos(s.start_time_unix_nano) ?? 0n,
    endTimeNs: nanos(s.end_time_unix_nano),
    status: { code: STATUS[String(status.code)] ?? 'UNSET', message: String(status.message ?? '') },
    attributes,
    inputs: attributes['mlflow.spanInputs'],
    outputs: attributes['mlflow.spanOutputs'],
    events: ((s.events as Obj[] | undefined) ?? []).map((e) => ({
      name: String(e.name ?? ''),
      timeUnixNano: nanos(e.time_unix_nano) ?? 0n,
      attributes: Array.isArray(e.attributes) ? keyValues(e.attributes) : ((e.attributes as Obj) ?? {}),
    })),
  };
}

/** Puts back the maps and lists the server leaves out when empty. */
export function normalizeTraceInfo(info: TraceInfoV3): TraceInfoV3 {
  return {
    ...info,
    trace_metadata: info.trace_metadata ?? {},
    tags: info.tags ?? {},
    assessments: info.assessments ?? [],
  };
}

const tracePath = (traceId: string, ...rest: string[]) =>
  ['traces', encodeURIComponent(traceId), ...rest].join('/');

export abstract class TraceMethods extends ScorerMethods {
  /** Calls an endpoint below the 3.0 API prefix (MLflow's `since: 3` endpoints). */
  private async v3<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', endpoint: string, body?: Obj): Promise<T> {
    const prefix = this.transport.config.apiPrefix.replace(/\/2\.0\//, '/3.0/');
    const response = await this.transport.request(
      `${prefix}/${endpoint}`,
      method === 'GET' ? { method, query: body } : { method, json: body ?? {} },
    );
    const text = await response.text();
    return (text ? parseExact(text) : {}) as T;
  }

  /** A trace's record (TraceInfoV3), assessments included. */
  async getTraceInfo(traceId: string): Promise<TraceInfoV3> {
    const r = await this.v3<{ trace: { trace_info: TraceInfoV3 } }>('GET', tracePath(traceId));
    return normalizeTraceInfo(r.trace.trace_info);
  }

  /**
   * A trace with its spans: those the server stores, or else the trace's traces.json artifact (where
   * MLflow's TypeScript SDK and older clients put them).
   */
  async getTrace(traceId: string): Promise<Trace> {
    const r = await this.v3<{ trace: { trace_info: TraceInfoV3; spans?: Obj[] } }>('GET', 'traces/get', {
      trace_id: traceId,
    });
    const info = normalizeTraceInfo(r.trace.trace_info);
    let spans = (r.trace.spans ?? []).map(parseSpan);
    const location = info.tags['mlflow.artifactLocation'];
    if (spans.length === 0 && info.tags['mlflow.trace.spansLocation'] !== 'TRACKING_STORE' && location) {
      spans = await this.spansFromArtifact(location);
    }
    return { info, spans };
  }

  private async spansFromArtifact(location: string): Promise<TraceSpan[]> {
    let text: string;
    try {
      text = await new RunArtifacts(this.transport, location).readText('traces.json');
    } catch (error) {
      // No file yet: an export still on its way, or a trace without spans.
      if (error instanceof MlflowError && error.status === 404) return [];
      throw error;
    }
    const doc = parseExact(text) as { spans?: Obj[] };
    return (doc.spans ?? []).map(parseSpan);
  }

  /** One page of the experiments' traces matching MLflow's trace filter. */
  async searchTraces(experimentIds: string[], options: SearchTracesOptions = {}): Promise<Page<TraceInfoV3>> {
    const r = await this.v3<{ traces?: TraceInfoV3[]; next_page_token?: string }>('POST', 'traces/search', {
      locations: experimentIds.map((id) => ({
        type: 'MLFLOW_EXPERIMENT',
        mlflow_experiment: { experiment_id: id },
      })),
      filter: options.filter,
      max_results: options.maxResults,
      order_by: options.orderBy,
      page_token: options.pageToken,
    });
    return { items: (r.traces ?? []).map(normalizeTraceInfo), nextPageToken: r.next_page_token || undefined };
  }

  async setTraceTag(traceId: string, key: string, value: string): Promise<void> {
    await this.v3('PATCH', tracePath(traceId, 'tags'), { key, value });
  }

  async deleteTraceTag(traceId: string, key: string): Promise<void> {
    await this.v3('DELETE', tracePath(traceId, 'tags'), { key });
  }

  /**
   * Deletes traces of an experiment: those named, or those older than `maxTimestampMillis` (at most
   * `maxTraces`, oldest first). Answers how many were deleted.
   */
  async deleteTraces(
    experimentId: string,
    which: { traceIds: string[] } | { maxTimestampMillis: number; maxTraces?: number },
  ): Promise<number> {
    const r = await this.v3<{ traces_deleted?: number }>('POST', 'traces/delete-traces', {
      experiment_id: experimentId,
      ...('traceIds' in which
        ? { request_ids: which.traceIds }
        : { max_timestamp_millis: which.maxTimestampMillis, max_traces: which.maxTraces }),
    });
    return r.traces_deleted ?? 0;
  }

  /** Links traces (at most 100) to a run; they then match `run_id` in trace searches. */
  async linkTracesToRun(traceIds: string[], runId: string): Promise<void> {
    await this.transport.call('POST', 'traces/link-to-run', { trace_ids: traceIds, run_id: runId });
  }

  private async createAssessment(
    traceId: string,
    body: Obj,
    options: AssessmentOptions,
  ): Promise<Assessment> {
    const r = await this.v3<{ assessment: Assessment }>('POST', tracePath(traceId, 'assessments'), {
      assessment: {
        trace_id: traceId,
        ...body,
        rationale: options.rationale,
        metadata: options.metadata,
        span_id: options.spanId,
        run_id: options.runId,
        overrides: options.overrides,
      },
    });
    return r.assessment;
  }

  /** Records a feedback (a judgement of the trace: a score, a label, a boolean...) on a trace. */
  logFeedback(
    traceId: string,
    name: string,
    value: unknown,
    options: AssessmentOptions & { error?: { errorCode?: string; errorMessage?: string } } = {},
  ): Promise<Assessment> {
    const error = options.error && {
      error_code: options.error.errorCode,
      error_message: options.error.errorMessage,
    };
    return this.createAssessment(
      traceId,
      {
        assessment_name: name,
        source: options.source ?? { source_type: 'CODE', source_id: 'default' },
        feedback: { value, error },
      },
      options,
    );
  }

  /** Records an expectation (the expected answer, say) on a trace. */
  logExpectation(
    traceId: string,
    name: string,
    value: unknown,
    options: AssessmentOptions = {},
  ): Promise<Assessment> {
    return this.createAssessment(
      traceId,
      {
        assessment_name: name,
        source: options.source ?? { source_type: 'HUMAN', source_id: 'default' },
        expectation: { value },
      },
      options,
    );
  }

  async getAssessment(traceId: string, assessmentId: string): Promise<Assessment> {
    const r = await this.v3<{ assessment: Assessment }>(
      'GET',
      tracePath(traceId, 'assessments', assessmentId),
    );
    return r.assessment;
  }

  /** Changes the given fields of an assessment (a feedback stays a feedback). */
  async updateAssessment(
    traceId: string,
    assessmentId: string,
    changes: Partial<
      Pick<Assessment, 'assessment_name' | 'feedback' | 'expectation' | 'rationale' | 'metadata' | 'valid'>
    >,
  ): Promise<Assessment> {
    const mask = Object.keys(changes)
      .map((k) => k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()))
      .join(',');
    const r = await this.v3<{ assessment: Assessment }>(
      'PATCH',
      tracePath(traceId, 'assessments', assessmentId),
      {
        assessment: { assessment_id: assessmentId, trace_id: traceId, ...changes },
        update_mask: mask,
      },
    );
    return r.assessment;
  }

  async deleteAssessment(traceId: string, assessmentId: string): Promise<void> {
    await this.v3('DELETE', tracePath(traceId, 'assessments', assessmentId));
  }
}
