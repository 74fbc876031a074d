// A text/csv scoring body read as pandas.read_csv reads it: a header row, then values typed by the
// signature's column types when there is one, otherwise inferred per column (ints, floats, booleans).
import { parse } from 'csv-parse/sync';
import type { InputSchema } from './input-schema.js';
import { badRequest } from './scoring-errors.js';
import type { ParsedInput } from './scoring-input.js';

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)$/i;
const TRUE = new Set(['True', 'TRUE', 'true']);
const FALSE = new Set(['False', 'FALSE', 'false']);

function parseFailure(why: string): Error {
  return badRequest(
    'Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted ' +
      `Pandas DataFrame produced using the \`pandas.DataFrame.to_csv()\` method. Error: '${why}'`,
  );
}

function toNumber(cell: string): number {
  const lower = cell.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower.endsWith('inf') || lower.endsWith('infinity')) return cell.startsWith('-') ? -Infinity : Infinity;
  return Number(cell);
}

/** A column with no declared type: numbers if every cell is one, booleans likewise, else text. */
function inferColumn(cells: string[]): unknown[] {
  const present = cells.filter((c) => c !== '');
  if (present.length > 0 && present.every((c) => INT.test(c))) {
    return cells.map((c) => (c === '' ? null : Number(c)));
  }
  if (present.length > 0 && present.every((c) => FLOAT.test(c))) {
    return cells.map((c) => (c === '' ? null : toNumber(c)));
  }
  if (
    present.length > 0 &&
    present.length === cells.length &&
    present.every((c) => TRUE.has(c) || FALSE.has(c))
  ) {
    return cells.map((c) => TRUE.has(c));
  }
  return cells.map((c) => (c === '' ? null : c));
}

/** A column declared in the signature, converted as read_csv's dtype= argument converts it. */
function typedColumn(name: string, type: string | null, cells: string[]): unknown[] {
  switch (type) {
    case 'integer':
    case 'long':
      return cells.map((c) => {
        if (c === '') throw parseFailure(`Integer column has NA values in column ${name}`);
        if (!INT.test(c)) throw parseFailure(`invalid literal for int() with base 10: '${c}'`);
        return Number(c);
      });
    case 'float':
    case 'double':
      return cells.map((c) => {
        if (c === '') return null;
        if (!FLOAT.test(c)) throw parseFailure(`could not convert string to float: '${c}'`);
        return toNumber(c);
      });
    case 'boolean':
      return cells.map((c) => (c === '' ? null : TRUE.has(c) ? true : FALSE.has(c) ? false : c));
    case 'string':
    case 'binary':
    case 'datetime':
      return cells.map((c) => (c === '' ? null : c));
    default:
      return inferColumn(cells);
  }
}

export function parseCsvBody(text: string, schema: InputSchema | undefined): ParsedInput {
  let records: string[][];
  try {
    records = parse(text, { relax_column_count: false, skip_empty_lines: true, bom: true });
  } catch (error) {
    throw parseFailure((error as Error).message);
  }
  if (records.length === 0) throw parseFailure('No columns to parse from file');
  const columns = records[0].map((name, i) => (name === '' ? `Unnamed: ${i}` : name));
  const body = records.slice(1);
  const declared = new Map<string, string | null>();
  if (schema?.kind === 'columns') {
    schema.columns.forEach((c, i) => {
      declared.set(c.name ?? columns[i], c.type);
    });
  }
  const columnValues = columns.map((name, i) => {
    const cells = body.map((row) => row[i]);
    return declared.has(name) ? typedColumn(name, declared.get(name) ?? null, cells) : inferColumn(cells);
  });
  const rows = body.map((_, r) => columnValues.map((values) => values[r]));
  return { kind: 'frame', columns, rows };
}
