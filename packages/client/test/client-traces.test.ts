// TraceMethods (the SDK's calls of MLflow 3's trace and assessment endpoints, which the web UI uses)
// against a real server on both dialects: searches with filters, order and page tokens, whole traces,
// tags, assessments, and the server's errors as MlflowError.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  durationMs,
  MlflowError,
  RestTransport,
  resolveConfig,
  TraceMethods,
  timestampMs,
} from '@mlflow-ts/client';
import { DIALECTS, startTestServer, type TestServer } from '../../server/test/helpers.js';

const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');

/** One root span per trace over OTLP/JSON: trace i lasts (i + 1) * 100 ms; trace 0 failed. */
async function seed(url: string, experimentId: string, count: number): Promise<void> {
  const t0 = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  const spans = Array.from({ length: count }, (_, i) => {
    const start = t0 + BigInt(i) * 1_000_000_000n;
    return {
      traceId: hex(i + 1, 32),
      spanId: hex(1, 16),
      name: `t${i}`,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + BigInt((i + 1) * 100) * 1_000_000n),
      attributes: [{ key: 'mlflow.spanInputs', value: { stringValue: JSON.stringify({ i }) } }],
      status: { code: i === 0 ? 2 : 1 },
    };
  });
  const r = await fetch(`${url}/v1/traces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-mlflow-experiment-id': experimentId },
    body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }),
  });
  assert.equal(r.status, 200, await r.text());
}

const id = (i: number) => `tr-${hex(i + 1, 32)}`;

for (const dialect of DIALECTS) {
  describe(`client trace calls (${dialect})`, () => {
    let server: TestServer;
    let traces: TraceMethods;
    let exp: string;

    before(async () => {
      server = await startTestServer(dialect);
      const transport = new RestTransport(resolveConfig({ trackingUri: server.url, maxRetries: 0 }));
      traces = new TraceMethods(transport);
      exp = (await transport.call<{ experiment_id: string }>('POST', 'experiments/create', { name: 'tr' }))
        .experiment_id;
      await seed(server.url, exp, 5);
    });
    after(() => server?.close());

    test('search: pages by token in the order asked, filter in MLflow grammar, times as text', async () => {
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await traces.searchTraces({
          experimentIds: [exp],
          orderBy: ['execution_time_ms ASC'],
          maxResults: 2,
          pageToken: token,
        });
        seen.push(...page.items.map((t) => t.trace_id));
        token = page.nextPageToken;
        pages++;
      } while (token);
      assert.equal(pages, 3);
      assert.deepEqual(seen, [0, 1, 2, 3, 4].map(id));

      const failed = await traces.searchTraces({ experimentIds: [exp], filter: "trace.status = 'ERROR'" });
      assert.deepEqual(
        failed.items.map((t) => t.trace_id),
        [id(0)],
      );
      assert.equal(failed.nextPageToken, undefined);
      const [info] = failed.items;
      assert.equal(durationMs(info.execution_duration), 100);
      assert.ok(Math.abs(timestampMs(info.request_time) - (Date.now() - 3_600_000)) < 60_000);
      assert.equal(info.request_preview, '{"i":0}', "the root span's inputs");

      const newest = await traces.searchTraces({ experimentIds: [exp], maxResults: 1 });
      assert.equal(newest.items[0].trace_id, id(4), 'newest first by default');
    });

    test('a whole trace, its record, and tags set and deleted', async () => {
      const trace = await traces.getTrace(id(2));
      assert.equal(trace.trace_info.trace_id, id(2));
      assert.equal(trace.spans.length, 1);
      assert.equal(trace.spans[0].name, 't2');
      assert.equal(Buffer.from(trace.spans[0].span_id, 'base64').toString('hex'), hex(1, 16));
      await traces.setTraceTag(id(2), 'team', 'search');
      assert.equal((await traces.getTraceInfo(id(2))).tags?.team, 'search');
      await traces.deleteTraceTag(id(2), 'team');
      assert.equal((await traces.getTraceInfo(id(2))).tags?.team, undefined);
    });

    test('assessments: create, update by field mask, override, delete', async () => {
      const a = await traces.createAssessment(id(1), {
        assessment_name: 'correct',
        source: { source_type: 'HUMAN', source_id: 'ann' },
        feedback: { value: true },
        rationale: 'looks right',
      });
      assert.match(a.assessment_id, /^a-[0-9a-f]+$/);
      assert.equal(a.trace_id, id(1));
      const updated = await traces.updateAssessment(
        id(1),
        a.assessment_id,
        { feedback: { value: false }, rationale: 'no' },
        ['feedback', 'rationale'],
      );
      assert.equal(updated.feedback?.value, false);
      assert.equal(updated.rationale, 'no');
      // Only the named fields change.
      const renamed = await traces.updateAssessment(
        id(1),
        a.assessment_id,
        { assessment_name: 'is_correct', rationale: 'x' },
        ['assessment_name'],
      );
      assert.equal(renamed.assessment_name, 'is_correct');
      assert.equal(renamed.rationale, 'no');
      const b = await traces.createAssessment(id(1), {
        assessment_name: 'is_correct',
        source: { source_type: 'HUMAN' },
        feedback: { value: true },
        overrides: a.assessment_id,
      });
      let listed = (await traces.getTraceInfo(id(1))).assessments ?? [];
      assert.deepEqual(
        listed.map((x) => [x.assessment_id, x.valid]),
        [
          [a.assessment_id, false],
          [b.assessment_id, true],
        ],
      );
      await traces.deleteAssessment(id(1), b.assessment_id);
      listed = (await traces.getTraceInfo(id(1))).assessments ?? [];
      assert.deepEqual(
        listed.map((x) => [x.assessment_id, x.valid]),
        [[a.assessment_id, true]],
      );
    });

    test("the server's errors arrive as MlflowError with MLflow's codes", async () => {
      const refused = (code: string, status: number) => (e: unknown) =>
        e instanceof MlflowError && e.errorCode === code && e.status === status;
      await assert.rejects(
        traces.searchTraces({ experimentIds: [exp], filter: 'trace.nope = 1' }),
        refused('INVALID_PARAMETER_VALUE', 400),
      );
      await assert.rejects(
        traces.searchTraces({ experimentIds: [exp], maxResults: 501 }),
        refused('INVALID_PARAMETER_VALUE', 400),
      );
      await assert.rejects(traces.getTrace('tr-missing'), refused('RESOURCE_DOES_NOT_EXIST', 404));
      await assert.rejects(
        traces.deleteTraceTag(id(3), 'never-set'),
        refused('RESOURCE_DOES_NOT_EXIST', 404),
      );
      await assert.rejects(
        traces.createAssessment(id(3), { assessment_name: 'x' }),
        refused('INVALID_PARAMETER_VALUE', 400),
      );
    });
  });
}
