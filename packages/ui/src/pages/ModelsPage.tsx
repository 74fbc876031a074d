// The registered models: MLflow's search filter, server-side order and paging (page tokens kept in
// the URL, so a link reopens the same page), and a form to create a model.
import { type FormEvent, useState } from 'react';
import { api, MlflowError, modelHref, type RegisteredModel, versionHref } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { FilterForm } from '../components/FilterForm';
import { Link } from '../components/Link';
import { StageBadge } from '../components/RegistryParts';
import { formatTime } from '../lib/format';
import { modelSearchFilter } from '../lib/model-filter';
import { useLoad } from '../lib/use-load';
import { navigate, type Route, setParams } from '../router';

const PAGE_SIZES = [10, 25, 100];
const ORDERS: { value: string; label: string }[] = [
  { value: 'name ASC', label: 'Name A→Z' },
  { value: 'name DESC', label: 'Name Z→A' },
  { value: 'last_updated_timestamp DESC', label: 'Recently modified' },
  { value: 'last_updated_timestamp ASC', label: 'Least recently modified' },
];

function LatestVersions({ model }: { model: RegisteredModel }) {
  const versions = model.latest_versions ?? [];
  if (!versions.length) return <span className="muted">—</span>;
  return (
    <ul className="inline-list">
      {versions.map((v) => (
        <li key={v.version}>
          <Link href={versionHref(model.name, v.version)}>Version {v.version}</Link>
          {v.current_stage && v.current_stage !== 'None' ? (
            <>
              {' '}
              <StageBadge stage={v.current_stage} />
            </>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

export function ModelsPage({ route }: { route: Route }) {
  const filter = route.params.get('filter') ?? '';
  const order = route.params.get('order') ?? 'name ASC';
  const size = Number(route.params.get('size')) || 25;
  // Tokens of the pages before and including this one; empty on the first page.
  const tokensText = route.params.get('pages') ?? '';
  const tokens = tokensText.split(',').filter(Boolean);
  const models = useLoad(
    (signal) =>
      api.searchModels(
        {
          filter: modelSearchFilter(filter) || undefined,
          order_by: [order],
          max_results: size,
          page_token: tokens.at(-1),
        },
        signal,
      ),
    [filter, order, size, tokensText],
  );
  const [newName, setNewName] = useState('');
  const [createError, setCreateError] = useState<Error>();
  const create = (e: FormEvent) => {
    e.preventDefault();
    const name = newName.trim();
    api.createModel(name).then(() => {
      setNewName('');
      setCreateError(undefined);
      navigate(modelHref(name));
    }, setCreateError);
  };
  const list = models.data?.registered_models ?? [];
  const next = models.data?.next_page_token;
  const page = tokens.length + 1;
  return (
    <main className="page">
      <div className="page-head">
        <h1>Registered models</h1>
        <form className="inline-form" onSubmit={create} aria-label="Create a model">
          <input
            aria-label="New model name"
            placeholder="New model name"
            value={newName}
            onChange={(e) => setNewName(e.target.value)}
          />
          <button type="submit" disabled={!newName.trim()}>
            Create model
          </button>
        </form>
      </div>
      <ErrorBox error={createError} />
      <div className="toolbar">
        <FilterForm
          filter={filter}
          error={models.error}
          label="Filter models"
          placeholder="churn, or name ILIKE '%churn%' and tags.team = 'growth'"
          resetParams={{ pages: null }}
        />
        <label>
          Order{' '}
          <select value={order} onChange={(e) => setParams({ order: e.target.value, pages: null })}>
            {ORDERS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {models.error &&
      !(models.error instanceof MlflowError && models.error.errorCode === 'INVALID_PARAMETER_VALUE') ? (
        <ErrorBox error={models.error} />
      ) : null}
      <table className="grid" aria-label="Registered models">
        <thead>
          <tr>
            <th>Name</th>
            <th>Latest versions</th>
            <th>Aliases</th>
            <th>Last modified</th>
            <th>Tags</th>
          </tr>
        </thead>
        <tbody>
          {list.map((m) => (
            <tr key={m.name}>
              <td>
                <Link href={modelHref(m.name)}>{m.name}</Link>
              </td>
              <td>
                <LatestVersions model={m} />
              </td>
              <td>
                {(m.aliases ?? []).map((a) => (
                  <Link key={a.alias} className="badge alias" href={versionHref(m.name, a.version)}>
                    @{a.alias} → v{a.version}
                  </Link>
                ))}
              </td>
              <td>{formatTime(m.last_updated_timestamp)}</td>
              <td>
                {(m.tags ?? []).map((t) => (
                  <span key={t.key} className="badge tag">
                    {t.key}: {t.value}
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!models.loading && !models.error && list.length === 0 ? (
        <p className="muted">{filter || tokens.length ? 'No models match.' : 'No registered models yet.'}</p>
      ) : null}
      {models.loading && !models.data ? <p className="muted">Loading…</p> : null}
      <nav className="pager" aria-label="Pages">
        <button
          type="button"
          disabled={!tokens.length}
          onClick={() => setParams({ pages: tokens.slice(0, -1).join(',') })}
        >
          ← Previous
        </button>
        <span>Page {page}</span>
        <button
          type="button"
          disabled={!next}
          onClick={() => next && setParams({ pages: [...tokens, next].join(',') })}
        >
          Next →
        </button>
        <label>
          Per page{' '}
          <select value={size} onChange={(e) => setParams({ size: e.target.value, pages: null })}>
            {[...new Set([...PAGE_SIZES, size])]
              .sort((a, b) => a - b)
              .map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
          </select>
        </label>
      </nav>
    </main>
  );
}
