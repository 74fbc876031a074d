// MLflow 3's trace and assessment endpoints (api/3.0) as client calls, and readers for the times
// TraceInfoV3 carries as protobuf text.
import type { Page } from './entities.js';
import type { RestTransport } from './rest.js';
import type { Assessment, AssessmentInput, Trace, TraceInfo } from './wire.js';

export interface SearchTracesOptions {
  experimentIds: string[];
  /** MLflow's trace filter grammar, e.g. "trace.status = 'ERROR' AND tags.team = 'a'". */
  filter?: string;
  /** e.g. ["timestamp_ms DESC"]; the server's default is newest first. */
  orderBy?: string[];
  /** Default 100 (the server's), at most 500. */
  maxResults?: number;
  pageToken?: string;
  signal?: AbortSignal;
}

const V3 = { apiVersion: '3.0' } as const;
const path = (traceId: string) => `traces/${encodeURIComponent(traceId)}`;

/** protobuf's Timestamp text as milliseconds since the epoch (NaN when unreadable). */
export function timestampMs(text: string | undefined): number {
  return text ? Date.parse(text) : Number.NaN;
}

/** protobuf's Duration text ("1.250s") as milliseconds; undefined when absent or unreadable. */
export function durationMs(text: string | undefined): number | undefined {
  const m = text ? /^(-?\d+(?:\.\d+)?)s$/.exec(text) : null;
  return m ? Math.round(Number(m[1]) * 1e6) / 1e3 : undefined;
}

/** The calls of the trace endpoints through one transport (its API prefix names the 2.0 path). */
export class TraceMethods {
  constructor(private readonly transport: RestTransport) {}

  async searchTraces(o: SearchTracesOptions): Promise<Page<TraceInfo>> {
    const r = await this.transport.call<{ traces?: TraceInfo[]; next_page_token?: string }>(
      'POST',
      'traces/search',
      {
        locations: o.experimentIds.map((experiment_id) => ({
          type: 'MLFLOW_EXPERIMENT',
          mlflow_experiment: { experiment_id },
        })),
        filter: o.filter || undefined,
        order_by: o.orderBy,
        max_results: o.maxResults,
        page_token: o.pageToken,
      },
      { ...V3, signal: o.signal },
    );
    return { items: r.traces ?? [], nextPageToken: r.next_page_token || undefined };
  }

  /** The record and every span of one trace. */
  async getTrace(traceId: string, signal?: AbortSignal): Promise<Trace> {
    const r = await this.transport.call<{ trace: { trace_info: TraceInfo; spans?: Trace['spans'] } }>(
      'GET',
      'traces/get',
      { trace_id: traceId },
      { ...V3, signal },
    );
    return { trace_info: r.trace.trace_info, spans: r.trace.spans ?? [] };
  }

  async getTraceInfo(traceId: string, signal?: AbortSignal): Promise<TraceInfo> {
    const r = await this.transport.call<{ trace: { trace_info: TraceInfo } }>(
      'GET',
      path(traceId),
      undefined,
      { ...V3, signal },
    );
    return r.trace.trace_info;
  }

  async setTraceTag(traceId: string, key: string, value: string): Promise<void> {
    await this.transport.call('PATCH', `${path(traceId)}/tags`, { key, value }, V3);
  }

  async deleteTraceTag(traceId: string, key: string): Promise<void> {
    await this.transport.call('DELETE', `${path(traceId)}/tags`, { key }, V3);
  }

  async createAssessment(traceId: string, assessment: AssessmentInput): Promise<Assessment> {
    const r = await this.transport.call<{ assessment: Assessment }>(
      'POST',
      `${path(traceId)}/assessments`,
      { assessment },
      V3,
    );
    return r.assessment;
  }

  /** Changes the fields `fields` names (snake_case: assessment_name, feedback, rationale, ...). */
  async updateAssessment(
    traceId: string,
    assessmentId: string,
    assessment: Partial<AssessmentInput>,
    fields: (keyof AssessmentInput)[],
  ): Promise<Assessment> {
    // FieldMask's JSON form: one comma-separated string of lowerCamelCase paths.
    const mask = fields.map((f) => f.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())).join(',');
    const r = await this.transport.call<{ assessment: Assessment }>(
      'PATCH',
      `${path(traceId)}/assessments/${encodeURIComponent(assessmentId)}`,
      { assessment, update_mask: mask },
      V3,
    );
    return r.assessment;
  }

  async deleteAssessment(traceId: string, assessmentId: string): Promise<void> {
    await this.transport.call(
      'DELETE',
      `${path(traceId)}/assessments/${encodeURIComponent(assessmentId)}`,
      undefined,
      V3,
    );
  }
}
