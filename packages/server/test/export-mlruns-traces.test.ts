// `db export` into a mlruns/ directory and back: a trace's assessments are written where MLflow's
// FileStore keeps them (traces/<id>/assessments/<assessment id>.yaml, the Assessment message in
// protobuf's JSON names), read back by the importer, and the round trip verifies clean; trace-to-run
// links, which MLflow's file store cannot hold, are counted as left behind.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { exportStore } from '../src/import/export.js';
import { importStore } from '../src/import/importer.js';
import { verifyStores } from '../src/import/verify.js';
import { startServer } from '../src/server.js';
import { call, DIALECTS, freshStoreUri, tempDir } from './helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mlflow-3.6');
const FIXTURE = `sqlite:///${path.join(FIXTURES, 'sqlite', 'mlflow.db')}`;
const TRACE = 'tr-c228b2bff95b1506f1eb321948c656ef';
const RUN = 'd9165cd792f945cabc8d5c7fda8494ff';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

async function fresh(dialect: (typeof DIALECTS)[number]): Promise<string> {
  const store = await freshStoreUri(dialect);
  cleanups.push(store.cleanup);
  return store.uri;
}

/** Serves the store at `uri` while `fn` runs, with the API's base URL (`/api/<version>/mlflow`). */
async function withApi<T>(uri: string, fn: (api: (version: 2 | 3) => string) => Promise<T>): Promise<T> {
  const artifacts = tempDir('mlflow-ts-export-artifacts-');
  const server = await startServer({
    backendStoreUri: uri,
    serveArtifacts: true,
    artifactsDestination: artifacts.dir,
    host: '127.0.0.1',
    port: 0,
  });
  try {
    return await fn((version) => `${server.url}/api/${version}.0/mlflow`);
  } finally {
    await server.close();
    artifacts.cleanup();
  }
}

/** The trace's assessments as the API answers them, by id. */
async function assessmentsOf(uri: string, trace = TRACE): Promise<Record<string, unknown>[]> {
  return withApi(uri, async (api) => {
    const got = await call(api(3), 'GET', `traces/${trace}`);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    const list = (got.body.trace.trace_info.assessments ?? []) as Record<string, unknown>[];
    return list.sort((a, b) => String(a.assessment_id).localeCompare(String(b.assessment_id)));
  });
}

for (const dialect of DIALECTS) {
  describe(`db export of assessments into mlruns/ from ${dialect}`, () => {
    test('written as MLflow FileStore writes them, imported back the same; trace-run links counted as left behind', async () => {
      const ours = await fresh(dialect);
      await importStore({ from: FIXTURE, to: ours });
      const ids = await withApi(ours, async (api) => {
        const create = async (assessment: Record<string, unknown>) => {
          const res = await call(api(3), 'POST', `traces/${TRACE}/assessments`, { assessment });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          return String(res.body.assessment.assessment_id);
        };
        // A value PyYAML would read as a boolean if it were written plain.
        const yes = await create({
          assessment_name: 'answered',
          feedback: { value: 'yes' },
          source: { source_type: 'HUMAN', source_id: 'alice@example.com' },
          rationale: 'it answers: 2025-01-01T00:00:00Z',
          metadata: { 'mlflow.assessment.sourceRunId': RUN, note: 'on' },
          span_id: '1fd5f41c436d620c',
        });
        const expectation = await create({
          assessment_name: 'expected',
          expectation: { value: { answer: 'Paris', n: [1, 2.5, null], ok: true } },
          source: { source_type: 'CODE' },
          run_id: RUN,
        });
        const failed = await create({
          assessment_name: 'judge',
          feedback: { error: { error_code: 'RATE_LIMIT', error_message: 'try later' } },
          source: { source_type: 'LLM_JUDGE', source_id: 'gpt' },
        });
        // Overriding makes the first one invalid.
        const override = await create({
          assessment_name: 'answered',
          feedback: { value: 0.5 },
          source: { source_type: 'HUMAN', source_id: 'bob' },
          overrides: yes,
        });
        const link = await call(api(2), 'POST', 'traces/link-to-run', { trace_ids: [TRACE], run_id: RUN });
        assert.equal(link.status, 200, JSON.stringify(link.body));
        return { yes, expectation, failed, override };
      });
      const before = await assessmentsOf(ours);
      assert.equal(before.length, 4);
      assert.equal(before.find((a) => a.assessment_id === ids.yes)?.valid, false);

      const out = tempDir('mlflow-ts-export-');
      cleanups.push(out.cleanup);
      const dir = path.join(out.dir, 'mlruns');
      const summary = await exportStore({ from: ours, to: dir });
      assert.equal(summary.tables.find((t) => t.table === 'assessments')?.rows, 4);
      assert.deepEqual(summary.leftBehind, [
        {
          what: 'trace-to-run links',
          count: 1,
          why: "MLflow's file store does not support linking traces to runs",
        },
      ]);

      // One file per assessment, named by its id, in the trace's folder.
      const folder = path.join(dir, '0', 'traces', TRACE, 'assessments');
      assert.deepEqual(
        readdirSync(folder).sort(),
        Object.values(ids)
          .map((id) => `${id}.yaml`)
          .sort(),
      );
      const raw = readFileSync(path.join(folder, `${ids.yes}.yaml`), 'utf8');
      // Quoted where PyYAML (YAML 1.1) would otherwise read a boolean or a datetime.
      assert.match(raw, /^ {2}value: "yes"$/m);
      assert.match(raw, /^create_time: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"$/m);
      assert.match(raw, /^ {2}note: "on"$/m);
      const doc = parseYaml(raw, { version: '1.1' }) as Record<string, unknown>;
      const created = before.find((a) => a.assessment_id === ids.yes) as Record<string, unknown>;
      assert.deepEqual(Object.keys(doc).sort(), [
        'assessment_id',
        'assessment_name',
        'create_time',
        'feedback',
        'last_update_time',
        'metadata',
        'rationale',
        'source',
        'span_id',
        'trace_id',
        'valid',
      ]);
      assert.equal(doc.assessment_name, 'answered');
      assert.equal(doc.create_time, created.create_time);
      assert.deepEqual(doc.feedback, { value: 'yes' });
      assert.deepEqual(doc.source, { source_type: 'HUMAN', source_id: 'alice@example.com' });
      assert.equal(doc.valid, false);
      const failedDoc = parseYaml(readFileSync(path.join(folder, `${ids.failed}.yaml`), 'utf8'), {
        version: '1.1',
      }) as Record<string, unknown>;
      assert.deepEqual(failedDoc.feedback, {
        value: null,
        error: { error_code: 'RATE_LIMIT', error_message: 'try later' },
      });
      const expectationDoc = parseYaml(readFileSync(path.join(folder, `${ids.expectation}.yaml`), 'utf8'), {
        version: '1.1',
      }) as Record<string, unknown>;
      assert.deepEqual(expectationDoc.expectation, {
        value: { answer: 'Paris', n: [1, 2.5, null], ok: true },
      });

      // Back in: the same assessments through the API, and verify finds the stores alike.
      const again = await fresh(dialect);
      const imported = await importStore({ from: dir, to: again });
      assert.equal(imported.stages.find((s) => s.stage === 'traces')?.read, 1);
      const report = await verifyStores(dir, again);
      assert.equal(report.differences, 0, report.lines.join('\n'));
      assert.ok(
        report.lines.some((l) => /assessments/.test(l) && /same/.test(l)),
        report.lines.join('\n'),
      );
      assert.deepEqual(await assessmentsOf(again), before);
    });
  });
}

describe('db import of a mlruns/ trace with assessments', () => {
  test("reads MLflow's assessment files: protobuf JSON names, and the older name / create_time_ms form", async () => {
    const dir = tempDir('mlflow-ts-mlruns-assessments-');
    cleanups.push(dir.cleanup);
    const mlruns = path.join(dir.dir, 'mlruns');
    cpSync(path.join(FIXTURES, 'mlruns'), mlruns, { recursive: true });
    const trace = 'tr-314104b4f6dbf99e3a5e485c9b51ae9f';
    const folder = path.join(mlruns, '0', 'traces', trace, 'assessments');
    mkdirSync(folder);
    // As MLflow 3.6's Assessment.to_dictionary writes one (MessageToDict of the message).
    writeFileSync(
      path.join(folder, 'a-new.yaml'),
      [
        'assessment_id: a-new',
        'assessment_name: correctness',
        `trace_id: ${trace}`,
        'source:',
        '  source_type: LLM_JUDGE',
        '  source_id: judge-1',
        "create_time: '2025-06-01T10:00:00.250Z'",
        "last_update_time: '2025-06-01T10:05:00Z'",
        'feedback:',
        "  value: 'yes'",
        'rationale: fine',
        'metadata:',
        '  k: v',
        'valid: true',
        '',
      ].join('\n'),
    );
    // As MLflow 3.0's to_dictionary wrote one: name, create_time_ms, nulls for what is unset.
    writeFileSync(
      path.join(folder, 'a-old.yaml'),
      [
        'assessment_id: a-old',
        `trace_id: ${trace}`,
        'name: expected',
        'source:',
        '  source_type: HUMAN',
        '  source_id: alice',
        'create_time_ms: 1748772000000',
        'last_update_time_ms: 1748772000500',
        'expectation:',
        '  value: Paris',
        'feedback: null',
        'rationale: null',
        'metadata: null',
        'error: null',
        'span_id: null',
        '',
      ].join('\n'),
    );
    const store = await fresh('sqlite');
    await importStore({ from: mlruns, to: store });
    const report = await verifyStores(mlruns, store);
    assert.equal(report.differences, 0, report.lines.join('\n'));
    const got = await assessmentsOf(store, trace);
    assert.deepEqual(
      got.map((a) => [a.assessment_id, a.assessment_name, a.create_time, a.last_update_time, a.valid]),
      [
        ['a-new', 'correctness', '2025-06-01T10:00:00.250Z', '2025-06-01T10:05:00Z', true],
        ['a-old', 'expected', '2025-06-01T10:00:00Z', '2025-06-01T10:00:00.500Z', true],
      ],
    );
    assert.deepEqual(got[0].feedback, { value: 'yes' });
    assert.deepEqual(got[0].source, { source_type: 'LLM_JUDGE', source_id: 'judge-1' });
    assert.deepEqual(got[0].metadata, { k: 'v' });
    assert.deepEqual(got[1].expectation, { value: 'Paris' });
  });
});
