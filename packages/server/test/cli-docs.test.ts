import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from './helpers.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

// Runs every ```sh example block of docs/cli.md with bash (set -euo pipefail), `mlflow-ts` taken from
// node_modules/.bin, against a server process.

describe('docs/cli.md examples', () => {
  let srv: ServerProcess;
  // Inside the repository, so that `import '@mlflow-ts/client'` in the examples resolves as in a project.
  const cache = path.join(REPO_ROOT, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const dir = { dir: mkdtempSync(path.join(cache, 'cli-docs-')) };
  before(async () => {
    srv = await startServerProcess('sqlite');
  });
  after(async () => {
    await srv.close();
    rmSync(dir.dir, { recursive: true, force: true });
  });

  const blocks = [
    ...readFileSync(path.join(REPO_ROOT, 'docs/cli.md'), 'utf8').matchAll(/```sh example\n([\s\S]*?)```/g),
  ].map((m) => m[1]);
  test('the page has examples', () => assert.ok(blocks.length >= 3));
  blocks.forEach((code, i) => {
    test(`example ${i + 1} runs`, () => {
      const r = spawnSync('bash', ['-c', `set -euo pipefail\n${code}`], {
        cwd: dir.dir,
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          ...process.env,
          MLFLOW_TRACKING_URI: srv.url,
          MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
          PATH: `${path.join(REPO_ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
        },
      });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.notEqual(r.stdout.trim(), '');
    });
  });
});
