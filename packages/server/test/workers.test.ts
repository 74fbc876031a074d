import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { call, REPO_ROOT, tempDir } from './helpers.js';

// Several server processes (--workers) share one SQLite file; concurrent writes from all of them must
// succeed, none may fail with "database is locked".

let child: ChildProcess | undefined;
const dir = tempDir();
after(() => {
  child?.kill('SIGKILL');
  dir.cleanup();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('two workers on one SQLite store accept concurrent writes without lock errors', {
  timeout: 60_000,
}, async () => {
  const port = await freePort();
  const cli = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');
  const uri = `sqlite:///${path.join(dir.dir, 'mlflow.db')}`;
  child = spawn(
    process.execPath,
    [cli, 'server', '--backend-store-uri', uri, '--port', String(port), '--workers', '2'],
    {
      stdio: 'ignore',
    },
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = `${base}/api/2.0/mlflow`;
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: 10 }, async (_, client) => {
      const run = await call(api, 'POST', 'runs/create', { experiment_id: '0', start_time: Date.now() });
      statuses.push(run.status);
      const runId = run.body.run.info.run_id as string;
      for (let i = 0; i < 20; i++) {
        const res = await call(api, 'POST', 'runs/log-batch', {
          run_id: runId,
          metrics: [{ key: 'm', value: i, timestamp: i, step: i }],
          params: [{ key: `p${i}`, value: String(client) }],
        });
        statuses.push(res.status);
      }
    }),
  );
  assert.equal(statuses.length, 210);
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
  );
});
