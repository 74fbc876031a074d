import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { pythonJson } from '../entities/python-json.js';

export { pythonJson };

// The MLmodel file: the YAML document at the root of every MLflow model that says which flavors can
// load it, what it takes and returns (its signature), where its input example is, and which run and
// logged model it came from. MLflow writes it with PyYAML's safe_dump (keys sorted, block style); the
// signature's inputs, outputs and params are JSON text inside the YAML, as MLflow keeps them compact.

/** One column or tensor of a signature schema, e.g. {"type": "double", "name": "x", "required": true}. */
export interface SchemaEntry {
  type: string;
  name?: string;
  required?: boolean;
  [field: string]: unknown;
}

/** One inference parameter of a signature, e.g. {"name": "temperature", "type": "float", "default": 0.5}. */
export interface ParamSpec {
  name: string;
  type: string;
  default: unknown;
  shape?: number[] | null;
  [field: string]: unknown;
}

export interface ModelSignature {
  inputs?: SchemaEntry[];
  outputs?: SchemaEntry[];
  params?: ParamSpec[];
}

/** Where the input example saved with the model is (MLflow's saved_input_example_info). */
export interface SavedInputExampleInfo {
  artifact_path: string;
  type?: string;
  [field: string]: unknown;
}

export interface MLmodel {
  /** Flavor name (python_function, sklearn, ...) to that flavor's settings. */
  flavors: Record<string, Record<string, unknown>>;
  artifact_path?: string;
  run_id?: string;
  /** MLflow's "YYYY-MM-DD HH:MM:SS.ffffff", UTC without a zone. */
  utc_time_created?: string;
  model_uuid?: string;
  /** The logged model (MLflow 3), `m-<32 hex>`. */
  model_id?: string;
  mlflow_version?: string;
  signature?: ModelSignature;
  saved_input_example_info?: SavedInputExampleInfo;
  metadata?: Record<string, unknown>;
  model_size_bytes?: number;
  /** Any other top-level field (resources, env_vars, prompts, databricks_runtime, ...), kept as read. */
  extra: Record<string, unknown>;
}

/** An MLmodel document that is not what MLflow writes; the message names the field and what is wrong. */
export class MLmodelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MLmodelError';
  }
}

const TEXT_FIELDS = [
  'artifact_path',
  'run_id',
  'utc_time_created',
  'model_uuid',
  'model_id',
  'mlflow_version',
] as const;
const KNOWN = new Set<string>([
  ...TEXT_FIELDS,
  'flavors',
  'signature',
  'saved_input_example_info',
  'metadata',
  'model_size_bytes',
]);

/**
 * The JSON text each parsed signature list was read from. MLflow writes that text with Python's
 * json.dumps; JavaScript writes some numbers differently (1.0 becomes 1), so an unchanged list is
 * written back exactly as it was read.
 */
const originalJson = new WeakMap<object, string>();

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function fail(where: string, field: string, message: string): never {
  throw new MLmodelError(`${where}: '${field}' ${message}`);
}

function readSchemaList<T extends SchemaEntry | ParamSpec>(
  raw: unknown,
  field: string,
  where: string,
  isParams: boolean,
): T[] | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw !== 'string') {
    fail(where, field, `must be the schema as JSON text (as MLflow writes it), found ${describe(raw)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    fail(where, field, `is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed))
    fail(
      where,
      field,
      `must be a JSON list of ${isParams ? 'params' : 'columns'}, found ${describe(parsed)}`,
    );
  parsed.forEach((entry, i) => {
    if (!isMapping(entry)) fail(where, `${field}[${i}]`, `must be a JSON object, found ${describe(entry)}`);
    if (typeof entry.type !== 'string')
      fail(where, `${field}[${i}].type`, `must be text, found ${describe(entry.type)}`);
    if (isParams && typeof entry.name !== 'string') {
      fail(where, `${field}[${i}].name`, `must be text, found ${describe(entry.name)}`);
    }
    if (!isParams && entry.name !== undefined && typeof entry.name !== 'string') {
      fail(where, `${field}[${i}].name`, `must be text, found ${describe(entry.name)}`);
    }
  });
  originalJson.set(parsed, raw);
  return parsed as T[];
}

/**
 * Reads MLmodel YAML text. `source` (a file name) starts every error message. Throws MLmodelError when
 * the document is not a model description MLflow could load.
 */
export function parseMLmodel(text: string, source = 'MLmodel'): MLmodel {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new MLmodelError(`${source}: not valid YAML: ${(error as Error).message}`);
  }
  if (!isMapping(doc))
    throw new MLmodelError(`${source}: must be a YAML mapping of fields, found ${describe(doc)}`);

  const model: MLmodel = { flavors: {}, extra: {} };
  const flavors = doc.flavors;
  if (flavors !== undefined && flavors !== null) {
    if (!isMapping(flavors))
      fail(source, 'flavors', `must map flavor names to their settings, found ${describe(flavors)}`);
    for (const [name, settings] of Object.entries(flavors)) {
      if (settings === null) model.flavors[name] = {};
      else if (isMapping(settings)) model.flavors[name] = settings;
      else fail(source, `flavors.${name}`, `must be a mapping of settings, found ${describe(settings)}`);
    }
  }
  for (const field of TEXT_FIELDS) {
    const value = doc[field];
    if (value === undefined || value === null) continue;
    // PyYAML may leave a time unquoted; a YAML 1.1 reader would make it a date.
    if (value instanceof Date) model[field] = value.toISOString().replace('T', ' ').replace('Z', '');
    else if (typeof value === 'string') model[field] = value;
    else fail(source, field, `must be text, found ${describe(value)}`);
  }
  if (model.model_id !== undefined && !/^m-[0-9a-f]{32}$/.test(model.model_id)) {
    fail(
      source,
      'model_id',
      `must be a logged model id such as m-0123456789abcdef0123456789abcdef, found '${model.model_id}'`,
    );
  }

  const signature = doc.signature;
  if (signature !== undefined && signature !== null) {
    if (!isMapping(signature))
      fail(
        source,
        'signature',
        `must be a mapping with inputs, outputs and params, found ${describe(signature)}`,
      );
    const sig: ModelSignature = {};
    const inputs = readSchemaList<SchemaEntry>(signature.inputs, 'signature.inputs', source, false);
    const outputs = readSchemaList<SchemaEntry>(signature.outputs, 'signature.outputs', source, false);
    const params = readSchemaList<ParamSpec>(signature.params, 'signature.params', source, true);
    if (inputs) sig.inputs = inputs;
    if (outputs) sig.outputs = outputs;
    if (params) sig.params = params;
    model.signature = sig;
  }

  const example = doc.saved_input_example_info;
  if (example !== undefined && example !== null) {
    if (!isMapping(example))
      fail(source, 'saved_input_example_info', `must be a mapping, found ${describe(example)}`);
    if (typeof example.artifact_path !== 'string' || example.artifact_path === '') {
      fail(
        source,
        'saved_input_example_info.artifact_path',
        `must name the example's file, found ${describe(example.artifact_path)}`,
      );
    }
    model.saved_input_example_info = example as SavedInputExampleInfo;
  }

  const metadata = doc.metadata;
  if (metadata !== undefined && metadata !== null) {
    if (!isMapping(metadata)) fail(source, 'metadata', `must be a mapping, found ${describe(metadata)}`);
    model.metadata = metadata;
  }

  const size = doc.model_size_bytes;
  if (size !== undefined && size !== null) {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
      fail(source, 'model_size_bytes', `must be a whole number of bytes, found ${describe(size)}`);
    }
    model.model_size_bytes = size;
  }

  for (const [key, value] of Object.entries(doc)) if (!KNOWN.has(key)) model.extra[key] = value;
  return model;
}

function schemaJson(list: object[] | undefined): string | null {
  if (!list) return null;
  const original = originalJson.get(list);
  if (original !== undefined && JSON.stringify(JSON.parse(original)) === JSON.stringify(list))
    return original;
  return pythonJson(list);
}

/** The MLmodel's fields as the plain mapping MLflow's Model.to_dict would give. */
export function mlmodelToDict(model: MLmodel): Record<string, unknown> {
  const out: Record<string, unknown> = { ...model.extra, flavors: model.flavors };
  for (const field of TEXT_FIELDS) if (model[field] !== undefined) out[field] = model[field];
  if (model.signature) {
    out.signature = {
      inputs: schemaJson(model.signature.inputs),
      outputs: schemaJson(model.signature.outputs),
      params: schemaJson(model.signature.params),
    };
  }
  if (model.saved_input_example_info) out.saved_input_example_info = model.saved_input_example_info;
  if (model.metadata) out.metadata = model.metadata;
  if (model.model_size_bytes !== undefined) out.model_size_bytes = model.model_size_bytes;
  return out;
}

/** Writes MLmodel YAML as MLflow does: block style, keys sorted, null for an absent schema part. */
export function stringifyMLmodel(model: MLmodel): string {
  return stringify(mlmodelToDict(model), { sortMapEntries: true, singleQuote: true, lineWidth: 0 });
}

export async function readMLmodel(file: string): Promise<MLmodel> {
  return parseMLmodel(await readFile(file, 'utf8'), file);
}

export async function writeMLmodel(file: string, model: MLmodel): Promise<void> {
  await writeFile(file, stringifyMLmodel(model));
}

/** The current time as MLflow writes utc_time_created: "2024-05-01 12:30:45.123000". */
export function utcTimeCreated(now = new Date()): string {
  return `${now.toISOString().replace('T', ' ').replace('Z', '')}000`;
}

/** A new MLmodel with MLflow's generated fields (model_uuid, utc_time_created) filled in. */
export function newMLmodel(
  fields: Partial<Omit<MLmodel, 'extra'>> & { extra?: Record<string, unknown> } = {},
): MLmodel {
  return {
    utc_time_created: utcTimeCreated(),
    model_uuid: randomUUID().replaceAll('-', ''),
    ...fields,
    flavors: fields.flavors ?? {},
    extra: fields.extra ?? {},
  };
}

/** The settings of a flavor, or undefined when the model does not have it. */
export function flavorOf(model: MLmodel, name: string): Record<string, unknown> | undefined {
  return Object.hasOwn(model.flavors, name) ? model.flavors[name] : undefined;
}
