// The trace store the services see: one facade over the trace repository (trace-repository.ts), whose
// reads and writes are split by type (repository.ts).
import type { AssessmentChanges, AssessmentRecord, SpanRecord, TraceRecord } from '../entities/tracing.js';
import { AssessmentReads, AssessmentWrites } from './assessment-repository.js';
import type { StoreDatabase } from './database.js';
import { type Repository, readView, writeView } from './repository.js';
import {
  type RootSummary,
  type SearchTracesQuery,
  type TraceDeletion,
  type TraceEnd,
  TraceReads,
  TraceWrites,
} from './trace-repository.js';

export type { RootSummary, SearchTracesQuery, TraceDeletion, TraceEnd } from './trace-repository.js';

export type TraceRepositories = {
  traces: Repository<TraceReads, TraceWrites>;
  assessments: Repository<AssessmentReads, AssessmentWrites>;
};

export function traceRepositories(database: StoreDatabase): TraceRepositories {
  return {
    traces: { reads: new TraceReads(readView(database)), writes: new TraceWrites(writeView(database)) },
    assessments: {
      reads: new AssessmentReads(readView(database)),
      writes: new AssessmentWrites(writeView(database)),
    },
  };
}

export class SqlTraceStore {
  private readonly reads: TraceReads;
  private readonly writes: TraceWrites;
  private readonly assessments: TraceRepositories['assessments'];

  constructor(database: StoreDatabase, repositories: TraceRepositories = traceRepositories(database)) {
    this.reads = repositories.traces.reads;
    this.writes = repositories.traces.writes;
    this.assessments = repositories.assessments;
  }

  getTrace(traceId: string): Promise<TraceRecord | undefined> {
    return this.reads.getTrace(traceId);
  }
  getTraces(traceIds: string[]): Promise<TraceRecord[]> {
    return this.reads.getTraces(traceIds);
  }
  searchTraces(query: SearchTracesQuery): Promise<{ items: TraceRecord[]; more: boolean }> {
    return this.reads.searchTraces(query);
  }
  spanContentPages(traceId: string, pageSize: number): AsyncGenerator<string[]> {
    return this.reads.spanContentPages(traceId, pageSize);
  }
  experimentOfTrace(traceId: string): Promise<string | undefined> {
    return this.reads.experimentOfTrace(traceId);
  }
  startTrace(trace: TraceRecord): Promise<TraceRecord> {
    return this.writes.startTrace(trace);
  }
  endTrace(traceId: string, end: TraceEnd): Promise<TraceRecord> {
    return this.writes.endTrace(traceId, end);
  }
  setTraceTag(traceId: string, key: string, value: string): Promise<void> {
    return this.writes.setTraceTag(traceId, key, value);
  }
  deleteTraceTag(traceId: string, key: string): Promise<void> {
    return this.writes.deleteTraceTag(traceId, key);
  }
  deleteTraces(deletion: TraceDeletion): Promise<number> {
    return this.writes.deleteTraces(deletion);
  }
  linkTracesToRun(traceIds: string[], runId: string): Promise<void> {
    return this.writes.linkTracesToRun(traceIds, runId);
  }
  logSpans(
    experimentId: string,
    traceId: string,
    spans: SpanRecord[],
    root: RootSummary | undefined,
  ): Promise<void> {
    return this.writes.logSpans(experimentId, traceId, spans, root);
  }
  getAssessment(traceId: string, assessmentId: string): Promise<AssessmentRecord | undefined> {
    return this.assessments.reads.getAssessment(traceId, assessmentId);
  }
  assessmentsOf(traceIds: string[]): Promise<Map<string, AssessmentRecord[]>> {
    return this.assessments.reads.assessmentsOf(traceIds);
  }
  createAssessment(assessment: AssessmentRecord): Promise<AssessmentRecord> {
    return this.assessments.writes.createAssessment(assessment);
  }
  updateAssessment(
    traceId: string,
    assessmentId: string,
    changes: AssessmentChanges,
  ): Promise<AssessmentRecord> {
    return this.assessments.writes.updateAssessment(traceId, assessmentId, changes);
  }
  deleteAssessment(traceId: string, assessmentId: string): Promise<void> {
    return this.assessments.writes.deleteAssessment(traceId, assessmentId);
  }
}
