// One model version: its source run, where its files are, stage, aliases, tags, description and its
// MLmodel file (read through /model-versions/get-artifact from the version's storage location).
import { api, modelHref, modelVersionArtifactUrl } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { Link } from '../components/Link';
import { MlModel } from '../components/MlModel';
import { DescriptionCard, RunLink, StageBadge, TagsCard } from '../components/RegistryParts';
import { formatTime } from '../lib/format';
import { useLoad } from '../lib/use-load';
import { useRunNames } from '../lib/use-run-names';
import { sourceRunId, versionRunId } from '../lib/version-links';

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** The MLmodel file, or undefined when the version's files have none (a 404 from the server). */
async function loadMlModel(name: string, version: string, signal: AbortSignal): Promise<string | undefined> {
  const r = await fetch(modelVersionArtifactUrl(name, version, 'MLmodel'), { signal });
  if (r.status === 404) return undefined;
  const text = await r.text();
  if (!r.ok) {
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // Not JSON: show the text as it is.
    }
    throw new Error(`Could not read the MLmodel file: ${message}`);
  }
  return text;
}

function MlModelCard({ name, version }: { name: string; version: string }) {
  const file = useLoad((signal) => loadMlModel(name, version, signal), [name, version]);
  return (
    <section className="card" aria-labelledby="mlmodel-title">
      <div className="card-head">
        <h2 id="mlmodel-title">MLmodel</h2>
        {file.data !== undefined ? (
          <a href={modelVersionArtifactUrl(name, version, 'MLmodel')} download="MLmodel">
            Download
          </a>
        ) : null}
      </div>
      {file.error ? (
        <ErrorBox error={file.error} />
      ) : file.loading ? (
        <p className="muted">Loading…</p>
      ) : file.data === undefined ? (
        <p className="muted">
          This version's files have no MLmodel file at their root, so it is not an MLflow model (or its source
          points somewhere else).
        </p>
      ) : (
        <MlModel text={file.data} />
      )}
    </section>
  );
}

export function ModelVersionPage({ name, version }: { name: string; version: string }) {
  const mv = useLoad(() => api.getVersion(name, version).then((r) => r.model_version), [name, version]);
  const storage = useLoad(
    () => api.versionDownloadUri(name, version).then((r) => r.artifact_uri),
    [name, version],
  );
  const v = mv.data;
  const runNames = useRunNames([v ? versionRunId(v) : undefined]);
  const sourceRun = sourceRunId(v?.source);
  return (
    <main className="page">
      <div className="crumbs">
        <Link href="/models">Models</Link> / <Link href={modelHref(name)}>{name}</Link> /
      </div>
      <div className="page-head">
        <h1>
          {name} · version {version}
        </h1>
      </div>
      <ErrorBox error={mv.error} />
      {v ? (
        <>
          <dl className="facts">
            <Fact label="Stage">
              <StageBadge stage={v.current_stage} />
            </Fact>
            <Fact label="Aliases">
              {v.aliases?.length
                ? v.aliases.map((a) => (
                    <span key={a} className="badge alias">
                      @{a}
                    </span>
                  ))
                : '—'}
            </Fact>
            <Fact label="Source run">
              <RunLink runId={versionRunId(v)} names={runNames} />
            </Fact>
            <Fact label="Source">
              {sourceRun ? (
                <Link href={`/runs/${encodeURIComponent(sourceRun)}`} className="mono">
                  {v.source}
                </Link>
              ) : (
                <span className="mono">{v.source || '—'}</span>
              )}
            </Fact>
            <Fact label="Storage location">
              <span className="mono">{storage.data ?? (storage.error ? storage.error.message : '…')}</span>
            </Fact>
            <Fact label="Status">{v.status ?? '—'}</Fact>
            <Fact label="Created">{formatTime(v.creation_timestamp)}</Fact>
            <Fact label="Last modified">{formatTime(v.last_updated_timestamp)}</Fact>
          </dl>
          <DescriptionCard
            text={v.description ?? ''}
            save={(text) => api.updateVersion(name, version, text).then(mv.reload)}
          />
          <TagsCard
            tags={v.tags ?? []}
            setTag={(k, val) => api.setVersionTag(name, version, k, val).then(mv.reload)}
            deleteTag={(k) => api.deleteVersionTag(name, version, k).then(mv.reload)}
          />
          <MlModelCard name={name} version={version} />
        </>
      ) : mv.loading ? (
        <p className="muted">Loading…</p>
      ) : null}
    </main>
  );
}
