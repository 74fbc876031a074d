// The rules of MLflow 3's trace endpoints: request limits and validation, paging, grouping spans
// received over OTLP by trace, and the 2.x endpoints' way of starting and ending a trace.
import { randomUUID } from 'node:crypto';
import { MlflowError } from '../entities/errors.js';
import {
  ARTIFACT_LOCATION_TAG,
  type AssessmentChanges,
  type AssessmentRecord,
  SPANS_LOCATION_TAG,
  type TraceRecord,
  type TraceState,
} from '../entities/tracing.js';
import { checkTraceFilter, checkTraceOrder } from '../search/trace-rules.js';
import { assessmentNotFound } from '../store/assessment-repository.js';
import type { SqlTraceStore, TraceDeletion } from '../store/trace-store.js';
import type { OtelSpan } from '../tracing/otel-span.js';
import { mlflowTraceId, rootSummary, spanRecord } from '../tracing/span-content.js';
import { spanDocumentPages, TRACE_DATA_FILE, traceDataNotFound } from '../tracing/trace-data-file.js';
import { decodePageToken, encodePageToken } from './page-token.js';

/** MLflow's limits: SearchTraces pages, LinkTracesToRun ids, tag sizes. */
export const TRACE_LIMITS = {
  defaultMaxResults: 100,
  maxResults: 500,
  linkTraceIds: 100,
  tagKey: 250,
  tagValue: 8000,
} as const;

export interface SearchTracesRequest {
  experimentIds: string[];
  filter?: string;
  maxResults?: number;
  orderBy: string[];
  pageToken?: string;
}

/** Span documents read from the store per page: enough to amortise a query, little to hold. */
const SPAN_PAGE_SIZE = 1000;

async function* noPages(): AsyncGenerator<string[]> {}

/**
 * A sequence again from its first item, already taken (so that its errors come before an answer
 * begins); the rest, and closing it early, go to the original.
 */
async function* resumed<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}

/** A trace and its span documents (MLflow's Span.to_dict() JSON), read a page at a time. */
export interface StreamedTrace {
  info: TraceRecord;
  pages: AsyncIterable<string[]>;
}

function invalid(message: string): never {
  throw MlflowError.invalidParameter(message);
}

function checkTag(key: string, value: string): void {
  if (key.length > TRACE_LIMITS.tagKey) {
    invalid(
      `Trace tag key '${key.slice(0, 20)}...' had length ${key.length}, which exceeded length limit of ${TRACE_LIMITS.tagKey}`,
    );
  }
  if (value.length > TRACE_LIMITS.tagValue) {
    invalid(
      `Trace tag value for key '${key}' had length ${value.length}, which exceeded length limit of ${TRACE_LIMITS.tagValue}`,
    );
  }
}

/**
 * Opens one file below an artifact URI (a trace's `mlflow.artifactLocation`) to be read as it
 * arrives; undefined when the file does not exist. Given by the server from its artifact repositories.
 */
export type ArtifactOpener = (
  artifactUri: string,
  path: string,
) => Promise<AsyncIterable<Uint8Array> | undefined>;

export class TraceService {
  constructor(
    private readonly store: SqlTraceStore,
    private readonly openArtifact?: ArtifactOpener,
  ) {}

  startTrace(trace: TraceRecord): Promise<TraceRecord> {
    for (const [key, value] of Object.entries(trace.tags)) checkTag(key, value);
    return this.store.startTrace(trace);
  }

  /** MLflow 2.x's StartTrace: a new trace, still in progress, with an id of the old form. */
  startTraceV2(input: {
    experimentId: string;
    timestampMs: number;
    metadata: Record<string, string>;
    tags: Record<string, string>;
  }): Promise<TraceRecord> {
    return this.startTrace({
      traceId: randomUUID().replaceAll('-', ''),
      experimentId: input.experimentId,
      requestTimeMs: input.timestampMs,
      state: 'IN_PROGRESS',
      metadata: input.metadata,
      tags: input.tags,
    });
  }

  endTraceV2(
    traceId: string,
    end: {
      timestampMs: number;
      state: TraceState;
      metadata: Record<string, string>;
      tags: Record<string, string>;
    },
  ): Promise<TraceRecord> {
    for (const [key, value] of Object.entries(end.tags)) checkTag(key, value);
    return this.store.endTrace(traceId, end);
  }

  async getTraceInfo(traceId: string): Promise<TraceRecord> {
    const trace = await this.store.getTrace(traceId);
    if (!trace) throw MlflowError.notFound(`Trace with request_id='${traceId}' not found.`);
    return (await this.withAssessments([trace]))[0];
  }

  /** `traces` with their assessments (one query for all of them). */
  private async withAssessments(traces: TraceRecord[]): Promise<TraceRecord[]> {
    const byTrace = await this.store.assessmentsOf(traces.map((t) => t.traceId));
    return traces.map((t) => ({ ...t, assessments: byTrace.get(t.traceId) ?? [] }));
  }

  createAssessment(assessment: AssessmentRecord): Promise<AssessmentRecord> {
    return this.store.createAssessment(assessment);
  }

  async getAssessment(traceId: string, assessmentId: string): Promise<AssessmentRecord> {
    const found = await this.store.getAssessment(traceId, assessmentId);
    if (!found) throw assessmentNotFound(assessmentId, traceId);
    return found;
  }

  updateAssessment(
    traceId: string,
    assessmentId: string,
    changes: AssessmentChanges,
  ): Promise<AssessmentRecord> {
    return this.store.updateAssessment(traceId, assessmentId, changes);
  }

  deleteAssessment(traceId: string, assessmentId: string): Promise<void> {
    return this.store.deleteAssessment(traceId, assessmentId);
  }

  /**
   * The span documents of a trace, a page at a time: those in the tracking store, or, when it has
   * none and the trace's `mlflow.trace.spansLocation` tag does not say TRACKING_STORE (MLflow's rule
   * for where spans are), the `traces.json` artifact the client uploaded. Undefined when that file does
   * not exist. Stored spans come first because imported traces (MLflow's file store) have them without
   * the tag. Either way the first page is read before answering, so a missing file, or one that is
   * not trace data from its start, is an error here; the file is read as it is sent on.
   */
  private async spanPages(info: TraceRecord): Promise<AsyncIterable<string[]> | undefined> {
    const pages = this.store.spanContentPages(info.traceId, SPAN_PAGE_SIZE);
    const first = await pages.next();
    if (!first.done || info.tags[SPANS_LOCATION_TAG] === 'TRACKING_STORE') return resumed(first, pages);
    const location = info.tags[ARTIFACT_LOCATION_TAG];
    if (!location || !this.openArtifact) return undefined;
    const file = await this.openArtifact(location, TRACE_DATA_FILE);
    if (file === undefined) return undefined;
    const filePages = spanDocumentPages(file, info.traceId, SPAN_PAGE_SIZE);
    return resumed(await filePages.next(), filePages);
  }

  /**
   * The trace with its span documents, to be read a page at a time. A trace whose spans are in no
   * place is NOT_FOUND, unless allow_partial (an in-progress trace whose client has not uploaded them
   * yet): then it has none.
   */
  async getTrace(traceId: string, allowPartial = false): Promise<StreamedTrace> {
    const info = await this.getTraceInfo(traceId);
    const pages = await this.spanPages(info);
    if (pages === undefined && !allowPartial) throw traceDataNotFound(traceId);
    return { info, pages: pages ?? noPages() };
  }

  /** The span documents, a page at a time (MLflow's trace data, `{"spans": [...]}`, as the web UI reads it). */
  async getTraceData(traceId: string): Promise<AsyncIterable<string[]>> {
    const pages = await this.spanPages(await this.getTraceInfo(traceId));
    if (pages === undefined) throw traceDataNotFound(traceId);
    return pages;
  }

  /**
   * The traces of `traceIds` that exist, with their spans, one after the other: each trace's spans are
   * found (and their first page read) only when the one before has been read through, so no more
   * than a page of one trace is held. Those whose spans are nowhere are left out. The first trace is
   * found before this resolves: an error in it comes before an answer begins.
   */
  async batchGetTraces(traceIds: string[]): Promise<AsyncIterable<StreamedTrace>> {
    const traces = this.tracesWithSpans(traceIds);
    return resumed(await traces.next(), traces);
  }

  private async *tracesWithSpans(traceIds: string[]): AsyncGenerator<StreamedTrace> {
    const infos = await this.withAssessments(await this.store.getTraces(traceIds));
    for (const info of infos) {
      const pages = await this.spanPages(info);
      if (pages !== undefined) yield { info, pages };
    }
  }

  async searchTraces(
    request: SearchTracesRequest,
  ): Promise<{ traces: TraceRecord[]; nextPageToken?: string }> {
    const maxResults = request.maxResults ?? TRACE_LIMITS.defaultMaxResults;
    if (maxResults > TRACE_LIMITS.maxResults) {
      invalid(
        `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be at most ${TRACE_LIMITS.maxResults}.`,
      );
    }
    if (maxResults < 1)
      invalid(`Invalid value ${maxResults} for parameter 'max_results' supplied. It must be positive.`);
    const start = decodePageToken(request.pageToken);
    const offset = start && 'offset' in start ? start.offset : 0;
    if (start && !('offset' in start)) invalid(`Invalid page token ${request.pageToken}`);
    const page = await this.store.searchTraces({
      experimentIds: request.experimentIds,
      filter: checkTraceFilter(request.filter),
      orderBy: checkTraceOrder(request.orderBy),
      maxResults,
      offset,
    });
    return {
      traces: await this.withAssessments(page.items),
      nextPageToken: page.more ? encodePageToken({ offset: offset + maxResults }) : undefined,
    };
  }

  setTraceTag(traceId: string, key: string, value: string): Promise<void> {
    checkTag(key, value);
    return this.store.setTraceTag(traceId, key, value);
  }

  deleteTraceTag(traceId: string, key: string): Promise<void> {
    return this.store.deleteTraceTag(traceId, key);
  }

  /** MLflow's two ways: by ids, or the oldest (up to max_traces) at or before max_timestamp_millis. */
  deleteTraces(deletion: TraceDeletion): Promise<number> {
    const byTime = deletion.maxTimestampMillis !== undefined;
    const byIds = deletion.traceIds !== undefined && deletion.traceIds.length > 0;
    if (!byTime && !byIds) invalid('Either `max_timestamp_millis` or `request_ids` must be specified.');
    if (byTime && byIds) invalid('Only one of `max_timestamp_millis` and `request_ids` can be specified.');
    if (byIds && deletion.maxTraces !== undefined)
      invalid("`max_traces` can't be specified if `request_ids` is specified.");
    if (deletion.maxTraces !== undefined && deletion.maxTraces <= 0) {
      invalid(`\`max_traces\` must be a positive integer, received ${deletion.maxTraces}.`);
    }
    return this.store.deleteTraces(
      byIds ? { experimentId: deletion.experimentId, traceIds: deletion.traceIds } : deletion,
    );
  }

  linkTracesToRun(traceIds: string[], runId: string): Promise<void> {
    if (traceIds.length > TRACE_LIMITS.linkTraceIds) {
      invalid(
        `Cannot link more than ${TRACE_LIMITS.linkTraceIds} traces to a run in a single request. Provided ${traceIds.length} traces.`,
      );
    }
    return this.store.linkTracesToRun(traceIds, runId);
  }

  /** Stores spans received over OTLP, trace by trace; answers how many traces they belonged to. */
  async logSpans(experimentId: string, spans: OtelSpan[]): Promise<number> {
    const byTrace = new Map<string, OtelSpan[]>();
    for (const span of spans) {
      const traceId = mlflowTraceId(span);
      const list = byTrace.get(traceId) ?? [];
      list.push(span);
      byTrace.set(traceId, list);
    }
    for (const [traceId, list] of byTrace) {
      await this.store.logSpans(
        experimentId,
        traceId,
        list.map((s) => spanRecord(s, traceId)),
        rootSummary(list),
      );
    }
    return byTrace.size;
  }

  experimentOfTrace(traceId: string): Promise<string | undefined> {
    return this.store.experimentOfTrace(traceId);
  }
}
