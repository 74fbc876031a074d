// Nested JSON arrays as n-dimensional tensors: shape, flattening, numpy dtype inference and casting.
import type { Tensor } from './scoring-input.js';

/** The shape of a rectangular nested array, or undefined when it is ragged. */
export function shapeOf(value: unknown): number[] | undefined {
  if (!Array.isArray(value)) return [];
  if (value.length === 0) return [0];
  const inner = shapeOf(value[0]);
  if (inner === undefined) return undefined;
  for (const item of value) {
    const s = shapeOf(item);
    if (s === undefined || s.length !== inner.length || s.some((n, i) => n !== inner[i])) return undefined;
  }
  return [value.length, ...inner];
}

export function flatten(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const item of value) flatten(item, out);
  else out.push(value);
  return out;
}

/** numpy's dtype for a list of JSON scalars, as np.array would pick it. */
export function inferDtype(values: readonly unknown[]): string {
  let ints = 0;
  let floats = 0;
  let bools = 0;
  let strings = 0;
  let others = 0;
  for (const v of values) {
    if (typeof v === 'number') Number.isInteger(v) ? ints++ : floats++;
    else if (typeof v === 'boolean') bools++;
    else if (typeof v === 'string') strings++;
    else if (v === null)
      floats++; // None among numbers becomes NaN in a float array
    else others++;
  }
  if (others > 0 || (strings > 0 && strings !== values.length)) return 'object';
  if (strings > 0) return 'str';
  if (bools > 0) return bools === values.length ? 'bool' : 'object';
  if (floats > 0)
    return floats === values.filter((v) => v === null).length && ints === 0 ? 'object' : 'float64';
  return 'int64';
}

export function isFloatDtype(dtype: string): boolean {
  return /^float(16|32|64)$/.test(dtype);
}

export function isIntDtype(dtype: string): boolean {
  return /^u?int(8|16|32|64)$/.test(dtype);
}

const INT_RANGE: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * Casts values to `dtype` as np.array(values, dtype=...) would, except that a cast which changes a value
 * (1.5 to an int, text to a number that it is not) is refused: returns undefined then.
 */
export function castValues(values: readonly unknown[], dtype: string): unknown[] | undefined {
  if (isFloatDtype(dtype)) {
    const out: unknown[] = [];
    for (const v of values) {
      if (typeof v === 'number' || v === null) out.push(v);
      else if (typeof v === 'boolean') out.push(v ? 1 : 0);
      else if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) out.push(Number(v));
      else return undefined;
    }
    return out;
  }
  if (isIntDtype(dtype)) {
    const [lo, hi] = INT_RANGE[dtype];
    const out: unknown[] = [];
    for (const v of values) {
      const n = typeof v === 'boolean' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) return undefined;
      out.push(n);
    }
    return out;
  }
  if (dtype === 'bool') return values.every((v) => typeof v === 'boolean') ? [...values] : undefined;
  if (dtype === 'str') return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  return [...values];
}

/** A tensor from a nested array; undefined when ragged. */
export function tensorFrom(value: unknown, dtype?: string): Tensor | undefined {
  const shape = shapeOf(value);
  if (shape === undefined) return undefined;
  const data = flatten(value);
  return { dtype: dtype ?? inferDtype(data), shape, data };
}
