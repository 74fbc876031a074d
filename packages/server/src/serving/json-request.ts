// A JSON scoring body read as MLflow's scoring server reads it: exactly one of dataframe_split,
// dataframe_records, instances or inputs, and an optional params object beside it.

import { pyList } from './input-schema.js';
import {
  badRequest,
  invalidInput,
  type MlflowError,
  SCORING_PROTOCOL_CHANGE_INFO,
} from './scoring-errors.js';
import type { ParsedInput } from './scoring-input.js';

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;
type Format = (typeof FORMATS)[number];

// MLflow prints a Python set here, whose order changes from run to run; we print one fixed order.
const REQUIRED_INPUT_FORMAT =
  "The input must be a JSON dictionary with exactly one of the input fields {'dataframe_split', " +
  "'dataframe_records', 'instances', 'inputs'}";

const TF_SERVING_HELP =
  'Failed to parse data as TF serving input. Ensure that the input is a valid JSON-formatted string ' +
  "that conforms to the request body for TF serving's Predict API as documented at " +
  'https://www.tensorflow.org/tfx/serving/api_rest#request_format_2';

export interface JsonScoringBody {
  input: ParsedInput;
  /** The `params` field as sent (checked against the params schema later). */
  params: unknown;
}

/** Python's type name of a JSON value, as MLflow's messages show it. */
export function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'dict';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  return Number.isInteger(value) ? 'int' : 'float';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeForFrame(value: unknown): string {
  return isRecord(value) ? 'dictionary' : `type <class '${pyTypeName(value)}'>`;
}

function splitFrame(value: unknown): ParsedInput {
  if (!isRecord(value)) {
    throw invalidInput(`Dataframe split format must be a dictionary. Got ${describeForFrame(value)}.`);
  }
  const keys = Object.keys(value);
  if (!keys.includes('data') || keys.some((k) => k !== 'data' && k !== 'columns' && k !== 'index')) {
    throw invalidInput(
      "Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. " +
        `Got {${keys.map((k) => `'${k}'`).join(', ')}}.'`,
    );
  }
  const fail = (why: string): MlflowError =>
    invalidInput(
      `Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '${why}'`,
    );
  const data = value.data;
  if (!Array.isArray(data)) throw fail('DataFrame constructor not properly called!');
  // A flat list is one column, as pandas reads it.
  const rows = data.map((row) => (Array.isArray(row) ? row : [row]));
  const width = rows.reduce((n, row) => Math.max(n, row.length), 0);
  let columns: string[];
  if (value.columns === undefined || value.columns === null) {
    columns = Array.from({ length: width }, (_, i) => String(i));
  } else {
    if (!Array.isArray(value.columns)) throw fail('columns must be a list');
    columns = value.columns.map(String);
  }
  if (rows.some((row) => row.length !== columns.length)) {
    const found = rows.find((row) => row.length !== columns.length)?.length ?? 0;
    throw fail(`${columns.length} columns passed, passed data had ${found} columns`);
  }
  return { kind: 'frame', columns, rows };
}

function recordsFrame(value: unknown): ParsedInput {
  if (!Array.isArray(value)) {
    throw invalidInput(`Dataframe records format must be a list of records. Got ${describeForFrame(value)}.`);
  }
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const record of value) {
    if (!isRecord(record)) {
      throw invalidInput(
        "Provided dataframe_records field is not a valid dataframe representation in 'records' format. " +
          `Error: 'each record must be a dictionary, found ${pyTypeName(record)}'`,
      );
    }
    for (const key of Object.keys(record)) {
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  }
  const rows = value.map((record: Record<string, unknown>) =>
    columns.map((c) => (Object.hasOwn(record, c) ? record[c] : null)),
  );
  return { kind: 'frame', columns, rows };
}

function tfServing(format: 'instances' | 'inputs', value: unknown): ParsedInput {
  if (format === 'instances') {
    if (!Array.isArray(value)) throw badRequest(TF_SERVING_HELP);
    // A list of objects is turned into columns (name -> list of values), as MLflow does.
    if (value.length > 0 && isRecord(value[0])) {
      const columns: Record<string, unknown[]> = {};
      for (const item of value) {
        if (!isRecord(item)) throw badRequest(TF_SERVING_HELP);
        for (const [k, v] of Object.entries(item)) {
          columns[k] ??= [];
          columns[k].push(v);
        }
      }
      return checkedTensors(columns);
    }
    return { kind: 'tensor', data: value };
  }
  if (isRecord(value)) return checkedTensors(value);
  return { kind: 'tensor', data: value };
}

function checkedTensors(data: Record<string, unknown>): ParsedInput {
  const lengths = Object.values(data).map((v) => (Array.isArray(v) ? v.length : 1));
  if (lengths.some((n) => n !== lengths[0])) {
    throw badRequest(
      'Failed to parse data as TF serving input. The length of values for each input/column name are not the same',
    );
  }
  return { kind: 'tensors', data };
}

/** Reads a JSON scoring body; throws MLflow's errors for bad JSON and wrong shapes. */
export function parseJsonBody(text: string): JsonScoringBody {
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch (error) {
    throw invalidInput(
      `Ensure that input is a valid JSON formatted string. Error: 'JSONDecodeError(${(error as Error).message})'\nInput: \n${text.slice(0, 1000)}\n`,
    );
  }
  if (Array.isArray(decoded)) throw invalidInput(`${REQUIRED_INPUT_FORMAT}. Received a list.`);
  if (!isRecord(decoded)) {
    throw invalidInput(
      `${REQUIRED_INPUT_FORMAT}. Received unexpected input type '<class '${pyTypeName(decoded)}'>.`,
    );
  }
  const present = FORMATS.filter((f) => Object.hasOwn(decoded, f));
  if (present.length !== 1) {
    throw badRequest(
      `${REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: ${pyList(present)}. ${SCORING_PROTOCOL_CHANGE_INFO}`,
    );
  }
  const format: Format = present[0];
  const value = decoded[format];
  const input =
    format === 'dataframe_split'
      ? splitFrame(value)
      : format === 'dataframe_records'
        ? recordsFrame(value)
        : tfServing(format, value);
  return { input, params: decoded.params };
}

export { TF_SERVING_HELP };
