// Trace records in MLflow's JSON: TraceInfoV3 (protobuf's Timestamp and Duration as text, maps as
// objects) and the 2.x TraceInfo (times in milliseconds, key/value lists), read and written.
import { MlflowError } from '../entities/errors.js';
import { TRACE_STATES, type TraceRecord, type TraceState } from '../entities/tracing.js';
import { missing, wrongType } from '../http/request-fields.js';
import { assessmentJson } from './assessment-wire.js';

type Obj = Record<string, unknown>;

/** protobuf's Timestamp JSON: whole seconds, or three fraction digits for milliseconds. */
export function timestampJson(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** protobuf's Duration JSON. */
export function durationJson(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;
const DURATION = /^(\d+)(?:\.(\d{1,9}))?s$/;

function fractionMs(digits: string | undefined): number {
  return digits ? Math.floor(Number(`0.${digits}`) * 1000 + 1e-6) : 0;
}

export function parseTimestamp(value: unknown, field: string): number {
  const m = typeof value === 'string' ? TIMESTAMP.exec(value) : null;
  const base = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(base)) throw wrongType(field, value);
  return base + fractionMs(m[2]);
}

export function parseDuration(value: unknown, field: string): number {
  const m = typeof value === 'string' ? DURATION.exec(value) : null;
  if (!m) throw wrongType(field, value);
  return Number(m[1]) * 1000 + fractionMs(m[2]);
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw wrongType(field, value);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Obj)) {
    if (typeof v !== 'string') throw wrongType(`${field}.${k}`, v);
    out[k] = v;
  }
  return out;
}

function optionalText(o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw wrongType(`${path}.${key}`, v);
  return v;
}

function object(value: unknown, field: string): Obj {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw wrongType(field, value);
  return value as Obj;
}

/** A state by name (or proto number); unknown states are refused with the list of valid ones. */
export function traceState(value: unknown, field: string): TraceState {
  if (value === undefined || value === null || value === '') return 'STATE_UNSPECIFIED';
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < TRACE_STATES.length) {
    return TRACE_STATES[value];
  }
  // 2.x's TraceStatus names the unset state differently.
  if (value === 'TRACE_STATUS_UNSPECIFIED') return 'STATE_UNSPECIFIED';
  if (typeof value === 'string' && (TRACE_STATES as readonly string[]).includes(value))
    return value as TraceState;
  throw MlflowError.invalidParameter(
    `Invalid value ${JSON.stringify(value)} for parameter '${field}' supplied. It must be one of ${TRACE_STATES.join(', ')}.`,
  );
}

/** StartTraceV3's `trace.trace_info`, as a record to store. */
export function traceFromV3(trace: unknown): TraceRecord {
  const info = object(object(trace, 'trace').trace_info, 'trace.trace_info');
  const path = 'trace.trace_info';
  const traceId = optionalText(info, 'trace_id', path);
  if (!traceId) throw missing(`${path}.trace_id`);
  const location = object(info.trace_location, `${path}.trace_location`);
  const experiment = object(location.mlflow_experiment, `${path}.trace_location.mlflow_experiment`);
  let experimentId = experiment.experiment_id;
  if (typeof experimentId === 'number') experimentId = String(experimentId);
  if (experimentId === undefined || experimentId === null || experimentId === '') {
    throw missing(`${path}.trace_location.mlflow_experiment.experiment_id`);
  }
  if (typeof experimentId !== 'string') {
    throw wrongType(`${path}.trace_location.mlflow_experiment.experiment_id`, experimentId);
  }
  const record: TraceRecord = {
    traceId,
    experimentId,
    clientRequestId: optionalText(info, 'client_request_id', path),
    requestTimeMs:
      info.request_time === undefined
        ? Date.now()
        : parseTimestamp(info.request_time, `${path}.request_time`),
    executionTimeMs:
      info.execution_duration === undefined || info.execution_duration === null
        ? undefined
        : parseDuration(info.execution_duration, `${path}.execution_duration`),
    state: traceState(info.state, `${path}.state`),
    requestPreview: optionalText(info, 'request_preview', path) ?? optionalText(info, 'request', path),
    responsePreview: optionalText(info, 'response_preview', path) ?? optionalText(info, 'response', path),
    metadata: stringMap(info.trace_metadata, `${path}.trace_metadata`),
    tags: stringMap(info.tags, `${path}.tags`),
  };
  return record;
}

/** TraceInfoV3 in MLflow's JSON; empty maps are left out, as protobuf's JSON does. */
export function traceInfoV3(t: TraceRecord): Obj {
  const json: Obj = {
    trace_id: t.traceId,
    client_request_id: t.clientRequestId,
    trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: t.experimentId } },
    request_preview: t.requestPreview,
    response_preview: t.responsePreview,
    request_time: timestampJson(t.requestTimeMs),
    execution_duration: t.executionTimeMs === undefined ? undefined : durationJson(t.executionTimeMs),
    state: t.state,
  };
  if (Object.keys(t.metadata).length > 0) json.trace_metadata = t.metadata;
  if (Object.keys(t.tags).length > 0) json.tags = t.tags;
  if (t.assessments && t.assessments.length > 0) json.assessments = t.assessments.map(assessmentJson);
  return json;
}

const pairs = (map: Record<string, string>) => Object.entries(map).map(([key, value]) => ({ key, value }));

/** 2.x's TraceInfo (MLflow's TraceInfoV2.from_v3). */
export function traceInfoV2(t: TraceRecord): Obj {
  return {
    request_id: t.traceId,
    experiment_id: t.experimentId,
    timestamp_ms: t.requestTimeMs,
    execution_time_ms: t.executionTimeMs,
    status: t.state === 'STATE_UNSPECIFIED' ? 'TRACE_STATUS_UNSPECIFIED' : t.state,
    request_metadata: pairs(t.metadata),
    tags: pairs(t.tags),
  };
}
