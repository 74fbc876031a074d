import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { locateUiBuild } from '../src/http/ui-routes.js';
import { REPO_ROOT, startTestServer, type TestServer, tempDir } from './helpers.js';

// The server's serving of the web UI: static files with their types and caching, index.html for
// client-side routes, and the server's own paths never shadowed.

const HTML = { accept: 'text/html,application/xhtml+xml' };

function fakeBuild(): { dir: string; cleanup: () => void } {
  const t = tempDir('mlflow-ts-ui-');
  mkdirSync(path.join(t.dir, 'assets'));
  writeFileSync(path.join(t.dir, 'index.html'), '<!doctype html><div id="root"></div>');
  writeFileSync(
    path.join(t.dir, 'assets', 'index-AbC123.js'),
    `console.log(${JSON.stringify('x'.repeat(5000))});`,
  );
  writeFileSync(path.join(t.dir, 'assets', 'index-AbC123.css'), 'body{}');
  writeFileSync(path.join(t.dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return t;
}

describe('web UI static files', () => {
  let server: TestServer;
  let build: { dir: string; cleanup: () => void };
  before(async () => {
    build = fakeBuild();
    server = await startTestServer('sqlite', { uiDir: build.dir });
  });
  after(async () => {
    await server.close();
    build.cleanup();
  });

  test('/ is index.html, revalidated on every load', async () => {
    const r = await fetch(`${server.url}/`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.match(await r.text(), /<div id="root">/);
    const etag = r.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${server.url}/`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });

  test('hashed assets are immutable, typed, and gzipped when asked', async () => {
    const js = await fetch(`${server.url}/assets/index-AbC123.js`, {
      headers: { 'accept-encoding': 'identity' },
    });
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(js.headers.get('content-encoding'), null);
    const body = await js.text();
    assert.match(body, /^console\.log/);

    // fetch() would decode gzip itself; read the raw bytes through node:http semantics instead.
    const { request } = await import('node:http');
    const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = request(
        `${server.url}/assets/index-AbC123.js`,
        { headers: { 'accept-encoding': 'gzip' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(raw.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(raw.body).toString(), body);

    const css = await fetch(`${server.url}/assets/index-AbC123.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    const icon = await fetch(`${server.url}/favicon.svg`);
    assert.equal(icon.headers.get('content-type'), 'image/svg+xml');
    assert.equal(icon.headers.get('cache-control'), 'no-cache');
  });

  test('client routes get index.html; a missing asset is a 404, not a page', async () => {
    for (const p of ['/runs', '/runs/abc123?tab=metrics', '/compare?runs=a,b', '/metrics', '/experiments']) {
      const r = await fetch(`${server.url}${p}`, { headers: HTML });
      assert.equal(r.status, 200, p);
      assert.match(await r.text(), /<div id="root">/, p);
    }
    const missing = await fetch(`${server.url}/assets/gone-123.js`, { headers: HTML });
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error_code, 'ENDPOINT_NOT_FOUND');
    // Without an HTML Accept header (an API client), an unknown path is still MLflow's JSON 404.
    const plain = await fetch(`${server.url}/no/such/thing`);
    assert.equal(plain.status, 404);
    assert.equal((await plain.json()).error_code, 'ENDPOINT_NOT_FOUND');
  });

  test("the server's own paths are never shadowed by the UI", async () => {
    const api = await fetch(`${server.url}/api/2.0/mlflow/no-such-endpoint`, { headers: HTML });
    assert.equal(api.status, 404);
    assert.equal((await api.json()).error_code, 'ENDPOINT_NOT_FOUND');
    const ajax = await fetch(`${server.url}/ajax-api/2.0/mlflow/experiments/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...HTML },
      body: '{}',
    });
    assert.equal(ajax.status, 200);
    assert.ok(Array.isArray((await ajax.json()).experiments));
    const health = await fetch(`${server.url}/health`, { headers: HTML });
    assert.equal(await health.text(), 'OK');
    const artifact = await fetch(`${server.url}/get-artifact?path=x&run_uuid=nope`, { headers: HTML });
    assert.equal(artifact.headers.get('content-type')?.startsWith('text/html'), false);
  });

  test('a traversal attempt is not served', async () => {
    const r = await fetch(`${server.url}/assets/..%2f..%2fpackage.json`, { headers: HTML });
    // Only files of the build are ever served: this is the JSON 404 of an unknown asset.
    assert.equal(r.status, 404);
    const body = await r.text();
    assert.doesNotMatch(body, /"dependencies"/);
    assert.equal(JSON.parse(body).error_code, 'ENDPOINT_NOT_FOUND');
  });
});

describe('web UI not built', () => {
  let server: TestServer;
  let empty: { dir: string; cleanup: () => void };
  before(async () => {
    empty = tempDir('mlflow-ts-no-ui-');
    server = await startTestServer('sqlite', { uiDir: empty.dir });
  });
  after(async () => {
    await server.close();
    empty.cleanup();
  });

  test('/ says how to build the UI; the API still works', async () => {
    const r = await fetch(`${server.url}/`);
    assert.equal(r.status, 503);
    const text = await r.text();
    assert.match(text, /web UI is not built/);
    assert.match(text, /npm install/);
    const api = await fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
    assert.equal(api.status, 200);
  });
});

test('the workspace build of the UI is found by default', () => {
  const dir = locateUiBuild();
  assert.equal(dir, path.join(REPO_ROOT, 'packages/ui/dist'));
  assert.ok(existsSync(path.join(dir, 'index.html')), 'packages/ui is not built: run `npm run build`');
});
