import { type FormEvent, useState } from 'react';
import { api, type Experiment, type ViewType } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { Link } from '../components/Link';
import { formatTime } from '../lib/format';
import { useLoad } from '../lib/use-load';
import { href, navigate, type Route, setParams } from '../router';

const VIEWS: { value: ViewType; label: string }[] = [
  { value: 'ACTIVE_ONLY', label: 'Active' },
  { value: 'DELETED_ONLY', label: 'Deleted' },
  { value: 'ALL', label: 'All' },
];

/** MLflow's grammar has no escape inside LIKE patterns, so a quote in the search is doubled as SQL does. */
function nameFilter(search: string): string | undefined {
  const s = search.trim();
  return s ? `name ILIKE '%${s.replace(/'/g, "''")}%'` : undefined;
}

async function loadAll(search: string, view: ViewType): Promise<Experiment[]> {
  const out: Experiment[] = [];
  let token: string | undefined;
  do {
    const page = await api.searchExperiments({
      filter: nameFilter(search),
      view_type: view,
      max_results: 1000,
      page_token: token,
      order_by: ['last_update_time DESC'],
    });
    out.push(...(page.experiments ?? []));
    token = page.next_page_token;
  } while (token);
  return out;
}

function ExperimentRow({
  exp,
  selected,
  onSelect,
  onChanged,
  onError,
}: {
  exp: Experiment;
  selected: boolean;
  onSelect(on: boolean): void;
  onChanged(): void;
  onError(e: Error): void;
}) {
  const [renaming, setRenaming] = useState<string | undefined>();
  const act = (p: Promise<unknown>) => p.then(onChanged, onError);
  const submitRename = (e: FormEvent) => {
    e.preventDefault();
    if (renaming === undefined) return;
    api.renameExperiment(exp.experiment_id, renaming).then(() => {
      setRenaming(undefined);
      onChanged();
    }, onError);
  };
  const deleted = exp.lifecycle_stage === 'deleted';
  return (
    <tr className={deleted ? 'deleted' : undefined}>
      <td>
        <input
          type="checkbox"
          aria-label={`Select experiment ${exp.name}`}
          checked={selected}
          onChange={(e) => onSelect(e.target.checked)}
        />
      </td>
      <td>
        {renaming === undefined ? (
          <Link href={href('/runs', { ids: exp.experiment_id })}>{exp.name}</Link>
        ) : (
          <form onSubmit={submitRename} className="inline-form">
            <input
              aria-label="New experiment name"
              value={renaming}
              // biome-ignore lint/a11y/noAutofocus: the user just asked to rename this experiment
              autoFocus
              onChange={(e) => setRenaming(e.target.value)}
              onKeyDown={(e) => e.key === 'Escape' && setRenaming(undefined)}
            />
            <button type="submit">Save</button>
            <button type="button" className="ghost" onClick={() => setRenaming(undefined)}>
              Cancel
            </button>
          </form>
        )}
      </td>
      <td className="mono">{exp.experiment_id}</td>
      <td>{formatTime(exp.creation_time)}</td>
      <td>{formatTime(exp.last_update_time)}</td>
      <td className="actions">
        {deleted ? (
          <button type="button" onClick={() => act(api.restoreExperiment(exp.experiment_id))}>
            Restore
          </button>
        ) : (
          <>
            <button type="button" className="ghost" onClick={() => setRenaming(exp.name)}>
              Rename
            </button>
            <button
              type="button"
              className="ghost danger"
              onClick={() => {
                if (confirm(`Delete experiment "${exp.name}"? It can be restored later.`))
                  act(api.deleteExperiment(exp.experiment_id));
              }}
            >
              Delete
            </button>
          </>
        )}
      </td>
    </tr>
  );
}

export function ExperimentsPage({ route }: { route: Route }) {
  const search = route.params.get('q') ?? '';
  const view = (route.params.get('view') as ViewType | null) ?? 'ACTIVE_ONLY';
  const experiments = useLoad(() => loadAll(search, view), [search, view]);
  const [newName, setNewName] = useState('');
  const [actionError, setActionError] = useState<Error>();
  const [selected, setSelected] = useState<Set<string>>(new Set());

  const create = (e: FormEvent) => {
    e.preventDefault();
    setActionError(undefined);
    api.createExperiment(newName.trim()).then(({ experiment_id }) => {
      setNewName('');
      navigate(href('/runs', { ids: experiment_id }));
    }, setActionError);
  };
  const changed = () => {
    setActionError(undefined);
    experiments.reload();
  };
  const list = experiments.data ?? [];
  return (
    <main className="page">
      <div className="page-head">
        <h1>Experiments</h1>
        <form className="inline-form" onSubmit={create}>
          <input
            aria-label="New experiment name"
            placeholder="New experiment name"
            value={newName}
            onChange={(e) => setNewName(e.target.value)}
          />
          <button type="submit" disabled={!newName.trim()}>
            Create
          </button>
        </form>
      </div>
      <div className="toolbar">
        <input
          type="search"
          aria-label="Search experiments by name"
          placeholder="Search by name"
          defaultValue={search}
          onChange={(e) => setParams({ q: e.target.value }, { replace: true })}
        />
        <fieldset className="segmented" aria-label="Which experiments">
          {VIEWS.map((v) => (
            <label key={v.value}>
              <input
                type="radio"
                name="view"
                checked={view === v.value}
                onChange={() => setParams({ view: v.value === 'ACTIVE_ONLY' ? null : v.value })}
              />
              {v.label}
            </label>
          ))}
        </fieldset>
        <button
          type="button"
          disabled={selected.size === 0}
          onClick={() => navigate(href('/runs', { ids: [...selected].join(',') }))}
        >
          Show runs of {selected.size || ''} selected
        </button>
      </div>
      <ErrorBox error={actionError ?? experiments.error} />
      <table className="grid">
        <thead>
          <tr>
            <th aria-label="Selected" />
            <th>Name</th>
            <th>ID</th>
            <th>Created</th>
            <th>Last updated</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {list.map((exp) => (
            <ExperimentRow
              key={exp.experiment_id}
              exp={exp}
              selected={selected.has(exp.experiment_id)}
              onSelect={(on) =>
                setSelected((s) => {
                  const next = new Set(s);
                  if (on) next.add(exp.experiment_id);
                  else next.delete(exp.experiment_id);
                  return next;
                })
              }
              onChanged={changed}
              onError={setActionError}
            />
          ))}
        </tbody>
      </table>
      {!experiments.loading && !experiments.error && list.length === 0 ? (
        <p className="muted">No experiments match.</p>
      ) : null}
      {experiments.loading && !experiments.data ? <p className="muted">Loading…</p> : null}
    </main>
  );
}
