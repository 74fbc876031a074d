import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, DIALECTS, startTestServer, type TestServer } from './helpers.js';

// MLflow's registry search grammar, table-driven, over REST on every dialect: each row is a filter
// and order_by with the registered models (or model versions, as name/version) MLflow answers, in
// order, or the error it gives (INVALID_PARAMETER_VALUE, HTTP 400). Rows marked "extension" use OR
// or parentheses, which MLflow rejects.

interface VersionSeed {
  source: string;
  runId?: string;
  tags?: Record<string, string>;
}

interface ModelSeed {
  name: string;
  tags?: Record<string, string>;
  versions?: VersionSeed[];
}

// Created in this order, a few milliseconds apart, so that timestamps order them the same way.
const MODELS: ModelSeed[] = [
  {
    name: 'alpha',
    tags: { team: 'red', env: 'prod' },
    versions: [
      { source: 's3://b/alpha/1', runId: 'aaa111', tags: { note: 'ok' } },
      { source: 's3://b/alpha/2', runId: 'bbb222', tags: { note: 'bad' } },
    ],
  },
  {
    name: 'beta',
    tags: { team: 'blue' },
    versions: [{ source: 's3://b/beta/1', runId: 'aaa111', tags: { note: 'ok', k2: 'x' } }],
  },
  { name: 'Gamma', tags: { team: 'Red' }, versions: [{ source: 'mlflow-artifacts:/g/1' }] },
  { name: 'delta_1' },
  {
    name: 'prompt-x',
    tags: { 'mlflow.prompt.is_prompt': 'true' },
    versions: [{ source: 'text', tags: { 'mlflow.prompt.is_prompt': 'true' } }],
  },
];

type Expect = string[] | { error: string | RegExp };

interface Row {
  filter?: string;
  orderBy?: string[];
  expect: Expect;
  note?: string;
}

const MODEL_ROWS: Row[] = [
  // default order: name ascending (binary order: capitals first)
  { expect: ['Gamma', 'alpha', 'beta', 'delta_1'] },
  { filter: "name = 'alpha'", expect: ['alpha'] },
  { filter: 'name = "alpha"', expect: ['alpha'] },
  { filter: "name != 'alpha'", expect: ['Gamma', 'beta', 'delta_1'] },
  { filter: "name LIKE 'a%'", expect: ['alpha'] },
  { filter: "name LIKE '%A%'", expect: [] },
  { filter: "name ILIKE '%A%'", expect: ['Gamma', 'alpha', 'beta', 'delta_1'] },
  { filter: "name LIKE 'delta\\_%'", expect: ['delta_1'] },
  { filter: "attribute.name = 'beta'", expect: ['beta'] },
  {
    filter: "attributes.name = 'beta'",
    expect: {
      error: "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')",
    },
  },
  { filter: "tags.team = 'red'", expect: ['alpha'] },
  { filter: "tags.team ILIKE 'red'", expect: ['Gamma', 'alpha'] },
  { filter: "tags.team != 'red'", expect: ['Gamma', 'beta'] },
  { filter: "tag.team LIKE 'b%'", expect: ['beta'] },
  { filter: "tags.`team` = 'blue'", expect: ['beta'] },
  { filter: "tags.team = 'red' AND tags.env = 'prod'", expect: ['alpha'] },
  { filter: "tags.team = 'red' AND name = 'beta'", expect: [] },
  { filter: "tags.missing = 'x'", expect: [] },
  { filter: "name = 'alpha' OR name = 'beta'", expect: ['alpha', 'beta'], note: 'extension' },
  { filter: "name = 'prompt-x'", expect: [] },
  { filter: "tags.`mlflow.prompt.is_prompt` = 'true'", expect: ['prompt-x'] },
  { filter: "tags.`mlflow.prompt.is_prompt` != 'true'", expect: ['Gamma', 'alpha', 'beta', 'delta_1'] },
  // ordering
  { orderBy: ['name DESC'], expect: ['delta_1', 'beta', 'alpha', 'Gamma'] },
  { orderBy: ['timestamp DESC'], expect: ['delta_1', 'Gamma', 'beta', 'alpha'] },
  { orderBy: ['last_updated_timestamp ASC'], expect: ['alpha', 'beta', 'Gamma', 'delta_1'] },
  { orderBy: ['`name` desc'], expect: ['delta_1', 'beta', 'alpha', 'Gamma'] },
  // errors
  {
    filter: "description = 'x'",
    expect: { error: "Invalid attribute key 'description' specified. Valid keys are '{'name'}'" },
  },
  {
    filter: "params.a = 'x'",
    expect: { error: "Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', 'tags')" },
  },
  {
    filter: 'name = 5',
    expect: {
      error: 'Expected a quoted string value or a list of quoted string values for attributes. Got value 5',
    },
  },
  {
    filter: 'name = alpha',
    expect: {
      error: /^Parameter value is either not quoted or unidentified quote types used for string value alpha/,
    },
  },
  {
    filter: "name IN ('alpha')",
    expect: { error: "Only the 'run_id' attribute supports comparison with a list of quoted string values." },
  },
  { filter: "name > 'a'", expect: { error: 'Invalid comparator for attribute: >' } },
  { filter: "tags.team > 'a'", expect: { error: 'Invalid comparator for tag: >' } },
  { filter: 'tags.team IS NULL', expect: { error: 'Invalid comparator for tag: IS NULL' } },
  {
    filter: 'tags.team = 5',
    expect: { error: "Expected a quoted string value for tag (e.g. 'my-value'). Got value 5" },
  },
  { filter: "name = 'a' AND", expect: { error: /^Invalid clause\(s\) in filter string/ } },
  {
    orderBy: ['creation_timestamp'],
    expect: {
      error: "Invalid order by key 'creation_timestamp' specified. Valid keys are '{'name', 'timestamp'}'",
    },
  },
  {
    orderBy: ['attributes.name'],
    expect: {
      error: "Invalid order by key 'attributes.name' specified. Valid keys are '{'name', 'timestamp'}'",
    },
  },
  {
    orderBy: ['name sideways'],
    expect: { error: "Invalid ordering key in order_by clause 'name sideways'." },
  },
  {
    orderBy: ['name ASC DESC'],
    expect: { error: "Invalid order_by clause 'name ASC DESC'. Could not be parsed." },
  },
  {
    orderBy: ['timestamp', 'last_updated_timestamp DESC'],
    expect: { error: "`order_by` contains duplicate fields: ['timestamp', 'last_updated_timestamp DESC']" },
  },
];

const VERSION_ROWS: Row[] = [
  // default order: last updated first, then name, then version descending
  { expect: ['Gamma/1', 'beta/1', 'alpha/2', 'alpha/1'] },
  { filter: "name = 'alpha'", expect: ['alpha/2', 'alpha/1'] },
  { filter: "name ILIKE 'ALPHA'", expect: ['alpha/2', 'alpha/1'] },
  { filter: 'version_number = 1', expect: ['Gamma/1', 'beta/1', 'alpha/1'] },
  { filter: "version_number = '2'", expect: ['alpha/2'] },
  { filter: 'version_number > 1', expect: ['alpha/2'] },
  { filter: 'version_number <= 1 AND name != "beta"', expect: ['Gamma/1', 'alpha/1'] },
  { filter: "run_id = 'aaa111'", expect: ['beta/1', 'alpha/1'] },
  { filter: "run_id IN ('aaa111', 'bbb222')", expect: ['beta/1', 'alpha/2', 'alpha/1'] },
  // MLflow drops list items that are not lower case (run ids are).
  { filter: "run_id IN ('AAA111', 'bbb222')", expect: ['alpha/2'] },
  { filter: "source_path = 's3://b/alpha/2'", expect: ['alpha/2'] },
  { filter: "source_path LIKE 's3://%'", expect: ['beta/1', 'alpha/2', 'alpha/1'] },
  { filter: "tags.note = 'ok'", expect: ['beta/1', 'alpha/1'] },
  { filter: "tags.note != 'ok'", expect: ['alpha/2'] },
  { filter: "tags.note = 'ok' AND tags.k2 = 'x'", expect: ['beta/1'] },
  { filter: "tags.note = 'ok' AND name = 'alpha'", expect: ['alpha/1'] },
  { filter: "name = 'beta' OR version_number = 2", expect: ['beta/1', 'alpha/2'], note: 'extension' },
  { filter: "name = 'prompt-x'", expect: [] },
  { filter: "tags.`mlflow.prompt.is_prompt` = 'true'", expect: ['prompt-x/1'] },
  // ordering
  { orderBy: ['name ASC'], expect: ['Gamma/1', 'alpha/2', 'alpha/1', 'beta/1'] },
  { orderBy: ['version_number ASC', 'name DESC'], expect: ['beta/1', 'alpha/1', 'Gamma/1', 'alpha/2'] },
  { orderBy: ['creation_timestamp ASC'], expect: ['alpha/1', 'alpha/2', 'beta/1', 'Gamma/1'] },
  { orderBy: ['attribute.last_updated_timestamp ASC'], expect: ['alpha/1', 'alpha/2', 'beta/1', 'Gamma/1'] },
  // errors
  {
    filter: "stage = 'None'",
    expect: {
      error:
        "Invalid attribute key 'stage' specified. Valid keys are '{'name', 'run_id', 'source_path', 'version_number'}'",
    },
  },
  {
    filter: 'name = 1',
    expect: {
      error:
        "Only the '{'creation_timestamp', 'last_updated_timestamp', 'version_number'}' attributes support comparison with numeric values.",
    },
  },
  {
    filter: "version_number LIKE '1'",
    expect: { error: 'Invalid comparator for attribute version_number: LIKE' },
  },
  {
    filter: "version_number = 'one'",
    expect: { error: /^Invalid value 'one' for attribute version_number/ },
  },
  { filter: "name > 'a'", expect: { error: 'Invalid comparator for attribute: >' } },
  { filter: "run_id NOT IN ('a')", expect: { error: 'Invalid comparator for attribute: NOT IN' } },
  {
    filter: "source_path IN ('a')",
    expect: { error: "Only the 'run_id' attribute supports comparison with a list of quoted string values." },
  },
  { filter: "tags.note IN ('a')", expect: { error: /^Expected a quoted string value for tag/ } },
  { filter: "tags.note < 'a'", expect: { error: 'Invalid comparator for tag: <' } },
  {
    orderBy: ['run_id'],
    expect: {
      error:
        "Invalid attribute key 'run_id' specified. Valid keys are '{'creation_timestamp', 'last_updated_timestamp', 'name', 'version_number'}'",
    },
  },
  {
    orderBy: ['tags.note'],
    expect: {
      error:
        "Invalid order by key 'note' specified. Valid keys are {'creation_timestamp', 'last_updated_timestamp', 'name', 'version_number'}",
    },
  },
  {
    orderBy: ['name', 'name DESC'],
    expect: { error: "`order_by` contains duplicate fields: ['name', 'name DESC']" },
  },
];

for (const dialect of DIALECTS) {
  describe(`registry search grammar on ${dialect}`, () => {
    let srv: TestServer;

    before(async () => {
      srv = await startTestServer(dialect);
      for (const m of MODELS) {
        const tags = Object.entries(m.tags ?? {}).map(([key, value]) => ({ key, value }));
        const res = await call(srv.api, 'POST', 'registered-models/create', { name: m.name, tags });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        for (const v of m.versions ?? []) {
          await sleep(3);
          const created = await call(srv.api, 'POST', 'model-versions/create', {
            name: m.name,
            source: v.source,
            run_id: v.runId,
            tags: Object.entries(v.tags ?? {}).map(([key, value]) => ({ key, value })),
          });
          assert.equal(created.status, 200, JSON.stringify(created.body));
        }
        await sleep(3);
      }
    });
    after(async () => {
      await srv.close();
    });

    const check = async (endpoint: string, row: Row, label: (item: Record<string, string>) => string) => {
      const res = await call(srv.api, 'GET', endpoint, {
        ...(row.filter !== undefined ? { filter: row.filter } : {}),
        ...(row.orderBy ? { order_by: row.orderBy } : {}),
      });
      if (Array.isArray(row.expect)) {
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const items = (res.body.registered_models ?? res.body.model_versions ?? []) as Record<
          string,
          string
        >[];
        assert.deepEqual(items.map(label), row.expect);
      } else {
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
        if (typeof row.expect.error === 'string') assert.equal(res.body.message, row.expect.error);
        else assert.match(res.body.message, row.expect.error);
      }
    };

    for (const row of MODEL_ROWS) {
      test(`registered-models: filter=${row.filter ?? ''} order_by=${JSON.stringify(row.orderBy ?? [])}${row.note ? ` (${row.note})` : ''}`, () =>
        check('registered-models/search', row, (m) => m.name));
    }
    for (const row of VERSION_ROWS) {
      test(`model-versions: filter=${row.filter ?? ''} order_by=${JSON.stringify(row.orderBy ?? [])}${row.note ? ` (${row.note})` : ''}`, () =>
        check('model-versions/search', row, (v) => `${v.name}/${v.version}`));
    }
  });
}
