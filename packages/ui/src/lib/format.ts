// Formatting of times, durations and values for display.

export function formatTime(ms: number | undefined): string {
  if (!ms) return '';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(start: number | undefined, end: number | undefined, now = Date.now()): string {
  if (!start) return '';
  let s = Math.max(0, ((end || now) - start) / 1000);
  if (s < 60) return `${s.toFixed(1)}s`;
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h ${m}m` : `${m}m ${sec}s`;
}

/**
 * A number for display, in `digits` significant digits (6 by default; the runs table uses 4). MLflow's
 * SQL stores keep an infinite metric as the largest double, so that value (and a real infinity) reads
 * `+Inf` / `-Inf`. Tiny and huge values switch to exponent form (`3.774e-4`); integers stay whole.
 */
export function formatNumber(v: number | undefined, digits = 6): string {
  if (v === undefined) return '';
  if (Number.isNaN(v)) return 'NaN';
  if (v >= Number.MAX_VALUE) return '+Inf';
  if (v <= -Number.MAX_VALUE) return '-Inf';
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e15) return String(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e9)) return exponent(v, digits);
  return String(Number(v.toPrecision(digits)));
}

/** Every digit of `v` (for a tooltip), with MLflow's stored infinities as `+Inf` / `-Inf`. */
export function fullNumber(v: number | undefined): string {
  if (v === undefined) return '';
  if (v >= Number.MAX_VALUE) return '+Inf';
  if (v <= -Number.MAX_VALUE) return '-Inf';
  return String(v);
}

/** `v` as `m.mmme±x` with trailing zeros of the mantissa dropped (`1e-5`, not `1.000e-5`). */
function exponent(v: number, digits: number): string {
  const [mantissa, exp] = v.toExponential(digits - 1).split('e');
  const m = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
  return `${m}e${exp.replace('+', '')}`;
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}
