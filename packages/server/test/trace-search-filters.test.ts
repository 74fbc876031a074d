import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, DIALECTS, expectError, startTestServer, type TestServer } from './helpers.js';

// MLflow 3.6's span and assessment filters in trace search, through HTTP on both dialects:
// span.attributes.<key>, span.content / text, span.name|type|status with IN, feedback.<name>,
// expectation.<name>, and MLflow's errors for the forms it refuses.

type Attr = { key: string; value: Record<string, unknown> };
const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
const num = (key: string, v: number): Attr => ({ key, value: { doubleValue: v } });
const bool = (key: string, v: boolean): Attr => ({ key, value: { boolValue: v } });

/** One span over OTLP/JSON, attribute values in their own types as MLflow's exporter sends them. */
function span(traceHex: string, spanHex: string, name: string, attributes: Attr[]) {
  return {
    traceId: traceHex,
    spanId: spanHex,
    name,
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000001000000000',
    attributes,
  };
}

for (const dialect of DIALECTS) {
  describe(`trace search filters on ${dialect}`, () => {
    let srv: TestServer;
    let v3: string;
    let experimentId: string;
    const search = (filter: string) =>
      call(v3, 'POST', 'traces/search', {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
        filter,
        order_by: ['timestamp_ms ASC'],
      });
    const found = async (filter: string): Promise<string[]> => {
      const res = await search(filter);
      assert.equal(res.status, 200, `${filter}: ${JSON.stringify(res.body)}`);
      return ((res.body.traces ?? []) as { trace_id: string }[]).map((t) => t.trace_id).sort();
    };
    const gpt = `tr-${'a1'.repeat(16)}`;
    const claude = `tr-${'b2'.repeat(16)}`;
    const retriever = `tr-${'c3'.repeat(16)}`;

    before(async () => {
      srv = await startTestServer(dialect);
      v3 = srv.api.replace('/api/2.0/', '/api/3.0/');
      experimentId = (await call(srv.api, 'POST', 'experiments/create', { name: 'filters' })).body
        .experiment_id;
      const spans = [
        span('a1'.repeat(16), '01'.repeat(8), 'llm_call', [
          str('mlflow.spanType', 'LLM'),
          str('model', 'gpt-4'),
          num('temperature', 0.7),
          bool('streaming', true),
        ]),
        span('b2'.repeat(16), '02'.repeat(8), 'llm_call', [
          str('mlflow.spanType', 'LLM'),
          str('model', 'claude-3'),
          str('provider', 'anthropic'),
        ]),
        span('c3'.repeat(16), '03'.repeat(8), 'search_docs', [
          str('mlflow.spanType', 'RETRIEVER'),
          num('similarity.threshold', 0.8),
          str('mlflow.spanInputs', 'rare penguins'),
        ]),
      ];
      const res = await fetch(`${srv.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mlflow-experiment-id': experimentId },
        body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }),
      });
      assert.equal(res.status, 200, await res.text());
      const assess = async (traceId: string, assessment: Record<string, unknown>) => {
        const r = await call(v3, 'POST', `traces/${traceId}/assessments`, {
          assessment: { source: { source_type: 'HUMAN', source_id: 'ann' }, ...assessment },
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      };
      await assess(gpt, { assessment_name: 'correctness', feedback: { value: true } });
      await assess(claude, { assessment_name: 'correctness', feedback: { value: false } });
      await assess(claude, { assessment_name: 'helpfulness', feedback: { value: 5 } });
      await assess(retriever, { assessment_name: 'tone', feedback: { value: 'polite' } });
      await assess(retriever, { assessment_name: 'response_length', expectation: { value: 150 } });
    });
    after(async () => {
      await srv.close();
    });

    test('span.attributes.<key>: the attribute value, JSON strings decoded', async () => {
      assert.deepEqual(await found("span.attributes.model = 'gpt-4'"), [gpt]);
      assert.deepEqual(await found("span.attributes.model LIKE '%gpt-4%'"), [gpt]);
      assert.deepEqual(await found("span.attributes.model ILIKE 'CLAUDE%'"), [claude]);
      assert.deepEqual(await found("span.attributes.model != 'gpt-4'"), [claude]);
      assert.deepEqual(await found("span.attributes.model IN ('gpt-4', 'claude-3')"), [claude, gpt].sort());
      assert.deepEqual(await found("span.attributes.model NOT IN ('gpt-4')"), [claude]);
      assert.deepEqual(await found("span.attributes.temperature LIKE '%0.7%'"), [gpt]);
      assert.deepEqual(await found("span.attributes.streaming = 'true'"), [gpt]);
      // A key with dots is the whole rest of the name.
      assert.deepEqual(await found("span.attributes.similarity.threshold LIKE '%0.8%'"), [retriever]);
      assert.deepEqual(await found("span.attributes.mlflow.spanType = 'RETRIEVER'"), [retriever]);
      assert.deepEqual(await found("span.attributes.nonexistent LIKE '%value%'"), []);
      assert.deepEqual(
        await found("span.attributes.model = 'claude-3' AND span.attributes.provider = 'anthropic'"),
        [claude],
      );
    });

    test('span name/type with IN, span.content and the text attribute', async () => {
      assert.deepEqual(await found("span.type IN ('RETRIEVER')"), [retriever]);
      assert.deepEqual(await found("span.name NOT IN ('llm_call')"), [retriever]);
      assert.deepEqual(await found("span.content LIKE '%penguins%'"), [retriever]);
      assert.deepEqual(await found("text ILIKE '%PENGUINS%'"), [retriever]);
      assert.deepEqual(await found("trace.text LIKE '%anthropic%'"), [claude]);
    });

    test("feedback.<name> and expectation.<name> compare the value's JSON text", async () => {
      assert.deepEqual(await found("feedback.correctness = 'true'"), [gpt]);
      assert.deepEqual(await found("feedback.correctness = 'false'"), [claude]);
      assert.deepEqual(await found("feedback.helpfulness = '5'"), [claude]);
      assert.deepEqual(await found(`feedback.tone = '"polite"'`), [retriever]);
      assert.deepEqual(await found("feedback.tone LIKE '%polite%'"), [retriever]);
      assert.deepEqual(await found("expectation.response_length = '150'"), [retriever]);
      // A feedback is not an expectation.
      assert.deepEqual(await found("expectation.correctness = 'true'"), []);
      assert.deepEqual(await found("feedback.nonexistent = 'x'"), []);
      assert.deepEqual(await found("feedback.correctness IN ('true', 'false')"), [claude, gpt].sort());
      assert.deepEqual(await found("feedback.correctness = 'false' AND span.attributes.model = 'claude-3'"), [
        claude,
      ]);
    });

    test('RLIKE: an unanchored regular expression on names, tags, metadata, spans and assessments', async () => {
      assert.deepEqual(await found("span.name RLIKE '^search_'"), [retriever]);
      assert.deepEqual(await found("span.name RLIKE 'call'"), [claude, gpt].sort());
      assert.deepEqual(await found("span.type RLIKE '^(LLM|RETRIEVER)$'"), [claude, gpt, retriever].sort());
      assert.deepEqual(await found("span.status RLIKE 'OK|UNSET'"), [claude, gpt, retriever].sort());
      assert.deepEqual(await found("span.attributes.model RLIKE 'gpt-[0-9]+'"), [gpt]);
      // Case-sensitive, as LIKE is; a leading (?i) makes it insensitive on both databases.
      assert.deepEqual(await found("span.attributes.model RLIKE 'CLAUDE'"), []);
      assert.deepEqual(await found("span.attributes.model RLIKE '(?i)CLAUDE'"), [claude]);
      assert.deepEqual(await found("span.attributes.temperature RLIKE '^0\\.7$'"), [gpt]);
      assert.deepEqual(await found("trace.name RLIKE 'docs$'"), [retriever]);
      assert.deepEqual(await found("tags.mlflow.traceName RLIKE '^llm_'"), [claude, gpt].sort());
      assert.deepEqual(await found("status RLIKE '^O'"), [claude, gpt, retriever].sort());
      assert.deepEqual(await found(`trace.request_id RLIKE '^tr-(a1)+$'`), [gpt]);
      // Assessment values are matched as their JSON text.
      assert.deepEqual(await found(`feedback.tone RLIKE '^"pol'`), [retriever]);
      assert.deepEqual(await found("feedback.helpfulness RLIKE '^[4-5]$'"), [claude]);
      assert.deepEqual(await found("expectation.response_length RLIKE '^1[0-9]{2}$'"), [retriever]);
      assert.deepEqual(
        await found("span.attributes.model RLIKE '^claude' AND feedback.correctness RLIKE 'false'"),
        [claude],
      );

      // Metadata, on a trace recorded through StartTraceV3 in an experiment of its own.
      const other = (await call(srv.api, 'POST', 'experiments/create', { name: 'rlike-metadata' })).body
        .experiment_id;
      const started = await call(v3, 'POST', 'traces', {
        trace: {
          trace_info: {
            trace_id: 'tr-rlike-1',
            trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: other } },
            request_time: '2026-12-07T17:42:11.748Z',
            execution_duration: '0.250s',
            state: 'OK',
            trace_metadata: { 'mlflow.user': 'alice@example.com' },
            tags: { env: 'prod-eu-1' },
          },
        },
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const inOther = async (filter: string) => {
        const res = await call(v3, 'POST', 'traces/search', {
          locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: other } }],
          filter,
        });
        assert.equal(res.status, 200, `${filter}: ${JSON.stringify(res.body)}`);
        return ((res.body.traces ?? []) as { trace_id: string }[]).map((t) => t.trace_id);
      };
      assert.deepEqual(await inOther("metadata.mlflow.user RLIKE '@example\\.com$'"), ['tr-rlike-1']);
      assert.deepEqual(await inOther("metadata.mlflow.user RLIKE '^bob'"), []);
      assert.deepEqual(await inOther("tags.env RLIKE '^prod-(eu|us)-[0-9]+$'"), ['tr-rlike-1']);
      assert.deepEqual(await inOther("client_request_id RLIKE '.'"), []);
    });

    test('RLIKE: Python spellings on SQLite, and what it refuses', async () => {
      if (dialect === 'sqlite') {
        // Python's named groups, back-references and absolute anchors, translated for JavaScript's RegExp.
        assert.deepEqual(await found("span.attributes.model RLIKE '(?P<family>gpt)-4'"), [gpt]);
        assert.deepEqual(await found("span.name RLIKE '\\A(?P<w>l)(?P=w)m_call\\Z'"), [claude, gpt].sort());
      } else {
        // PostgreSQL's own syntax (POSIX) has no named groups: its refusal is a 400 too.
        await expectError(
          search("span.attributes.model RLIKE '(?P<family>gpt)-4'"),
          400,
          'INVALID_PARAMETER_VALUE',
          /regular expression/i,
        );
      }
      // Full-text keys take LIKE and ILIKE only, numbers no patterns, as in MLflow.
      await expectError(
        search("span.content RLIKE 'x'"),
        400,
        'INVALID_PARAMETER_VALUE',
        /comparator 'RLIKE'/,
      );
      await expectError(search("text RLIKE 'x'"), 400, 'INVALID_PARAMETER_VALUE', /comparator 'RLIKE'/);
      await expectError(search("run_id RLIKE 'x'"), 400, 'INVALID_PARAMETER_VALUE', /comparator 'RLIKE'/);
      await expectError(search('timestamp_ms RLIKE 5'), 400, 'INVALID_PARAMETER_VALUE', /comparator 'RLIKE'/);
      await expectError(search('span.name RLIKE 5'), 400, 'INVALID_PARAMETER_VALUE', /quoted string/);
      // A pattern that does not compile is the caller's error, not the server's.
      for (const bad of ["span.name RLIKE '(unclosed'", "tags.x RLIKE '[a-'", "feedback.tone RLIKE '*x'"]) {
        await expectError(search(bad), 400, 'INVALID_PARAMETER_VALUE', /regular expression/i);
      }
    });

    test('end_time_ms (end_time): the start plus the execution time', async () => {
      // Every span here runs from 1700000000000 ms for one second.
      assert.deepEqual(await found('trace.end_time_ms = 1700000001000'), [claude, gpt, retriever].sort());
      assert.deepEqual(await found('end_time < 1700000000999'), []);
      const res = await call(v3, 'POST', 'traces/search', {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
        order_by: ['end_time DESC'],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.traces.length, 3);
      await expectError(search("end_time_ms = 'x'"), 400, 'INVALID_PARAMETER_VALUE', /expected a number/);
    });

    test('refused forms answer INVALID_PARAMETER_VALUE', async () => {
      await expectError(
        search("span.bogus = 'x'"),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid span attribute 'bogus'/,
      );
      await expectError(search("span.attributes. = 'x'"), 400, 'INVALID_PARAMETER_VALUE');
      await expectError(
        search("span.attributes.model > 'x'"),
        400,
        'INVALID_PARAMETER_VALUE',
        /comparator '>'/,
      );
      await expectError(search('span.attributes.model = 5'), 400, 'INVALID_PARAMETER_VALUE', /quoted string/);
      await expectError(search("span.content = 'x'"), 400, 'INVALID_PARAMETER_VALUE', /comparator '='/);
      await expectError(search("text = 'x'"), 400, 'INVALID_PARAMETER_VALUE', /comparator '='/);
      await expectError(
        search("feedback.correctness < 'x'"),
        400,
        'INVALID_PARAMETER_VALUE',
        /comparator '<'/,
      );
      await expectError(search('feedback.correctness = 1'), 400, 'INVALID_PARAMETER_VALUE', /quoted string/);
      await expectError(
        search("feedbacks.correctness = 'x'"),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid entity type/,
      );
    });
  });
}
