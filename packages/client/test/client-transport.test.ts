import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { MlflowClient, MlflowError, RestTransport, resolveConfig } from '@mlflow-ts/client';
import { tempDir } from '../../server/test/helpers.js';

// The client's HTTP behaviour against a local server that answers as each test scripts it: retries,
// backoff, timeouts, authentication and configuration from MLflow's environment variables.

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Responder = (
  req: Seen,
  n: number,
) => { status: number; body?: string; headers?: Record<string, string> } | 'hang' | 'drop';

async function scriptedServer(respond: Responder, tls?: { key: Buffer; cert: Buffer }) {
  const seen: Seen[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      const answer = respond(s, seen.length);
      if (answer === 'hang') return;
      if (answer === 'drop') {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
      res.end(answer.body ?? '{}');
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const fast = { backoffFactor: 0, backoffJitter: 0 };
const runJson = JSON.stringify({
  run: { info: { run_id: 'r1', run_uuid: 'r1', status: 'RUNNING' }, data: {} },
});

describe('retries and timeouts', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  test('503 and 500 are retried with the same request until it succeeds', async () => {
    const srv = await scriptedServer((_r, n) =>
      n <= 2 ? { status: n === 1 ? 503 : 500, body: 'busy' } : { status: 200, body: runJson },
    );
    servers.push(srv);
    const client = new MlflowClient({ trackingUri: srv.url, maxRetries: 3, ...fast });
    await client.logParam('r1', 'k', 'v');
    assert.equal(srv.seen.length, 3);
    for (const s of srv.seen) {
      assert.equal(s.method, 'POST');
      assert.equal(s.url, '/api/2.0/mlflow/runs/log-parameter');
      assert.deepEqual(JSON.parse(s.body), { run_id: 'r1', key: 'k', value: 'v' });
      assert.equal(s.headers['content-type'], 'application/json');
    }
  });

  test('429 honours Retry-After; GET parameters travel in the query string', async () => {
    const srv = await scriptedServer((_r, n) =>
      n === 1
        ? {
            status: 429,
            headers: { 'Retry-After': '1' },
            body: '{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}',
          }
        : { status: 200, body: runJson },
    );
    servers.push(srv);
    const client = new MlflowClient({ trackingUri: srv.url, maxRetries: 2, ...fast });
    const started = Date.now();
    const run = await client.getRun('r1');
    assert.equal(run.info.run_id, 'r1');
    assert.deepEqual(run.data, { metrics: [], params: [], tags: [] });
    assert.ok(Date.now() - started >= 900, 'waited for Retry-After');
    assert.deepEqual(
      srv.seen.map((s) => `${s.method} ${s.url}`),
      ['GET /api/2.0/mlflow/runs/get?run_id=r1', 'GET /api/2.0/mlflow/runs/get?run_id=r1'],
    );
  });

  test('a client error is not retried and surfaces the server error code and status', async () => {
    const srv = await scriptedServer(() => ({
      status: 404,
      body: '{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run r9 not found"}',
    }));
    servers.push(srv);
    const client = new MlflowClient({ trackingUri: srv.url, maxRetries: 5, ...fast });
    await assert.rejects(client.getRun('r9'), (e: unknown) => {
      assert.ok(e instanceof MlflowError);
      assert.equal(e.errorCode, 'RESOURCE_DOES_NOT_EXIST');
      assert.equal(e.status, 404);
      assert.equal(e.message, 'Run r9 not found');
      return true;
    });
    assert.equal(srv.seen.length, 1);
  });

  test('persistent 502 gives up after max retries with the status', async () => {
    const srv = await scriptedServer(() => ({ status: 502, body: '<html>bad gateway</html>' }));
    servers.push(srv);
    const client = new MlflowClient({ trackingUri: srv.url, maxRetries: 2, ...fast });
    await assert.rejects(client.getExperiment('1'), (e: unknown) => {
      assert.ok(e instanceof MlflowError);
      assert.equal(e.status, 502);
      assert.equal(e.errorCode, 'INTERNAL_ERROR');
      assert.match(e.message, /HTTP 502.*bad gateway/);
      return true;
    });
    assert.equal(srv.seen.length, 3);
  });

  test('dropped connections are retried; a timeout is retried and then fails naming the server', async () => {
    const drop = await scriptedServer((_r, n) =>
      n === 1 ? 'drop' : { status: 200, body: '{"experiment_id":"7"}' },
    );
    servers.push(drop);
    assert.equal(
      await new MlflowClient({ trackingUri: drop.url, maxRetries: 1, ...fast }).createExperiment('x'),
      '7',
    );
    assert.equal(drop.seen.length, 2);

    const hang = await scriptedServer(() => 'hang');
    servers.push(hang);
    const client = new MlflowClient({ trackingUri: hang.url, maxRetries: 1, timeout: 0.3, ...fast });
    await assert.rejects(client.getExperiment('1'), (e: unknown) => {
      assert.ok(e instanceof MlflowError);
      assert.equal(e.status, 0);
      assert.match(e.message, /failed after 2 attempt/);
      assert.match(e.message, new RegExp(hang.url.replace(/[.]/g, '\\.')));
      return true;
    });
    assert.equal(hang.seen.length, 2);
  });

  test('nothing listening: network errors are retried, then reported with what to check', async () => {
    const srv = await scriptedServer(() => ({ status: 200 }));
    const url = srv.url;
    await srv.close();
    const client = new MlflowClient({ trackingUri: url, maxRetries: 2, ...fast });
    await assert.rejects(client.getExperiment('1'), /failed after 3 attempt\(s\).*MLFLOW_TRACKING_URI/);
  });

  test('a network failure keeps the fetch error as its cause', async () => {
    const srv = await scriptedServer(() => ({ status: 200 }));
    const url = srv.url;
    await srv.close();
    const client = new MlflowClient({ trackingUri: url, maxRetries: 0, ...fast });
    await assert.rejects(client.getExperiment('1'), (e: unknown) => {
      assert.ok(e instanceof MlflowError);
      assert.equal(e.status, 0);
      assert.ok(e.cause instanceof Error, 'the cause is the error fetch threw');
      return true;
    });
  });

  test("a caller's abort signal cancels the request at once: fetch's AbortError, no retry", async () => {
    const srv = await scriptedServer(() => 'hang');
    servers.push(srv);
    const t = new RestTransport(resolveConfig({ trackingUri: srv.url, maxRetries: 3, ...fast }, {}));
    const controller = new AbortController();
    const call = t.call('GET', 'runs/get', { run_id: 'r1' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(call, (e: unknown) => {
      assert.ok(!(e instanceof MlflowError), 'a cancelled request is not reported as a failure');
      assert.equal((e as Error).name, 'AbortError');
      return true;
    });
    assert.equal(srv.seen.length, 1);
  });

  test('an infinite timeout sets no time limit; the API prefix is configurable', async () => {
    const srv = await scriptedServer(() => ({ status: 200, body: runJson }));
    servers.push(srv);
    const t = new RestTransport(
      resolveConfig(
        { trackingUri: srv.url, timeout: Number.POSITIVE_INFINITY, apiPrefix: '/ajax-api/2.0/mlflow/' },
        {},
      ),
    );
    const r = await t.call<{ run: { info: { run_id: string } } }>('GET', 'runs/get', { run_id: 'r1' });
    assert.equal(r.run.info.run_id, 'r1');
    assert.equal(srv.seen[0]?.url, '/ajax-api/2.0/mlflow/runs/get?run_id=r1');
  });

  test('a success whose body is not JSON fails with BAD_RESPONSE and the start of the body', async () => {
    const srv = await scriptedServer(() => ({ status: 200, body: '<html>a proxy page</html>' }));
    servers.push(srv);
    const client = new MlflowClient({ trackingUri: srv.url, maxRetries: 0, ...fast });
    await assert.rejects(client.getRun('r1'), (e: unknown) => {
      assert.ok(e instanceof MlflowError);
      assert.equal(e.errorCode, 'BAD_RESPONSE');
      assert.equal(e.status, 200);
      assert.match(e.message, /not JSON: <html>a proxy page<\/html>/);
      return true;
    });
  });

  test('backoff follows MLflow: first retry at once, then factor * 2^(n-1), capped at 120 s', () => {
    const t = new RestTransport(
      resolveConfig({ trackingUri: 'http://x', backoffFactor: 2, backoffJitter: 0 }, {}),
    );
    assert.deepEqual(
      [1, 2, 3, 4, 8].map((n) => t.backoffSeconds(n)),
      [0, 4, 8, 16, 120],
    );
    assert.equal(t.backoffSeconds(3, '7'), 7);
  });
});

describe('configuration from MLflow environment variables', () => {
  const saved = { ...process.env };
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const key of Object.keys(process.env)) if (key.startsWith('MLFLOW_')) delete process.env[key];
    Object.assign(process.env, saved);
    for (const s of servers.splice(0)) await s.close();
  });

  test('MLFLOW_TRACKING_URI with MLFLOW_TRACKING_USERNAME/PASSWORD sends basic auth', async () => {
    const srv = await scriptedServer(() => ({ status: 200, body: '{"experiment_id":"1"}' }));
    servers.push(srv);
    process.env.MLFLOW_TRACKING_URI = `${srv.url}/`;
    process.env.MLFLOW_TRACKING_USERNAME = 'ada';
    process.env.MLFLOW_TRACKING_PASSWORD = 'pässword';
    process.env.MLFLOW_TRACKING_TOKEN = 'ignored-when-basic';
    await new MlflowClient().createExperiment('e');
    assert.equal(srv.seen[0].url, '/api/2.0/mlflow/experiments/create');
    assert.equal(
      srv.seen[0].headers.authorization,
      `Basic ${Buffer.from('ada:pässword').toString('base64')}`,
    );
  });

  test('DATABRICKS_TOKEN is the bearer token when MLFLOW_TRACKING_TOKEN is unset', () => {
    assert.equal(resolveConfig({ trackingUri: 'http://h' }, { DATABRICKS_TOKEN: 'dapi-1' }).token, 'dapi-1');
    assert.equal(
      resolveConfig({ trackingUri: 'http://h' }, { DATABRICKS_TOKEN: 'dapi-1', MLFLOW_TRACKING_TOKEN: 'm' })
        .token,
      'm',
    );
  });

  test('MLFLOW_TRACKING_TOKEN sends a bearer token; retry settings come from the environment', async () => {
    const srv = await scriptedServer(() => ({ status: 503 }));
    servers.push(srv);
    process.env.MLFLOW_TRACKING_URI = srv.url;
    process.env.MLFLOW_TRACKING_TOKEN = 'tok-123';
    process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES = '3';
    process.env.MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR = '0';
    process.env.MLFLOW_HTTP_REQUEST_BACKOFF_JITTER = '0';
    await assert.rejects(
      new MlflowClient().getExperiment('1'),
      (e: unknown) => e instanceof MlflowError && e.status === 503,
    );
    assert.equal(srv.seen.length, 4);
    assert.ok(srv.seen.every((s) => s.headers.authorization === 'Bearer tok-123'));
  });

  test('MLFLOW_HTTP_REQUEST_TIMEOUT bounds each attempt', async () => {
    const srv = await scriptedServer(() => 'hang');
    servers.push(srv);
    process.env.MLFLOW_TRACKING_URI = srv.url;
    process.env.MLFLOW_HTTP_REQUEST_TIMEOUT = '0.2';
    process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES = '0';
    const started = Date.now();
    await assert.rejects(new MlflowClient().getExperiment('1'), /failed after 1 attempt/);
    assert.ok(Date.now() - started < 5000);
  });

  test('bad settings are refused with what to do', () => {
    // In Node, with nothing set, the default is MLflow 3's local store (a browser is told to set one).
    assert.equal(resolveConfig({}, {}).trackingUri, 'sqlite:///mlflow.db');
    // In Node a local store is served in-process (client-local-uri.test.ts); other schemes are refused.
    assert.equal(
      resolveConfig({}, { MLFLOW_TRACKING_URI: 'sqlite:///tmp/x.db' }).trackingUri,
      'sqlite:///tmp/x.db',
    );
    assert.throws(
      () => resolveConfig({}, { MLFLOW_TRACKING_URI: 'databricks://profile' }),
      /not supported: use an http\(s\) URL of a tracking server, or in Node a local store/,
    );
    assert.throws(
      () => resolveConfig({}, { MLFLOW_TRACKING_URI: 'http://x', MLFLOW_HTTP_REQUEST_MAX_RETRIES: 'many' }),
      /MLFLOW_HTTP_REQUEST_MAX_RETRIES must be a non-negative number/,
    );
  });

  test('MLFLOW_TRACKING_INSECURE_TLS accepts a self-signed certificate, which is refused otherwise', async () => {
    const dir = tempDir();
    after(dir.cleanup);
    const key = path.join(dir.dir, 'key.pem');
    const cert = path.join(dir.dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const srv = await scriptedServer(() => ({ status: 200, body: '{"experiment_id":"5"}' }), {
      key: readFileSync(key),
      cert: readFileSync(cert),
    });
    servers.push(srv);
    process.env.MLFLOW_TRACKING_URI = srv.url;
    await assert.rejects(new MlflowClient({ maxRetries: 0 }).createExperiment('e'), /failed after 1 attempt/);
    assert.equal(srv.seen.length, 0);
    process.env.MLFLOW_TRACKING_INSECURE_TLS = 'true';
    assert.equal(await new MlflowClient({ maxRetries: 0 }).createExperiment('e'), '5');
    assert.equal(srv.seen.length, 1);
  });
});
