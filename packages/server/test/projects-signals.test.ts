import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { call, REPO_ROOT, startTestServer, type TestServer, tempDir } from './helpers.js';

// A signal while the environment is still being built: the build stops, leaves nothing half-made
// behind, releases its lock, and the run is recorded KILLED.

let server: TestServer;
before(async () => {
  server = await startTestServer('sqlite');
});
after(() => server.close());

test('SIGTERM during the virtualenv build stops pip, cleans up, and records KILLED', async (t) => {
  const envRoot = tempDir('mlflow-ts-envroot-');
  t.after(envRoot.cleanup);
  const p = tempDir('mlflow-ts-signal-project-');
  t.after(p.cleanup);
  writeFileSync(path.join(p.dir, 'python_env.yaml'), 'dependencies:\n  - numpy\n');
  writeFileSync(
    path.join(p.dir, 'MLproject'),
    'name: slow-env\nentry_points:\n  main:\n    command: "touch ran"\n',
  );
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'packages/server/dist/cli/main.js'), 'run', p.dir],
    {
      env: { ...process.env, MLFLOW_TRACKING_URI: server.url, MLFLOW_ENV_ROOT: envRoot.dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  let signalled = false;
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (!signalled && stderr.includes('=== Installing dependencies: numpy ===')) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.ok(signalled, `the build never reached the install step:\n${stderr}`);
  assert.equal(code, 143, stderr);
  assert.match(stderr, /was cancelled/);
  assert.equal(existsSync(path.join(p.dir, 'ran')), false);
  const envs = path.join(envRoot.dir, 'virtualenv_envs');
  assert.deepEqual(
    existsSync(envs) ? readdirSync(envs) : [],
    [],
    'a half-built env or its lock was left behind',
  );
  const runs = await call(server.api, 'POST', 'runs/search', { experiment_ids: ['0'] });
  assert.equal(runs.body.runs.length, 1);
  assert.equal(runs.body.runs[0].info.status, 'KILLED');
});
