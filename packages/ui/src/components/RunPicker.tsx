// Picks runs of any experiment into a comparison: choose an experiment (its id goes into the URL as
// pick=), narrow its runs by name, check some and add them. The comparison's runs stay in runs=.
import { type FormEvent, useState } from 'react';
import { api } from '../api';
import { formatTime } from '../lib/format';
import { useLoad } from '../lib/use-load';
import { setParams } from '../router';
import { ErrorBox } from './ErrorBox';

/** How many runs of the chosen experiment are listed (newest first; the name box finds others). */
const LISTED = 50;

/** A name search as MLflow's filter; a quote would end its string literal, so quotes are dropped. */
function nameFilter(text: string): string | undefined {
  const t = text.trim().replace(/'/g, '');
  return t ? `attributes.run_name ILIKE '%${t}%'` : undefined;
}

export function RunPicker({
  experimentId,
  chosen,
  onAdd,
}: {
  /** The experiment whose runs are listed (pick= in the URL), or '' for none yet. */
  experimentId: string;
  chosen: Set<string>;
  onAdd(ids: string[]): void;
}) {
  const experiments = useLoad(() => api.searchExperiments({ max_results: 1000, order_by: ['name ASC'] }), []);
  const [name, setName] = useState('');
  const [query, setQuery] = useState('');
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const runs = useLoad(
    (signal) =>
      experimentId
        ? api.searchRuns(
            {
              experiment_ids: [experimentId],
              filter: nameFilter(query),
              order_by: ['attributes.start_time DESC'],
              max_results: LISTED,
            },
            signal,
          )
        : Promise.resolve(undefined),
    [experimentId, query],
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setQuery(name);
  };
  const list = runs.data?.runs ?? [];
  const addable = [...checked].filter((id) => !chosen.has(id));
  return (
    <section className="run-picker" aria-label="Add runs from any experiment">
      <h2>Add runs</h2>
      <ErrorBox error={experiments.error ?? runs.error} />
      <form className="toolbar" onSubmit={submit}>
        <label>
          Experiment{' '}
          <select
            aria-label="Experiment to pick runs from"
            value={experimentId}
            onChange={(e) => {
              setChecked(new Set());
              setParams({ pick: e.target.value || null }, { replace: true });
            }}
          >
            <option value="">choose…</option>
            {(experiments.data?.experiments ?? []).map((x) => (
              <option key={x.experiment_id} value={x.experiment_id}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        <input
          type="search"
          aria-label="Run name contains"
          placeholder="run name contains…"
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" className="ghost" disabled={!experimentId}>
          Find
        </button>
        <span className="spacer" />
        <button
          type="button"
          disabled={addable.length === 0}
          onClick={() => {
            onAdd(addable);
            setChecked(new Set());
          }}
        >
          Add {addable.length || ''} to the comparison
        </button>
      </form>
      {experimentId && runs.data ? (
        list.length ? (
          <ul className="picker-runs" aria-label="Runs to pick">
            {list.map((r) => {
              const id = r.info.run_id;
              const inIt = chosen.has(id);
              return (
                <li key={id}>
                  <label className="check">
                    <input
                      type="checkbox"
                      disabled={inIt}
                      checked={inIt || checked.has(id)}
                      onChange={() =>
                        setChecked((s) => {
                          const next = new Set(s);
                          if (next.has(id)) next.delete(id);
                          else next.add(id);
                          return next;
                        })
                      }
                    />
                    {r.info.run_name || id}
                    <span className="muted"> {inIt ? '(compared)' : formatTime(r.info.start_time)}</span>
                  </label>
                </li>
              );
            })}
          </ul>
        ) : (
          <p className="muted">No runs{query ? ' with that name' : ''}.</p>
        )
      ) : null}
      {list.length === LISTED ? (
        <p className="muted">The newest {LISTED} runs are listed; narrow by name to find others.</p>
      ) : null}
    </section>
  );
}
