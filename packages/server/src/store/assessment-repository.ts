// Assessments of traces: reading one or a trace's (reads); creating one (invalidating the one it
// overrides), changing and deleting one (restoring what a deleted one had overridden) (writes).
import type { Kysely, Selectable, Updateable } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import type { AssessmentChanges, AssessmentRecord } from '../entities/tracing.js';
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import type { AssessmentsTable, Database } from './schema.js';
import { traceNotFound } from './trace-repository.js';

type Row = Selectable<AssessmentsTable>;

// `valid` is written as 1 or 0: SQLite binds no booleans, and PostgreSQL reads '1' and '0' as booleans.

export function assessmentNotFound(assessmentId: string, traceId: string): MlflowError {
  return MlflowError.notFound(`Assessment with ID '${assessmentId}' not found for trace '${traceId}'`);
}

function record(r: Row): AssessmentRecord {
  return {
    assessmentId: r.assessment_id,
    traceId: r.trace_id,
    name: r.name,
    kind: r.assessment_type === 'expectation' ? 'expectation' : 'feedback',
    value: r.value,
    error: r.error,
    createdMs: Number(r.created_timestamp),
    updatedMs: Number(r.last_updated_timestamp),
    sourceType: r.source_type,
    sourceId: r.source_id,
    runId: r.run_id,
    spanId: r.span_id,
    rationale: r.rationale,
    overrides: r.overrides,
    valid: r.valid === true || r.valid === 1,
    metadata: r.assessment_metadata,
  };
}

async function row(db: Kysely<Database>, traceId: string, assessmentId: string): Promise<Row | undefined> {
  return db
    .selectFrom('assessments')
    .selectAll()
    .where('assessment_id', '=', assessmentId)
    .where('trace_id', '=', traceId)
    .executeTakeFirst();
}

export class AssessmentReads {
  private readonly db: Kysely<Database>;

  constructor(database: ReadOnlyDatabase) {
    this.db = database.reader;
  }

  async getAssessment(traceId: string, assessmentId: string): Promise<AssessmentRecord | undefined> {
    const r = await row(this.db, traceId, assessmentId);
    return r && record(r);
  }

  /** The assessments of the traces, oldest first, by trace. */
  async assessmentsOf(traceIds: string[]): Promise<Map<string, AssessmentRecord[]>> {
    const out = new Map<string, AssessmentRecord[]>();
    if (traceIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('assessments')
      .selectAll()
      .where('trace_id', 'in', traceIds)
      .orderBy('created_timestamp')
      .orderBy('assessment_id')
      .execute();
    for (const r of rows) {
      const list = out.get(r.trace_id) ?? [];
      list.push(record(r));
      out.set(r.trace_id, list);
    }
    return out;
  }
}

export class AssessmentWrites {
  constructor(private readonly database: WriteOnlyDatabase) {}

  /** Stores a new assessment; one that overrides another makes that one invalid, as MLflow does. */
  createAssessment(a: AssessmentRecord): Promise<AssessmentRecord> {
    return this.database.writer.run(async (trx) => {
      const trace = await trx
        .selectFrom('trace_info')
        .select('request_id')
        .where('request_id', '=', a.traceId)
        .executeTakeFirst();
      if (!trace) throw traceNotFound(a.traceId);
      if (a.overrides !== null) {
        if (!(await row(trx, a.traceId, a.overrides))) throw assessmentNotFound(a.overrides, a.traceId);
        await trx
          .updateTable('assessments')
          .set({ valid: 0 })
          .where('assessment_id', '=', a.overrides)
          .execute();
      }
      await trx
        .insertInto('assessments')
        .values({
          assessment_id: a.assessmentId,
          trace_id: a.traceId,
          name: a.name,
          assessment_type: a.kind,
          value: a.value,
          error: a.error,
          created_timestamp: a.createdMs,
          last_updated_timestamp: a.updatedMs,
          source_type: a.sourceType,
          source_id: a.sourceId,
          run_id: a.runId,
          span_id: a.spanId,
          rationale: a.rationale,
          overrides: a.overrides,
          valid: a.valid ? 1 : 0,
          assessment_metadata: a.metadata,
        })
        .execute();
      return record((await row(trx, a.traceId, a.assessmentId)) as Row);
    });
  }

  updateAssessment(
    traceId: string,
    assessmentId: string,
    changes: AssessmentChanges,
  ): Promise<AssessmentRecord> {
    return this.database.writer.run(async (trx) => {
      const current = await row(trx, traceId, assessmentId);
      if (!current) throw assessmentNotFound(assessmentId, traceId);
      if (changes.kind !== undefined && changes.kind !== current.assessment_type) {
        throw MlflowError.invalidParameter(
          changes.kind === 'feedback'
            ? 'Cannot update feedback value on an Expectation assessment.'
            : 'Cannot update expectation value on a Feedback assessment.',
        );
      }
      const set: Updateable<AssessmentsTable> = { last_updated_timestamp: Date.now() };
      if (changes.name !== undefined) set.name = changes.name;
      if (changes.value !== undefined) set.value = changes.value;
      if (changes.error !== undefined) set.error = changes.error;
      if (changes.rationale !== undefined) set.rationale = changes.rationale;
      if (changes.metadata !== undefined) set.assessment_metadata = changes.metadata;
      if (changes.valid !== undefined) set.valid = changes.valid ? 1 : 0;
      await trx.updateTable('assessments').set(set).where('assessment_id', '=', assessmentId).execute();
      return record((await row(trx, traceId, assessmentId)) as Row);
    });
  }

  /** Deletes an assessment (none: no change); the one it had overridden becomes valid again. */
  deleteAssessment(traceId: string, assessmentId: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      const current = await row(trx, traceId, assessmentId);
      if (!current) return;
      await trx.deleteFrom('assessments').where('assessment_id', '=', assessmentId).execute();
      if (current.overrides !== null) {
        await trx
          .updateTable('assessments')
          .set({ valid: 1 })
          .where('assessment_id', '=', current.overrides)
          .where('trace_id', '=', traceId)
          .execute();
      }
    });
  }
}
