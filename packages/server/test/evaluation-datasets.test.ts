import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { datasetTags, MlflowClient, type MlflowError } from '@mlflow-ts/client';
import { exportStore } from '../src/import/export.js';
import { importStore } from '../src/import/importer.js';
import { openSqlConnection } from '../src/import/sql-connection.js';
import { verifyStores } from '../src/import/verify.js';
import { startServer } from '../src/server.js';
import { inputHash } from '../src/services/evaluation-dataset-service.js';
import { upgradeDatabase } from '../src/store/database.js';
import { ALICE, as, BOB, type Json, startAuthServer } from './auth-client.js';
import {
  call,
  DIALECTS,
  expectError,
  freshPostgresUri,
  freshStoreUri,
  startTestServer,
  type TestServer,
  tempDir,
} from './helpers.js';

// MLflow 3's evaluation-dataset endpoints over real HTTP on both dialects: create, get, search (filter,
// order, paging), tags, experiment links, record upserts (MLflow's dedup by inputs and its merge
// rule), record pages, deletion, and the errors of each.

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type Dataset = Record<string, any>;
type DatasetRecord = Record<string, any>;

for (const dialect of DIALECTS) {
  describe(`evaluation datasets on ${dialect}`, () => {
    let srv: TestServer;
    let v3: string;
    let exp1: string;
    let exp2: string;
    const api = (method: Method, endpoint: string, body?: Record<string, unknown>) =>
      call(srv.api, method, endpoint, body);
    const api3 = (method: Method, endpoint: string, body?: Record<string, unknown>) =>
      call(v3, method, endpoint, body);
    const create = async (body: Record<string, unknown>): Promise<Dataset> => {
      const res = await api3('POST', 'datasets/create', body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.dataset;
    };
    const upsert = async (id: string, records: unknown[]) => {
      const res = await api3('POST', `datasets/${id}/records`, { records: JSON.stringify(records) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };
    const records = async (id: string, query: Record<string, unknown> = {}) => {
      const res = await api3('GET', `datasets/${id}/records`, query);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(typeof res.body.records, 'string');
      return {
        records: JSON.parse(res.body.records) as DatasetRecord[],
        next: res.body.next_page_token as string,
      };
    };
    const search = async (body: Record<string, unknown>) => {
      const res = await api3('POST', 'datasets/search', body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { datasets?: Dataset[]; next_page_token?: string };
    };
    const names = (page: { datasets?: Dataset[] }) => (page.datasets ?? []).map((d) => d.name);

    before(async () => {
      srv = await startTestServer(dialect);
      v3 = srv.api.replace('/api/2.0/', '/api/3.0/');
      exp1 = (await api('POST', 'experiments/create', { name: 'eval-1' })).body.experiment_id;
      exp2 = (await api('POST', 'experiments/create', { name: 'eval-2' })).body.experiment_id;
    });
    after(async () => {
      await srv.close();
    });

    test('create answers the dataset; get reads it back with its tags and experiments', async () => {
      const before = Date.now();
      const d = await create({
        name: 'qa',
        experiment_ids: [exp1],
        tags: JSON.stringify({ team: 'search', 'mlflow.user': 'alice' }),
      });
      assert.match(d.dataset_id, /^d-[0-9a-f]{32}$/);
      assert.equal(d.name, 'qa');
      assert.deepEqual(JSON.parse(d.tags), { 'mlflow.user': 'alice', team: 'search' });
      assert.deepEqual(d.experiment_ids, [exp1]);
      assert.equal(d.created_by, 'alice');
      assert.equal(d.last_updated_by, 'alice');
      assert.ok(d.created_time >= before && d.created_time === d.last_update_time);
      assert.match(d.digest, /^[0-9a-f]{8}$/);
      assert.equal(d.schema, undefined);

      const got = await api3('GET', `datasets/${d.dataset_id}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body.dataset, d);
      const ajax = await call(srv.url, 'GET', `ajax-api/3.0/mlflow/datasets/${d.dataset_id}`);
      assert.deepEqual(ajax.body.dataset, d);
      const ids = await api3('GET', `datasets/${d.dataset_id}/experiment-ids`);
      assert.deepEqual(ids.body, { experiment_ids: [exp1] });
    });

    test('create refuses a missing or wrong-typed name, bad tags JSON and unknown experiments', async () => {
      await expectError(api3('POST', 'datasets/create', {}), 400, 'INVALID_PARAMETER_VALUE', /'name'/);
      await expectError(api3('POST', 'datasets/create', { name: 5 }), 400, 'INVALID_PARAMETER_VALUE', /name/);
      await expectError(
        api3('POST', 'datasets/create', { name: 'x', tags: '{not json' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid JSON in field 'tags'/,
      );
      await expectError(
        api3('POST', 'datasets/create', { name: 'x', tags: '["a"]' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /expected a JSON object/,
      );
      await expectError(
        api3('POST', 'datasets/create', { name: 'x', tags: JSON.stringify({ k: 'v'.repeat(5001) }) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /exceeded length limit of 5000/,
      );
      await expectError(
        api3('POST', 'datasets/create', { name: 'x'.repeat(256) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /exceeded length limit of 255/,
      );
      await expectError(
        api3('POST', 'datasets/create', { name: 'x', experiment_ids: ['987654'] }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'No Experiment with id=987654 exists',
      );
      await expectError(
        api3('POST', 'datasets/create', { name: 'x', experiment_ids: 'nope' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      // Nothing was left half-created by the refused calls.
      assert.deepEqual(names(await search({ filter_string: "name = 'x'" })), []);
    });

    test('unknown datasets are RESOURCE_DOES_NOT_EXIST on every endpoint', async () => {
      const id = 'd-00000000000000000000000000000000';
      const notFound = `Dataset '${id}' not found`;
      for (const [method, path, body] of [
        ['GET', `datasets/${id}`, undefined],
        ['DELETE', `datasets/${id}`, undefined],
        ['PATCH', `datasets/${id}/tags`, { tags: '{"a": "b"}' }],
        ['DELETE', `datasets/${id}/tags/a`, undefined],
        ['POST', `datasets/${id}/records`, { records: '[{"inputs": {"q": 1}}]' }],
        ['GET', `datasets/${id}/records`, undefined],
        ['DELETE', `datasets/${id}/records`, { dataset_record_ids: ['dr-1'] }],
        ['GET', `datasets/${id}/experiment-ids`, undefined],
        ['POST', `datasets/${id}/add-experiments`, { experiment_ids: [exp1] }],
        ['POST', `datasets/${id}/remove-experiments`, { experiment_ids: [exp1] }],
      ] as const) {
        await expectError(api3(method, path, body), 404, 'RESOURCE_DOES_NOT_EXIST', notFound);
      }
    });

    test('upsert inserts, then merges records with the same inputs (MLflow dedups by inputs)', async () => {
      const d = await create({ name: 'upserts', experiment_ids: [exp1] });
      const first = await upsert(d.dataset_id, [
        {
          inputs: { question: 'What is MLflow?', context: { lang: 'en' } },
          expectations: { answer: 'A platform' },
          tags: { stage: 'draft', 'mlflow.user': 'bob' },
          source: { source_type: 'TRACE', source_data: { trace_id: 'tr-0123456789abcdef0123456789abcdef' } },
        },
        { inputs: { question: 'Why?' }, outputs: 'because', expectations: { score: 0.5 } },
      ]);
      assert.deepEqual(first, { inserted_count: 2, updated_count: 0 });

      let page = await records(d.dataset_id);
      assert.equal(page.records.length, 2);
      assert.equal(page.next, undefined);
      const q1 = page.records.find((r) => r.inputs.question === 'What is MLflow?');
      assert.ok(q1);
      assert.match(q1.dataset_record_id, /^dr-[0-9a-f]{32}$/);
      assert.equal(q1.dataset_id, d.dataset_id);
      assert.deepEqual(q1.inputs, { question: 'What is MLflow?', context: { lang: 'en' } });
      assert.deepEqual(q1.expectations, { answer: 'A platform' });
      assert.deepEqual(q1.source, {
        source_type: 'TRACE',
        source_data: { trace_id: 'tr-0123456789abcdef0123456789abcdef' },
      });
      assert.equal(q1.source_id, 'tr-0123456789abcdef0123456789abcdef');
      assert.equal(q1.source_type, 'TRACE');
      assert.equal(q1.created_by, 'bob');
      assert.equal('outputs' in q1, false, "absent fields are left out, as MLflow's to_dict() does");
      const q2 = page.records.find((r) => r.inputs.question === 'Why?');
      assert.equal(q2?.outputs, 'because');
      assert.equal(q2?.created_by, undefined);
      assert.deepEqual(q2?.tags, {});

      // The same inputs with keys in another order are the same record: merged, not added.
      const second = await upsert(d.dataset_id, [
        {
          inputs: { context: { lang: 'en' }, question: 'What is MLflow?' },
          expectations: { facts: ['open source'] },
          tags: { stage: 'final', 'mlflow.user': 'carol' },
        },
        { inputs: { question: 'New one' } },
        { inputs: { question: 'New one' }, expectations: { x: 1 } },
      ]);
      assert.deepEqual(second, { inserted_count: 1, updated_count: 2 });
      page = await records(d.dataset_id);
      assert.equal(page.records.length, 3);
      const merged = page.records.find((r) => r.dataset_record_id === q1.dataset_record_id);
      assert.ok(merged);
      assert.deepEqual(merged.expectations, { answer: 'A platform', facts: ['open source'] });
      assert.deepEqual(merged.tags, { stage: 'final', 'mlflow.user': 'carol' });
      assert.equal(merged.created_by, 'bob');
      assert.equal(merged.last_updated_by, 'carol');
      assert.equal(merged.created_time, q1.created_time);
      assert.ok(merged.last_update_time >= q1.last_update_time);
      assert.equal(merged.source_type, 'TRACE', 'a merge keeps the source');
      assert.deepEqual(page.records.find((r) => r.inputs.question === 'New one')?.expectations, { x: 1 });

      // Outputs are replaced when given, cleared by null, kept when absent.
      await upsert(d.dataset_id, [{ inputs: { question: 'Why?' } }]);
      assert.equal(
        (await records(d.dataset_id)).records.find((r) => r.inputs.question === 'Why?')?.outputs,
        'because',
      );
      await upsert(d.dataset_id, [{ inputs: { question: 'Why?' }, outputs: { text: 'since' } }]);
      assert.deepEqual(
        (await records(d.dataset_id)).records.find((r) => r.inputs.question === 'Why?')?.outputs,
        { text: 'since' },
      );

      // The dataset's schema, profile and digest follow its records.
      const after = (await api3('GET', `datasets/${d.dataset_id}`)).body.dataset;
      assert.deepEqual(JSON.parse(after.profile), { num_records: 3 });
      const schema = JSON.parse(after.schema);
      assert.deepEqual(schema.inputs, { question: 'string', context: 'object' });
      assert.deepEqual(schema.expectations, {
        answer: 'string',
        score: 'float',
        facts: 'array',
        x: 'integer',
      });
      assert.ok(after.last_update_time >= d.last_update_time);
      assert.notEqual(after.digest, undefined);
    });

    test('records store their JSON as written and are keyed by the hash MLflow computes', async () => {
      const d = await create({ name: 'verbatim' });
      const inputs = { b: 'ü', a: [1, 2.5, { z: null, y: true }] };
      await upsert(d.dataset_id, [
        { inputs, expectations: { big: 12345678901234 }, tags: { n: 1, ok: true } },
      ]);
      const [r] = (await records(d.dataset_id)).records;
      assert.deepEqual(r.inputs, inputs);
      assert.deepEqual(Object.keys(r.inputs), ['b', 'a'], 'key order as written');
      assert.deepEqual(r.expectations, { big: 12345678901234 });
      assert.deepEqual(r.tags, { n: 1, ok: true }, 'record tags are JSON, kept as given');
      // MLflow's input_hash: sha256 of Python's json.dumps(inputs, sort_keys=True), so a database
      // carried over from MLflow dedups against the same records.
      const python = '{"a": [1, 2.5, {"y": true, "z": null}], "b": "\\u00fc"}';
      assert.equal(inputHash(inputs), createHash('sha256').update(python).digest('hex'));
      // The same inputs again (keys in another order) update that record rather than add one.
      assert.deepEqual(await upsert(d.dataset_id, [{ inputs: { a: inputs.a, b: 'ü' } }]), {
        inserted_count: 0,
        updated_count: 1,
      });
    });

    test('bad records are INVALID_PARAMETER_VALUE and change nothing', async () => {
      const d = await create({ name: 'bad-records' });
      const bad = (records: unknown) => api3('POST', `datasets/${d.dataset_id}/records`, { records });
      await expectError(
        api3('POST', `datasets/${d.dataset_id}/records`, {}),
        400,
        'INVALID_PARAMETER_VALUE',
        /'records'/,
      );
      await expectError(bad(['x']), 400, 'INVALID_PARAMETER_VALUE');
      await expectError(bad('not json'), 400, 'INVALID_PARAMETER_VALUE', /Invalid JSON in field 'records'/);
      await expectError(bad('{"inputs": {}}'), 400, 'INVALID_PARAMETER_VALUE', /JSON list/);
      await expectError(bad('[1]'), 400, 'INVALID_PARAMETER_VALUE', /records\[0\]: expected a JSON object/);
      await expectError(bad('[{"outputs": 1}]'), 400, 'INVALID_PARAMETER_VALUE', /'inputs' is required/);
      await expectError(
        bad('[{"inputs": "q"}]'),
        400,
        'INVALID_PARAMETER_VALUE',
        /'inputs' must be a JSON object/,
      );
      await expectError(
        bad('[{"inputs": {"q": 1}}, {"inputs": {"q": 2}, "expectations": [1]}]'),
        400,
        'INVALID_PARAMETER_VALUE',
        /records\[1\]: 'expectations' must be a JSON object/,
      );
      await expectError(
        bad('[{"inputs": {"q": 1}, "source": {"source_type": "ROBOT"}}]'),
        400,
        'INVALID_PARAMETER_VALUE',
        /source_type must be one of TRACE, HUMAN, DOCUMENT, CODE/,
      );
      await expectError(
        bad(`[{"inputs": {"q": 1}, "source_id": "${'s'.repeat(37)}"}]`),
        400,
        'INVALID_PARAMETER_VALUE',
        /longer than 36/,
      );
      assert.deepEqual((await records(d.dataset_id)).records, []);
    });

    test('record pages follow creation order with MLflow-style tokens; bad paging is refused', async () => {
      const d = await create({ name: 'paged' });
      const all = Array.from({ length: 7 }, (_, i) => ({ inputs: { i } }));
      for (const r of all) await upsert(d.dataset_id, [r]);
      const seen: number[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await records(
          d.dataset_id,
          token ? { max_results: 3, page_token: token } : { max_results: 3 },
        );
        seen.push(...page.records.map((r) => r.inputs.i as number));
        token = page.next;
        pages++;
      } while (token);
      // Creation order (the record id breaking ties within a millisecond): what one page of all shows.
      const full = (await records(d.dataset_id)).records.map((r) => r.inputs.i as number);
      assert.deepEqual([...full].sort(), [0, 1, 2, 3, 4, 5, 6]);
      assert.deepEqual(seen, full);
      assert.equal(pages, 3);
      // MLflow's own offset tokens are accepted too.
      const byOffset = await records(d.dataset_id, {
        max_results: 2,
        page_token: Buffer.from('{"offset": 5}').toString('base64'),
      });
      assert.deepEqual(
        byOffset.records.map((r) => r.inputs.i),
        full.slice(5),
      );
      await expectError(
        api3('GET', `datasets/${d.dataset_id}/records`, { page_token: '!!' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid page token/,
      );
      await expectError(
        api3('GET', `datasets/${d.dataset_id}/records`, { max_results: 'many' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api3('GET', `datasets/${d.dataset_id}/records`, { max_results: -1 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /max_results/,
      );
    });

    test('concurrent upserts of the same inputs make one record, and the profile counts every record', async () => {
      const d = await create({ name: 'concurrent' });
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          api3('POST', `datasets/${d.dataset_id}/records`, {
            records: JSON.stringify([{ inputs: { shared: true } }, { inputs: { own: i } }]),
          }),
        ),
      );
      for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
      const inserted = answers.reduce((n, a) => n + a.body.inserted_count, 0);
      const updated = answers.reduce((n, a) => n + a.body.updated_count, 0);
      assert.equal(inserted, 13);
      assert.equal(updated, 11);
      assert.equal((await records(d.dataset_id)).records.length, 13);
      const after = (await api3('GET', `datasets/${d.dataset_id}`)).body.dataset;
      assert.deepEqual(JSON.parse(after.profile), { num_records: 13 });
      assert.deepEqual(JSON.parse(after.schema).inputs, { shared: 'boolean', own: 'integer' });
    });

    test('delete records answers the count and the profile follows', async () => {
      const d = await create({ name: 'deletions' });
      await upsert(d.dataset_id, [{ inputs: { n: 1 } }, { inputs: { n: 2 } }, { inputs: { n: 3 } }]);
      const ids = (await records(d.dataset_id)).records.map((r) => r.dataset_record_id as string);
      const res = await api3('DELETE', `datasets/${d.dataset_id}/records`, {
        dataset_record_ids: [ids[0], ids[1], 'dr-unknown'],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { deleted_count: 2 });
      assert.deepEqual(
        (await records(d.dataset_id)).records.map((r) => r.dataset_record_id),
        [ids[2]],
      );
      const after = (await api3('GET', `datasets/${d.dataset_id}`)).body.dataset;
      assert.deepEqual(JSON.parse(after.profile), { num_records: 1 });
    });

    test('tags: set merges (null removes), delete removes; bad tags are refused', async () => {
      const d = await create({ name: 'tagged', tags: JSON.stringify({ a: '1', b: '2' }) });
      const set = await api3('PATCH', `datasets/${d.dataset_id}/tags`, {
        tags: JSON.stringify({ b: '20', c: 3, d: true, a: null, 'mlflow.user': 'dave' }),
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.deepEqual(set.body, {});
      let got = (await api3('GET', `datasets/${d.dataset_id}`)).body.dataset;
      assert.deepEqual(JSON.parse(got.tags), { b: '20', c: '3', d: 'True', 'mlflow.user': 'dave' });
      assert.equal(got.last_updated_by, 'dave');
      assert.equal(got.created_by, undefined);

      const del = await api3('DELETE', `datasets/${d.dataset_id}/tags/b`);
      assert.equal(del.status, 200);
      // Deleting a tag that is not there is no change.
      assert.equal((await api3('DELETE', `datasets/${d.dataset_id}/tags/nope`)).status, 200);
      got = (await api3('GET', `datasets/${d.dataset_id}`)).body.dataset;
      assert.deepEqual(JSON.parse(got.tags), { c: '3', d: 'True', 'mlflow.user': 'dave' });

      await expectError(
        api3('PATCH', `datasets/${d.dataset_id}/tags`, {}),
        400,
        'INVALID_PARAMETER_VALUE',
        /'tags'/,
      );
      await expectError(
        api3('PATCH', `datasets/${d.dataset_id}/tags`, { tags: { a: 'b' } }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api3('PATCH', `datasets/${d.dataset_id}/tags`, { tags: JSON.stringify({ ['k'.repeat(256)]: 'v' }) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /255/,
      );
    });

    test('experiment links: add and remove answer the dataset; unknown experiments are refused', async () => {
      const d = await create({ name: 'linked', experiment_ids: [exp1] });
      assert.equal(d.tags, '{}', "a dataset without tags carries an empty JSON object, as MLflow's");
      const added = await api3('POST', `datasets/${d.dataset_id}/add-experiments`, {
        experiment_ids: [exp2, exp1],
      });
      assert.equal(added.status, 200, JSON.stringify(added.body));
      assert.deepEqual([...added.body.dataset.experiment_ids].sort(), [exp1, exp2].sort());
      await expectError(
        api3('POST', `datasets/${d.dataset_id}/add-experiments`, { experiment_ids: ['424242'] }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      const removed = await api3('POST', `datasets/${d.dataset_id}/remove-experiments`, {
        experiment_ids: [exp1, '555'],
      });
      assert.equal(removed.status, 200);
      assert.deepEqual(removed.body.dataset.experiment_ids, [exp2]);
      const gone = await api3('POST', `datasets/${d.dataset_id}/remove-experiments`, {
        experiment_ids: [exp2],
      });
      assert.equal(gone.body.dataset.experiment_ids, undefined);
      assert.deepEqual((await api3('GET', `datasets/${d.dataset_id}/experiment-ids`)).body, {});
    });

    test('search: by experiment, filter, order and pages', async () => {
      const s1 = await create({
        name: 'search-alpha',
        experiment_ids: [exp2],
        tags: JSON.stringify({ kind: 'golden' }),
      });
      const s2 = await create({
        name: 'search-beta',
        experiment_ids: [exp2],
        tags: JSON.stringify({ 'mlflow.user': 'erin' }),
      });
      const s3 = await create({ name: 'Search-gamma', experiment_ids: [exp2, exp1] });

      // Newest first by default, the id breaking ties (datasets made in one millisecond).
      const newestFirst = [s1, s2, s3]
        .sort((a, b) => b.created_time - a.created_time || (a.dataset_id < b.dataset_id ? -1 : 1))
        .map((d) => d.name);
      assert.deepEqual(names(await search({ experiment_ids: [exp2] })), newestFirst);
      assert.deepEqual(names(await search({ experiment_ids: [exp2], order_by: ['name ASC'] })), [
        'Search-gamma',
        'search-alpha',
        'search-beta',
      ]);
      assert.deepEqual(names(await search({ filter_string: "name LIKE 'search-%'", order_by: ['name'] })), [
        'search-alpha',
        'search-beta',
      ]);
      assert.deepEqual(
        names(await search({ filter_string: "name ILIKE 'search-%'", order_by: ['name DESC'] })),
        ['search-beta', 'search-alpha', 'Search-gamma'],
      );
      assert.deepEqual(names(await search({ filter_string: "tags.kind = 'golden'" })), ['search-alpha']);
      assert.deepEqual(names(await search({ filter_string: "created_by = 'erin'" })), ['search-beta']);
      const inExp2 = (filter: string) =>
        search({ experiment_ids: [exp2], filter_string: filter, order_by: ['name'] });
      assert.deepEqual(names(await inExp2(`created_time < ${s1.created_time}`)), []);
      assert.deepEqual(names(await inExp2(`created_time >= ${s1.created_time} AND last_update_time > 0`)), [
        'Search-gamma',
        'search-alpha',
        'search-beta',
      ]);
      assert.deepEqual(
        names(await search({ experiment_ids: [exp1], filter_string: "name = 'Search-gamma'" })),
        ['Search-gamma'],
      );
      const viaGet = await api3('GET', 'datasets/search', { experiment_ids: [exp2], max_results: 1 });
      assert.equal(viaGet.status, 200);
      assert.equal(viaGet.body.datasets.length, 1);

      // Pages of 2 over the three datasets of exp2.
      const first = await search({ experiment_ids: [exp2], max_results: 2, order_by: ['name'] });
      assert.deepEqual(names(first), ['Search-gamma', 'search-alpha']);
      assert.ok(first.next_page_token);
      const second = await search({
        experiment_ids: [exp2],
        max_results: 2,
        order_by: ['name'],
        page_token: first.next_page_token,
      });
      assert.deepEqual(names(second), ['search-beta']);
      assert.equal(second.next_page_token, undefined);

      await expectError(
        api3('POST', 'datasets/search', { filter_string: 'foo = 1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid attribute key 'foo'/,
      );
      await expectError(
        api3('POST', 'datasets/search', { filter_string: "created_time = 'x'" }),
        400,
        'INVALID_PARAMETER_VALUE',
        /expected a number/,
      );
      await expectError(
        api3('POST', 'datasets/search', { filter_string: 'name = ' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api3('POST', 'datasets/search', { order_by: ['tags.x'] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid order_by/,
      );
      await expectError(
        api3('POST', 'datasets/search', { max_results: 'ten' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api3('POST', 'datasets/search', { page_token: 'zzz' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid page token/,
      );
    });

    test('the SDK drives every endpoint', async () => {
      const client = new MlflowClient({ trackingUri: srv.url, maxRetries: 0 });
      const d = await client.createDataset('sdk-ds', { experimentIds: [exp1], tags: { owner: 'sdk' } });
      assert.deepEqual(datasetTags(d), { owner: 'sdk' });
      assert.deepEqual(d.experiment_ids, [exp1]);
      assert.deepEqual(
        await client.upsertDatasetRecords(d.dataset_id, [{ inputs: { q: 'a' } }, { inputs: { q: 'b' } }]),
        {
          inserted: 2,
          updated: 0,
        },
      );
      assert.deepEqual(
        await client.upsertDatasetRecords(d.dataset_id, [{ inputs: { q: 'a' }, expectations: { ok: true } }]),
        { inserted: 0, updated: 1 },
      );
      const first = await client.getDatasetRecords(d.dataset_id, { maxResults: 1 });
      assert.equal(first.items.length, 1);
      assert.ok(first.nextPageToken);
      const rest = await client.getDatasetRecords(d.dataset_id, {
        maxResults: 1,
        pageToken: first.nextPageToken,
      });
      assert.equal(rest.items.length, 1);
      assert.notEqual(rest.items[0].dataset_record_id, first.items[0].dataset_record_id);
      await client.setDatasetTags(d.dataset_id, { owner: null, stage: 'gold' });
      await client.deleteDatasetTag(d.dataset_id, 'stage');
      assert.deepEqual(datasetTags(await client.getDataset(d.dataset_id)), {});
      assert.deepEqual(
        (await client.addDatasetToExperiments(d.dataset_id, [exp2])).experiment_ids.sort(),
        [exp1, exp2].sort(),
      );
      assert.deepEqual((await client.removeDatasetFromExperiments(d.dataset_id, [exp1])).experiment_ids, [
        exp2,
      ]);
      assert.deepEqual(await client.getDatasetExperimentIds(d.dataset_id), [exp2]);
      const found = await client.searchDatasets({ filter: "name = 'sdk-ds'" });
      assert.deepEqual(
        found.items.map((x) => x.dataset_id),
        [d.dataset_id],
      );
      assert.equal(await client.deleteDatasetRecords(d.dataset_id, [first.items[0].dataset_record_id]), 1);
      await client.deleteDataset(d.dataset_id);
      await assert.rejects(
        client.getDataset(d.dataset_id),
        (e: MlflowError) => e.errorCode === 'RESOURCE_DOES_NOT_EXIST',
      );
    });

    test('delete removes the dataset, its records, tags and links', async () => {
      const d = await create({ name: 'doomed', experiment_ids: [exp1], tags: JSON.stringify({ a: 'b' }) });
      await upsert(d.dataset_id, [{ inputs: { q: 1 } }]);
      const res = await api3('DELETE', `datasets/${d.dataset_id}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {});
      await expectError(api3('GET', `datasets/${d.dataset_id}`), 404, 'RESOURCE_DOES_NOT_EXIST');
      await expectError(api3('GET', `datasets/${d.dataset_id}/records`), 404, 'RESOURCE_DOES_NOT_EXIST');
      assert.deepEqual(names(await search({ filter_string: "name = 'doomed'" })), []);
      // The endpoints are v3 only, as in MLflow.
      await expectError(api('GET', `datasets/${d.dataset_id}`), 404, 'ENDPOINT_NOT_FOUND');
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`evaluation datasets under basic auth (${dialect})`, () => {
    let srv: TestServer;
    let v3: string;
    let api: string;
    const dir = tempDir('mlflow-ts-dataset-auth-');
    const ok = async (r: Promise<{ status: number; body: Json; text: string }>) => {
      const res = await r;
      assert.equal(res.status, 200, res.text);
      return res.body;
    };
    const denied = async (r: Promise<{ status: number; text: string }>) => {
      const res = await r;
      assert.equal(res.status, 403, res.text);
    };
    const searchNames = async (who: string, body: Json) =>
      ((await ok(as(who, v3, 'POST', 'datasets/search', body))).datasets ?? []).map((d: Json) => d.name);

    before(async () => {
      srv = await startAuthServer(dialect, dir.dir);
      api = srv.api;
      v3 = srv.api.replace('/api/2.0/', '/api/3.0/');
    });
    after(async () => {
      await srv.close();
      dir.cleanup();
    });

    test("a linked dataset follows its experiments' permissions; an unlinked one is any user's", async () => {
      const exp = (await ok(as(ALICE, api, 'POST', 'experiments/create', { name: 'alice-datasets' })))
        .experiment_id;
      const { dataset } = await ok(
        as(ALICE, v3, 'POST', 'datasets/create', { name: 'alice-ds', experiment_ids: [exp] }),
      );
      const id = dataset.dataset_id;
      const records = JSON.stringify([{ inputs: { q: 1 } }]);
      await ok(as(ALICE, v3, 'POST', `datasets/${id}/records`, { records }));

      // BOB has the default READ on ALICE's experiment: reads, no writes.
      await denied(as(BOB, v3, 'POST', 'datasets/create', { name: 'bob-ds', experiment_ids: [exp] }));
      await ok(as(BOB, v3, 'GET', `datasets/${id}`));
      await ok(as(BOB, v3, 'GET', `datasets/${id}/records`));
      await ok(as(BOB, v3, 'GET', `datasets/${id}/experiment-ids`));
      await denied(as(BOB, v3, 'POST', `datasets/${id}/records`, { records }));
      await denied(as(BOB, v3, 'PATCH', `datasets/${id}/tags`, { tags: '{"a": "b"}' }));
      await denied(as(BOB, v3, 'DELETE', `datasets/${id}/tags/a`));
      await denied(as(BOB, v3, 'DELETE', `datasets/${id}`));
      await denied(as(BOB, v3, 'POST', `datasets/${id}/remove-experiments`, { experiment_ids: [exp] }));

      // BOB's own dataset, linked to nothing, is his to change; linking it to ALICE's experiment is not.
      const own = (await ok(as(BOB, v3, 'POST', 'datasets/create', { name: 'bob-ds' }))).dataset.dataset_id;
      await ok(as(BOB, v3, 'POST', `datasets/${own}/records`, { records }));
      await denied(as(BOB, v3, 'POST', `datasets/${own}/add-experiments`, { experiment_ids: [exp] }));
      await ok(as(ALICE, v3, 'POST', `datasets/${own}/add-experiments`, { experiment_ids: [exp] }));
      await denied(as(BOB, v3, 'POST', `datasets/${own}/records`, { records }));

      // NO_PERMISSIONS: ALICE's dataset disappears from BOB's reads and searches.
      assert.deepEqual((await searchNames(BOB, { order_by: ['name'] })).sort(), ['alice-ds', 'bob-ds']);
      await ok(
        as(ALICE, api, 'POST', 'experiments/permissions/create', {
          experiment_id: exp,
          username: 'bob',
          permission: 'NO_PERMISSIONS',
        }),
      );
      await denied(as(BOB, v3, 'GET', `datasets/${id}`));
      await denied(as(BOB, v3, 'GET', `datasets/${id}/records`));
      assert.deepEqual(await searchNames(BOB, {}), []);
      assert.deepEqual(await searchNames(BOB, { experiment_ids: [exp] }), []);
      await ok(as(ALICE, v3, 'POST', `datasets/${own}/remove-experiments`, { experiment_ids: [exp] }));
      assert.deepEqual(await searchNames(BOB, {}), ['bob-ds']);
      assert.deepEqual((await searchNames(ALICE, { order_by: ['name'] })).sort(), ['alice-ds', 'bob-ds']);

      // Without credentials nothing answers; an unknown dataset is a 404, not a 403.
      assert.equal((await as(undefined, v3, 'GET', `datasets/${id}`)).status, 401);
      const unknown = await as(BOB, v3, 'GET', 'datasets/d-ffffffffffffffffffffffffffffffff');
      assert.equal(unknown.status, 404, unknown.text);
      await ok(as(ALICE, v3, 'DELETE', `datasets/${id}`));
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`evaluation datasets through db export and db import (${dialect})`, () => {
    const cleanups: (() => void)[] = [];
    after(() => {
      for (const c of cleanups) c();
    });
    async function freshStore(): Promise<string> {
      const store = await freshStoreUri(dialect);
      cleanups.push(store.cleanup);
      await upgradeDatabase(store.uri);
      return store.uri;
    }
    async function emptyMlflowDb(): Promise<string> {
      if (dialect === 'postgres') return freshPostgresUri();
      const dir = tempDir('mlflow-ts-dataset-export-');
      cleanups.push(dir.cleanup);
      return `sqlite:///${path.join(dir.dir, 'mlflow.db')}`;
    }
    /** Runs `fn` against a server over the store at `uri` (its 3.0 API base). */
    async function withServer<T>(uri: string, fn: (v3: string, v2: string) => Promise<T>): Promise<T> {
      const artifacts = tempDir('mlflow-ts-dataset-export-artifacts-');
      const server = await startServer({
        backendStoreUri: uri,
        serveArtifacts: true,
        artifactsDestination: artifacts.dir,
        host: '127.0.0.1',
        port: 0,
      });
      try {
        return await fn(`${server.url}/api/3.0/mlflow`, `${server.url}/api/2.0/mlflow`);
      } finally {
        await server.close();
        artifacts.cleanup();
      }
    }
    const snapshot = (v3: string, id: string) =>
      Promise.all([call(v3, 'GET', `datasets/${id}`), call(v3, 'GET', `datasets/${id}/records`)]).then(
        ([d, r]) => {
          assert.equal(d.status, 200, JSON.stringify(d.body));
          assert.equal(r.status, 200, JSON.stringify(r.body));
          return { dataset: d.body.dataset, records: JSON.parse(r.body.records) };
        },
      );

    test("datasets, tags, records and experiment links go into MLflow's tables and come back", async () => {
      const ours = await freshStore();
      const { id, before } = await withServer(ours, async (v3, v2) => {
        const exp = (await call(v2, 'POST', 'experiments/create', { name: 'exported-datasets' })).body
          .experiment_id;
        const created = await call(v3, 'POST', 'datasets/create', {
          name: 'to-export',
          experiment_ids: [exp],
          tags: JSON.stringify({ team: 'search', 'mlflow.user': 'ana' }),
        });
        const datasetId = created.body.dataset.dataset_id as string;
        const records = [
          { inputs: { question: 'Wie?', n: 1 }, outputs: 'so', expectations: { answer: 'ja' } },
          {
            inputs: { question: 'Why?' },
            source: { source_type: 'HUMAN', source_data: { user: 'ana' } },
            tags: { 'mlflow.user': 'ana' },
          },
        ];
        assert.equal(
          (await call(v3, 'POST', `datasets/${datasetId}/records`, { records: JSON.stringify(records) }))
            .status,
          200,
        );
        return { id: datasetId, before: await snapshot(v3, datasetId) };
      });

      const exported = await emptyMlflowDb();
      const summary = await exportStore({ from: ours, to: exported });
      const rows = Object.fromEntries(summary.tables.map((t) => [t.table, t.rows]));
      assert.equal(rows.evaluation_datasets, 1);
      assert.equal(rows.evaluation_dataset_tags, 2);
      assert.equal(rows.evaluation_dataset_records, 2);
      assert.equal(rows.entity_associations, 1);

      // In MLflow's own shapes: the dedup hash it computes, outputs wrapped, JSON as written.
      const conn = await openSqlConnection(exported, { readonly: true });
      try {
        const [record] = await conn.all(
          'select input_hash, cast(inputs as text) as inputs, cast(outputs as text) as outputs from evaluation_dataset_records where source_type is null',
        );
        assert.equal(record.input_hash, inputHash({ question: 'Wie?', n: 1 }));
        assert.deepEqual(JSON.parse(String(record.inputs)), { question: 'Wie?', n: 1 });
        assert.deepEqual(JSON.parse(String(record.outputs)), { mlflow_wrapped: 'so' });
        const [link] = await conn.all(
          'select source_type, source_id, destination_type from entity_associations',
        );
        assert.deepEqual(link, {
          source_type: 'evaluation_dataset',
          source_id: id,
          destination_type: 'experiment',
        });
        const [dataset] = await conn.all('select workspace from evaluation_datasets');
        assert.equal(dataset.workspace, 'default');
      } finally {
        await conn.close();
      }
      const clean = await verifyStores(exported, ours);
      assert.equal(clean.differences, 0, clean.lines.join('\n'));

      // Imported back into a new store, the API answers the same dataset and records.
      const again = await freshStore();
      const imported = await importStore({ from: exported, to: again });
      assert.deepEqual(imported.leftBehind, []);
      assert.deepEqual(await withServer(again, (v3) => snapshot(v3, id)), before);
    });
  });
}
