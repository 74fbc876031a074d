import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, tempDir } from '../../server/test/helpers.js';
import { type ServerProcess, startServerProcess } from '../../server/test/server-process.js';

// Runs every ```js example block of docs/sdk.md against a server process. A `console.log(...); // text`
// line promises that `text` appears in the output.

const DOC = path.join(REPO_ROOT, 'docs/sdk.md');
const CLIENT = pathToFileURL(path.join(REPO_ROOT, 'packages/client/dist/node.js')).href;

function examples(markdown: string): string[] {
  return [...markdown.matchAll(/```js example\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe('docs/sdk.md examples', () => {
  let srv: ServerProcess;
  const dir = tempDir();
  before(async () => {
    srv = await startServerProcess('sqlite');
  });
  after(async () => {
    await srv.close();
    dir.cleanup();
  });

  const blocks = examples(readFileSync(DOC, 'utf8'));
  test('the page has examples', () => assert.ok(blocks.length >= 3));
  blocks.forEach((code, i) => {
    test(`example ${i + 1} runs and prints what it promises`, () => {
      const file = path.join(dir.dir, `example-${i + 1}.mjs`);
      writeFileSync(file, code.replaceAll("'@mlflow-ts/client'", `'${CLIENT}'`));
      const result = spawnSync(process.execPath, [file], {
        encoding: 'utf8',
        env: { ...process.env, MLFLOW_TRACKING_URI: srv.url },
        timeout: 60_000,
      });
      assert.equal(result.status, 0, result.stderr);
      for (const m of code.matchAll(/console\.log\(.*\); \/\/ (.+)$/gm)) {
        assert.ok(result.stdout.includes(m[1]), `expected '${m[1]}' in:\n${result.stdout}`);
      }
    });
  });
});
