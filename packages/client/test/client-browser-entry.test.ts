import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../server/test/helpers.js';

// The browser entry of @mlflow-ts/client must load in a browser: no module it statically imports may
// import Node built-ins (the Node entry adds those). Dynamic imports are allowed (yaml, loaded on use).

const DIST = path.join(REPO_ROOT, 'packages/client/dist');
const STATIC_IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;

function staticGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const visit = (file: string) => {
    if (graph.has(file)) return;
    const specifiers = [...readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)].map((m) => m[1] ?? m[2]);
    graph.set(file, specifiers);
    for (const s of specifiers) if (s.startsWith('.')) visit(path.resolve(path.dirname(file), s));
  };
  visit(entry);
  return graph;
}

const isNodeBuiltin = (s: string) => s.startsWith('node:') || builtinModules.includes(s.split('/')[0]);

test('the browser entry (dist/index.js) reaches no Node built-in through static imports', () => {
  const graph = staticGraph(path.join(DIST, 'index.js'));
  assert.ok(graph.size >= 8, `walked ${graph.size} modules`);
  assert.ok(!graph.has(path.join(DIST, 'node.js')));
  for (const [file, specifiers] of graph) {
    const bad = specifiers.filter((s) => isNodeBuiltin(s) || !s.startsWith('.'));
    assert.deepEqual(bad, [], `${path.relative(DIST, file)} imports ${bad.join(', ')}`);
  }
});

test('the node entry does add Node support, and the package maps each runtime to its entry', () => {
  const graph = staticGraph(path.join(DIST, 'node.js'));
  assert.ok([...graph.values()].flat().some(isNodeBuiltin));
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'packages/client/package.json'), 'utf8'));
  assert.equal(pkg.exports['.'].node.default, './dist/node.js');
  assert.equal(pkg.exports['.'].default.default, './dist/index.js');
  assert.equal(pkg.browser, 'dist/index.js');
});
