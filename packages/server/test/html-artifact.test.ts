// GET /get-artifact-html: a run's HTML report served as a page for the UI's sandboxed frame, under a
// Content-Security-Policy that sandboxes it wherever it is opened; other files and bad input refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTML_REPORT_CSP } from '../src/http/artifact-routes.js';
import { call, startTestServer, type TestServer } from './helpers.js';

const REPORT =
  '<!doctype html><html><body><h1>Report ✓</h1><script>document.title = "ran"</script></body></html>';

describe('GET /get-artifact-html', () => {
  let server: TestServer;
  let runId: string;
  before(async () => {
    server = await startTestServer('sqlite');
    const exp = (await call(server.api, 'POST', 'experiments/create', { name: 'html' })).body.experiment_id;
    const run = (await call(server.api, 'POST', 'runs/create', { experiment_id: exp })).body.run.info;
    runId = run.run_id;
    const base = (run.artifact_uri as string).replace(/^mlflow-artifacts:\/?/, '');
    for (const [name, body] of [
      ['reports/eval.html', REPORT],
      ['notes.txt', 'plain'],
    ]) {
      const r = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${base}/${name}`, {
        method: 'PUT',
        body,
      });
      assert.equal(r.status, 200, await r.text());
    }
  });
  after(async () => server?.close());

  const get = (query: string) => fetch(`${server.url}/get-artifact-html?${query}`);

  test('serves the report as HTML under a sandboxing policy', async () => {
    const r = await get(`run_id=${runId}&path=${encodeURIComponent('reports/eval.html')}`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), REPORT);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.equal(csp, HTML_REPORT_CSP);
    assert.match(csp, /^sandbox allow-scripts;/);
    assert.doesNotMatch(csp, /allow-same-origin/);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'none'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('content-disposition'), null);
    // run_uuid, as MLflow's clients send it to /get-artifact, works too.
    assert.equal((await get(`run_uuid=${runId}&path=reports/eval.html`)).status, 200);
  });

  test('HEAD on /get-artifact and /get-artifact-html reads the query as GET does (the UI sizes a Parquet file so)', async () => {
    const head = await fetch(`${server.url}/get-artifact?run_uuid=${runId}&path=reports/eval.html`, {
      method: 'HEAD',
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(REPORT)));
    assert.equal(head.headers.get('accept-ranges'), 'bytes');
    const html = await fetch(`${server.url}/get-artifact-html?run_id=${runId}&path=reports/eval.html`, {
      method: 'HEAD',
    });
    assert.equal(html.status, 200);
    const missing = await fetch(`${server.url}/get-artifact?run_uuid=${'f'.repeat(32)}&path=x.txt`, {
      method: 'HEAD',
    });
    assert.equal(missing.status, 404);
  });

  test('refuses other files, missing parameters, unknown runs and traversal with MLflow error JSON', async () => {
    const cases: [string, number, string, RegExp][] = [
      [`run_id=${runId}&path=notes.txt`, 400, 'INVALID_PARAMETER_VALUE', /Only \.html and \.htm/],
      [`run_id=${runId}`, 400, 'INVALID_PARAMETER_VALUE', /path/],
      [`path=a.html`, 400, 'INVALID_PARAMETER_VALUE', /run_id/],
      [`run_id=${'f'.repeat(32)}&path=a.html`, 404, 'RESOURCE_DOES_NOT_EXIST', /./],
      [
        `run_id=${runId}&path=${encodeURIComponent('../../x.html')}`,
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid path/,
      ],
      [`run_id=${runId}&path=missing.html`, 404, 'RESOURCE_DOES_NOT_EXIST', /./],
    ];
    for (const [query, status, code, message] of cases) {
      const r = await get(query);
      const body = (await r.json()) as { error_code: string; message: string };
      assert.equal(r.status, status, query);
      assert.equal(body.error_code, code, query);
      assert.match(body.message, message, query);
    }
  });
});
