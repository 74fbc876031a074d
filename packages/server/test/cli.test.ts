import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, tempDir } from './helpers.js';

// What a user sees when `mlflow-ts server` cannot start: one line saying what failed and what to do.

const CLI = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');

function runServer(args: string[]) {
  return spawnSync(process.execPath, [CLI, 'server', ...args], { encoding: 'utf8', timeout: 20_000 });
}

test('a backend store in a missing directory is a clear error, not a stack trace', () => {
  const result = runServer(['--backend-store-uri', 'sqlite:////no/such/dir/mlflow.db', '--port', '0']);
  assert.equal(result.status, 1);
  assert.match(
    result.stderr,
    /^Error: could not open the backend store sqlite:\/\/\/\/no\/such\/dir\/mlflow\.db: /,
  );
  assert.match(result.stderr, /pass another --backend-store-uri/);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
});

test('a port already in use is a clear error', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  const tmp = tempDir('mlflow-ts-cli-');
  try {
    const result = runServer([
      '--backend-store-uri',
      `sqlite:///${tmp.dir}/mlflow.db`,
      '--port',
      String(port),
    ]);
    assert.equal(result.status, 1);
    assert.equal(
      result.stderr.trim(),
      `Error: 127.0.0.1:${port} is already in use; stop the process using it or pass another --port.`,
    );
  } finally {
    blocker.close();
    tmp.cleanup();
  }
});
