// The request's `params` checked against the signature's params schema, as MLflow's
// _enforce_params_schema does: unknown names are dropped, absent ones take their default, and a value
// of the wrong type fails the request with every bad param named.
import type { ParamSchemaEntry } from './input-schema.js';
import { pyTypeName } from './json-request.js';
import { MlflowError } from './scoring-errors.js';

// Which JSON number kinds each numeric param type accepts (MLflow: int -> long, float, double).
const NUMERIC: Record<string, 'int' | 'number'> = {
  integer: 'int',
  long: 'int',
  float: 'number',
  double: 'number',
};

function typeError(value: unknown, type: string): string | undefined {
  const numeric = NUMERIC[type];
  if (numeric) {
    if (typeof value !== 'number' || typeof value === 'boolean') return 'unsafe';
    if (numeric === 'int' && !Number.isInteger(value)) return 'unsafe';
    return undefined;
  }
  if (type === 'string') return typeof value === 'string' ? undefined : 'unsafe';
  if (type === 'boolean') return typeof value === 'boolean' ? undefined : 'unsafe';
  if (type === 'datetime') {
    return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? undefined : 'datetime';
  }
  return undefined;
}

function pyRepr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value === null) return 'None';
  return JSON.stringify(value);
}

function checkValue(name: string, value: unknown, spec: ParamSchemaEntry): string | undefined {
  const detail = (reason: string) => `Failed to validate type and shape for '${name}', error: ${reason}`;
  if (spec.shape !== null) {
    if (!Array.isArray(value)) {
      return `Value must be a 1D array with shape (-1,) for param '${name}': ${spec.type} (default: ${pyRepr(spec.default)}) (shape: (-1,)), received ${pyTypeName(value)}`;
    }
    for (const item of value) {
      const bad = checkValue(name, item, { ...spec, shape: null });
      if (bad) return bad;
    }
    return undefined;
  }
  if (value === null) return undefined;
  if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
    return detail(`Value must be a scalar for type \`DataType.${spec.type}\`, got \`${pyRepr(value)}\``);
  }
  const problem = typeError(value, spec.type);
  if (problem === 'datetime') {
    return detail(
      `Failed to convert value \`${pyRepr(value)}\` from type \`<class '${pyTypeName(value)}'>\` to \`DataType.datetime\``,
    );
  }
  if (problem) {
    return detail(
      `Can not safely convert \`<class '${pyTypeName(value)}'>\` to \`DataType.${spec.type}\` for value \`${pyRepr(value)}\``,
    );
  }
  return undefined;
}

/**
 * The params a model is called with: undefined when the model declares no params schema (MLflow then
 * ignores any params sent), else every declared param with the request's value or its default.
 */
export function enforceParams(
  params: unknown,
  schema: ParamSchemaEntry[] | undefined,
): Record<string, unknown> | undefined {
  if (schema === undefined) return undefined;
  const given = params === undefined || params === null ? {} : params;
  if (typeof given !== 'object' || Array.isArray(given)) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Parameters must be a dictionary. Got type '${pyTypeName(given)}'.`,
    );
  }
  const values = given as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const invalid: string[] = [];
  for (const spec of schema) {
    if (!Object.hasOwn(values, spec.name)) {
      out[spec.name] = spec.default;
      continue;
    }
    const problem = checkValue(spec.name, values[spec.name], spec);
    if (problem) invalid.push(`('${spec.name}', ${JSON.stringify(problem)})`);
    else out[spec.name] = values[spec.name];
  }
  if (invalid.length > 0) {
    throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid parameters found: {${invalid.join(', ')}}`);
  }
  return out;
}
