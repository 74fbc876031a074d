import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { api, type Run, tagValue } from '../api';
import { ArtifactBrowser } from '../components/ArtifactBrowser';
import { ErrorBox } from '../components/ErrorBox';
import { LineChart } from '../components/LineChart';
import { Link } from '../components/Link';
import { Markdown } from '../components/Markdown';
import { TagEditor } from '../components/TagEditor';
import { formatDuration, formatNumber, formatTime } from '../lib/format';
import { colorAt } from '../lib/palette';
import { useLoad } from '../lib/use-load';
import { href, type Route, setParams } from '../router';
import { MetricSummary, projectFacts, RunModels } from './RunOverview';

const TABS = ['overview', 'params', 'metrics', 'tags', 'datasets', 'artifacts'] as const;
type Tab = (typeof TABS)[number];
const NOTE = 'mlflow.note.content';

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Overview({
  run,
  experimentName,
  onChanged,
}: {
  run: Run;
  experimentName?: string;
  onChanged(): void;
}) {
  const info = run.info;
  const params = [...(run.data.params ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  const userTags = (run.data.tags ?? [])
    .filter((t) => !t.key.startsWith('mlflow.'))
    .sort((a, b) => a.key.localeCompare(b.key));
  const parentId = tagValue(run, 'mlflow.parentRunId');
  const children = useLoad(
    () =>
      api
        .searchRuns({
          experiment_ids: [info.experiment_id],
          filter: `tags.mlflow.parentRunId = '${info.run_id}'`,
          max_results: 1000,
        })
        .then((r) => r.runs ?? []),
    [info.run_id],
  );
  const source = tagValue(run, 'mlflow.source.name');
  const commit = tagValue(run, 'mlflow.source.git.commit');
  const childList = children.data?.length ? (
    <ul className="inline-list">
      {children.data.map((c) => (
        <li key={c.info.run_id}>
          <Link href={`/runs/${encodeURIComponent(c.info.run_id)}`}>{c.info.run_name || c.info.run_id}</Link>
        </li>
      ))}
    </ul>
  ) : children.loading ? (
    '…'
  ) : (
    '—'
  );
  return (
    <>
      <dl className="facts">
        <Fact label="Status">
          <span className={`status status-${info.status.toLowerCase()}`}>{info.status}</span>
        </Fact>
        <Fact label="Run ID">
          <span className="mono">{info.run_id}</span>
        </Fact>
        <Fact label="Experiment">
          <Link href={href('/runs', { ids: info.experiment_id })}>
            {experimentName ?? `Experiment ${info.experiment_id}`}
          </Link>{' '}
          <span className="muted mono">(ID {info.experiment_id})</span>
        </Fact>
        <Fact label="Started">{formatTime(info.start_time)}</Fact>
        <Fact label="Ended">{formatTime(info.end_time) || '—'}</Fact>
        <Fact label="Duration">{formatDuration(info.start_time, info.end_time)}</Fact>
        <Fact label="User">{info.user_id || tagValue(run, 'mlflow.user') || '—'}</Fact>
        <Fact label="Source">
          {source ? `${source} (${tagValue(run, 'mlflow.source.type') ?? 'unknown type'})` : '—'}
        </Fact>
        <Fact label="Git commit">{commit ? <span className="mono">{commit}</span> : '—'}</Fact>
        {projectFacts(run).map((f) => (
          <Fact key={f.label} label={f.label}>
            <span className="mono">{f.value}</span>
          </Fact>
        ))}
        <Fact label="Lifecycle">{info.lifecycle_stage}</Fact>
        <Fact label="Artifact URI">
          <span className="mono">{info.artifact_uri}</span>
        </Fact>
        <Fact label="Parent run">
          {parentId ? <Link href={`/runs/${encodeURIComponent(parentId)}`}>{parentId}</Link> : '—'}
        </Fact>
        <Fact label="Child runs">{childList}</Fact>
      </dl>
      <Description run={run} onChanged={onChanged} />
      <OverviewCard id="ov-params" title="Parameters">
        <KeyValueTable rows={params} label="Parameters" />
      </OverviewCard>
      <OverviewCard id="ov-metrics" title="Metrics">
        <MetricSummary run={run} />
      </OverviewCard>
      <OverviewCard id="ov-tags" title="Tags">
        {/* Read here, edited in the Tags tab: one editor per page keeps its buttons unambiguous. */}
        <KeyValueTable rows={userTags} label="Tags" />
        <p>
          <Link href={href(`/runs/${encodeURIComponent(info.run_id)}`, { tab: 'tags' })}>Edit tags</Link>
        </p>
      </OverviewCard>
      <OverviewCard id="ov-datasets" title="Datasets">
        <Datasets run={run} />
      </OverviewCard>
      <OverviewCard id="ov-models" title="Models">
        <RunModels run={run} />
      </OverviewCard>
    </>
  );
}

function OverviewCard({ id, title, children }: { id: string; title: string; children: React.ReactNode }) {
  return (
    <section className="card" aria-labelledby={id}>
      <div className="card-head">
        <h2 id={id}>{title}</h2>
      </div>
      {children}
    </section>
  );
}

function Description({ run, onChanged }: { run: Run; onChanged(): void }) {
  const note = tagValue(run, NOTE) ?? '';
  const [draft, setDraft] = useState<string | undefined>();
  const [error, setError] = useState<Error>();
  const save = (e: FormEvent) => {
    e.preventDefault();
    if (draft === undefined) return;
    api.setTag(run.info.run_id, NOTE, draft).then(() => {
      setDraft(undefined);
      setError(undefined);
      onChanged();
    }, setError);
  };
  return (
    <section className="card" aria-labelledby="description-title">
      <div className="card-head">
        <h2 id="description-title">Description</h2>
        {draft === undefined ? (
          <button type="button" className="ghost" onClick={() => setDraft(note)}>
            Edit
          </button>
        ) : null}
      </div>
      <ErrorBox error={error} />
      {draft !== undefined ? (
        <form onSubmit={save} className="stack">
          <textarea
            aria-label="Description (Markdown)"
            rows={8}
            value={draft}
            // biome-ignore lint/a11y/noAutofocus: the user just asked to edit the description
            autoFocus
            onChange={(e) => setDraft(e.target.value)}
          />
          <div className="row">
            <button type="submit">Save</button>
            <button type="button" className="ghost" onClick={() => setDraft(undefined)}>
              Cancel
            </button>
          </div>
        </form>
      ) : note ? (
        <Markdown text={note} />
      ) : (
        <p className="muted">No description.</p>
      )}
    </section>
  );
}

function KeyValueTable({ rows, label }: { rows: { key: string; value: string }[]; label: string }) {
  const [q, setQ] = useState('');
  const shown = rows.filter((r) => r.key.toLowerCase().includes(q.toLowerCase()));
  return (
    <>
      <input
        type="search"
        placeholder={`Find ${label.toLowerCase()}`}
        aria-label={`Find ${label.toLowerCase()}`}
        value={q}
        onChange={(e) => setQ(e.target.value)}
      />
      <table className="grid" aria-label={label}>
        <thead>
          <tr>
            <th>Key</th>
            <th>Value</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.key}>
              <td className="mono">{r.key}</td>
              <td className="wrap">{r.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 ? <p className="muted">None.</p> : null}
    </>
  );
}

function Sparkline({ runId, metricKey }: { runId: string; metricKey: string }) {
  const history = useLoad(
    (signal) =>
      api.metricHistoryInterval(
        { run_ids: [runId], metric_key: metricKey, max_results: 200, sampling: 'MIN_MAX' },
        signal,
      ),
    [runId, metricKey],
  );
  const points = history.data?.metrics ?? [];
  if (points.length < 2) return null;
  const sorted = [...points].sort((a, b) => a.step - b.step);
  return (
    <LineChart
      compact
      height={40}
      label={`History of ${metricKey}`}
      xKind="step"
      series={[
        {
          label: metricKey,
          color: colorAt(0),
          x: sorted.map((p) => p.step),
          y: sorted.map((p) => (Number.isFinite(Number(p.value)) ? Number(p.value) : null)),
        },
      ]}
    />
  );
}

function Metrics({ run }: { run: Run }) {
  const metrics = [...(run.data.metrics ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  if (metrics.length === 0) return <p className="muted">No metrics.</p>;
  return (
    <table className="grid" aria-label="Metrics">
      <thead>
        <tr>
          <th>Metric</th>
          <th className="num">Latest</th>
          <th className="num">Step</th>
          <th>Logged</th>
          <th className="spark-col">History</th>
        </tr>
      </thead>
      <tbody>
        {metrics.map((m) => (
          <tr key={m.key}>
            <td>
              <Link href={href('/metrics', { runs: run.info.run_id, key: m.key })}>{m.key}</Link>
            </td>
            <td className="num">{formatNumber(Number(m.value))}</td>
            <td className="num">{m.step}</td>
            <td>{formatTime(m.timestamp)}</td>
            <td className="spark-col">
              <Sparkline runId={run.info.run_id} metricKey={m.key} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Tags({ run, onChanged }: { run: Run; onChanged(): void }) {
  const [showSystem, setShowSystem] = useState(false);
  const tags = (run.data.tags ?? []).filter((t) => showSystem || !t.key.startsWith('mlflow.'));
  return (
    <TagEditor
      tags={tags}
      setTag={(key, value) => api.setTag(run.info.run_id, key, value)}
      deleteTag={(key) => api.deleteTag(run.info.run_id, key)}
      onChanged={onChanged}
      formClassName="inline-form card"
      columnNames
      head={(add) => (
        <div className="toolbar">
          <button type="button" onClick={add}>
            Add tag
          </button>
          <label className="check">
            <input type="checkbox" checked={showSystem} onChange={(e) => setShowSystem(e.target.checked)} />
            Show system tags (mlflow.*)
          </label>
        </div>
      )}
    />
  );
}

function Datasets({ run }: { run: Run }) {
  const inputs = run.inputs?.dataset_inputs ?? [];
  if (inputs.length === 0) return <p className="muted">No datasets were logged for this run.</p>;
  return (
    <div className="stack">
      {inputs.map((d) => (
        <section
          key={`${d.dataset.name}-${d.dataset.digest}-${d.tags?.map((t) => t.value).join() ?? ''}`}
          className="card"
          aria-label={`Dataset ${d.dataset.name}`}
        >
          <h3>
            {d.dataset.name} <span className="muted mono">{d.dataset.digest}</span>
          </h3>
          <dl className="facts">
            <div className="fact">
              <dt>Source type</dt>
              <dd>{d.dataset.source_type}</dd>
            </div>
            <div className="fact">
              <dt>Source</dt>
              <dd className="mono wrap">{d.dataset.source}</dd>
            </div>
            {(d.tags ?? []).map((t) => (
              <div className="fact" key={t.key}>
                <dt>{t.key === 'mlflow.data.context' ? 'Context' : t.key}</dt>
                <dd>{t.value}</dd>
              </div>
            ))}
          </dl>
          {d.dataset.schema ? (
            <details>
              <summary>Schema</summary>
              <pre className="code">{prettyJson(d.dataset.schema)}</pre>
            </details>
          ) : null}
          {d.dataset.profile ? (
            <details>
              <summary>Profile</summary>
              <pre className="code">{prettyJson(d.dataset.profile)}</pre>
            </details>
          ) : null}
        </section>
      ))}
    </div>
  );
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function RunPage({ runId, route }: { runId: string; route: Route }) {
  const tab = (TABS as readonly string[]).includes(route.params.get('tab') ?? '')
    ? (route.params.get('tab') as Tab)
    : 'overview';
  const run = useLoad(() => api.getRun(runId).then((r) => r.run), [runId]);
  const data = run.data;
  // A RUNNING run is polled so its status, metrics and end time update live.
  const running = data?.info.status === 'RUNNING';
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(run.reload, 3000);
    return () => clearInterval(timer);
  }, [running, run.reload]);
  // The breadcrumb names the experiment; until its name arrives (or if it cannot) it shows the id.
  const experimentId = data?.info.experiment_id;
  const experiment = useLoad(
    async () => (experimentId === undefined ? undefined : (await api.getExperiment(experimentId)).experiment),
    [experimentId],
  );
  const params = useMemo(
    () => [...(data?.data.params ?? [])].sort((a, b) => a.key.localeCompare(b.key)),
    [data],
  );

  return (
    <main className="page">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/">Experiments</Link>
        {data ? (
          <>
            {' / '}
            <Link href={href('/runs', { ids: data.info.experiment_id })}>
              {experiment.data?.name ?? `Experiment ${data.info.experiment_id}`}
            </Link>
          </>
        ) : null}
      </nav>
      <div className="page-head">
        <h1>{data?.info.run_name || runId}</h1>
        {data ? (
          <span className={`status status-${data.info.status.toLowerCase()}`}>{data.info.status}</span>
        ) : null}
      </div>
      <ErrorBox error={run.error} />
      <div className="tabs" role="tablist" aria-label="Run sections">
        {TABS.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={t === tab}
            className={t === tab ? 'tab active' : 'tab'}
            onClick={() => setParams({ tab: t === 'overview' ? null : t, path: null })}
            onKeyDown={(e) => {
              const i = TABS.indexOf(t);
              const next =
                e.key === 'ArrowRight'
                  ? TABS[(i + 1) % TABS.length]
                  : e.key === 'ArrowLeft'
                    ? TABS[(i + TABS.length - 1) % TABS.length]
                    : undefined;
              if (next) {
                e.preventDefault();
                setParams({ tab: next === 'overview' ? null : next, path: null });
                requestAnimationFrame(() =>
                  (document.querySelector('[role=tab][aria-selected=true]') as HTMLElement | null)?.focus(),
                );
              }
            }}
          >
            {t[0].toUpperCase() + t.slice(1)}
          </button>
        ))}
      </div>
      {data ? (
        <div role="tabpanel" aria-label={tab}>
          {tab === 'overview' ? (
            <Overview run={data} experimentName={experiment.data?.name} onChanged={run.reload} />
          ) : null}
          {tab === 'params' ? <KeyValueTable rows={params} label="Parameters" /> : null}
          {tab === 'metrics' ? <Metrics run={data} /> : null}
          {tab === 'tags' ? <Tags run={data} onChanged={run.reload} /> : null}
          {tab === 'datasets' ? <Datasets run={data} /> : null}
          {tab === 'artifacts' ? (
            <ArtifactBrowser runId={runId} path={route.params.get('path') ?? ''} />
          ) : null}
        </div>
      ) : run.loading ? (
        <p className="muted">Loading…</p>
      ) : null}
    </main>
  );
}
