import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MlflowError } from '../src/entities/errors.js';
import { parseMLmodel } from '../src/models/mlmodel.js';
import { requestFormat } from '../src/serving/content-type.js';
import { parseCsvBody } from '../src/serving/csv-request.js';
import { enforceParams } from '../src/serving/enforce-params.js';
import { enforceInput } from '../src/serving/enforce-schema.js';
import { inputSchemaOf, paramSchemaOf, schemaRepr } from '../src/serving/input-schema.js';
import { parseJsonBody } from '../src/serving/json-request.js';
import type { ModelRuntime } from '../src/serving/model-runtime.js';
import { encodePredictions, nest, predictionsBody } from '../src/serving/prediction-json.js';
import { PROMETHEUS_CONTENT_TYPE, renderHistogram, renderSimple } from '../src/serving/prometheus-text.js';
import { buildScoringApp, type ModelSlot } from '../src/serving/scoring-app.js';
import { PlainTextRejection } from '../src/serving/scoring-errors.js';
import type { ModelInput, ScoringRequest } from '../src/serving/scoring-input.js';
import { ScoringPipeline } from '../src/serving/scoring-pipeline.js';

// The scoring protocol's steps one by one, each with MLflow's messages for the bad paths.

function signature(inputs: object[], params?: object[]) {
  const yaml = `flavors: {}\nsignature:\n  inputs: '${JSON.stringify(inputs)}'\n  outputs: null\n  params: ${params ? `'${JSON.stringify(params)}'` : 'null'}\n`;
  return parseMLmodel(yaml).signature;
}

const COLUMNS = signature([
  { type: 'double', name: 'x1', required: true },
  { type: 'long', name: 'n', required: true },
  { type: 'string', name: 'note', required: false },
]);
const COLUMN_SCHEMA = inputSchemaOf(COLUMNS);
const TENSOR_SCHEMA = inputSchemaOf(
  signature([{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 3] } }]),
);

function fails(fn: () => unknown, code: string, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MlflowError, `expected an MlflowError, got ${error}`);
    assert.equal(error.errorCode, code);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

function frameOf(input: ModelInput) {
  assert.equal(input.kind, 'frame');
  return input.kind === 'frame' ? input : undefined;
}

describe('content type', () => {
  test('JSON and CSV with or without a UTF-8 charset', () => {
    assert.equal(requestFormat('application/json'), 'json');
    assert.equal(requestFormat('application/json; charset=UTF-8'), 'json');
    assert.equal(requestFormat('text/csv;charset=utf-8'), 'csv');
  });

  test("MLflow 1.x's format=pandas-split, other charsets and other types are 415 text", () => {
    const rejected = (header: string | undefined, message: RegExp) =>
      assert.throws(
        () => requestFormat(header),
        (e: unknown) => e instanceof PlainTextRejection && e.status === 415 && message.test(e.message),
      );
    rejected(
      'application/json; format=pandas-split',
      /^Unrecognized content type parameters: format\. IMPORTANT: The MLflow Model scoring protocol has changed/,
    );
    rejected('text/csv; charset=latin-1', /^The scoring server only supports UTF-8$/);
    rejected(
      'application/xml',
      /^This predictor only supports the following content types: Types: \['text\/csv', 'application\/json'\]\. Got 'application\/xml'\.$/,
    );
    rejected(undefined, /Got ''\./);
  });
});

describe('JSON bodies', () => {
  test('dataframe_split, with and without columns', () => {
    const parsed = parseJsonBody('{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}}');
    assert.deepEqual(parsed.input, {
      kind: 'frame',
      columns: ['a', 'b'],
      rows: [
        [1, 2],
        [3, 4],
      ],
    });
    assert.deepEqual(parseJsonBody('{"dataframe_split": {"data": [[1, 2]]}}').input, {
      kind: 'frame',
      columns: ['0', '1'],
      rows: [[1, 2]],
    });
  });

  test('dataframe_records: columns in order of appearance, absent cells null', () => {
    const parsed = parseJsonBody('{"dataframe_records": [{"a": 1}, {"b": "x", "a": 2}], "params": {"k": 1}}');
    assert.deepEqual(parsed.input, {
      kind: 'frame',
      columns: ['a', 'b'],
      rows: [
        [1, null],
        [2, 'x'],
      ],
    });
    assert.deepEqual(parsed.params, { k: 1 });
  });

  test('instances (rows or records) and inputs (a tensor or a dict of tensors)', () => {
    assert.deepEqual(parseJsonBody('{"instances": [[1, 2], [3, 4]]}').input, {
      kind: 'tensor',
      data: [
        [1, 2],
        [3, 4],
      ],
    });
    assert.deepEqual(parseJsonBody('{"instances": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}').input, {
      kind: 'tensors',
      data: { a: [1, 3], b: [2, 4] },
    });
    assert.deepEqual(parseJsonBody('{"inputs": {"a": [1], "b": [2]}}').input, {
      kind: 'tensors',
      data: { a: [1], b: [2] },
    });
  });

  test("MLflow's errors for bad JSON and wrong shapes", () => {
    fails(
      () => parseJsonBody('{"dataframe_split": '),
      'INVALID_PARAMETER_VALUE',
      /^Invalid input\. Ensure that input is a valid JSON formatted string\./,
    );
    fails(
      () => parseJsonBody('[1, 2]'),
      'INVALID_PARAMETER_VALUE',
      "Invalid input. The input must be a JSON dictionary with exactly one of the input fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}. Received a list.",
    );
    fails(
      () => parseJsonBody('{"data": [[1]]}'),
      'BAD_REQUEST',
      /^The input must be a JSON dictionary with exactly one of the input fields .*\. Received dictionary with input fields: \[\]\. IMPORTANT: /,
    );
    fails(
      () => parseJsonBody('{"instances": [1], "inputs": [1]}'),
      'BAD_REQUEST',
      /Received dictionary with input fields: \['instances', 'inputs'\]\./,
    );
    fails(
      () => parseJsonBody('{"dataframe_split": [[1]]}'),
      'INVALID_PARAMETER_VALUE',
      "Invalid input. Dataframe split format must be a dictionary. Got type <class 'list'>.",
    );
    fails(
      () => parseJsonBody('{"dataframe_split": {"columns": ["a"], "rows": []}}'),
      'INVALID_PARAMETER_VALUE',
      "Invalid input. Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got {'columns', 'rows'}.'",
    );
    fails(
      () => parseJsonBody('{"dataframe_records": {"a": 1}}'),
      'INVALID_PARAMETER_VALUE',
      'Invalid input. Dataframe records format must be a list of records. Got dictionary.',
    );
    fails(
      () => parseJsonBody('{"inputs": {"a": [1, 2], "b": [1]}}'),
      'BAD_REQUEST',
      'Failed to parse data as TF serving input. The length of values for each input/column name are not the same',
    );
  });
});

describe('CSV bodies', () => {
  test('typed by the signature, inferred without one', () => {
    const typed = parseCsvBody('x1,n,note\n1,2,hi\n2.5,3,\n', COLUMN_SCHEMA);
    assert.deepEqual(typed, {
      kind: 'frame',
      columns: ['x1', 'n', 'note'],
      rows: [
        [1, 2, 'hi'],
        [2.5, 3, null],
      ],
    });
    const inferred = parseCsvBody('a,b,c\n1,1.5,True\n2,,False\n', undefined);
    assert.deepEqual(inferred.kind === 'frame' && inferred.rows, [
      [1, 1.5, true],
      [2, null, false],
    ]);
  });

  test("a value that is not of the column's type is MLflow's CSV error", () => {
    fails(
      () => parseCsvBody('x1,n\nabc,1\n', COLUMN_SCHEMA),
      'BAD_REQUEST',
      /^Failed to parse input as a Pandas DataFrame\. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas\.DataFrame\.to_csv\(\)` method\. Error: 'could not convert string to float: 'abc''$/,
    );
  });
});

describe('column signatures', () => {
  test('the schema repr MLflow puts in its messages', () => {
    assert.equal(
      schemaRepr(COLUMN_SCHEMA as NonNullable<typeof COLUMN_SCHEMA>),
      "['x1': double (required), 'n': long (required), 'note': string (optional)]",
    );
  });

  test('columns are reordered, extra ones dropped, ints become doubles, an optional one may be absent', () => {
    const parsed = parseJsonBody('{"dataframe_records": [{"n": 1, "extra": 0, "x1": 2}]}').input;
    const frame = frameOf(enforceInput(parsed, COLUMN_SCHEMA));
    assert.deepEqual(
      frame?.columns.map((c) => [c.name, c.dtype, c.values]),
      [
        ['x1', 'float64', [2]],
        ['n', 'int64', [1]],
      ],
    );
  });

  test('a string column takes any JSON value as it is, as pandas reads it as objects', () => {
    const parsed = parseJsonBody(
      '{"dataframe_records": [{"x1": 1, "n": 2, "note": 5}, {"x1": 1, "n": 2, "note": "a"}]}',
    );
    const frame = frameOf(enforceInput(parsed.input, COLUMN_SCHEMA));
    assert.deepEqual(frame?.columns[2], { name: 'note', dtype: 'object', values: [5, 'a'] });
  });

  test('a missing required column is named, extra columns noted', () => {
    const parsed = parseJsonBody('{"dataframe_split": {"columns": ["x1", "z"], "data": [[1, 2]]}}').input;
    fails(
      () => enforceInput(parsed, COLUMN_SCHEMA),
      'INVALID_PARAMETER_VALUE',
      "Failed to predict data. \nError: Failed to enforce schema of data with schema '['x1': double (required), 'n': long (required), 'note': string (optional)]'. Error: Model is missing inputs ['n']. Note that there were extra inputs: ['z']",
    );
  });

  test('unsafe casts name the column and the types', () => {
    const bad = (rows: string) =>
      parseJsonBody(`{"dataframe_split": {"columns": ["x1", "n"], "data": ${rows}}}`).input;
    fails(
      () => enforceInput(bad('[[1, 1.5]]'), COLUMN_SCHEMA),
      'INVALID_PARAMETER_VALUE',
      /Error: Incompatible input types for column n\. Can not safely convert float64 to int64\.$/,
    );
    fails(
      () => enforceInput(bad('[["a", 1]]'), COLUMN_SCHEMA),
      'INVALID_PARAMETER_VALUE',
      /Error: Incompatible input types for column x1\. Can not safely convert object to float64\.$/,
    );
    fails(
      () => enforceInput(bad('[[1, 1], [2, null]]'), COLUMN_SCHEMA),
      'INVALID_PARAMETER_VALUE',
      /Can not safely convert float64 to int64\. Hint: the type mismatch is likely caused by missing values\./,
    );
  });

  test('unnamed columns are checked by count and position', () => {
    const schema = inputSchemaOf(signature([{ type: 'double' }, { type: 'double' }]));
    fails(
      () => enforceInput(parseJsonBody('{"instances": [[1]]}').input, schema),
      'INVALID_PARAMETER_VALUE',
      /Error: Model inference is missing inputs\. The model signature declares 2 inputs {2}but the provided value only has 1 inputs\./,
    );
    const frame = frameOf(enforceInput(parseJsonBody('{"instances": [[1, 2]]}').input, schema));
    assert.deepEqual(
      frame?.columns.map((c) => c.name),
      ['0', '1'],
    );
  });
});

describe('tensor signatures', () => {
  test('inputs become a float32 tensor of the declared shape', () => {
    const input = enforceInput(parseJsonBody('{"inputs": [[1, 2, 3], [4, 5, 6]]}').input, TENSOR_SCHEMA);
    assert.deepEqual(input, {
      kind: 'tensor',
      tensor: { dtype: 'float32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
    });
  });

  test('a wrong shape, a ragged list and text are refused', () => {
    fails(
      () => enforceInput(parseJsonBody('{"inputs": [[1, 2]]}').input, TENSOR_SCHEMA),
      'INVALID_PARAMETER_VALUE',
      /Error: Shape of input \(1, 2\) does not match expected shape \(-1, 3\)\.$/,
    );
    fails(
      () => enforceInput(parseJsonBody('{"inputs": [[1, 2, 3], [1]]}').input, TENSOR_SCHEMA),
      'BAD_REQUEST',
      /^Failed to parse data as TF serving input\./,
    );
    fails(
      () => enforceInput(parseJsonBody('{"inputs": [["a", "b", "c"]]}').input, TENSOR_SCHEMA),
      'BAD_REQUEST',
      /^Failed to parse data as TF serving input\./,
    );
  });

  test('a DataFrame feeds an unnamed (-1, n) tensor when it has n columns', () => {
    const input = enforceInput(
      parseJsonBody('{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3]]}}').input,
      TENSOR_SCHEMA,
    );
    assert.deepEqual(input, { kind: 'tensor', tensor: { dtype: 'float32', shape: [1, 3], data: [1, 2, 3] } });
    fails(
      () =>
        enforceInput(
          parseJsonBody('{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}}').input,
          TENSOR_SCHEMA,
        ),
      'INVALID_PARAMETER_VALUE',
      /the input DataFrame passed had 2 columns and an input shape of \(-1, 3\)/,
    );
  });

  test('named tensors: a missing name is reported', () => {
    const schema = inputSchemaOf(
      signature([
        { type: 'tensor', name: 'a', 'tensor-spec': { dtype: 'int64', shape: [-1] } },
        { type: 'tensor', name: 'b', 'tensor-spec': { dtype: 'int64', shape: [-1] } },
      ]),
    );
    fails(
      () => enforceInput(parseJsonBody('{"inputs": {"a": [1]}}').input, schema),
      'INVALID_PARAMETER_VALUE',
      /Error: Model is missing inputs \['b'\]\.$/,
    );
    fails(
      () => enforceInput(parseJsonBody('{"inputs": {"a": [1.5], "b": [1]}}').input, schema),
      'INVALID_PARAMETER_VALUE',
      /Error: dtype of input float64 does not match expected dtype int64$/,
    );
  });
});

describe('params', () => {
  const schema = paramSchemaOf(
    signature(
      [{ type: 'double', name: 'x' }],
      [
        { name: 'scale', type: 'double', default: 1.0, shape: null },
        { name: 'k', type: 'long', default: 3, shape: null },
        { name: 'tags', type: 'string', default: ['a'], shape: [-1] },
      ],
    ),
  );

  test('defaults fill in, unknown names are dropped, ints are accepted for doubles', () => {
    assert.deepEqual(enforceParams({ scale: 2, other: 1 }, schema), { scale: 2, k: 3, tags: ['a'] });
    assert.deepEqual(enforceParams(undefined, schema), { scale: 1, k: 3, tags: ['a'] });
    assert.equal(enforceParams({ scale: 2 }, undefined), undefined);
  });

  test('wrong types name every bad param', () => {
    fails(
      () => enforceParams([1], schema),
      'INVALID_PARAMETER_VALUE',
      "Parameters must be a dictionary. Got type 'list'.",
    );
    fails(
      () => enforceParams({ k: 1.5 }, schema),
      'INVALID_PARAMETER_VALUE',
      "Invalid parameters found: {('k', \"Failed to validate type and shape for 'k', error: Can not safely convert `<class 'float'>` to `DataType.long` for value `1.5`\")}",
    );
    fails(
      () => enforceParams({ tags: 'a' }, schema),
      'INVALID_PARAMETER_VALUE',
      /Value must be a 1D array with shape \(-1,\) for param 'tags'/,
    );
  });
});

describe('prediction JSON', () => {
  test('NaN and infinities bare as Python writes them, nested arrays, dates as ISO text', () => {
    assert.equal(
      predictionsBody(
        encodePredictions([
          1.5,
          Number.NaN,
          -Infinity,
          { d: new Date('2024-05-01T00:00:00Z') },
          Float32Array.of(0.5),
        ]),
      ),
      '{"predictions": [1.5, NaN, -Infinity, {"d": "2024-05-01T00:00:00.000Z"}, [0.5]]}',
    );
    assert.deepEqual(nest([1, 2, 3, 4, 5, 6], [2, 3]), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(nest([1, 2], [2, 1]), [[1], [2]]);
  });
});

describe('the scoring app with a stand-in runtime', () => {
  const seen: ScoringRequest[] = [];
  const runtime: ModelRuntime = {
    name: 'stand-in',
    async predict(request) {
      seen.push(request);
      if (request.params?.fail) throw new Error('boom');
      return '[1, NaN]';
    },
    async close() {},
  };
  const model = parseMLmodel(
    `flavors: {}\nsignature:\n  inputs: '[{"type": "double", "name": "x"}]'\n  params: '[{"name": "fail", "type": "boolean", "default": false, "shape": null}]'\n`,
  );
  const slot: ModelSlot = { pipeline: undefined };
  const lines: string[] = [];
  const app = buildScoringApp(slot, {
    bodyLimit: 1000,
    requestTimeoutMs: 0,
    version: '9.9.9',
    logLine: (l) => lines.push(l),
  });
  const post = (payload: string, type = 'application/json') =>
    app.inject({ method: 'POST', url: '/invocations', headers: { 'content-type': type }, payload });

  test('health is 503 until the model is loaded, then 200', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/ping' })).statusCode, 503);
    const early = await post('{"inputs": [1]}');
    assert.equal(early.statusCode, 503);
    assert.equal(early.json().error_code, 'TEMPORARILY_UNAVAILABLE');
    slot.pipeline = new ScoringPipeline(model, runtime);
    const ping = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(ping.statusCode, 200);
    assert.equal(ping.body, '\n');
    assert.equal((await app.inject({ method: 'GET', url: '/version' })).body, '9.9.9');
  });

  test('predictions are wrapped; the runtime gets the enforced input and params with defaults', async () => {
    seen.length = 0;
    const res = await post('{"dataframe_split": {"columns": ["x"], "data": [[1]]}}');
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '{"predictions": [1, NaN]}');
    assert.deepEqual(seen[0], {
      input: { kind: 'frame', columns: [{ name: 'x', dtype: 'float64', values: [1] }], rowCount: 1 },
      params: { fail: false },
    });
  });

  test("errors: MLflow's JSON with its status, 415 as text, a runtime fault as 500 (logged), 413 over the limit", async () => {
    const schema = await post('{"dataframe_split": {"columns": ["y"], "data": [[1]]}}');
    assert.equal(schema.statusCode, 400);
    assert.match(schema.json().message, /Model is missing inputs \['x'\]\./);
    const type = await post('x\n1\n', 'text/plain');
    assert.equal(type.statusCode, 415);
    assert.match(type.headers['content-type'] as string, /^text\/plain/);
    const failed = await post('{"inputs": [1], "params": {"fail": true}}');
    assert.equal(failed.statusCode, 500);
    const big = await post(`{"inputs": [${'1,'.repeat(600)}1]}`);
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error_code, 'RESOURCE_EXHAUSTED');
    const entries = lines.map((l) => JSON.parse(l));
    assert.ok(entries.some((e) => e.level === 'error' && /boom/.test(e.message)));
    const requests = entries.filter((e) => e.method);
    assert.ok(requests.length > 0 && requests.every((e) => typeof e.status === 'number'));
  });
});

describe('Prometheus text', () => {
  test('label values are escaped; histogram buckets are cumulative with +Inf, _sum and _count', () => {
    assert.equal(
      renderSimple('c_total', 'counter', 'Help with \\ and\nlines.', [
        { labels: { path: 'a"b\\c\nd' }, value: 2 },
      ]),
      '# HELP c_total Help with \\\\ and\\nlines.\n# TYPE c_total counter\nc_total{path="a\\"b\\\\c\\nd"} 2\n',
    );
    assert.equal(
      renderHistogram('h', 'H.', [{ labels: {}, bounds: [0.1, 1], counts: [2, 0, 1], sum: 3.5 }]),
      '# HELP h H.\n# TYPE h histogram\nh_bucket{le="0.1"} 2\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 3\nh_sum 3.5\nh_count 3\n',
    );
  });
});

describe('GET /metrics with a stand-in runtime', () => {
  const runtime: ModelRuntime = {
    name: 'stand-in',
    async predict(request) {
      if (request.params?.fail) throw new Error('boom');
      return '[1]';
    },
    async close() {},
  };
  const model = parseMLmodel(
    `flavors: {}\nsignature:\n  inputs: '[{"type": "double", "name": "x"}]'\n  params: '[{"name": "fail", "type": "boolean", "default": false, "shape": null}]'\n`,
  );
  const slot: ModelSlot = { pipeline: undefined };
  const app = buildScoringApp(slot, {
    bodyLimit: 1000,
    requestTimeoutMs: 0,
    version: '1',
    logLine: () => {},
  });
  const post = (payload: string, type = 'application/json') =>
    app.inject({ method: 'POST', url: '/invocations?x=1', headers: { 'content-type': type }, payload });
  const scrape = async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    return res;
  };
  // The value of one sample line, found by its exact name and labels; absent is undefined.
  const sampleValue = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  test("Prometheus' content type; model load state moves from loading to loaded, or to failed", async () => {
    const first = await scrape();
    assert.equal(first.headers['content-type'], PROMETHEUS_CONTENT_TYPE);
    assert.match(first.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    assert.equal(sampleValue(first.body, 'mlflow_scoring_model_load_state{state="loading"}'), 1);
    assert.equal(sampleValue(first.body, 'mlflow_scoring_model_load_state{state="loaded"}'), 0);
    // The scrape itself is the one request in flight.
    assert.equal(sampleValue(first.body, 'mlflow_scoring_requests_in_flight'), 1);
    assert.match(first.body, /^# TYPE mlflow_scoring_invocation_duration_seconds histogram$/m);

    const failedSlot: ModelSlot = { pipeline: undefined, loadFailed: true };
    const other = buildScoringApp(failedSlot, {
      bodyLimit: 1000,
      requestTimeoutMs: 0,
      version: '1',
      logLine: () => {},
    });
    const failed = await other.inject({ method: 'GET', url: '/metrics' });
    assert.equal(sampleValue(failed.body, 'mlflow_scoring_model_load_state{state="failed"}'), 1);
    assert.equal(sampleValue(failed.body, 'mlflow_scoring_model_load_state{state="loading"}'), 0);

    slot.pipeline = new ScoringPipeline(model, runtime);
    const loaded = await scrape();
    assert.equal(sampleValue(loaded.body, 'mlflow_scoring_model_load_state{state="loaded"}'), 1);
    assert.equal(sampleValue(loaded.body, 'mlflow_scoring_model_load_state{state="loading"}'), 0);
  });

  test('request counts by route and status and the /invocations histogram grow with requests', async () => {
    const ok = 'mlflow_scoring_requests_total{method="POST",endpoint="/invocations",status="200"}';
    const before = (await scrape()).body;
    assert.equal(sampleValue(before, ok), undefined);
    assert.equal(sampleValue(before, 'mlflow_scoring_invocation_duration_seconds_count'), 0);
    for (let i = 0; i < 3; i++) assert.equal((await post('{"inputs": [1]}')).statusCode, 200);
    await app.inject({ method: 'GET', url: '/ping' });
    const after = (await scrape()).body;
    assert.equal(sampleValue(after, ok), 3);
    assert.equal(
      sampleValue(after, 'mlflow_scoring_requests_total{method="GET",endpoint="/ping",status="200"}'),
      1,
    );
    assert.equal(sampleValue(after, 'mlflow_scoring_invocation_duration_seconds_count'), 3);
    assert.equal(sampleValue(after, 'mlflow_scoring_invocation_duration_seconds_bucket{le="+Inf"}'), 3);
    assert.equal(sampleValue(after, 'mlflow_scoring_invocation_duration_seconds_bucket{le="60"}'), 3);
    assert.ok((sampleValue(after, 'mlflow_scoring_invocation_duration_seconds_sum') ?? -1) > 0);
    // Earlier scrapes are counted too, under their route; the query string never becomes a label.
    assert.ok(
      (sampleValue(after, 'mlflow_scoring_requests_total{method="GET",endpoint="/metrics",status="200"}') ??
        0) >= 2,
    );
    assert.doesNotMatch(after, /x=1/);
    assert.equal(sampleValue(after, 'mlflow_scoring_requests_in_flight'), 1);
  });

  test('errors are counted by route and code, and unknown paths share one label', async () => {
    assert.equal((await post('{"dataframe_split": {"columns": ["y"], "data": [[1]]}}')).statusCode, 400);
    assert.equal((await post('{"dataframe_split": {"columns": ["y"], "data": [[1]]}}')).statusCode, 400);
    assert.equal((await post('{"inputs": [1], "params": {"fail": true}}')).statusCode, 500);
    assert.equal((await post('x', 'text/plain')).statusCode, 415);
    assert.equal((await post(`{"inputs": [${'1,'.repeat(600)}1]}`)).statusCode, 413);
    assert.equal((await app.inject({ method: 'GET', url: '/no/such/path' })).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: '/another' })).statusCode, 404);
    const text = (await scrape()).body;
    const errors = (code: string) =>
      sampleValue(text, `mlflow_scoring_errors_total{endpoint="/invocations",error_code="${code}"}`);
    assert.equal(errors('INVALID_PARAMETER_VALUE'), 2);
    assert.equal(errors('INTERNAL_ERROR'), 1);
    assert.equal(errors('HTTP_415'), 1);
    assert.equal(errors('RESOURCE_EXHAUSTED'), 1);
    assert.equal(
      sampleValue(text, 'mlflow_scoring_requests_total{method="POST",endpoint="/invocations",status="500"}'),
      1,
    );
    assert.equal(
      sampleValue(text, 'mlflow_scoring_requests_total{method="GET",endpoint="unmatched",status="404"}'),
      2,
    );
    assert.doesNotMatch(text, /no\/such\/path/);
  });

  test('a request whose client goes away mid-prediction leaves the in-flight gauge', async () => {
    let release: () => void = () => {};
    let started: () => void = () => {};
    const predicting = new Promise<void>((resolve) => {
      started = resolve;
    });
    const slow: ModelRuntime = {
      name: 'slow',
      predict: () =>
        new Promise((resolve) => {
          started();
          release = () => resolve('[1]');
        }),
      async close() {},
    };
    const slowApp = buildScoringApp(
      { pipeline: new ScoringPipeline(model, slow) },
      { bodyLimit: 1000, requestTimeoutMs: 0, version: '1', logLine: () => {} },
    );
    const url = await slowApp.listen({ host: '127.0.0.1', port: 0 });
    try {
      const inFlight = async () =>
        sampleValue(await fetch(`${url}/metrics`).then((r) => r.text()), 'mlflow_scoring_requests_in_flight');
      const abort = new AbortController();
      const call = fetch(`${url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"inputs": [1]}',
        signal: abort.signal,
      }).catch(() => 'aborted');
      await predicting;
      assert.equal(await inFlight(), 2);
      abort.abort();
      assert.equal(await call, 'aborted');
      release();
      // The abandoned request is no longer counted once its connection has closed.
      let seen = await inFlight();
      for (let i = 0; i < 50 && seen !== 1; i++) {
        await new Promise((r) => setTimeout(r, 20));
        seen = await inFlight();
      }
      assert.equal(seen, 1);
    } finally {
      await slowApp.close();
    }
  });
});
