import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findContainerCli } from '../src/projects/env/docker-env.js';
import { ExecutionError } from '../src/projects/execution-error.js';
import { runProject } from '../src/projects/run-project.js';
import { call, startTestServer, type TestServer, tempDir } from './helpers.js';

// Environment managers: virtualenv for real (a real interpreter, real pip installs from this machine's
// package index), conda through a shim standing in for conda/micromamba (none is installed here), and
// docker_env through a shim `docker` that records its command lines (there is no Docker daemon here).

let server: TestServer;
const envRoot = tempDir('mlflow-ts-envroot-');
const saved = { root: process.env.MLFLOW_ENV_ROOT, path: process.env.PATH, index: process.env.PIP_INDEX_URL };

before(async () => {
  server = await startTestServer('sqlite');
  process.env.MLFLOW_ENV_ROOT = envRoot.dir;
  // This machine's pip configuration already points at its local index; only without one do we name it.
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

function makeProject(files: Record<string, string>): { dir: string; cleanup: () => void } {
  const tmp = tempDir('mlflow-ts-envproject-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(tmp.dir, name)), { recursive: true });
    writeFileSync(path.join(tmp.dir, name), text);
  }
  return tmp;
}

async function tagsOf(runId: string): Promise<{ status: string; tags: Record<string, string> }> {
  const res = await call(server.api, 'GET', 'runs/get', { run_id: runId });
  return {
    status: res.body.run.info.status,
    tags: Object.fromEntries(res.body.run.data.tags.map((t: any) => [t.key, t.value])),
  };
}

function collector() {
  const lines: string[] = [];
  return { lines, log: (line: string) => lines.push(line) };
}

const PROBE = `import json, sys
import importlib
mods = {}
for name in sys.argv[2:]:
    m = importlib.import_module(name)
    mods[name] = getattr(m, "__version__", "?")
json.dump({"prefix": sys.prefix, "version": list(sys.version_info[:3]), "modules": mods}, open(sys.argv[1], "w"))
`;

describe('virtualenv', () => {
  test('builds the env with the requested Python and a real package, then reuses it', async (t) => {
    const p = makeProject({
      'python_env.yaml': 'python: "3.11"\nbuild_dependencies:\n  - pip\ndependencies:\n  - numpy\n',
      MLproject:
        'name: np\npython_env: python_env.yaml\nentry_points:\n  main:\n    command: "python probe.py out.json numpy"\n',
      'probe.py': PROBE,
    });
    t.after(p.cleanup);
    const first = collector();
    const run = await runProject({ uri: p.dir, trackingUri: server.url, log: first.log });
    assert.equal(await run.wait(), true, first.lines.join('\n'));
    const seen = JSON.parse(readFileSync(path.join(p.dir, 'out.json'), 'utf8'));
    assert.ok(seen.prefix.startsWith(path.join(envRoot.dir, 'virtualenv_envs', 'mlflow-ts-')), seen.prefix);
    assert.deepEqual(seen.version.slice(0, 2), [3, 11]);
    assert.match(seen.modules.numpy, /^\d+\.\d+/);
    assert.ok(first.lines.some((l) => l.startsWith('=== Creating a virtualenv in ')));
    assert.ok(first.lines.some((l) => l === '=== Installing dependencies: numpy ==='));
    const recorded = await tagsOf(run.runId);
    assert.equal(recorded.status, 'FINISHED');
    assert.equal(recorded.tags['mlflow.project.env'], 'virtualenv');

    const second = collector();
    const again = await runProject({ uri: p.dir, trackingUri: server.url, log: second.log });
    assert.equal(await again.wait(), true);
    assert.ok(second.lines.some((l) => l.startsWith('=== Using the cached virtualenv ')));
    assert.ok(!second.lines.some((l) => l.startsWith('=== Creating')));
  });

  test('another Python version from python_env.yaml gets its own env with that interpreter', async (t) => {
    const p = makeProject({
      'python_env.yaml': 'python: "3.12"\n',
      MLproject: 'name: py312\nentry_points:\n  main:\n    command: "python probe.py out.json"\n',
      'probe.py': PROBE,
    });
    t.after(p.cleanup);
    const run = await runProject({ uri: p.dir, trackingUri: server.url, log: () => {} });
    assert.equal(await run.wait(), true);
    const seen = JSON.parse(readFileSync(path.join(p.dir, 'out.json'), 'utf8'));
    assert.deepEqual(seen.version.slice(0, 2), [3, 12]);
    assert.ok(seen.prefix.startsWith(path.join(envRoot.dir, 'virtualenv_envs', 'mlflow-ts-')), seen.prefix);
  });

  test('two concurrent runs of a new env build it once; the other waits and reuses it', async (t) => {
    const p = makeProject({
      'python_env.yaml': 'dependencies:\n  - six\n',
      MLproject:
        'name: six\nentry_points:\n  main:\n    parameters: {out: string}\n    command: "python probe.py {out} six"\n',
      'probe.py': PROBE,
    });
    t.after(p.cleanup);
    const a = collector();
    const b = collector();
    const [runA, runB] = await Promise.all([
      runProject({ uri: p.dir, parameters: { out: 'a.json' }, trackingUri: server.url, log: a.log }),
      runProject({ uri: p.dir, parameters: { out: 'b.json' }, trackingUri: server.url, log: b.log }),
    ]);
    assert.deepEqual(await Promise.all([runA.wait(), runB.wait()]), [true, true]);
    const all = [...a.lines, ...b.lines];
    assert.equal(all.filter((l) => l.startsWith('=== Creating a virtualenv')).length, 1, all.join('\n'));
    assert.equal(all.filter((l) => l.startsWith('=== Waiting for process')).length, 1, all.join('\n'));
    const prefixA = JSON.parse(readFileSync(path.join(p.dir, 'a.json'), 'utf8'));
    const prefixB = JSON.parse(readFileSync(path.join(p.dir, 'b.json'), 'utf8'));
    assert.equal(prefixA.prefix, prefixB.prefix);
    assert.match(prefixA.modules.six, /^\d/);
    assert.equal(existsSync(`${prefixA.prefix}.lock`), false);
  });

  test('a missing Python version is a clear error and the run ends FAILED', async (t) => {
    const p = makeProject({ 'python_env.yaml': 'python: "3.4.1"\n', 'main.py': '' });
    t.after(p.cleanup);
    const experiment = await call(server.api, 'POST', 'experiments/create', {
      name: `py-missing-${Date.now()}`,
    });
    await assert.rejects(
      runProject({
        uri: p.dir,
        entryPoint: 'main.py',
        experimentId: experiment.body.experiment_id,
        trackingUri: server.url,
        log: () => {},
      }),
      (error: unknown) =>
        error instanceof ExecutionError &&
        /^The project asks for Python 3\.4\.1, which is not installed here .*Install it, e\.g\. `pyenv install 3\.4\.1`/.test(
          error.message,
        ),
    );
    const runs = await call(server.api, 'POST', 'runs/search', {
      experiment_ids: [experiment.body.experiment_id],
    });
    assert.equal(runs.body.runs.length, 1);
    assert.equal(runs.body.runs[0].info.status, 'FAILED');
  });

  test('a failed install leaves no half-built env behind', async (t) => {
    const p = makeProject({
      'python_env.yaml': 'dependencies:\n  - no-such-package-mlflow-ts-xyz==1.0\n',
      'main.py': '',
    });
    t.after(p.cleanup);
    await assert.rejects(
      runProject({ uri: p.dir, entryPoint: 'main.py', trackingUri: server.url, log: () => {} }),
      /pip install no-such-package-mlflow-ts-xyz==1\.0` failed/,
    );
    const leftovers = readdirSync(path.join(envRoot.dir, 'virtualenv_envs')).filter((name) => {
      const dir = path.join(envRoot.dir, 'virtualenv_envs', name);
      return name.endsWith('.lock') || !existsSync(path.join(dir, '.mlflow-ts-ready'));
    });
    assert.deepEqual(leftovers, []);
  });
});

/** A fake conda/micromamba: logs its arguments, creates the prefix with a program and an activate.d hook. */
function condaShim(dir: string, name: string, callLog: string): void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(
    file,
    `#!/bin/bash
printf '%s\\n' "$*" >> ${JSON.stringify(callLog)}
prefix=""; envfile=""
while [ $# -gt 0 ]; do
  case "$1" in --prefix|-p) prefix="$2"; shift;; --file|-f) envfile="$2"; shift;; esac
  shift
done
mkdir -p "$prefix/bin" "$prefix/etc/conda/activate.d"
printf '#!/bin/bash\\necho from-conda-env\\n' > "$prefix/bin/hello-conda"
chmod +x "$prefix/bin/hello-conda"
echo 'export FROM_HOOK=hooked' > "$prefix/etc/conda/activate.d/hook.sh"
cp "$envfile" "$prefix/conda.yaml"
`,
  );
  chmodSync(file, 0o755);
}

describe('conda (through a shim: no conda is installed here)', () => {
  const CONDA_YAML = 'name: test\ndependencies:\n  - python=3.11\n  - pip:\n    - six\n';
  const project = () =>
    makeProject({
      'conda.yaml': CONDA_YAML,
      MLproject:
        'name: c\nconda_env: conda.yaml\nentry_points:\n  main:\n    command: "hello-conda > out.txt && echo \\"$FROM_HOOK $CONDA_PREFIX\\" >> out.txt"\n',
    });

  test('conda on PATH: env create once per conda.yaml, activated for the command', async (t) => {
    const shims = tempDir('mlflow-ts-conda-');
    t.after(shims.cleanup);
    const calls = path.join(shims.dir, 'calls.txt');
    condaShim(path.join(shims.dir, 'bin'), 'conda', calls);
    process.env.PATH = `${path.join(shims.dir, 'bin')}:${saved.path}`;
    t.after(() => {
      process.env.PATH = saved.path;
    });
    const p = project();
    t.after(p.cleanup);
    for (let i = 0; i < 2; i++) {
      const run = await runProject({ uri: p.dir, trackingUri: server.url, log: () => {} });
      assert.equal(await run.wait(), true);
      assert.equal((await tagsOf(run.runId)).tags['mlflow.project.env'], 'conda');
    }
    const lines = readFileSync(calls, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0],
      new RegExp(
        `^env create --prefix ${envRoot.dir}/conda_envs/mlflow-ts-[0-9a-f]{40} --file ${p.dir}/conda\\.yaml$`,
      ),
    );
    const [hello, hook] = readFileSync(path.join(p.dir, 'out.txt'), 'utf8').trim().split('\n');
    assert.equal(hello, 'from-conda-env');
    assert.match(hook, new RegExp(`^hooked ${envRoot.dir}/conda_envs/mlflow-ts-[0-9a-f]{40}$`));
  });

  test('micromamba under MLFLOW_CONDA_HOME uses its own create syntax', async (t) => {
    const home = tempDir('mlflow-ts-condahome-');
    t.after(home.cleanup);
    const calls = path.join(home.dir, 'calls.txt');
    condaShim(path.join(home.dir, 'bin'), 'micromamba', calls);
    process.env.MLFLOW_CONDA_HOME = home.dir;
    t.after(() => delete process.env.MLFLOW_CONDA_HOME);
    const p = makeProject({
      'conda.yaml': `${CONDA_YAML}# micromamba\n`,
      MLproject:
        'name: c\nconda_env: conda.yaml\nentry_points:\n  main:\n    command: "hello-conda > out.txt"\n',
    });
    t.after(p.cleanup);
    const run = await runProject({ uri: p.dir, trackingUri: server.url, log: () => {} });
    assert.equal(await run.wait(), true);
    assert.match(
      readFileSync(calls, 'utf8'),
      /^create --yes --prefix .*\/conda_envs\/mlflow-ts-[0-9a-f]{40} --file .*conda\.yaml\n$/,
    );
  });

  test('without conda, mamba or micromamba the error says what to install', async (t) => {
    const p = project();
    t.after(p.cleanup);
    await assert.rejects(
      runProject({ uri: p.dir, trackingUri: server.url, log: () => {} }),
      /^ExecutionError: Could not find conda, mamba or micromamba on PATH, and MLFLOW_CONDA_HOME is not set\. Install one of them/,
    );
  });

  test('a python_env project cannot use conda', async (t) => {
    const p = makeProject({ 'python_env.yaml': 'python: "3.11"\n', 'main.py': '' });
    t.after(p.cleanup);
    await assert.rejects(
      runProject({
        uri: p.dir,
        entryPoint: 'main.py',
        envManager: 'conda',
        trackingUri: server.url,
        log: () => {},
      }),
      /python_env project cannot be executed using conda/,
    );
  });
});

/** A fake docker CLI: records each invocation's arguments (NUL-separated) and plays a daemon's answers. */
function dockerShim(
  dir: string,
  calls: string,
  options: { infoFails?: boolean; name?: 'docker' | 'podman' } = {},
): void {
  const name = options.name ?? 'docker';
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, name),
    `#!/bin/bash
{ printf '%s\\0' "$@"; printf '\\n'; } >> ${JSON.stringify(calls)}
case "$1" in
  info) ${options.infoFails ? 'echo "Cannot connect to the Docker daemon" >&2; exit 1' : 'exit 0'} ;;
  image) echo "sha256:0123456789abcdef"; exit 0 ;;
  *) exit 0 ;;
esac
`,
  );
  chmodSync(path.join(dir, name), 0o755);
}

function dockerCalls(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\0').slice(0, -1));
}

describe('docker_env (command lines checked through a shim: no Docker daemon here)', () => {
  const MLPROJECT = `name: dockerized
docker_env:
  image: registry.example/team/image:1.0
  volumes: ["/data:/data"]
  environment: [["NEW_VAR", "new value"], "COPIED_VAR"]
entry_points:
  main:
    parameters:
      alpha: string
    command: "python train.py --alpha {alpha}"
`;

  test('docker run gets the project mounted, tracking variables, volumes, environment and -A flags', async (t) => {
    const shims = tempDir('mlflow-ts-docker-');
    t.after(shims.cleanup);
    const calls = path.join(shims.dir, 'calls');
    dockerShim(path.join(shims.dir, 'bin'), calls);
    process.env.PATH = `${path.join(shims.dir, 'bin')}:${saved.path}`;
    process.env.COPIED_VAR = 'from host';
    t.after(() => {
      process.env.PATH = saved.path;
      delete process.env.COPIED_VAR;
    });
    const p = makeProject({ MLproject: MLPROJECT });
    t.after(p.cleanup);
    const run = await runProject({
      uri: p.dir,
      parameters: { alpha: 'a b; $(x)' },
      dockerArgs: { gpus: 'all', t: true },
      trackingUri: server.url,
      log: () => {},
    });
    assert.equal(await run.wait(), true);
    const all = dockerCalls(calls);
    assert.deepEqual(all[0], ['info']);
    assert.deepEqual(all[1], ['image', 'inspect', '--format', '{{.Id}}', 'registry.example/team/image:1.0']);
    const dockerRun = all.find((c) => c[0] === 'run');
    assert.deepEqual(dockerRun, [
      'run',
      '--rm',
      '--gpus',
      'all',
      '-t',
      '-v',
      `${p.dir}:/mlflow/projects/code/`,
      '-w',
      '/mlflow/projects/code/',
      '-v',
      '/data:/data',
      '-e',
      `MLFLOW_RUN_ID=${run.runId}`,
      '-e',
      `MLFLOW_TRACKING_URI=${server.url}`,
      '-e',
      'MLFLOW_EXPERIMENT_ID=0',
      '-e',
      'NEW_VAR=new value',
      '-e',
      'COPIED_VAR=from host',
      'registry.example/team/image:1.0',
      'python',
      'train.py',
      '--alpha',
      'a b; $(x)',
    ]);
    const recorded = await tagsOf(run.runId);
    assert.equal(recorded.tags['mlflow.project.env'], 'docker');
    assert.equal(recorded.tags['mlflow.docker.image.uri'], 'registry.example/team/image:1.0');
    assert.equal(recorded.tags['mlflow.docker.image.id'], 'sha256:0123456789abcdef');
  });

  test('--build-image builds <name> FROM the image with the project copied in, and runs it unmounted', async (t) => {
    const shims = tempDir('mlflow-ts-docker-');
    t.after(shims.cleanup);
    const calls = path.join(shims.dir, 'calls');
    dockerShim(path.join(shims.dir, 'bin'), calls);
    process.env.PATH = `${path.join(shims.dir, 'bin')}:${saved.path}`;
    process.env.COPIED_VAR = 'x';
    t.after(() => {
      process.env.PATH = saved.path;
      delete process.env.COPIED_VAR;
    });
    const p = makeProject({ MLproject: MLPROJECT });
    t.after(p.cleanup);
    const run = await runProject({
      uri: p.dir,
      parameters: { alpha: '1' },
      buildImage: true,
      trackingUri: server.url,
      log: () => {},
    });
    assert.equal(await run.wait(), true);
    const all = dockerCalls(calls);
    const build = all.find((c) => c[0] === 'build');
    assert.deepEqual(build?.slice(0, 3), ['build', '-t', 'dockerized']);
    const dockerRun = all.find((c) => c[0] === 'run') ?? [];
    assert.ok(!dockerRun.includes('-w'));
    assert.deepEqual(dockerRun.slice(-5), ['dockerized', 'python', 'train.py', '--alpha', '1']);
    assert.equal((await tagsOf(run.runId)).tags['mlflow.docker.image.uri'], 'dockerized');
  });

  test('a missing host variable, an unreachable daemon and a missing CLI are clear errors', async (t) => {
    const shims = tempDir('mlflow-ts-docker-');
    t.after(shims.cleanup);
    const p = makeProject({ MLproject: MLPROJECT });
    t.after(p.cleanup);
    t.after(() => {
      process.env.PATH = saved.path;
    });
    dockerShim(path.join(shims.dir, 'ok'), path.join(shims.dir, 'calls'));
    process.env.PATH = `${path.join(shims.dir, 'ok')}:${saved.path}`;
    await assert.rejects(
      runProject({ uri: p.dir, parameters: { alpha: '1' }, trackingUri: server.url, log: () => {} }),
      /This project expects the NEW_VAR, COPIED_VAR environment variables to be set on the machine running the project, but COPIED_VAR was not set/,
    );
    // Neither engine answers: the error quotes docker's failure.
    const down = path.join(shims.dir, 'down');
    dockerShim(down, path.join(shims.dir, 'calls'), { infoFails: true });
    dockerShim(down, path.join(shims.dir, 'calls'), { infoFails: true, name: 'podman' });
    process.env.PATH = `${down}:${saved.path}`;
    await assert.rejects(
      runProject({ uri: p.dir, parameters: { alpha: '1' }, trackingUri: server.url, log: () => {} }),
      /Ran `docker info` to ensure the container engine is running, but it failed:\nCannot connect to the Docker daemon/,
    );
    // A docker client without a daemon beside a working podman: podman.
    const fallback = path.join(shims.dir, 'fallback');
    dockerShim(fallback, path.join(shims.dir, 'calls'), { infoFails: true });
    dockerShim(fallback, path.join(shims.dir, 'calls'), { name: 'podman' });
    process.env.PATH = fallback;
    assert.equal(await findContainerCli(), 'podman');
    const empty = path.join(shims.dir, 'empty');
    mkdirSync(empty);
    process.env.PATH = empty;
    await assert.rejects(
      runProject({ uri: p.dir, parameters: { alpha: '1' }, trackingUri: server.url, log: () => {} }),
      /Could not find the docker or podman executable/,
    );
  });
});
