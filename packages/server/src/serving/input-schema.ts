// The model signature's input and params schemas read into the shapes enforcement works on, with
// MLflow's Python repr of them (it appears inside MLflow's error messages).
import type { ModelSignature, ParamSpec, SchemaEntry } from '../models/mlmodel.js';

/** MLflow's scalar column types (mlflow.types.DataType). */
export type ColumnType =
  | 'boolean'
  | 'integer'
  | 'long'
  | 'float'
  | 'double'
  | 'string'
  | 'binary'
  | 'datetime';

const COLUMN_TYPES = new Set<string>([
  'boolean',
  'integer',
  'long',
  'float',
  'double',
  'string',
  'binary',
  'datetime',
]);

export interface ColumnSpec {
  name?: string;
  /** A scalar type, or null for array/object/map/any columns, which are passed through unchecked. */
  type: ColumnType | null;
  /** The type as the signature wrote it, for messages. */
  typeName: string;
  required: boolean;
}

export interface TensorSpec {
  name?: string;
  /** A numpy dtype name such as float64, int32, bool, str, object. */
  dtype: string;
  shape: number[];
}

export type InputSchema =
  | { kind: 'columns'; columns: ColumnSpec[]; named: boolean }
  | { kind: 'tensors'; tensors: TensorSpec[]; named: boolean };

export interface ParamSchemaEntry {
  name: string;
  type: string;
  default: unknown;
  shape: number[] | null;
}

function columnSpec(entry: SchemaEntry): ColumnSpec {
  const scalar = COLUMN_TYPES.has(entry.type) ? (entry.type as ColumnType) : null;
  return {
    name: entry.name,
    type: scalar,
    typeName: entry.type,
    required: entry.required !== false,
  };
}

function tensorSpec(entry: SchemaEntry): TensorSpec {
  const info = (entry['tensor-spec'] ?? {}) as { dtype?: unknown; shape?: unknown };
  const shape = Array.isArray(info.shape) ? info.shape.map(Number) : [-1];
  return { name: entry.name, dtype: typeof info.dtype === 'string' ? info.dtype : 'object', shape };
}

/** The signature's input schema, or undefined when the model has none (then nothing is enforced). */
export function inputSchemaOf(signature: ModelSignature | undefined): InputSchema | undefined {
  const inputs = signature?.inputs;
  if (!inputs || inputs.length === 0) return undefined;
  const named = inputs.every((entry) => typeof entry.name === 'string');
  if (inputs[0].type === 'tensor') return { kind: 'tensors', tensors: inputs.map(tensorSpec), named };
  return { kind: 'columns', columns: inputs.map(columnSpec), named };
}

export function paramSchemaOf(signature: ModelSignature | undefined): ParamSchemaEntry[] | undefined {
  const params = signature?.params;
  if (!params) return undefined;
  return params.map((p: ParamSpec) => ({
    name: p.name,
    type: p.type,
    default: p.default ?? null,
    shape: Array.isArray(p.shape) ? p.shape.map(Number) : null,
  }));
}

/** Python's repr of a str. */
export function pyStr(text: string): string {
  return text.includes("'") && !text.includes('"') ? `"${text}"` : `'${text.replaceAll("'", "\\'")}'`;
}

/** Python's repr of a list of names: ['a', 'b']. */
export function pyList(names: readonly string[]): string {
  return `[${names.map(pyStr).join(', ')}]`;
}

/** Python's repr of a shape tuple: (-1,), (2, 3). */
export function pyShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** MLflow's Schema repr, e.g. ['x': double (required), 'y': long (optional)]. */
export function schemaRepr(schema: InputSchema): string {
  if (schema.kind === 'columns') {
    const parts = schema.columns.map((c) => {
      const required = c.required ? '(required)' : '(optional)';
      return c.name === undefined
        ? `${c.typeName} ${required}`
        : `${pyStr(c.name)}: ${c.typeName} ${required}`;
    });
    return `[${parts.join(', ')}]`;
  }
  const parts = schema.tensors.map((t) => {
    const body = `Tensor('${t.dtype}', ${pyShape(t.shape)})`;
    return t.name === undefined ? body : `${pyStr(t.name)}: ${body}`;
  });
  return `[${parts.join(', ')}]`;
}
