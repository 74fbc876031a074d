import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runProject } from '../src/projects/run-project.js';
import { call, startTestServer, type TestServer, tempDir } from './helpers.js';

// --env-manager uv. uv cannot be installed on this machine (it is not in the local package index
// and GitHub is unreachable), so a shim named `uv` stands in: it records every command line and
// does the work with the standard library's venv and pip, so the run really gets an environment
// with a real package in it. What is checked is what mlflow-ts asks uv to do.

let server: TestServer;
const envRoot = tempDir('mlflow-ts-uv-envroot-');
const saved = { root: process.env.MLFLOW_ENV_ROOT, path: process.env.PATH, index: process.env.PIP_INDEX_URL };

before(async () => {
  server = await startTestServer('sqlite');
  process.env.MLFLOW_ENV_ROOT = envRoot.dir;
  const configured =
    Boolean(process.env.PIP_INDEX_URL) || existsSync('/etc/pip.conf') || existsSync('/etc/xdg/pip/pip.conf');
  if (!configured && existsSync('/opt/pypi/simple')) process.env.PIP_INDEX_URL = 'file:///opt/pypi/simple';
});
after(async () => {
  await server.close();
  envRoot.cleanup();
  for (const [key, value] of [
    ['MLFLOW_ENV_ROOT', saved.root],
    ['PATH', saved.path],
    ['PIP_INDEX_URL', saved.index],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

/** Installs the `uv` shim in a fresh bin folder on PATH; returns the file its calls are logged to. */
function useUvShim(t: { after: (fn: () => void) => void }): string {
  const shims = tempDir('mlflow-ts-uvshim-');
  t.after(shims.cleanup);
  const bin = path.join(shims.dir, 'bin');
  mkdirSync(bin);
  const calls = path.join(shims.dir, 'calls.txt');
  writeFileSync(
    path.join(bin, 'uv'),
    `#!/bin/bash
{ printf '%s\\0' "$@"; printf '\\n'; } >> ${JSON.stringify(calls)}
case "$1" in
  venv)
    py=python3
    for a in "$@"; do case "$a" in --python=*) v="\${a#--python=}"; command -v "python$v" >/dev/null && py="python$v" ;; esac; done
    exec "$py" -m venv "$2" ;;
  pip)
    [ "$2" = install ] && [ "$3" = --python ] || { echo "shim: unexpected pip call" >&2; exit 2; }
    py="$4"; shift 4
    exec "$py" -m pip install --quiet "$@" ;;
  *) echo "shim: unexpected uv call $1" >&2; exit 2 ;;
esac
`,
  );
  chmodSync(path.join(bin, 'uv'), 0o755);
  process.env.PATH = `${bin}:${saved.path}`;
  t.after(() => {
    process.env.PATH = saved.path;
  });
  return calls;
}

function recorded(calls: string): string[][] {
  return readFileSync(calls, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\0').slice(0, -1));
}

function makeProject(files: Record<string, string>): { dir: string; cleanup: () => void } {
  const tmp = tempDir('mlflow-ts-uvproject-');
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(tmp.dir, name), text);
  return tmp;
}

const PROBE =
  'import json, sys, six\njson.dump({"prefix": sys.prefix, "six": six.__version__}, open("out.json", "w"))\n';

test('uv builds the env once (venv with the requested Python, then pip install) and the run uses it', async (t) => {
  const calls = useUvShim(t);
  const p = makeProject({
    'python_env.yaml': 'python: "3.11"\nbuild_dependencies:\n  - pip\ndependencies:\n  - six\n',
    MLproject:
      'name: uvp\npython_env: python_env.yaml\nentry_points:\n  main:\n    command: "python probe.py"\n',
    'probe.py': PROBE,
  });
  t.after(p.cleanup);
  const lines: string[] = [];
  for (let i = 0; i < 2; i++) {
    const run = await runProject({
      uri: p.dir,
      envManager: 'uv',
      trackingUri: server.url,
      log: (l) => lines.push(l),
    });
    assert.equal(await run.wait(), true, lines.join('\n'));
    const res = await call(server.api, 'GET', 'runs/get', { run_id: run.runId });
    const tags = Object.fromEntries(res.body.run.data.tags.map((x: any) => [x.key, x.value]));
    assert.equal(tags['mlflow.project.env'], 'uv');
    assert.equal(res.body.run.info.status, 'FINISHED');
  }
  const [venv, build, deps, ...rest] = recorded(calls);
  assert.equal(rest.length, 0, 'the second run reuses the cached env');
  assert.equal(venv[0], 'venv');
  assert.match(venv[1], new RegExp(`^${envRoot.dir}/virtualenv_envs/mlflow-ts-[0-9a-f]{40}$`));
  assert.deepEqual(venv.slice(2), ['--python=3.11']);
  assert.deepEqual(build, ['pip', 'install', '--python', `${venv[1]}/bin/python`, 'pip']);
  assert.deepEqual(deps, ['pip', 'install', '--python', `${venv[1]}/bin/python`, 'six']);
  const out = JSON.parse(readFileSync(path.join(p.dir, 'out.json'), 'utf8'));
  assert.equal(out.prefix, venv[1], 'the command ran inside the uv env');
  assert.match(out.six, /^\d+\.\d+/);
  assert.ok(lines.some((l) => l.includes('Using the cached uv environment')));
});

test('uv and virtualenv keep separate envs for the same python_env.yaml', async (t) => {
  const calls = useUvShim(t);
  const p = makeProject({
    'python_env.yaml': 'python: "3.11"\n',
    MLproject:
      'name: uvp\npython_env: python_env.yaml\nentry_points:\n  main:\n    command: "python -c pass"\n',
  });
  t.after(p.cleanup);
  const viaVirtualenv = await runProject({ uri: p.dir, trackingUri: server.url, log: () => {} });
  assert.equal(await viaVirtualenv.wait(), true);
  assert.equal(existsSync(calls), false, 'virtualenv does not call uv');
  const viaUv = await runProject({ uri: p.dir, envManager: 'uv', trackingUri: server.url, log: () => {} });
  assert.equal(await viaUv.wait(), true);
  assert.equal(recorded(calls)[0][0], 'venv', 'uv builds its own env rather than reusing the virtualenv one');
});

test('without uv the error says how to get it, and the run ends FAILED', async (t) => {
  const empty = tempDir('mlflow-ts-nouv-');
  t.after(empty.cleanup);
  process.env.PATH = `${empty.dir}:/usr/bin:/bin`;
  t.after(() => {
    process.env.PATH = saved.path;
  });
  const p = makeProject({ MLproject: 'name: x\nentry_points:\n  main:\n    command: "true"\n' });
  t.after(p.cleanup);
  const experiment = await call(server.api, 'POST', 'experiments/create', { name: `no-uv-${Date.now()}` });
  await assert.rejects(
    runProject({
      uri: p.dir,
      envManager: 'uv',
      experimentId: experiment.body.experiment_id,
      trackingUri: server.url,
      log: () => {},
    }),
    /^ExecutionError: Could not find uv on PATH\. Install it .*--env-manager virtualenv\.$/,
  );
  const runs = await call(server.api, 'POST', 'runs/search', {
    experiment_ids: [experiment.body.experiment_id],
  });
  assert.equal(runs.body.runs.length, 1);
  assert.equal(runs.body.runs[0].info.status, 'FAILED');
});

test('an unknown env manager lists uv among the choices', async (t) => {
  const p = makeProject({ MLproject: 'name: x\nentry_points:\n  main:\n    command: "true"\n' });
  t.after(p.cleanup);
  await assert.rejects(
    runProject({ uri: p.dir, envManager: 'pipenv', trackingUri: server.url, log: () => {} }),
    /Invalid value for `env_manager`: pipenv\. Must be one of 'local', 'virtualenv', 'uv', 'conda'\./,
  );
});
