// Assessments in MLflow's JSON (assessments.proto's Assessment): reading CreateAssessment and
// UpdateAssessment bodies, and writing an assessment back.
import { randomUUID } from 'node:crypto';
import { MlflowError } from '../entities/errors.js';
import type { AssessmentChanges, AssessmentRecord } from '../entities/tracing.js';
import { missing, wrongType } from '../http/request-fields.js';
import { timestampJson } from './trace-wire.js';

type Obj = Record<string, unknown>;

const SOURCE_TYPES = ['SOURCE_TYPE_UNSPECIFIED', 'HUMAN', 'LLM_JUDGE', 'CODE'];

function object(value: unknown, field: string): Obj | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw wrongType(field, value);
  return value as Obj;
}

function text(o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw wrongType(`${path}.${key}`, v);
  return v;
}

function metadataJson(o: Obj): string | null {
  const m = object(o.metadata, 'assessment.metadata');
  if (!m || Object.keys(m).length === 0) return null;
  for (const [k, v] of Object.entries(m))
    if (typeof v !== 'string') throw wrongType(`assessment.metadata.${k}`, v);
  return JSON.stringify(m);
}

/** MLflow's only serialization format for expectation values (objects, lists, null). */
const JSON_FORMAT = 'JSON_FORMAT';

/**
 * An expectation's `serialized_value` as the JSON text stored for its value: MLflow's server decodes
 * it (JSON_FORMAT only) and keeps the value, so it reads back like any other.
 */
function serializedValue(serialized: Obj): string {
  const format = serialized.serialization_format;
  if (format !== JSON_FORMAT) {
    throw MlflowError.invalidParameter(
      `Unknown serialization format: ${typeof format === 'string' ? format : JSON.stringify(format ?? null)}. Only ${JSON_FORMAT} is supported.`,
    );
  }
  const text = serialized.value;
  if (typeof text !== 'string') throw wrongType('assessment.expectation.serialized_value.value', text);
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    throw MlflowError.invalidParameter(
      `assessment.expectation.serialized_value.value is not JSON: ${text.slice(0, 100)}`,
    );
  }
}

/** The value of a feedback or expectation, and a feedback's error, as JSON text. */
function assessedValue(
  o: Obj,
): { kind: 'feedback' | 'expectation'; value: string; error: string | null } | undefined {
  const feedback = object(o.feedback, 'assessment.feedback');
  const expectation = object(o.expectation, 'assessment.expectation');
  if (feedback && expectation) {
    throw MlflowError.invalidParameter('An assessment is either a feedback or an expectation, not both.');
  }
  if (feedback) {
    const error = object(feedback.error, 'assessment.feedback.error');
    return {
      kind: 'feedback',
      value: JSON.stringify(feedback.value ?? null),
      error: error ? JSON.stringify(error) : null,
    };
  }
  if (expectation) {
    const serialized = object(expectation.serialized_value, 'assessment.expectation.serialized_value');
    if (serialized && expectation.value !== undefined && expectation.value !== null) {
      throw MlflowError.invalidParameter(
        'An expectation has either a value or a serialized_value, not both.',
      );
    }
    const value = serialized ? serializedValue(serialized) : JSON.stringify(expectation.value ?? null);
    return { kind: 'expectation', value, error: null };
  }
  return undefined;
}

/** CreateAssessment's `assessment` for the trace of the path, with a new id and times. */
export function assessmentFromRequest(body: Obj | undefined, traceId: string): AssessmentRecord {
  if (!body) throw missing('assessment');
  const name = text(body, 'assessment_name', 'assessment');
  if (!name) throw missing('assessment.assessment_name');
  const value = assessedValue(body);
  if (!value)
    throw MlflowError.invalidParameter('An assessment must have either a feedback or an expectation.');
  const source = object(body.source, 'assessment.source') ?? {};
  const sourceType = text(source, 'source_type', 'assessment.source') ?? 'SOURCE_TYPE_UNSPECIFIED';
  if (!SOURCE_TYPES.includes(sourceType)) {
    throw MlflowError.invalidParameter(
      `Invalid value ${JSON.stringify(sourceType)} for parameter 'assessment.source.source_type' supplied. It must be one of ${SOURCE_TYPES.join(', ')}.`,
    );
  }
  const valid = body.valid;
  if (valid !== undefined && valid !== null && typeof valid !== 'boolean')
    throw wrongType('assessment.valid', valid);
  const now = Date.now();
  return {
    assessmentId: `a-${randomUUID().replaceAll('-', '')}`,
    traceId,
    name,
    ...value,
    createdMs: now,
    updatedMs: now,
    sourceType,
    sourceId: text(source, 'source_id', 'assessment.source') ?? null,
    runId: text(body, 'run_id', 'assessment') ?? null,
    spanId: text(body, 'span_id', 'assessment') ?? null,
    rationale: text(body, 'rationale', 'assessment') ?? null,
    overrides: text(body, 'overrides', 'assessment') ?? null,
    valid: valid !== false,
    metadata: metadataJson(body),
  };
}

/** FieldMask paths: protobuf's JSON writes them as one comma-separated string in lowerCamelCase. */
function maskPaths(mask: unknown): string[] {
  if (typeof mask === 'string') {
    return mask
      .split(',')
      .map((p) => p.trim().replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))
      .filter((p) => p !== '');
  }
  const paths = object(mask, 'update_mask')?.paths;
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) throw wrongType('update_mask', mask);
  return paths as string[];
}

/** UpdateAssessment: the fields of `assessment` that `update_mask` names. */
export function assessmentChanges(body: Obj | undefined, mask: unknown): AssessmentChanges {
  if (!body) throw missing('assessment');
  if (mask === undefined || mask === null) throw missing('update_mask');
  const changes: AssessmentChanges = {};
  for (const path of maskPaths(mask)) {
    switch (path) {
      case 'assessment_name': {
        const name = text(body, 'assessment_name', 'assessment');
        if (!name) throw missing('assessment.assessment_name');
        changes.name = name;
        break;
      }
      case 'feedback':
      case 'expectation': {
        const value = assessedValue(body);
        if (!value || value.kind !== path) throw missing(`assessment.${path}`);
        Object.assign(changes, value);
        break;
      }
      case 'rationale':
        changes.rationale = text(body, 'rationale', 'assessment') ?? null;
        break;
      case 'metadata':
        changes.metadata = metadataJson(body);
        break;
      case 'valid':
        if (typeof body.valid !== 'boolean') throw wrongType('assessment.valid', body.valid);
        changes.valid = body.valid;
        break;
      default:
        throw MlflowError.invalidParameter(`Invalid update_mask path '${path}'.`);
    }
  }
  return changes;
}

/** An assessment in MLflow's JSON. */
export function assessmentJson(a: AssessmentRecord): Obj {
  const json: Obj = {
    assessment_id: a.assessmentId,
    assessment_name: a.name,
    trace_id: a.traceId,
    span_id: a.spanId ?? undefined,
    source: { source_type: a.sourceType, source_id: a.sourceId ?? undefined },
    create_time: timestampJson(a.createdMs),
    last_update_time: timestampJson(a.updatedMs),
    rationale: a.rationale ?? undefined,
    metadata: a.metadata ? JSON.parse(a.metadata) : undefined,
    run_id: a.runId ?? undefined,
    overrides: a.overrides ?? undefined,
    valid: a.valid,
  };
  const value = JSON.parse(a.value) as unknown;
  if (a.kind === 'expectation') json.expectation = { value };
  else json.feedback = { value, error: a.error ? JSON.parse(a.error) : undefined };
  return json;
}
