// Prometheus' text exposition format (version 0.0.4): counters, gauges and histograms rendered as text.
// Written here rather than taking prom-client: the format is a few lines, the library brings more.

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface HistogramSample {
  labels: Labels;
  /** Upper bounds, ascending; the +Inf bucket is implied. */
  bounds: readonly number[];
  /** Observations at or under each bound (not cumulative; one count per bound, then one for +Inf). */
  counts: readonly number[];
  sum: number;
}

// The format escapes backslash, double quote and newline inside label values.
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function header(name: string, type: string, help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

export function renderSimple(
  name: string,
  type: 'counter' | 'gauge',
  help: string,
  samples: readonly Sample[],
): string {
  let text = header(name, type, help);
  for (const s of samples) text += `${name}${labelText(s.labels)} ${numberText(s.value)}\n`;
  return text;
}

export function renderHistogram(name: string, help: string, samples: readonly HistogramSample[]): string {
  let text = header(name, 'histogram', help);
  for (const s of samples) {
    let cumulative = 0;
    s.bounds.forEach((bound, i) => {
      cumulative += s.counts[i] ?? 0;
      text += `${name}_bucket${labelText(s.labels, ['le', numberText(bound)])} ${cumulative}\n`;
    });
    cumulative += s.counts[s.bounds.length] ?? 0;
    text += `${name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${cumulative}\n`;
    text += `${name}_sum${labelText(s.labels)} ${numberText(s.sum)}\n`;
    text += `${name}_count${labelText(s.labels)} ${cumulative}\n`;
  }
  return text;
}
