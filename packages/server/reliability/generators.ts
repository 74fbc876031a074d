// fast-check generators of hostile HTTP requests for every route the route table describes, and for the
// artifact and model paths outside it: wrong types, missing and extra fields, huge and non-finite
// numbers, unicode and NUL, deep and broken JSON, wrong content types, query strings on POSTs, path tricks.
import fc from 'fast-check';
import type { FieldSpec, RouteSpec } from './route-table.js';

/** What the fuzzer may name: the ids of the current batch's targets (never the sentinels'). */
export interface Pools {
  experimentIds: string[];
  runIds: string[];
  modelNames: string[];
  loggedModelIds: string[];
  webhookIds: string[];
  /** `<experiment>/<run>/artifacts`: where a target run's artifacts sit below the proxy's root. */
  runArtifactDirs: string[];
  /** Traces (their trace_id / request_id) and evaluation datasets of the targets. */
  traceIds: string[];
  datasetIds: string[];
  /** Users other than the admin (auth runs only). */
  usernames: string[];
}

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  /** Which generator made it, for the figures. */
  kind: string;
  /** The route table's `METHOD path` it was made for, or the artifact route's name. */
  route?: string;
}

/** A JSON token written as is: NaN, Infinity, 1e400, a 30-digit integer, a deep nesting. */
class Raw {
  constructor(readonly text: string) {}
}

export function toJsonText(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The text of a value in a query string (where everything is text). */
function queryText(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (typeof value === 'string') return value;
  return toJsonText(value);
}

/** Percent-encodes text; a lone surrogate (which encodeURIComponent refuses) goes as its UTF-8 replacement bytes. */
function pct(text: string, keep = /[A-Za-z0-9\-_.!~*'()]/): string {
  let out = '';
  for (const ch of text) {
    if (keep.test(ch)) out += ch;
    else
      for (const byte of Buffer.from(ch, 'utf8'))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const deep = (depth: number, open = '[', close = ']') => new Raw(open.repeat(depth) + close.repeat(depth));
const deepObject = (depth: number) => new Raw(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

const specialNumbers = fc.constantFrom(
  new Raw('NaN'),
  new Raw('Infinity'),
  new Raw('-Infinity'),
  new Raw('1e400'),
  new Raw('-1e400'),
  new Raw('123456789012345678901234567890'),
  new Raw('9223372036854775808'),
  new Raw('-0'),
  new Raw('1.5e-320'),
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  ' 1',
  '0x10',
  '1_000',
  new Raw('9007199254740993'),
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  2 ** 63,
  -(2 ** 63),
);

const hostileText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff\ud800',
    '\u202e\u200b\ufeff',
    "'; drop table runs; --",
    '" OR 1=1 --',
    '%',
    '%00',
    '%ZZ',
    '$' + '{x}',
    '{{x}}',
    '\\',
    '\r\n',
    '🙂'.repeat(300),
    'null',
    'true',
    '[]',
  ),
  fc.integer({ min: 1000, max: 300_000 }).map((n) => 'x'.repeat(n)),
);

/** Anything but the type a field wants, and hostile values of that type. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileText,
  specialNumbers,
  fc.constantFrom(null, true, false, 0, -1, 1.5, [], {}, [null], [[]], { key: null }),
  fc.jsonValue({ maxDepth: 4 }),
  fc.integer({ min: 60, max: 200_000 }).map((n) => (n % 2 ? deep(n) : deepObject(n))),
);

const PATH_TRICKS = [
  '..',
  '../..',
  '../../../../etc/passwd',
  '%2e%2e',
  '%2e%2e%2f%2e%2e%2fetc',
  '..%2f..%2fetc',
  '%252e%252e%252f',
  '%2F',
  'a%2F..%2F..%2Fb',
  '/etc/passwd',
  '//etc/passwd',
  'C:\\Windows',
  '..\\..\\x',
  'file:///etc/passwd',
  './a',
  'a//b',
  'a/./b',
  'a/',
  '.',
  '',
  '%00',
  'a%00b',
  '#frag',
  '?q=1',
  'escape',
  'escape/secret.txt',
  'escape/new.txt',
  'ünïcödé/🙂.txt',
  'x'.repeat(5000),
];

/** A path trick, optionally under one of the target runs' artifact folders or the symlink. */
function pathArb(pools: Pools): fc.Arbitrary<string> {
  const tricks = fc.constantFrom(...PATH_TRICKS);
  const under = fc.constantFrom(...pools.runArtifactDirs);
  return fc.oneof(
    tricks,
    fc.tuple(under, tricks).map(([dir, t]) => `${dir}/${t}`),
    fc.tuple(under, fc.string({ maxLength: 12 })).map(([dir, t]) => `${dir}/${t}`),
    fc.string({ unit: 'binary', maxLength: 30 }),
  );
}

const pick = (values: string[], fallback: fc.Arbitrary<string>) =>
  values.length ? fc.oneof(fc.constantFrom(...values), fallback) : fallback;

/** A well-typed value for a field, aimed at the batch's targets where the field names one. */
function goodValue(field: FieldSpec, pools: Pools): fc.Arbitrary<unknown> {
  const text = fc.string({ maxLength: 20 });
  const name = field.name;
  if (name === 'experiment_id' || name === 'experiment_ids') {
    const id = pick(pools.experimentIds, fc.nat().map(String));
    return name === 'experiment_ids' ? fc.array(id, { maxLength: 3 }) : id;
  }
  if (/^run_(id|uuid|ids)$|source_run_id/.test(name)) {
    const id = pick(pools.runIds, text);
    return field.kind === 'stringList' ? fc.array(id, { minLength: 1, maxLength: 3 }) : id;
  }
  if (name === 'model_id') return pick(pools.loggedModelIds, text);
  if (name === 'model_uri' || name === 'model')
    return pick(
      pools.modelNames.map((n) => `models:/${n}/1`),
      fc.oneof(fc.constantFrom('models:/x/1', 'runs:/x/model', 'models:/x@champion'), text),
    );
  if (name === 'trace_id' || name === 'request_id') return pick(pools.traceIds, text);
  if (name === 'trace_ids' || name === 'request_ids')
    return fc.array(pick(pools.traceIds, text), { maxLength: 3 });
  if (name === 'dataset_id') return pick(pools.datasetIds, text);
  if (name === 'username') return pick(pools.usernames, text);
  if (name === 'permission')
    return fc.oneof(fc.constantFrom('READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS', 'USE'), text);
  if (name === 'name' || name === 'new_name' || name === 'experiment_name')
    return pick(pools.modelNames, text);
  if (name === 'version') return fc.constantFrom('1', '2', 1, '-1', 'latest');
  if (/path|source|artifact_location/.test(name)) return pathArb(pools);
  if (name === 'url')
    return fc.constantFrom('https://127.0.0.1:9/hook', 'ftp://x', 'not a url', 'http://[::1');
  if (name === 'filter') {
    return fc.constantFrom(
      "name = 'x'",
      'metrics.m > 1',
      "tags.t LIKE '%'",
      'attributes.status = ',
      "params.p IN ('a', 'b')",
      '((((((',
      "name ILIKE '%\\'",
      'run_id = 1 AND',
      'tags.`a b` = "x"',
    );
  }
  switch (field.kind) {
    case 'int':
    case 'requiredInt':
      return fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.integer().map(String));
    case 'double':
      return fc.oneof(fc.double(), fc.constantFrom('NaN', 'Infinity', '-Infinity'));
    case 'bool':
      return fc.boolean();
    case 'stringOrInt':
      return fc.oneof(fc.nat(5).map(String), fc.nat(5));
    case 'enum':
      return fc.oneof(fc.constantFrom(...(field.values ?? ['x'])), fc.nat(6));
    case 'stringList':
      return fc.array(text, { maxLength: 3 });
    case 'tags':
      return fc.array(
        fc.record({ key: fc.oneof(text, fc.constantFrom('t', 'mlflow.runName')), value: text }),
        {
          maxLength: 4,
        },
      );
    case 'metrics':
      return fc.array(
        fc.record({
          key: fc.constantFrom('m', 'n'),
          value: fc.oneof(fc.double(), fc.constantFrom('NaN', 'Infinity')),
          timestamp: fc.nat(),
          step: fc.integer(),
        }),
        { maxLength: 4 },
      );
    case 'object':
      return fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
    case 'objects':
      return fc.array(fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), { maxLength: 3 });
    default:
      return text;
  }
}

const ABSENT = Symbol('absent');

function fieldsArb(route: RouteSpec, pools: Pools): fc.Arbitrary<Record<string, unknown>> {
  const good = route.fields.map((field) => goodValue(field, pools));
  const mixed = route.fields.map((_field, i) =>
    fc.oneof(
      { weight: 5, arbitrary: good[i] },
      { weight: 3, arbitrary: hostileValue },
      { weight: 2, arbitrary: fc.constant<unknown>(ABSENT) },
    ),
  );
  const extra = fc.dictionary(fc.string({ maxLength: 10 }), hostileValue, { maxKeys: 2 });
  const build = (values: unknown[], more: Record<string, unknown>) => {
    const body: Record<string, unknown> = { ...more };
    route.fields.forEach((field, i) => {
      if (values[i] !== ABSENT) body[field.name] = values[i];
    });
    return body;
  };
  // Two in five requests are well formed, so that the store is reached and written, not only the checks.
  return fc.oneof(
    { weight: 2, arbitrary: fc.tuple(...good).map((values) => build(values, {})) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.tuple(...mixed), fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, extra))
        .map(([values, more]) => build(values, more)),
    },
  );
}

function paramValue(name: string, pools: Pools): fc.Arbitrary<string> {
  const ids =
    name === 'model_id'
      ? pools.loggedModelIds
      : name === 'webhook_id'
        ? pools.webhookIds
        : name === 'trace_id' || name === 'request_id'
          ? pools.traceIds
          : name === 'dataset_id'
            ? pools.datasetIds
            : ['t', 'mlflow.x'];
  return fc.oneof(
    { weight: 4, arbitrary: pick(ids, fc.constant('x')) },
    { weight: 2, arbitrary: fc.constantFrom(...PATH_TRICKS).filter((p) => p !== '') },
    {
      weight: 1,
      arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map((t) => pct(t)),
    },
  );
}

function queryString(fields: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    for (const item of Array.isArray(v) ? v : [v]) {
      parts.push(`${pct(k)}=${pct(queryText(item))}`);
    }
  }
  return parts.join('&');
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** How the body travels: as it should, or broken, mistyped, not an object, or in the query string. */
const shapeArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant('json' as const) },
  { weight: 1, arbitrary: fc.constant('broken' as const) },
  { weight: 1, arbitrary: fc.constant('content-type' as const) },
  { weight: 1, arbitrary: fc.constant('not-object' as const) },
  { weight: 1, arbitrary: fc.constant('query-on-post' as const) },
  { weight: 1, arbitrary: fc.constant('wrong-method' as const) },
);

/** Requests for one endpoint of the route table, under each of its prefixes (/api, /ajax-api). */
export function endpointRequestArb(route: RouteSpec, pools: Pools): fc.Arbitrary<FuzzRequest> {
  return endpointRequestOf(route, pools).map((req) => ({ ...req, route: route.key }));
}

function endpointRequestOf(route: RouteSpec, pools: Pools): fc.Arbitrary<FuzzRequest> {
  const prefix = fc.constantFrom(...route.prefixes);
  const params = fc.tuple(...route.params.map((p) => paramValue(p, pools)), fc.constant(''));
  return fc
    .tuple(
      prefix,
      params,
      fieldsArb(route, pools),
      shapeArb,
      fc.nat(),
      fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        '',
        'application/json; charset=latin1',
        'APPLICATION/JSON',
      ),
    )
    .map(([pre, values, fields, shape, n, contentType]) => {
      let i = 0;
      const path = route.path
        .split('/')
        .map((s) => (s.startsWith(':') || s === '*' ? values[i++] : s))
        .join('/');
      const url = path ? `${pre}/${path}` : pre;
      const text = toJsonText(fields);
      if (route.method === 'GET' || (route.method === 'DELETE' && shape === 'query-on-post')) {
        const q = queryString(fields);
        if (shape === 'wrong-method')
          return { method: 'POST', url, headers: JSON_HEADERS, payload: text, kind: 'wrong-method' };
        if (shape === 'broken')
          return {
            method: 'GET',
            url: `${url}?${q}%${n % 2 ? 'ZZ' : ''}&&=&%00`,
            headers: {},
            kind: 'broken-query',
          };
        return { method: 'GET', url: q ? `${url}?${q}` : url, headers: {}, kind: 'query' };
      }
      switch (shape) {
        case 'broken': {
          const cut = text.slice(0, n % Math.max(1, text.length));
          const garbage = ['', '}', ',,', '\u0000', '{"a":', '\\', '"'][n % 7];
          return {
            method: route.method,
            url,
            headers: JSON_HEADERS,
            payload: cut + garbage,
            kind: 'broken-json',
          };
        }
        case 'content-type': {
          const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
          return { method: route.method, url, headers, payload: text, kind: 'content-type' };
        }
        case 'not-object':
          return {
            method: route.method,
            url,
            headers: JSON_HEADERS,
            payload: ['[]', 'null', '"s"', '1', 'true', '[{}]'][n % 6],
            kind: 'not-object',
          };
        case 'query-on-post':
          return {
            method: route.method,
            url: `${url}?${queryString(fields)}`,
            headers: JSON_HEADERS,
            payload: n % 2 ? text : '{}',
            kind: 'query-on-post',
          };
        case 'wrong-method':
          return {
            method: ['GET', 'PUT', 'DELETE', 'POST', 'PATCH'][n % 5],
            url,
            headers: JSON_HEADERS,
            payload: text,
            kind: 'wrong-method',
          };
        default:
          return { method: route.method, url, headers: JSON_HEADERS, payload: text, kind: 'json' };
      }
    });
}

/** Path tricks on every route that takes an artifact or model path outside the route table. */
export function artifactPathRequestArb(pools: Pools): fc.Arbitrary<FuzzRequest> {
  const p = pathArb(pools);
  const raw = fc
    .tuple(p, fc.boolean())
    .map(([path, encode]) => (encode ? pct(path) : pct(path, /[A-Za-z0-9\-_.!~*'()/%]/)));
  const run = pick(pools.runIds, fc.constant('x'));
  const model = pick(pools.loggedModelIds, fc.constant('x'));
  const name = pick(pools.modelNames, fc.constant('x'));
  const proxy = fc.constantFrom('/api/2.0/mlflow-artifacts', '/ajax-api/2.0/mlflow-artifacts');
  const q = (fields: Record<string, unknown>) => queryString(fields);
  return fc.oneof(
    fc.tuple(proxy, raw).map(([pre, path]) => ({
      method: 'GET',
      url: `${pre}/artifacts/${path}`,
      headers: {},
      kind: 'proxy-get',
    })),
    fc.tuple(proxy, raw, fc.string()).map(([pre, path, body]) => ({
      method: 'PUT',
      url: `${pre}/artifacts/${path}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: body,
      kind: 'proxy-put',
    })),
    fc.tuple(proxy, raw).map(([pre, path]) => ({
      method: 'DELETE',
      url: `${pre}/artifacts/${path}`,
      headers: {},
      kind: 'proxy-delete',
    })),
    fc.tuple(proxy, p).map(([pre, path]) => ({
      method: 'GET',
      url: `${pre}/artifacts?${q({ path })}`,
      headers: {},
      kind: 'proxy-list',
    })),
    fc
      .tuple(proxy, fc.constantFrom('create', 'complete', 'abort'), raw, p, fc.integer({ min: -1, max: 3 }))
      .map(([pre, action, dir, file, n]) => ({
        method: 'POST',
        url: `${pre}/mpu/${action}/${dir}`,
        headers: JSON_HEADERS,
        payload: toJsonText({
          path: file,
          num_parts: n,
          upload_id: 'u',
          parts: [{ part_number: n, etag: 'e' }],
        }),
        kind: 'mpu',
      })),
    fc.tuple(run, p).map(([run_id, path]) => ({
      method: 'GET',
      url: `/get-artifact?${q({ run_id, path })}`,
      headers: {},
      kind: 'get-artifact',
    })),
    fc.tuple(name, p).map(([n, path]) => ({
      method: 'GET',
      url: `/model-versions/get-artifact?${q({ name: n, version: '1', path })}`,
      headers: {},
      kind: 'model-version-artifact',
    })),
    fc.tuple(model, p).map(([id, path]) => ({
      method: 'GET',
      url: `/ajax-api/2.0/mlflow/logged-models/${id}/artifacts/files?${q({ artifact_file_path: path })}`,
      headers: {},
      kind: 'logged-model-file',
    })),
    fc.tuple(run, p, fc.string({ minLength: 1 })).map(([run_uuid, path, body]) => ({
      method: 'POST',
      url: `/ajax-api/2.0/mlflow/upload-artifact?${q({ run_uuid, path })}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: body,
      kind: 'upload-artifact',
    })),
  );
}

/** One request: mostly the route table's endpoints, one in five an artifact or model path. */
export function requestArb(routes: RouteSpec[], pools: Pools): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.oneof(...routes.map((r) => endpointRequestArb(r, pools))) },
    { weight: 1, arbitrary: artifactPathRequestArb(pools) },
  );
}
