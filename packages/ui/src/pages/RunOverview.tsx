// Sections of the run page's overview beyond its facts (MLflow 3 shows these there): each metric's
// latest, smallest and largest value, the models logged in the run and the registry versions made
// from it, and the project facts of a run started by `mlflow run`.
import { api, type Run, tagValue, versionHref } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { Link } from '../components/Link';
import { formatNumber, formatTime } from '../lib/format';
import { metricRanges } from '../lib/metric-range';
import { useLoad } from '../lib/use-load';
import { href } from '../router';

/** Metric keys per ranges request (the server takes 25). */
const KEYS_PER_REQUEST = 25;

async function loadRanges(run: Run, signal: AbortSignal) {
  const keys = (run.data.metrics ?? []).map((m) => m.key);
  const series = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_REQUEST) {
    const page = await api.metricHistories(
      {
        run_ids: [run.info.run_id],
        metric_keys: keys.slice(i, i + KEYS_PER_REQUEST),
        max_results: 2500,
        sampling: 'MIN_MAX',
      },
      signal,
    );
    series.push(...page.series);
  }
  return metricRanges(series);
}

export function MetricSummary({ run }: { run: Run }) {
  const metrics = [...(run.data.metrics ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  const ranges = useLoad((signal) => loadRanges(run, signal), [run.info.run_id, metrics.length]);
  if (metrics.length === 0) return <p className="muted">No metrics.</p>;
  const range = (key: string, end: 'min' | 'max') => {
    const r = ranges.data?.get(key);
    return r ? formatNumber(r[end]) : ranges.loading ? '…' : '—';
  };
  return (
    <>
      <ErrorBox error={ranges.error} />
      <table className="grid" aria-label="Metric summary">
        <thead>
          <tr>
            <th>Metric</th>
            <th className="num">Latest</th>
            <th className="num">Min</th>
            <th className="num">Max</th>
            <th className="num">Step</th>
          </tr>
        </thead>
        <tbody>
          {metrics.map((m) => (
            <tr key={m.key}>
              <td>
                <Link href={href('/metrics', { runs: run.info.run_id, key: m.key })}>{m.key}</Link>
              </td>
              <td className="num">{formatNumber(Number(m.value))}</td>
              <td className="num">{range(m.key, 'min')}</td>
              <td className="num">{range(m.key, 'max')}</td>
              <td className="num">{m.step}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** A quoted string for MLflow's filter grammar (run ids never hold quotes; this is belt and braces). */
const quoted = (s: string) => `'${s.replace(/'/g, '')}'`;

export function RunModels({ run }: { run: Run }) {
  const runId = run.info.run_id;
  const logged = useLoad(
    () =>
      api
        .searchLoggedModels({
          experiment_ids: [run.info.experiment_id],
          filter: `source_run_id = ${quoted(runId)}`,
          max_results: 100,
        })
        .then((r) => r.models ?? []),
    [runId],
  );
  const versions = useLoad(
    () =>
      api
        .searchVersions({ filter: `run_id = ${quoted(runId)}`, max_results: 200 })
        .then((r) => r.model_versions ?? []),
    [runId],
  );
  return (
    <>
      <ErrorBox error={logged.error ?? versions.error} />
      <h3>Logged models</h3>
      {logged.data?.length ? (
        <ul className="inline-list" aria-label="Logged models">
          {logged.data.map((m) => (
            <li key={m.info.model_id}>
              {m.info.name} <span className="muted mono">({m.info.model_id})</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">{logged.loading ? '…' : 'None.'}</p>
      )}
      <h3>Registered model versions</h3>
      {versions.data?.length ? (
        <ul className="inline-list" aria-label="Registered model versions">
          {versions.data.map((v) => (
            <li key={`${v.name}/${v.version}`}>
              <Link href={versionHref(v.name, v.version)}>
                {v.name} v{v.version}
              </Link>{' '}
              <span className="muted">{formatTime(v.creation_timestamp)}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">{versions.loading ? '…' : 'None.'}</p>
      )}
    </>
  );
}

/** The facts `mlflow run` records as tags; nothing for a run that was not started from a project. */
export function projectFacts(run: Run): { label: string; value: string }[] {
  const facts: [string, string][] = [
    ['Entry point', 'mlflow.project.entryPoint'],
    ['Project backend', 'mlflow.project.backend'],
    ['Project environment', 'mlflow.project.env'],
    ['Git repository', 'mlflow.source.git.repoURL'],
    ['Git branch', 'mlflow.source.git.branch'],
  ];
  return facts.flatMap(([label, key]) => {
    const value = tagValue(run, key);
    return value ? [{ label, value }] : [];
  });
}
