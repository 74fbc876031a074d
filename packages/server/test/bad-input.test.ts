import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../src/http/app.js';
import { MAX_JSON_DEPTH } from '../src/http/request-guards.js';
import { FILTER_LIMITS } from '../src/search/filter-parser.js';
import { ArtifactService } from '../src/services/artifact-service.js';
import type { TrackingService } from '../src/services/tracking-service.js';
import { call, DIALECTS, expectError, startTestServer, type TestServer } from './helpers.js';

// Bad input through the HTTP API on both stores: each is refused with 400 INVALID_PARAMETER_VALUE
// (never a 500, never silently stored), and a 500 that still happens is logged without leaking.

const NUL = '\u0000';

for (const dialect of DIALECTS) {
  describe(`bad input on ${dialect}`, () => {
    let srv: TestServer;
    let experimentId: string;
    let runId: string;
    const api = (method: 'GET' | 'POST' | 'PATCH', endpoint: string, body?: Record<string, unknown>) =>
      call(srv.api, method, endpoint, body);
    /** Posts `text` as it is, for JSON that JSON.stringify cannot write (big integer literals, null). */
    const postRaw = async (endpoint: string, text: string) => {
      const response = await fetch(`${srv.api}/${endpoint}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: text,
      });
      return { status: response.status, body: JSON.parse(await response.text()) as Record<string, any> };
    };
    const invalid = (promise: ReturnType<typeof api>, message?: RegExp | string) =>
      expectError(promise, 400, 'INVALID_PARAMETER_VALUE', message);

    before(async () => {
      srv = await startTestServer(dialect);
      experimentId = (await api('POST', 'experiments/create', { name: 'bad-input' })).body.experiment_id;
      runId = (await api('POST', 'runs/create', { experiment_id: experimentId, start_time: 1 })).body.run.info
        .run_id;
    });
    after(async () => {
      await srv.close();
    });

    describe('int64 fields', () => {
      test('a huge float is refused, not stored as a float', async () => {
        await invalid(
          api('POST', 'runs/create', { experiment_id: experimentId, start_time: 1e300 }),
          /^Invalid value 1e\+300 for parameter 'start_time' supplied\. Hint: Value must be an integer from -9007199254740991 to 9007199254740991\./,
        );
        await invalid(api('POST', 'runs/update', { run_id: runId, end_time: -1e300 }), /'end_time'/);
      });

      test('an integer past int64 (and past 2^53) is refused in every int64 field', async () => {
        const big = '9223372036854775808';
        for (const [endpoint, text, field] of [
          [
            'runs/log-metric',
            `{"run_id":"${runId}","key":"m","value":1,"timestamp":1,"step":${big}}`,
            'step',
          ],
          ['runs/log-metric', `{"run_id":"${runId}","key":"m","value":1,"timestamp":${big}}`, 'timestamp'],
          [
            'runs/log-batch',
            `{"run_id":"${runId}","metrics":[{"key":"m","value":1,"timestamp":1,"step":-${big}}]}`,
            'metrics[0].step',
          ],
          ['runs/search', `{"experiment_ids":["${experimentId}"],"max_results":${big}}`, 'max_results'],
          ['experiments/search', `{"max_results":"${big}"}`, 'max_results'],
          [
            'logged-models/search',
            `{"experiment_ids":["${experimentId}"],"max_results":${big}}`,
            'max_results',
          ],
          ['runs/create', `{"experiment_id":${big}}`, 'experiment_id'],
        ] as const) {
          const answer = await postRaw(endpoint, text);
          assert.equal(answer.status, 400, `${endpoint} ${field}: ${JSON.stringify(answer.body)}`);
          assert.equal(answer.body.error_code, 'INVALID_PARAMETER_VALUE');
          assert.match(answer.body.message, new RegExp(`parameter '${field.replace(/[[\]]/g, '\\$&')}'`));
        }
      });

      test('the largest exact integer is kept exactly; one more is refused', async () => {
        const max = Number.MAX_SAFE_INTEGER;
        const logged = await postRaw(
          'runs/log-metric',
          `{"run_id":"${runId}","key":"edge","value":1,"timestamp":1,"step":${max}}`,
        );
        assert.equal(logged.status, 200);
        const history = await api('GET', 'metrics/get-history', { run_id: runId, metric_key: 'edge' });
        assert.equal(history.body.metrics[0].step, max);
        await invalid(
          postRaw(
            'runs/log-metric',
            `{"run_id":"${runId}","key":"edge","value":1,"timestamp":1,"step":${max + 1}}`,
          ),
          /'step'/,
        );
      });

      test('a fraction is refused with the type hint', async () => {
        await invalid(
          api('POST', 'runs/search', { experiment_ids: [experimentId], max_results: 1.5 }),
          "Invalid value 1.5 for parameter 'max_results' supplied. Hint: Value was of type 'float'. See the API docs for more information about request parameters.",
        );
        await invalid(
          api('POST', 'runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1.5 }),
          /'timestamp'.*'float'/,
        );
        await invalid(api('POST', 'logged-models/search', { max_results: 2.5 }), /'max_results'/);
      });

      test('int64 fields of a query string are checked the same way', async () => {
        for (const max of ['1.5', '1e3', '99999999999999999999', 'ten']) {
          await invalid(
            api('GET', 'metrics/get-history', { run_id: runId, metric_key: 'edge', max_results: max }),
            /'max_results'/,
          );
        }
        await invalid(api('GET', 'registered-models/search', { max_results: '1.5' }), /'max_results'/);
        await invalid(api('GET', 'webhooks', { max_results: '1e300' }), /'max_results'/);
        const ok = await api('GET', 'experiments/search', { max_results: '5' });
        assert.equal(ok.status, 200);
      });

      test('int64 as a numeric string still works (proto JSON allows it)', async () => {
        const logged = await api('POST', 'runs/log-metric', {
          run_id: runId,
          key: 'as-text',
          value: 2,
          timestamp: '1700000000000',
          step: ' 12 ',
        });
        assert.equal(logged.status, 200);
        const history = await api('GET', 'metrics/get-history', { run_id: runId, metric_key: 'as-text' });
        assert.deepEqual(history.body.metrics, [
          { key: 'as-text', value: 2, timestamp: 1700000000000, step: 12 },
        ]);
      });
    });

    describe('NUL characters', () => {
      const cases: [string, 'POST' | 'PATCH', string, () => Record<string, unknown>, string][] = [
        ['experiments/create', 'POST', 'experiments/create', () => ({ name: `e${NUL}` }), 'name'],
        [
          'experiment tag value',
          'POST',
          'experiments/create',
          () => ({ name: 'ok-name', tags: [{ key: 'k', value: `v${NUL}` }] }),
          'tags[0].value',
        ],
        [
          'artifact location',
          'POST',
          'experiments/create',
          () => ({ name: 'ok-name', artifact_location: `/tmp/a${NUL}` }),
          'artifact_location',
        ],
        [
          'experiments/update',
          'POST',
          'experiments/update',
          () => ({ experiment_id: experimentId, new_name: `n${NUL}` }),
          'new_name',
        ],
        [
          'experiments/set-experiment-tag',
          'POST',
          'experiments/set-experiment-tag',
          () => ({ experiment_id: experimentId, key: `k${NUL}`, value: 'v' }),
          'key',
        ],
        [
          'runs/create',
          'POST',
          'runs/create',
          () => ({ experiment_id: experimentId, run_name: `r${NUL}`, user_id: 'u' }),
          'run_name',
        ],
        [
          'run tag on create',
          'POST',
          'runs/create',
          () => ({ experiment_id: experimentId, tags: [{ key: `k${NUL}`, value: 'v' }] }),
          'tags[0].key',
        ],
        ['runs/update', 'POST', 'runs/update', () => ({ run_id: runId, run_name: `r${NUL}` }), 'run_name'],
        [
          'runs/set-tag',
          'POST',
          'runs/set-tag',
          () => ({ run_id: runId, key: 'k', value: `v${NUL}` }),
          'value',
        ],
        [
          'runs/log-parameter',
          'POST',
          'runs/log-parameter',
          () => ({ run_id: runId, key: 'p', value: `v${NUL}` }),
          'value',
        ],
        [
          'runs/log-metric',
          'POST',
          'runs/log-metric',
          () => ({ run_id: runId, key: `m${NUL}`, value: 1, timestamp: 1 }),
          'key',
        ],
        [
          'runs/log-batch',
          'POST',
          'runs/log-batch',
          () => ({ run_id: runId, params: [{ key: 'p2', value: `x${NUL}` }] }),
          'params[0].value',
        ],
        [
          'runs/search filter',
          'POST',
          'runs/search',
          () => ({ experiment_ids: [experimentId], filter: `params.a = '${NUL}'` }),
          'filter',
        ],
        ['registered-models/create', 'POST', 'registered-models/create', () => ({ name: `m${NUL}` }), 'name'],
        [
          'registered model description',
          'POST',
          'registered-models/create',
          () => ({ name: 'ok-model', description: `d${NUL}` }),
          'description',
        ],
        [
          'registered model tag',
          'POST',
          'registered-models/set-tag',
          () => ({ name: 'reg', key: 'k', value: `v${NUL}` }),
          'value',
        ],
        [
          'registered-models/update',
          'PATCH',
          'registered-models/update',
          () => ({ name: 'reg', description: `d${NUL}` }),
          'description',
        ],
        [
          'model-versions/create',
          'POST',
          'model-versions/create',
          () => ({ name: 'reg', source: `/tmp/s${NUL}` }),
          'source',
        ],
        [
          'model version tag',
          'POST',
          'model-versions/set-tag',
          () => ({ name: 'reg', version: '1', key: `k${NUL}`, value: 'v' }),
          'key',
        ],
        [
          'model version description',
          'PATCH',
          'model-versions/update',
          () => ({ name: 'reg', version: '1', description: `d${NUL}` }),
          'description',
        ],
        [
          'registered model alias',
          'POST',
          'registered-models/alias',
          () => ({ name: 'reg', alias: `a${NUL}`, version: '1' }),
          'alias',
        ],
        [
          'logged-models create',
          'POST',
          'logged-models',
          () => ({ experiment_id: experimentId, name: `lm${NUL}` }),
          'name',
        ],
        [
          'logged model param',
          'POST',
          'logged-models',
          () => ({ experiment_id: experimentId, params: [{ key: 'k', value: `v${NUL}` }] }),
          'params[0].value',
        ],
        [
          'webhooks create',
          'POST',
          'webhooks',
          () => ({
            name: 'hook',
            url: 'http://127.0.0.1:9/hook',
            description: `d${NUL}`,
            events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }],
          }),
          'description',
        ],
        [
          'a key of an unknown field',
          'POST',
          'experiments/create',
          () => ({ name: 'n', [`x${NUL}`]: 1 }),
          'x\\u0000',
        ],
      ];

      before(async () => {
        assert.equal((await api('POST', 'registered-models/create', { name: 'reg' })).status, 200);
        const version = await api('POST', 'model-versions/create', {
          name: 'reg',
          source: 's3://bucket/model',
        });
        assert.equal(version.status, 200, JSON.stringify(version.body));
      });

      for (const [label, method, endpoint, body, field] of cases) {
        test(`refused in ${label}`, async () => {
          await invalid(
            api(method, endpoint, body()),
            `Invalid value for parameter '${field}' supplied: text may not contain the NUL character (\\u0000).`,
          );
        });
      }

      test('nothing with a NUL was stored', async () => {
        const experiments = await api('POST', 'experiments/search', { max_results: 100 });
        const names: string[] = experiments.body.experiments.map((e: { name: string }) => e.name);
        assert.ok(names.includes('bad-input'));
        assert.ok(
          !names.some((name) => name.includes(NUL) || name === 'ok-name' || name === 'n'),
          `${names}`,
        );
        const run = await api('GET', 'runs/get', { run_id: runId });
        assert.equal(JSON.stringify(run.body).includes(NUL), false);
        const models = await api('GET', 'registered-models/search', {});
        assert.deepEqual(
          models.body.registered_models.map((m: { name: string }) => m.name),
          ['reg'],
        );
      });

      test('refused in a query string and in a path', async () => {
        await invalid(
          api('GET', 'experiments/get-by-name', { experiment_name: `e${NUL}` }),
          /'experiment_name'/,
        );
        await invalid(api('GET', 'experiments/search', { filter: `tags.a = '${NUL}'` }), /'filter'/);
        const answer = await fetch(`${srv.api}/logged-models/m-${encodeURIComponent(NUL)}`);
        assert.equal(answer.status, 400);
        assert.match(((await answer.json()) as { message: string }).message, /'model_id'/);
      });

      test('an escaped backslash before u0000 is plain text and is kept', async () => {
        const text = '\\u0000 is not NUL';
        const created = await postRaw(
          'runs/set-tag',
          JSON.stringify({ run_id: runId, key: 'lit', value: text }),
        );
        assert.equal(created.status, 200);
        const run = await api('GET', 'runs/get', { run_id: runId });
        const tag = run.body.run.data.tags.find((t: { key: string }) => t.key === 'lit');
        assert.equal(tag.value, text);
      });
    });

    describe('deep and large input', () => {
      test('a body nested 50,000 levels deep is refused before parsing', async () => {
        const deep = `{"name":"x","extra":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
        await invalid(
          postRaw('experiments/create', deep),
          `The request body is nested more than ${MAX_JSON_DEPTH} levels deep (arrays and objects), which this server does not accept.`,
        );
      });

      test('nesting up to the limit is fine, brackets inside strings do not count', async () => {
        // The object is one level, the arrays inside it the rest.
        const depth = MAX_JSON_DEPTH - 1;
        const nested = `{"name":"nested-ok","extra":${'['.repeat(depth)}"[[[[{{{{\\"[["${']'.repeat(depth)}}`;
        const created = await postRaw('experiments/create', nested);
        assert.equal(created.status, 200, JSON.stringify(created.body));
        const deeper = `{"name":"nested-no","extra":${'['.repeat(depth + 1)}${']'.repeat(depth + 1)}}`;
        await invalid(postRaw('experiments/create', deeper), /nested more than/);
      });

      test('20,000 nested parentheses in a filter are refused', async () => {
        const filter = `${'('.repeat(20_000)}params.a = 'x'${')'.repeat(20_000)}`;
        for (const [method, endpoint, body] of [
          ['POST', 'runs/search', { experiment_ids: [experimentId], filter }],
          ['POST', 'experiments/search', { filter: filter.replace('params.a', 'name') }],
          // A query string holds 16 KB at most: past the limit, but shorter.
          ['GET', 'registered-models/search', { filter: `${'('.repeat(100)}name = 'x'${')'.repeat(100)}` }],
          [
            'POST',
            'logged-models/search',
            { experiment_ids: [experimentId], filter: filter.replace('params.a', 'name') },
          ],
        ] as const) {
          await invalid(
            api(method, endpoint, body),
            `Invalid filter string: parentheses are nested more than ${FILTER_LIMITS.nesting} levels deep. Split the search into smaller ones.`,
          );
        }
      });

      test('parentheses up to the limit, and inside quotes, are fine', async () => {
        const n = FILTER_LIMITS.nesting;
        const filter = `${'('.repeat(n)}params.a = '(((('${')'.repeat(n)}`;
        const ok = await api('POST', 'runs/search', { experiment_ids: [experimentId], filter });
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
      });

      test('a filter of 5,000 comparisons is refused; one at the limit runs', async () => {
        const clauses = (n: number, clause: string, joiner = ' AND ') => Array(n).fill(clause).join(joiner);
        await invalid(
          api('POST', 'runs/search', {
            experiment_ids: [experimentId],
            filter: clauses(5000, "params.a = 'x'"),
          }),
          `Invalid filter string: it has more than ${FILTER_LIMITS.clauses} comparisons. Split the search into smaller ones.`,
        );
        await invalid(
          api('POST', 'experiments/search', { filter: clauses(5000, "name = 'x'", ' OR ') }),
          /more than 500 comparisons/,
        );
        await invalid(
          api('GET', 'model-versions/search', { filter: clauses(600, "name='x'") }),
          /more than 500 comparisons/,
        );
        for (const clause of ["params.a = 'x'", 'metrics.m > 1', "attributes.run_name = 'x'"]) {
          for (const joiner of [' AND ', ' OR ']) {
            const at = await api('POST', 'runs/search', {
              experiment_ids: [experimentId],
              filter: clauses(FILTER_LIMITS.clauses, clause, joiner),
            });
            assert.equal(at.status, 200, `${clause}${joiner}: ${JSON.stringify(at.body)}`);
          }
        }
        const experiments = await api('POST', 'experiments/search', {
          filter: clauses(FILTER_LIMITS.clauses, "name = 'x'"),
        });
        assert.equal(experiments.status, 200);
      });

      test('IN lists past the value limit are refused; at the limit they run', async () => {
        const list = (n: number) => Array.from({ length: n }, (_, i) => `'r${i}'`).join(',');
        await invalid(
          api('POST', 'runs/search', {
            experiment_ids: [experimentId],
            filter: `attributes.run_id IN (${list(40_000)})`,
          }),
          `Invalid filter string: its lists hold more than ${FILTER_LIMITS.listValues} values. Split the search into smaller ones.`,
        );
        const at = await api('POST', 'runs/search', {
          experiment_ids: [experimentId],
          filter: `attributes.run_id IN (${list(FILTER_LIMITS.listValues)}, '${runId}')`.replace(
            `'r${FILTER_LIMITS.listValues - 1}', `,
            '',
          ),
        });
        assert.equal(at.status, 200, JSON.stringify(at.body));
        assert.equal(at.body.runs.length, 1);
      });
    });

    describe('bodies that are not a JSON object', () => {
      for (const text of ['null', '[]', '[{"experiment_id":"0"}]', '"{}"', '42', 'true']) {
        test(`${text} is refused`, async () => {
          await invalid(postRaw('runs/create', text), 'The request body must be a JSON object.');
        });
      }

      test('an empty body still reads as {}', async () => {
        const response = await fetch(`${srv.api}/experiments/search`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
        });
        assert.equal(response.status, 200);
      });
    });
  });
}

describe('a 500', () => {
  test('is logged with method, path and stack, and answered without the driver text', async () => {
    const lines: string[] = [];
    const failing = new Proxy({} as TrackingService, {
      get() {
        return async () => {
          throw new Error('SQLITE_CONSTRAINT: UNIQUE constraint failed: experiments.name (secret_table)');
        };
      },
    });
    const app = buildApp({
      tracking: failing,
      artifacts: new ArtifactService({}),
      errorLog: (line) => lines.push(line),
      uiDir: '/nonexistent',
    });
    try {
      const answer = await app.inject({
        method: 'POST',
        url: '/api/2.0/mlflow/experiments/create?token=query-secret',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'body-secret' }),
      });
      assert.equal(answer.statusCode, 500);
      const body = answer.json() as { error_code: string; message: string };
      assert.equal(body.error_code, 'INTERNAL_ERROR');
      assert.match(
        body.message,
        /^Internal server error \(request req-\d+\); the server log has the details\.$/,
      );
      assert.doesNotMatch(body.message, /SQLITE|constraint|secret/i);

      assert.equal(lines.length, 1);
      const [line] = lines;
      assert.match(
        line,
        / req-\d+ POST \/api\/2\.0\/mlflow\/experiments\/create failed: Error: SQLITE_CONSTRAINT/,
      );
      assert.match(line, /\n\s+at /, 'the stack is logged');
      assert.ok(
        line.includes(body.message.match(/req-\d+/)?.[0] ?? '?'),
        'the client can quote the log line',
      );
      assert.doesNotMatch(line, /body-secret|query-secret/);
    } finally {
      await app.close();
    }
  });

  test('a 400 is not logged', async () => {
    const lines: string[] = [];
    const app = buildApp({
      artifacts: new ArtifactService({}),
      tracking: {} as TrackingService,
      errorLog: (line) => lines.push(line),
      uiDir: '/nonexistent',
    });
    try {
      const answer = await app.inject({
        method: 'POST',
        url: '/api/2.0/mlflow/runs/create',
        headers: { 'content-type': 'application/json' },
        payload: 'null',
      });
      assert.equal(answer.statusCode, 400);
      assert.deepEqual(lines, []);
    } finally {
      await app.close();
    }
  });
});
