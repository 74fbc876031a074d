// One registered model: description, tags, aliases, stage transitions, its versions and the serving
// endpoints that serve it.
import { type FormEvent, useEffect, useState } from 'react';
import {
  api,
  type ModelVersion,
  type RegisteredModel,
  type ServingEndpoint,
  STAGES,
  type Stage,
  versionHref,
} from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { Link } from '../components/Link';
import { PermissionsPanel } from '../components/PermissionsPanel';
import { DescriptionCard, RunLink, StageBadge, TagsCard } from '../components/RegistryParts';
import { formatTime } from '../lib/format';
import { useLoad } from '../lib/use-load';
import { useRunNames } from '../lib/use-run-names';
import { aliasesByVersion, versionAliases, versionRunId } from '../lib/version-links';

/**
 * A filter naming one model. MLflow's grammar cannot escape a quote inside a string, so the name is
 * quoted with whichever quote it does not contain.
 */
export function modelNameFilter(name: string): string {
  if (!name.includes("'")) return `name = '${name}'`;
  if (!name.includes('"')) return `name = "${name}"`;
  throw new Error(
    'A model name holding both kinds of quote cannot be searched; its versions are not listed.',
  );
}

async function loadVersions(name: string): Promise<ModelVersion[]> {
  const out: ModelVersion[] = [];
  let token: string | undefined;
  do {
    const page = await api.searchVersions({
      filter: modelNameFilter(name),
      max_results: 1000,
      order_by: ['version_number DESC'],
      page_token: token,
    });
    out.push(...(page.model_versions ?? []));
    token = page.next_page_token;
  } while (token);
  return out;
}

function Aliases({
  model,
  versions,
  onChanged,
}: {
  model: RegisteredModel;
  versions: ModelVersion[];
  onChanged(): void;
}) {
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState('');
  const [error, setError] = useState<Error>();
  const done = () => {
    setError(undefined);
    onChanged();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = version || versions[0]?.version;
    if (!v) return;
    api.setAlias(model.name, alias.trim(), v).then(() => {
      setAlias('');
      done();
    }, setError);
  };
  const aliases = model.aliases ?? [];
  return (
    <section className="card" aria-labelledby="aliases-title">
      <div className="card-head">
        <h2 id="aliases-title">Aliases</h2>
      </div>
      <ErrorBox error={error} />
      {aliases.length ? (
        <ul className="inline-list" aria-label="Aliases">
          {aliases.map((a) => (
            <li key={a.alias}>
              <Link className="badge alias" href={versionHref(model.name, a.version)}>
                @{a.alias} → v{a.version}
              </Link>
              <button
                type="button"
                className="ghost danger"
                aria-label={`Delete alias ${a.alias}`}
                onClick={() => api.deleteAlias(model.name, a.alias).then(done, setError)}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No aliases.</p>
      )}
      {versions.length ? (
        <form className="inline-form" onSubmit={submit} aria-label="Set an alias">
          <input
            aria-label="Alias"
            placeholder="alias, e.g. champion"
            value={alias}
            onChange={(e) => setAlias(e.target.value)}
          />
          <label>
            on version{' '}
            <select aria-label="Alias version" value={version} onChange={(e) => setVersion(e.target.value)}>
              {versions.map((v) => (
                <option key={v.version} value={v.version}>
                  {v.version}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={!alias.trim()}>
            Set alias
          </button>
        </form>
      ) : null}
    </section>
  );
}

function StageTransition({
  name,
  versions,
  onChanged,
}: {
  name: string;
  versions: ModelVersion[];
  onChanged(): void;
}) {
  const [version, setVersion] = useState('');
  const [stage, setStage] = useState<Stage>('Staging');
  const [archive, setArchive] = useState(false);
  const [error, setError] = useState<Error>();
  const canArchive = stage === 'Staging' || stage === 'Production';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = version || versions[0]?.version;
    if (!v) return;
    api.transitionStage(name, v, stage, canArchive && archive).then(() => {
      setError(undefined);
      onChanged();
    }, setError);
  };
  if (!versions.length) return null;
  return (
    <form className="inline-form" onSubmit={submit} aria-label="Transition stage">
      <label>
        Move version{' '}
        <select
          aria-label="Version to transition"
          value={version}
          onChange={(e) => setVersion(e.target.value)}
        >
          {versions.map((v) => (
            <option key={v.version} value={v.version}>
              {v.version}
            </option>
          ))}
        </select>
      </label>
      <label>
        to{' '}
        <select aria-label="Target stage" value={stage} onChange={(e) => setStage(e.target.value as Stage)}>
          {STAGES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={canArchive && archive}
          disabled={!canArchive}
          onChange={(e) => setArchive(e.target.checked)}
        />
        Archive existing versions in that stage
      </label>
      <button type="submit">Transition</button>
      <ErrorBox error={error} />
    </form>
  );
}

function Versions({
  name,
  model,
  versions,
  onChanged,
}: {
  name: string;
  model: RegisteredModel;
  versions: ModelVersion[];
  onChanged(): void;
}) {
  const [error, setError] = useState<Error>();
  const aliases = aliasesByVersion(model);
  const runNames = useRunNames(versions.map(versionRunId));
  const remove = (v: string) => {
    if (!confirm(`Delete version ${v} of "${name}"? This cannot be undone.`)) return;
    api.deleteVersion(name, v).then(() => {
      setError(undefined);
      onChanged();
    }, setError);
  };
  return (
    <section className="card" aria-labelledby="versions-title">
      <div className="card-head">
        <h2 id="versions-title">Versions</h2>
      </div>
      <StageTransition name={name} versions={versions} onChanged={onChanged} />
      <ErrorBox error={error} />
      <table className="grid" aria-label="Versions">
        <thead>
          <tr>
            <th>Version</th>
            <th>Stage</th>
            <th>Aliases</th>
            <th>Source run</th>
            <th>Created</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version}>
              <td>
                <Link href={versionHref(name, v.version)}>Version {v.version}</Link>
              </td>
              <td>
                <StageBadge stage={v.current_stage} />
              </td>
              <td>
                {versionAliases(v, aliases).map((a) => (
                  <span key={a} className="badge alias">
                    @{a}
                  </span>
                ))}
              </td>
              <td>
                <RunLink runId={versionRunId(v)} names={runNames} />
              </td>
              <td>{formatTime(v.creation_timestamp)}</td>
              <td className="actions">
                <button
                  type="button"
                  className="ghost danger"
                  aria-label={`Delete version ${v.version}`}
                  onClick={() => remove(v.version)}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {versions.length === 0 ? (
        <p className="muted">
          No versions yet. Register one with <code>mlflow.register_model</code> or{' '}
          <code>model-versions/create</code>.
        </p>
      ) : null}
    </section>
  );
}

/** How often the endpoints card asks again while an endpoint is loading a version. */
const ENDPOINT_POLL_MS = 2000;

function EndpointState({ endpoint }: { endpoint: ServingEndpoint }) {
  const cls =
    endpoint.state === 'READY'
      ? 'status-finished'
      : endpoint.state === 'FAILED'
        ? 'status-failed'
        : 'status-running';
  return <span className={`badge ${cls}`}>{endpoint.state}</span>;
}

function ServingEndpoints({ name }: { name: string }) {
  const endpoints = useLoad((signal) => api.listServingEndpoints(name, signal), [name]);
  const busy = (endpoints.data ?? []).some((e) => e.state === 'LOADING' || e.loading_version !== undefined);
  const { reload } = endpoints;
  // Only while something is loading: a switch-over shows as it happens, an idle page stays quiet.
  useEffect(() => {
    if (!busy) return;
    const timer = setTimeout(reload, ENDPOINT_POLL_MS);
    return () => clearTimeout(timer);
  });
  const list = endpoints.data ?? [];
  return (
    <section className="card" aria-labelledby="endpoints-title">
      <div className="card-head">
        <h2 id="endpoints-title">Serving endpoints</h2>
        <button type="button" className="ghost" onClick={reload}>
          Refresh
        </button>
      </div>
      <ErrorBox error={endpoints.error} />
      {list.length ? (
        <table className="grid" aria-label="Serving endpoints">
          <thead>
            <tr>
              <th>Endpoint</th>
              <th>Model URI</th>
              <th>State</th>
              <th>Serving</th>
              <th>Loading</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <tr key={e.name}>
                <td className="mono">{e.name}</td>
                <td className="mono">{e.model_uri}</td>
                <td>
                  <EndpointState endpoint={e} />
                </td>
                <td>
                  {e.serving_version ? (
                    <Link href={versionHref(name, e.serving_version)}>Version {e.serving_version}</Link>
                  ) : (
                    '—'
                  )}
                </td>
                <td>{e.loading_version ? `Version ${e.loading_version}` : '—'}</td>
                <td className="status-failed">{e.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : endpoints.loading ? (
        <p className="muted">Loading…</p>
      ) : (
        <p className="muted">
          No endpoints serve this model. Create one with <code>POST /api/2.0/serving-endpoints</code>.
        </p>
      )}
    </section>
  );
}

export function ModelPage({ name }: { name: string }) {
  const model = useLoad(() => api.getModel(name).then((r) => r.registered_model), [name]);
  const versions = useLoad(() => loadVersions(name), [name]);
  const changed = () => {
    model.reload();
    versions.reload();
  };
  const m = model.data;
  return (
    <main className="page">
      <div className="crumbs">
        <Link href="/models">Models</Link> /
      </div>
      <div className="page-head">
        <h1>{name}</h1>
      </div>
      <ErrorBox error={model.error ?? versions.error} />
      {m ? (
        <>
          <dl className="facts">
            <div className="fact">
              <dt>Created</dt>
              <dd>{formatTime(m.creation_timestamp)}</dd>
            </div>
            <div className="fact">
              <dt>Last modified</dt>
              <dd>{formatTime(m.last_updated_timestamp)}</dd>
            </div>
            <div className="fact">
              <dt>Versions</dt>
              <dd>{versions.data?.length ?? '…'}</dd>
            </div>
          </dl>
          <DescriptionCard
            text={m.description ?? ''}
            save={(text) => api.updateModel(name, text).then(changed)}
          />
          <Aliases model={m} versions={versions.data ?? []} onChanged={changed} />
          <Versions name={name} model={m} versions={versions.data ?? []} onChanged={changed} />
          <ServingEndpoints name={name} />
          <TagsCard
            tags={m.tags ?? []}
            setTag={(k, v) => api.setModelTag(name, k, v).then(changed)}
            deleteTag={(k) => api.deleteModelTag(name, k).then(changed)}
          />
          <PermissionsPanel target={{ kind: 'registered_model', id: name }} />
        </>
      ) : model.loading ? (
        <p className="muted">Loading…</p>
      ) : null}
    </main>
  );
}
