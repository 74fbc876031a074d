// The runs table's columns: ids like "attr:status", "metric:acc", "param:lr", "tag:team", their
// values, and the order_by clause that sorts by each on the server.
// With .js extensions: the unit tests also type-check this file under Node's module resolution.
import { type Run, tagValue } from '../api.js';
import { formatDuration, formatNumber, formatTime } from './format.js';

export type ColumnKind = 'attr' | 'metric' | 'param' | 'tag';
export interface ColumnId {
  kind: ColumnKind;
  key: string;
}

export const ATTRIBUTES: { key: string; label: string; orderBy?: string; width: number }[] = [
  { key: 'status', label: 'Status', orderBy: 'attributes.status', width: 100 },
  { key: 'start_time', label: 'Created', orderBy: 'attributes.start_time', width: 180 },
  { key: 'duration', label: 'Duration', width: 90 },
  { key: 'user_id', label: 'User', orderBy: 'attributes.user_id', width: 110 },
  { key: 'source', label: 'Source', width: 160 },
  { key: 'version', label: 'Version', width: 90 },
  { key: 'experiment_id', label: 'Experiment', width: 100 },
  { key: 'run_id', label: 'Run ID', width: 120 },
  { key: 'end_time', label: 'Ended', orderBy: 'attributes.end_time', width: 180 },
];

export const DEFAULT_ATTRIBUTES = ['status', 'start_time', 'duration', 'user_id'];

/**
 * The columns shown before the user picks any: the default attributes (and the experiment, when runs
 * of several experiments are listed together), the first metrics and the first params.
 */
export function defaultColumns(
  keys: { metric: string[]; param: string[] },
  experimentCount: number,
): string[] {
  const attributes = experimentCount > 1 ? [...DEFAULT_ATTRIBUTES, 'experiment_id'] : DEFAULT_ATTRIBUTES;
  return [
    ...attributes.map((k) => `attr:${k}`),
    ...keys.metric.slice(0, 4).map((k) => `metric:${k}`),
    ...keys.param.slice(0, 3).map((k) => `param:${k}`),
  ];
}

export function parseColumn(id: string): ColumnId | undefined {
  const i = id.indexOf(':');
  if (i < 0) return undefined;
  const kind = id.slice(0, i) as ColumnKind;
  if (!['attr', 'metric', 'param', 'tag'].includes(kind)) return undefined;
  return { kind, key: id.slice(i + 1) };
}

export function columnIdString(c: ColumnId): string {
  return `${c.kind}:${c.key}`;
}

/** Backquotes a key for MLflow's grammar (keys may contain dots, spaces and dashes). */
function quoted(key: string): string {
  return `\`${key}\``;
}

export function orderByFor(c: ColumnId): string | undefined {
  if (c.kind === 'attr') return ATTRIBUTES.find((a) => a.key === c.key)?.orderBy;
  const entity = { metric: 'metrics', param: 'params', tag: 'tags' }[c.kind];
  return `${entity}.${quoted(c.key)}`;
}

/** The runs table's header groups, in the order their columns are shown (attributes first, ungrouped). */
export const GROUPS: Record<ColumnKind, string> = {
  attr: '',
  metric: 'Metrics',
  param: 'Parameters',
  tag: 'Tags',
};
const KIND_ORDER: ColumnKind[] = ['attr', 'metric', 'param', 'tag'];

/**
 * The chosen columns grouped by kind (attributes, metrics, params, tags), each group keeping the
 * user's order, so the header can span each group once; ids that do not parse are dropped.
 */
export function groupColumns(chosen: string[]): ColumnId[] {
  const parsed = chosen.map(parseColumn).filter((c): c is ColumnId => c !== undefined);
  return KIND_ORDER.flatMap((kind) => parsed.filter((c) => c.kind === kind));
}

export function columnLabel(c: ColumnId): string {
  if (c.kind === 'attr') return ATTRIBUTES.find((a) => a.key === c.key)?.label ?? c.key;
  return c.key;
}

/** Significant digits of a metric in the runs table; the cell's tooltip has them all. */
export const TABLE_DIGITS = 4;

/** Per-run lookups of metrics, params and tags, built once per run object. */
const indexCache = new WeakMap<
  Run,
  { metrics: Map<string, number>; params: Map<string, string>; tags: Map<string, string> }
>();
export function runIndex(run: Run) {
  let idx = indexCache.get(run);
  if (!idx) {
    idx = {
      metrics: new Map((run.data.metrics ?? []).map((m) => [m.key, m.value])),
      params: new Map((run.data.params ?? []).map((p) => [p.key, p.value])),
      tags: new Map((run.data.tags ?? []).map((t) => [t.key, t.value])),
    };
    indexCache.set(run, idx);
  }
  return idx;
}

/** A compared or plotted value by id, "param:lr" or "metric:acc", as text (undefined when absent). */
export function runValue(run: Run, id: string): string | undefined {
  const idx = runIndex(run);
  if (id.startsWith('param:')) return idx.params.get(id.slice(6));
  if (id.startsWith('metric:')) {
    const v = idx.metrics.get(id.slice(7));
    return v === undefined ? undefined : String(v);
  }
  return undefined;
}

/** A cell's text; `experimentNames` (id to name) lets the experiment column show names. */
export function cellText(
  run: Run,
  c: ColumnId,
  now: number,
  experimentNames?: ReadonlyMap<string, string>,
): string {
  const idx = runIndex(run);
  switch (c.kind) {
    case 'metric':
      return formatNumber(idx.metrics.get(c.key), TABLE_DIGITS);
    case 'param':
      return idx.params.get(c.key) ?? '';
    case 'tag':
      return idx.tags.get(c.key) ?? '';
  }
  const info = run.info;
  switch (c.key) {
    case 'status':
      return info.status;
    case 'start_time':
      return formatTime(info.start_time);
    case 'end_time':
      return formatTime(info.end_time);
    case 'duration':
      return formatDuration(info.start_time, info.end_time, now);
    case 'user_id':
      return info.user_id || tagValue(run, 'mlflow.user') || '';
    case 'source':
      return (tagValue(run, 'mlflow.source.name') ?? '').split('/').pop() ?? '';
    case 'version':
      return (tagValue(run, 'mlflow.source.git.commit') ?? '').slice(0, 8);
    case 'experiment_id':
      return experimentNames?.get(info.experiment_id) ?? info.experiment_id;
    case 'run_id':
      return info.run_id;
  }
  return '';
}

/** Metric, param and tag keys present in the runs, each sorted. */
export function discoverKeys(runs: Run[]): { metric: string[]; param: string[]; tag: string[] } {
  const metric = new Set<string>();
  const param = new Set<string>();
  const tag = new Set<string>();
  for (const r of runs) {
    for (const m of r.data.metrics ?? []) metric.add(m.key);
    for (const p of r.data.params ?? []) param.add(p.key);
    for (const t of r.data.tags ?? []) if (!t.key.startsWith('mlflow.')) tag.add(t.key);
  }
  const sorted = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b));
  return { metric: sorted(metric), param: sorted(param), tag: sorted(tag) };
}
