// The signature applied to a parsed request, as MLflow's _enforce_schema does: named columns must be
// present (optional ones may be missing, extra ones are dropped), column values must convert to the
// declared type without changing, and tensors must match their dtype and shape.
import {
  type ColumnSpec,
  type InputSchema,
  pyList,
  pyShape,
  schemaRepr,
  type TensorSpec,
} from './input-schema.js';
import { TF_SERVING_HELP } from './json-request.js';
import { badRequest, EnforcementError, schemaViolation } from './scoring-errors.js';
import type { FrameColumn, ModelInput, ParsedInput, Tensor } from './scoring-input.js';
import { castValues, inferDtype, isFloatDtype, isIntDtype, shapeOf, tensorFrom } from './tensors.js';

/** numpy's name for each MLflow column type (DataType.to_numpy). */
const NUMPY_TYPE: Record<string, string> = {
  boolean: 'bool',
  integer: 'int32',
  long: 'int64',
  float: 'float32',
  double: 'float64',
  string: 'object',
  binary: 'bytes',
  datetime: 'datetime64[ns]',
};

const MISSING_VALUES_HINT =
  ' Hint: the type mismatch is likely caused by missing values. Integer columns in python can not ' +
  'represent missing values and are therefore encoded as floats. The best way to avoid this problem ' +
  'is to infer the model schema based on a realistic data sample (training dataset) that includes ' +
  'missing values. Alternatively, you can declare integer columns as doubles (float64) whenever these ' +
  'columns may have missing values. See `Handling Integers With Missing Values ' +
  '<https://www.mlflow.org/docs/latest/models.html#handling-integers-with-missing-values>`_ for more details.';

/** pandas' dtype for a column of JSON values (what a DataFrame built from them would hold). */
export function frameDtype(values: readonly unknown[]): string {
  const dtype = inferDtype(values);
  if (dtype === 'str') return 'object';
  if (dtype === 'object' && values.every((v) => typeof v === 'number' || v === null)) return 'float64';
  return dtype;
}

function incompatible(name: string, actual: string, expected: string, hint = ''): EnforcementError {
  return new EnforcementError(
    `Incompatible input types for column ${name}. Can not safely convert ${actual} to ${expected}.${hint}`,
  );
}

const DATE = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** One column converted to its declared type (MLflow's _enforce_mlflow_datatype, JSON values). */
function enforceColumn(name: string, values: unknown[], spec: ColumnSpec): FrameColumn {
  const actual = frameDtype(values);
  if (spec.type === null) return { name, dtype: 'object', values };
  const expected = NUMPY_TYPE[spec.type];
  switch (spec.type) {
    case 'string':
      // pandas reads a string column's JSON as objects, whatever they are, and MLflow passes an object
      // column through unchanged: numbers reach the model as numbers.
      return { name, dtype: 'object', values };
    case 'binary':
      if (values.every((v) => typeof v === 'string' || v === null)) return { name, dtype: 'bytes', values };
      throw incompatible(name, actual, expected);
    case 'boolean':
      if (
        actual === 'bool' ||
        (actual === 'object' && values.every((v) => typeof v === 'boolean' || v === null))
      )
        return { name, dtype: actual, values };
      throw incompatible(name, actual, expected);
    case 'datetime':
      if (
        values.every(
          (v) => v === null || (typeof v === 'string' && DATE.test(v) && !Number.isNaN(Date.parse(v))),
        )
      )
        return { name, dtype: expected, values };
      throw new EnforcementError(`Failed to convert column ${name} from type ${actual} to datetime.`);
    case 'integer':
    case 'long': {
      const cast = values.includes(null) ? undefined : castValues(values, expected);
      if (cast && actual !== 'bool') return { name, dtype: expected, values: cast };
      const hint =
        actual === 'float64' &&
        values.includes(null) &&
        values.every((v) => v === null || (typeof v === 'number' && Number.isInteger(v)))
          ? MISSING_VALUES_HINT
          : '';
      throw incompatible(name, actual, expected, hint);
    }
    case 'float':
    case 'double': {
      // pandas reads JSON numbers into the declared float type before MLflow checks it; text is refused.
      if (values.every((v) => typeof v === 'number' || typeof v === 'boolean' || v === null))
        return { name, dtype: expected, values: castValues(values, expected) ?? values };
      throw incompatible(name, actual, expected);
    }
  }
}

function frameColumns(parsed: Extract<ParsedInput, { kind: 'frame' }>): Map<string, unknown[]> {
  const columns = new Map<string, unknown[]>();
  parsed.columns.forEach((name, i) => {
    columns.set(
      name,
      parsed.rows.map((row) => row[i]),
    );
  });
  return columns;
}

/** Tensor-shaped JSON as a DataFrame's columns (pd.DataFrame(list) / pd.DataFrame(dict)). */
function tensorAsColumns(
  parsed: ParsedInput,
  schema: Extract<InputSchema, { kind: 'columns' }>,
): Map<string, unknown[]> {
  if (parsed.kind === 'frame') return frameColumns(parsed);
  const columns = new Map<string, unknown[]>();
  if (parsed.kind === 'tensors') {
    const scalars = Object.values(parsed.data).every((v) => !Array.isArray(v));
    for (const [k, v] of Object.entries(parsed.data)) columns.set(k, scalars ? [v] : (v as unknown[]));
    return columns;
  }
  const data = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  const required = schema.columns.filter((c) => c.required);
  if (schema.named && required.length === 1 && data.every((v) => !Array.isArray(v))) {
    columns.set(required[0].name as string, data);
    return columns;
  }
  const width = data.reduce<number>((n, row) => Math.max(n, Array.isArray(row) ? row.length : 1), 0);
  for (let i = 0; i < width; i++) {
    columns.set(
      String(i),
      data.map((row) => (Array.isArray(row) ? (row[i] ?? null) : i === 0 ? row : null)),
    );
  }
  return columns;
}

function enforceColumns(parsed: ParsedInput, schema: Extract<InputSchema, { kind: 'columns' }>): ModelInput {
  const columns = tensorAsColumns(parsed, schema);
  const rowCount = columns.size === 0 ? 0 : (columns.values().next().value as unknown[]).length;
  const out: FrameColumn[] = [];
  if (schema.named) {
    const required = schema.columns.filter((c) => c.required).map((c) => c.name as string);
    const optional = new Set(schema.columns.filter((c) => !c.required).map((c) => c.name as string));
    const missing = required.filter((n) => !columns.has(n));
    if (missing.length > 0) {
      const extra = [...columns.keys()].filter((n) => !required.includes(n) && !optional.has(n));
      let message = `Model is missing inputs ${pyList(missing)}.`;
      if (extra.length > 0) message += ` Note that there were extra inputs: ${pyList(extra)}`;
      throw new EnforcementError(message);
    }
    for (const spec of schema.columns) {
      const values = columns.get(spec.name as string);
      if (values !== undefined) out.push(enforceColumn(spec.name as string, values, spec));
    }
  } else {
    const names = [...columns.keys()];
    if (names.length < schema.columns.length) {
      throw new EnforcementError(
        `Model inference is missing inputs. The model signature declares ${schema.columns.length} inputs  but the provided value only has ${names.length} inputs. Note: the inputs were not named in the signature so we can only verify their count.`,
      );
    }
    schema.columns.forEach((spec, i) => {
      out.push(enforceColumn(names[i], columns.get(names[i]) as unknown[], spec));
    });
  }
  return { kind: 'frame', columns: out, rowCount };
}

/** A tensor checked against its spec (MLflow's _enforce_tensor_spec). */
function enforceTensor(value: unknown, spec: TensorSpec): Tensor {
  const shape = shapeOf(value);
  // np.array of a ragged list with a numeric dtype fails while the request is parsed.
  if (shape === undefined) throw badRequest(TF_SERVING_HELP);
  const tensor = tensorFrom(value) as Tensor;
  const mismatch = new EnforcementError(
    `Shape of input ${pyShape(shape)} does not match expected shape ${pyShape(spec.shape)}.`,
  );
  if (shape.length !== spec.shape.length) throw mismatch;
  spec.shape.forEach((n, i) => {
    if (n !== -1 && n !== shape[i]) throw mismatch;
  });
  const numericSpec = isFloatDtype(spec.dtype) || isIntDtype(spec.dtype);
  const cast = castValues(tensor.data, spec.dtype);
  if (cast === undefined) {
    // Text that is not a number never becomes a numeric array: MLflow fails while parsing.
    if (numericSpec && tensor.dtype === 'str') throw badRequest(TF_SERVING_HELP);
    throw new EnforcementError(`dtype of input ${tensor.dtype} does not match expected dtype ${spec.dtype}`);
  }
  return { dtype: spec.dtype, shape, data: cast };
}

function enforceTensors(parsed: ParsedInput, schema: Extract<InputSchema, { kind: 'tensors' }>): ModelInput {
  if (!schema.named) {
    const spec = schema.tensors[0];
    if (parsed.kind === 'tensors') throw badRequest(TF_SERVING_HELP);
    if (parsed.kind === 'tensor') return { kind: 'tensor', tensor: enforceTensor(parsed.data, spec) };
    // A DataFrame for an unnamed tensor: one column is the tensor, several are its columns.
    if (parsed.columns.length === 1) {
      const column = parsed.rows.map((row) => row[0]);
      const scalar = column.every((v) => !Array.isArray(v));
      const accepted = spec.shape.length === 1 || (spec.shape.length === 2 && spec.shape[1] === 1);
      if (scalar && !accepted) {
        throw new EnforcementError(
          `The input pandas dataframe column 'None' contains scalar values, which requires the shape to be (-1,) or (-1, 1), but got tensor spec shape of ${pyShape(spec.shape)}.`,
        );
      }
      const value = scalar && spec.shape.length === 2 ? column.map((v) => [v]) : column;
      return { kind: 'tensor', tensor: enforceTensor(value, spec) };
    }
    if (spec.shape.length !== 2 || spec.shape[0] !== -1 || spec.shape[1] !== parsed.columns.length) {
      throw new EnforcementError(
        'This model contains a model signature with an unnamed input. Since the input data is a pandas ' +
          'DataFrame containing multiple columns, the input shape must be of the structure ' +
          `(-1, number_of_dataframe_columns). Instead, the input DataFrame passed had ${parsed.columns.length} ` +
          `columns and an input shape of ${pyShape(spec.shape)} with all values within the DataFrame of scalar ` +
          'type. Please adjust the passed in DataFrame to match the expected structure',
      );
    }
    return { kind: 'tensor', tensor: enforceTensor(parsed.rows, spec) };
  }
  let byName: Record<string, unknown>;
  if (parsed.kind === 'tensors') byName = parsed.data;
  else if (parsed.kind === 'frame') byName = Object.fromEntries(frameColumns(parsed));
  else if (schema.tensors.length === 1) byName = { [schema.tensors[0].name as string]: parsed.data };
  else throw badRequest(TF_SERVING_HELP);
  const missing = schema.tensors.map((t) => t.name as string).filter((n) => !Object.hasOwn(byName, n));
  if (missing.length > 0) {
    const extra = Object.keys(byName).filter((n) => !schema.tensors.some((t) => t.name === n));
    let message = `Model is missing inputs ${pyList(missing)}.`;
    if (extra.length > 0) message += ` Note that there were extra inputs: ${pyList(extra)}`;
    throw new EnforcementError(message);
  }
  const tensors: Record<string, Tensor> = {};
  for (const spec of schema.tensors)
    tensors[spec.name as string] = enforceTensor(byName[spec.name as string], spec);
  return { kind: 'tensors', tensors };
}

/** The input without a signature: columns and tensors with the dtypes numpy and pandas would infer. */
function unchecked(parsed: ParsedInput): ModelInput {
  if (parsed.kind === 'frame') {
    const columns = [...frameColumns(parsed)].map(([name, values]) => ({
      name,
      dtype: frameDtype(values),
      values,
    }));
    return { kind: 'frame', columns, rowCount: parsed.rows.length };
  }
  const tensor = (value: unknown): Tensor => {
    const t = tensorFrom(value);
    if (t === undefined) throw badRequest(TF_SERVING_HELP);
    return t;
  };
  if (parsed.kind === 'tensor') return { kind: 'tensor', tensor: tensor(parsed.data) };
  return {
    kind: 'tensors',
    tensors: Object.fromEntries(Object.entries(parsed.data).map(([k, v]) => [k, tensor(v)])),
  };
}

/** Applies the input schema (if any); signature violations are 400s worded as MLflow words them. */
export function enforceInput(parsed: ParsedInput, schema: InputSchema | undefined): ModelInput {
  if (schema === undefined) return unchecked(parsed);
  try {
    return schema.kind === 'columns' ? enforceColumns(parsed, schema) : enforceTensors(parsed, schema);
  } catch (error) {
    if (error instanceof EnforcementError) throw schemaViolation(schemaRepr(schema), error.message);
    throw error;
  }
}
