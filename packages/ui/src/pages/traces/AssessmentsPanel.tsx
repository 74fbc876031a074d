// A trace's assessments: listed (overridden ones marked), created as feedback or as expectations (the
// expected answer, MLflow's ground truth), edited and deleted through the assessment endpoints; each
// change is followed by a fresh read of the trace's record.

import type { Assessment } from '@mlflow-ts/client/wire';
import { type FormEvent, useState } from 'react';
import { traceApi } from '../../api';
import { ErrorBox } from '../../components/ErrorBox';
import { formatTime } from '../../lib/format';
import { assessmentValue, parseFeedbackValue, timestampMs } from '../../lib/trace-format';

interface Props {
  traceId: string;
  assessments: Assessment[];
  /** The span new feedback may be attached to. */
  spanId?: string;
  spanName?: string;
  onChanged(): Promise<void>;
}

function valueText(a: Assessment): string {
  const v = a.feedback ? a.feedback.value : a.expectation?.value;
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}

function Editor({
  a,
  traceId,
  done,
}: {
  a: Assessment;
  traceId: string;
  done(changed: boolean): Promise<void>;
}) {
  const [value, setValue] = useState(valueText(a));
  const [rationale, setRationale] = useState(a.rationale ?? '');
  const [error, setError] = useState<Error>();
  // Expectations carry no rationale in MLflow's clients; feedback does.
  const withRationale = !a.expectation;
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const parsed = { value: parseFeedbackValue(value) };
      // The SDK sends the keys given as the update mask: the value (a feedback stays a feedback, an
      // expectation an expectation) and, where the form has it, the rationale.
      await traceApi().updateAssessment(
        traceId,
        a.assessment_id,
        withRationale ? { feedback: parsed, rationale } : { expectation: parsed },
      );
      await done(true);
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form className="assessment-form" onSubmit={save} aria-label={`Edit ${a.assessment_name}`}>
      <label>
        Value <input value={value} onChange={(e) => setValue(e.target.value)} aria-label="Value" />
      </label>
      {withRationale ? (
        <label>
          Rationale{' '}
          <input value={rationale} onChange={(e) => setRationale(e.target.value)} aria-label="Rationale" />
        </label>
      ) : null}
      <button type="submit">Save</button>
      <button type="button" className="ghost" onClick={() => done(false)}>
        Cancel
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

type Kind = 'feedback' | 'expectation';
const KIND_LABEL: Record<Kind, string> = { feedback: 'Feedback', expectation: 'Expectation' };

export function AssessmentsPanel({ traceId, assessments, spanId, spanName, onChanged }: Props) {
  const [editing, setEditing] = useState<string>();
  const [error, setError] = useState<Error>();
  const [kind, setKind] = useState<Kind>('feedback');
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [rationale, setRationale] = useState('');
  const [onSpan, setOnSpan] = useState(false);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const options = {
      source: { source_type: 'HUMAN' as const },
      spanId: onSpan && spanId ? spanId : undefined,
    };
    try {
      // An expectation has no rationale in MLflow's clients (log_expectation takes none).
      if (kind === 'expectation')
        await traceApi().logExpectation(traceId, name.trim(), parseFeedbackValue(value), options);
      else
        await traceApi().logFeedback(traceId, name.trim(), parseFeedbackValue(value), {
          ...options,
          rationale: rationale.trim() || undefined,
        });
      setName('');
      setValue('');
      setRationale('');
      await onChanged();
    } catch (err) {
      setError(err as Error);
    }
  };
  const remove = async (a: Assessment) => {
    setError(undefined);
    try {
      await traceApi().deleteAssessment(traceId, a.assessment_id);
      await onChanged();
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <section className="assessments" aria-label="Assessments">
      <h3>Assessments</h3>
      <ErrorBox error={error} />
      {assessments.length === 0 ? <p className="muted">No assessments yet.</p> : null}
      <ul className="assessment-list">
        {assessments.map((a) => (
          <li
            key={a.assessment_id}
            className={a.valid === false ? 'overridden' : undefined}
            data-assessment-id={a.assessment_id}
          >
            {editing === a.assessment_id ? (
              <Editor
                a={a}
                traceId={traceId}
                done={async (changed) => {
                  setEditing(undefined);
                  if (changed) await onChanged();
                }}
              />
            ) : (
              <>
                <div className="assessment-head">
                  <span className={`assessment-kind ${a.expectation ? 'expectation' : 'feedback'}`}>
                    {a.expectation ? 'expectation' : 'feedback'}
                  </span>
                  <span>
                    <strong>{a.assessment_name}</strong>:{' '}
                    <span className="assessment-value">{assessmentValue(a)}</span>
                  </span>
                  {a.valid === false ? <span className="muted"> (overridden)</span> : null}
                  <span className="spacer" />
                  <button
                    type="button"
                    className="ghost small"
                    aria-label={`Edit ${a.assessment_name}`}
                    onClick={() => setEditing(a.assessment_id)}
                  >
                    Edit
                  </button>
                  <button
                    type="button"
                    className="ghost small danger"
                    aria-label={`Delete ${a.assessment_name}`}
                    onClick={() => remove(a)}
                  >
                    Delete
                  </button>
                </div>
                <div className="muted small-text">
                  {a.source?.source_type ?? 'SOURCE_TYPE_UNSPECIFIED'}
                  {a.source?.source_id ? ` · ${a.source?.source_id}` : ''}
                  {a.span_id ? ` · span ${a.span_id}` : ''} · {formatTime(timestampMs(a.last_update_time))}
                </div>
                {a.rationale ? <div className="assessment-rationale">{a.rationale}</div> : null}
              </>
            )}
          </li>
        ))}
      </ul>
      <form className="assessment-form" onSubmit={create} aria-label={`Add ${kind}`}>
        <select aria-label="Assessment kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
          <option value="feedback">feedback</option>
          <option value="expectation">expectation</option>
        </select>
        <input
          required
          placeholder={kind === 'feedback' ? 'name (e.g. correctness)' : 'name (e.g. expected_answer)'}
          aria-label={`${KIND_LABEL[kind]} name`}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <input
          required
          placeholder="value: true, 0.8, text or JSON"
          aria-label={`${KIND_LABEL[kind]} value`}
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
        {kind === 'feedback' ? (
          <input
            placeholder="rationale (optional)"
            aria-label="Feedback rationale"
            value={rationale}
            onChange={(e) => setRationale(e.target.value)}
          />
        ) : null}
        {spanId ? (
          <label className="small-text">
            <input type="checkbox" checked={onSpan} onChange={(e) => setOnSpan(e.target.checked)} /> on span{' '}
            {spanName}
          </label>
        ) : null}
        <button type="submit">Add {kind}</button>
      </form>
    </section>
  );
}
