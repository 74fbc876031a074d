// MLflow 3's trace records as the store and services hold them (MLflow's TraceInfoV3, spans, links).

/** TraceInfoV3.State; `status` in MLflow's trace_info table. */
export const TRACE_STATES = ['STATE_UNSPECIFIED', 'OK', 'ERROR', 'IN_PROGRESS'] as const;
export type TraceState = (typeof TRACE_STATES)[number];

/** A trace's record without its spans (MLflow's TraceInfoV3, with times in milliseconds). */
export interface TraceRecord {
  traceId: string;
  experimentId: string;
  clientRequestId?: string;
  requestTimeMs: number;
  executionTimeMs?: number;
  state: TraceState;
  requestPreview?: string;
  responsePreview?: string;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  /** Filled in where answers carry them (TraceInfoV3.assessments). */
  assessments?: AssessmentRecord[];
}

/**
 * One span as stored: the columns searches and the span tree use, and `content`, the span as MLflow's
 * Span.to_dict() writes it (JSON text, nanosecond times exact).
 */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  type: string | null;
  /** OK, ERROR or UNSET. */
  status: string;
  /** Decimal text: nanoseconds since the epoch exceed a double's exact range. */
  startTimeUnixNano: string;
  endTimeUnixNano: string | null;
  content: string;
}

/** Metadata key of the run a trace was recorded in. */
export const SOURCE_RUN_METADATA = 'mlflow.sourceRun';
/** Tag holding a trace's name (its root span's). */
export const TRACE_NAME_TAG = 'mlflow.traceName';
/** Tag telling clients where a trace's spans are kept; ours are in the tracking store. */
export const SPANS_LOCATION_TAG = 'mlflow.trace.spansLocation';
export const ARTIFACT_LOCATION_TAG = 'mlflow.artifactLocation';

/** MLflow's assessment of a trace: a feedback (a judgement) or an expectation (a ground truth). */
export interface AssessmentRecord {
  assessmentId: string;
  traceId: string;
  name: string;
  kind: 'feedback' | 'expectation';
  /** The value as JSON text. */
  value: string;
  /** A feedback's error (JSON text of MLflow's AssessmentError), if any. */
  error: string | null;
  createdMs: number;
  updatedMs: number;
  sourceType: string;
  sourceId: string | null;
  runId: string | null;
  spanId: string | null;
  rationale: string | null;
  overrides: string | null;
  valid: boolean;
  /** JSON text of a string map, if any. */
  metadata: string | null;
}

/** The fields UpdateAssessment may change (absent: unchanged). */
export interface AssessmentChanges {
  name?: string;
  kind?: 'feedback' | 'expectation';
  value?: string;
  error?: string | null;
  rationale?: string | null;
  metadata?: string | null;
  valid?: boolean;
}
