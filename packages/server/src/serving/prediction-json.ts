// Predictions as MLflow's scoring server writes them: {"predictions": ...} where frames are lists of
// records, arrays nested lists, dates ISO text, and NaN/Infinity written bare as Python's json does.

/** A value a runtime returns; typed arrays and dates are encoded here, objects recursively. */
export type Prediction = unknown;

function encode(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (value === Infinity) return 'Infinity';
    if (value === -Infinity) return '-Infinity';
    return Number.isInteger(value) && Math.abs(value) >= 1e21 ? value.toFixed(0) : String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return encode(Array.from(value as unknown as ArrayLike<number | bigint>));
  }
  if (Array.isArray(value)) return `[${value.map(encode).join(', ')}]`;
  if (typeof value === 'object') {
    const parts = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${encode(v)}`);
    return `{${parts.join(', ')}}`;
  }
  return JSON.stringify(String(value));
}

/** The body of a successful /invocations answer. */
export function predictionsBody(predictionsJson: string): string {
  return `{"predictions": ${predictionsJson}}`;
}

/** JSON text for predictions computed in Node (Python workers send theirs already encoded). */
export function encodePredictions(value: Prediction): string {
  return encode(value);
}

/** A flat tensor as the nested lists numpy's tolist() gives. */
export function nest(data: ArrayLike<unknown>, shape: readonly number[]): unknown {
  if (shape.length === 0) return data[0];
  const flat = Array.from(data);
  const build = (offset: number, dim: number): unknown[] => {
    const size = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[dim] }, (_, i) =>
      dim === shape.length - 1 ? flat[offset + i] : build(offset + i * size, dim + 1),
    );
  };
  return build(0, 0);
}
