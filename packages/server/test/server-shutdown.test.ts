import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Fastify from 'fastify';
import { installDrain } from '../src/http/drain.js';
import { DIALECTS, type DialectName, freshStoreUri, REPO_ROOT, tempDir } from './helpers.js';

// `mlflow-ts server` on SIGTERM/SIGINT: stops accepting, finishes in-flight requests, closes keep-alive
// connections, commits, and exits within --graceful-timeout; exit status 0 only for a clean stop.

const CLI = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');
const cleanups: (() => void)[] = [];
after(() => {
  for (const cleanup of cleanups) cleanup();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Proc {
  child: ChildProcess;
  base: string;
  output(): string;
  /** Resolves with the exit code (or the signal's name) and how long after `since` it came. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

async function startServer(storeUri: string, extra: string[] = []): Promise<Proc> {
  const port = await freePort();
  const artifacts = tempDir('mlflow-ts-shutdown-artifacts-');
  cleanups.push(artifacts.cleanup);
  const child = spawn(
    process.execPath,
    [
      CLI,
      'server',
      '--backend-store-uri',
      storeUri,
      '--artifacts-destination',
      artifacts.dir,
      '--port',
      String(port),
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cleanups.push(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout?.on('data', (c) => {
    output += c;
  });
  child.stderr?.on('data', (c) => {
    output += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 300 || child.exitCode !== null) throw new Error(`server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, base, output: () => output, exited };
}

async function post(base: string, endpoint: string, body: unknown): Promise<Response> {
  return fetch(`${base}/api/2.0/mlflow/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function newRun(base: string): Promise<string> {
  const exp = await (await post(base, 'experiments/create', { name: `shutdown-${Date.now()}` })).json();
  const run = await (
    await post(base, 'runs/create', { experiment_id: exp.experiment_id, start_time: Date.now() })
  ).json();
  return run.run.info.run_id as string;
}

/** Exit within `ms` of `since`, or fail naming what the server printed. */
async function exitsWithin(proc: Proc, since: number, ms: number) {
  const timer = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms).unref());
  const result = await Promise.race([proc.exited, timer]);
  assert.notEqual(
    result,
    'hung',
    `the server was still running ${ms} ms after the signal:\n${proc.output()}`,
  );
  const exit = result as Awaited<Proc['exited']>;
  return { ...exit, afterMs: exit.at - since };
}

/**
 * Clients in a tight loop, each sending its next metric as soon as the last is answered and stopping
 * at its first failure. Returns the (key, step) of every acknowledged write.
 */
function writeBurst(base: string, runId: string, clients: number) {
  const acknowledged: { key: string; step: number }[] = [];
  const refusals: string[] = [];
  const done = Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let step = 0; ; step++) {
        try {
          const r = await post(base, 'runs/log-metric', {
            run_id: runId,
            key: `m${c}`,
            value: step,
            timestamp: Date.now(),
            step,
          });
          const text = await r.text();
          if (r.status === 200) {
            acknowledged.push({ key: `m${c}`, step });
            continue;
          }
          // The only acceptable refusal while draining: MLflow's error shape with a 503.
          assert.equal(r.status, 503, text);
          assert.equal(JSON.parse(text).error_code, 'TEMPORARILY_UNAVAILABLE');
          assert.equal(r.headers.get('connection'), 'close');
          refusals.push('503');
          return;
        } catch (error) {
          if (error instanceof assert.AssertionError) throw error;
          refusals.push(String((error as Error & { cause?: { code?: string } }).cause?.code ?? error));
          return;
        }
      }
    }),
  );
  return { acknowledged, refusals, done };
}

async function assertAllPresent(storeUri: string, runId: string, acked: { key: string; step: number }[]) {
  const again = await startServer(storeUri);
  try {
    const byKey = new Map<string, Set<number>>();
    for (const { key, step } of acked) {
      if (!byKey.has(key)) byKey.set(key, new Set());
      byKey.get(key)?.add(step);
    }
    for (const [key, steps] of byKey) {
      const r = await fetch(
        `${again.base}/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=${key}`,
      );
      const body = (await r.json()) as { metrics?: { step: number }[] };
      const stored = new Set((body.metrics ?? []).map((m) => m.step));
      for (const step of steps) assert.ok(stored.has(step), `acknowledged ${key} step ${step} was lost`);
    }
  } finally {
    again.child.kill('SIGKILL');
  }
}

test('an idle server exits 0 on SIGTERM and on SIGINT', { timeout: 60_000 }, async () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const store = await freshStoreUri('sqlite');
    cleanups.push(store.cleanup);
    const proc = await startServer(store.uri);
    const since = Date.now();
    proc.child.kill(signal);
    const exit = await exitsWithin(proc, since, 5000);
    assert.equal(exit.code, 0, proc.output());
    assert.match(proc.output(), new RegExp(`${signal} received`));
  }
});

test('idle keep-alive connections do not hold the server open', { timeout: 60_000 }, async () => {
  const store = await freshStoreUri('sqlite');
  cleanups.push(store.cleanup);
  const proc = await startServer(store.uri);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 5 });
  cleanups.push(() => agent.destroy());
  // Five connections, each left idle after one answer (Fastify keeps them for 72 s).
  await Promise.all(
    Array.from(
      { length: 5 },
      () =>
        new Promise<void>((resolve, reject) => {
          http
            .get(`${proc.base}/health`, { agent }, (res) => {
              res.resume();
              res.on('end', resolve);
            })
            .on('error', reject);
        }),
    ),
  );
  assert.equal(
    Object.values(agent.freeSockets).flat().length,
    5,
    'the test needs five idle keep-alive connections',
  );
  const since = Date.now();
  proc.child.kill('SIGTERM');
  const exit = await exitsWithin(proc, since, 5000);
  assert.equal(exit.code, 0, proc.output());
});

for (const dialect of DIALECTS) {
  describe(`under a write burst (${dialect})`, () => {
    test('SIGTERM stops the server in bounds and keeps every acknowledged write', {
      timeout: 120_000,
    }, async () => {
      // Several rounds: the hang depended on where the signal fell among the requests.
      for (let round = 0; round < 3; round++) {
        const store = await freshStoreUri(dialect as DialectName);
        cleanups.push(store.cleanup);
        const proc = await startServer(store.uri);
        const runId = await newRun(proc.base);
        const burst = writeBurst(proc.base, runId, 10);
        await new Promise((r) => setTimeout(r, 1000));
        const since = Date.now();
        proc.child.kill('SIGTERM');
        const exit = await exitsWithin(proc, since, 10_000);
        await burst.done;
        assert.equal(exit.code, 0, proc.output());
        assert.ok(burst.acknowledged.length > 0, 'no write was acknowledged before the signal');
        await assertAllPresent(store.uri, runId, burst.acknowledged);
      }
    });

    test('--workers 2: the primary stops its workers in bounds, writes kept', {
      timeout: 120_000,
    }, async () => {
      const store = await freshStoreUri(dialect as DialectName);
      cleanups.push(store.cleanup);
      const proc = await startServer(store.uri, ['--workers', '2']);
      const runId = await newRun(proc.base);
      const burst = writeBurst(proc.base, runId, 10);
      await new Promise((r) => setTimeout(r, 1000));
      const since = Date.now();
      proc.child.kill('SIGTERM');
      const exit = await exitsWithin(proc, since, 15_000);
      await burst.done;
      assert.equal(exit.code, 0, proc.output());
      assert.match(proc.output(), /stopping 2 workers/);
      assert.ok(burst.acknowledged.length > 0);
      await assertAllPresent(store.uri, runId, burst.acknowledged);
    });
  });
}

/** A PUT to the artifact proxy whose body arrives in pieces; resolves with the answer when it ends. */
function slowUpload(base: string, name: string, pieces: number, gapMs: number) {
  let sent = 0;
  const agent = new http.Agent({ keepAlive: true });
  cleanups.push(() => agent.destroy());
  const answer = new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
    const req = http.request(
      `${base}/api/2.0/mlflow-artifacts/artifacts/${name}`,
      { method: 'PUT', agent, headers: { 'content-type': 'application/octet-stream' } },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
        );
      },
    );
    req.on('error', reject);
    const timer = setInterval(() => {
      req.write(`piece ${sent}\n`);
      sent++;
      if (sent === pieces) {
        clearInterval(timer);
        req.end();
      }
    }, gapMs);
    req.on('close', () => clearInterval(timer));
  });
  return { answer, started: () => sent > 0 };
}

test('a slow request in flight is finished, answered with Connection: close, then the server exits 0', {
  timeout: 60_000,
}, async () => {
  const store = await freshStoreUri('sqlite');
  cleanups.push(store.cleanup);
  const proc = await startServer(store.uri);
  const upload = slowUpload(proc.base, 'slow/file.txt', 15, 100);
  while (!upload.started()) await new Promise((r) => setTimeout(r, 20));
  const since = Date.now();
  proc.child.kill('SIGTERM');
  // New requests are refused while the upload drains.
  await new Promise((r) => setTimeout(r, 200));
  const late = await fetch(`${proc.base}/health`).then(
    (r) => `status ${r.status}`,
    (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? String(error),
  );
  assert.equal(late, 'ECONNREFUSED', 'a new connection during the drain should be refused');
  const answer = await upload.answer;
  assert.equal(answer.status, 200, answer.body);
  assert.equal(answer.connection, 'close');
  const exit = await exitsWithin(proc, since, 10_000);
  assert.equal(exit.code, 0, proc.output());
  assert.ok(exit.afterMs >= 1000, `exited after ${exit.afterMs} ms, before the upload could finish`);
});

test('a request that outlasts --graceful-timeout is cut off and the exit status is 1', {
  timeout: 60_000,
}, async () => {
  const store = await freshStoreUri('sqlite');
  cleanups.push(store.cleanup);
  const proc = await startServer(store.uri, ['--graceful-timeout', '1']);
  const upload = slowUpload(proc.base, 'endless.txt', 10_000, 100);
  upload.answer.catch(() => {}); // the server cuts it
  while (!upload.started()) await new Promise((r) => setTimeout(r, 20));
  const since = Date.now();
  proc.child.kill('SIGTERM');
  const exit = await exitsWithin(proc, since, 6000);
  assert.equal(exit.code, 1, proc.output());
  assert.ok(exit.afterMs >= 1000, `exited after ${exit.afterMs} ms, before the grace period ended`);
  assert.match(proc.output(), /--graceful-timeout/);
});

test('a second signal exits at once', { timeout: 60_000 }, async () => {
  const store = await freshStoreUri('sqlite');
  cleanups.push(store.cleanup);
  const proc = await startServer(store.uri, ['--graceful-timeout', '60']);
  const upload = slowUpload(proc.base, 'endless.txt', 10_000, 100);
  upload.answer.catch(() => {});
  while (!upload.started()) await new Promise((r) => setTimeout(r, 20));
  proc.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(proc.child.exitCode, null, 'the first signal should wait for the upload');
  const since = Date.now();
  proc.child.kill('SIGINT');
  const exit = await exitsWithin(proc, since, 3000);
  assert.equal(exit.code, 130, proc.output());
});

test('--graceful-timeout refuses a value that is not a number of seconds', async () => {
  const child = spawn(process.execPath, [CLI, 'server', '--graceful-timeout', 'soon'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.notEqual(code, 0);
  assert.match(stderr, /--graceful-timeout.*expected a number of seconds/);
});

test('while draining, a request on an open connection gets 503 TEMPORARILY_UNAVAILABLE', async () => {
  const app = Fastify({ return503OnClosing: false });
  app.get('/health', async () => 'OK');
  const drain = installDrain(app);
  await app.ready();
  cleanups.push(() => void app.close());
  assert.equal((await app.inject({ url: '/health' })).statusCode, 200);
  drain.begin();
  const refused = await app.inject({ url: '/health' });
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.headers.connection, 'close');
  assert.equal(refused.json().error_code, 'TEMPORARILY_UNAVAILABLE');
});
