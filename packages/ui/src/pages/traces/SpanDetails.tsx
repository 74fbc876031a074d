// One span's detail: its inputs and outputs as JSON trees, its attributes and its events.
import { useState } from 'react';
import { JsonView } from '../../components/JsonView';
import { formatLatency } from '../../lib/trace-format';
import type { SpanNode } from '../../lib/trace-spans';

const INPUTS = 'mlflow.spanInputs';
const OUTPUTS = 'mlflow.spanOutputs';

function Value({ value, label }: { value: unknown; label: string }) {
  if (value !== null && typeof value === 'object') return <JsonView value={value} label={label} />;
  return <pre className="span-text">{typeof value === 'string' ? value : JSON.stringify(value)}</pre>;
}

export function SpanDetails({ span, traceStartMs }: { span: SpanNode; traceStartMs: number }) {
  const [tab, setTab] = useState<'io' | 'attributes' | 'events'>('io');
  const rest = Object.entries(span.attributes).filter(([k]) => k !== INPUTS && k !== OUTPUTS);
  const duration = span.endMs === undefined ? undefined : span.endMs - span.startMs;
  const tabs = [
    ['io', 'Inputs / Outputs'],
    ['attributes', `Attributes (${rest.length})`],
    ['events', `Events (${span.events.length})`],
  ] as const;
  return (
    <section className="span-details" aria-label={`Span ${span.name}`}>
      <h3>
        {span.name}{' '}
        {span.type ? <span className={`span-type type-${span.type.toLowerCase()}`}>{span.type}</span> : null}
      </h3>
      <dl className="span-facts">
        <dt>Status</dt>
        <dd className={span.status === 'ERROR' ? 'status-error' : undefined}>
          {span.status}
          {span.statusMessage ? `: ${span.statusMessage}` : ''}
        </dd>
        <dt>Duration</dt>
        <dd>{duration === undefined ? 'still open' : formatLatency(duration)}</dd>
        <dt>Starts at</dt>
        <dd>+{formatLatency(span.startMs - traceStartMs)}</dd>
        <dt>Span id</dt>
        <dd className="mono">{span.id}</dd>
      </dl>
      <div className="tabs" role="tablist" aria-label="Span views">
        {tabs.map(([t, text]) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={t === tab}
            className={t === tab ? 'tab active' : 'tab'}
            onClick={() => setTab(t)}
          >
            {text}
          </button>
        ))}
      </div>
      {tab === 'io' ? (
        <>
          <h4>Inputs</h4>
          {INPUTS in span.attributes ? (
            <Value value={span.attributes[INPUTS]} label="Inputs" />
          ) : (
            <p className="muted">None recorded.</p>
          )}
          <h4>Outputs</h4>
          {OUTPUTS in span.attributes ? (
            <Value value={span.attributes[OUTPUTS]} label="Outputs" />
          ) : (
            <p className="muted">None recorded.</p>
          )}
        </>
      ) : null}
      {tab === 'attributes' ? (
        rest.length ? (
          <table className="grid compact">
            <tbody>
              {rest.map(([k, v]) => (
                <tr key={k}>
                  <th className="mono">{k}</th>
                  <td>
                    <Value value={v} label={k} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">No attributes.</p>
        )
      ) : null}
      {tab === 'events' ? (
        span.events.length ? (
          <ol className="span-events">
            {span.events.map((e, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: events have no id and never reorder
              <li key={i}>
                <strong>{e.name}</strong>{' '}
                <span className="muted">+{formatLatency(e.timeMs - span.startMs)}</span>
                {Object.keys(e.attributes).length ? (
                  <JsonView value={e.attributes} label={`Event ${e.name}`} />
                ) : null}
              </li>
            ))}
          </ol>
        ) : (
          <p className="muted">No events.</p>
        )
      ) : null}
    </section>
  );
}
