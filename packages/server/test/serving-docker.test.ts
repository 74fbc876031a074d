import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type BuildContextOptions, imagePythonEnv } from '../src/serving/docker/build-context.js';
import { pipBuildArgs } from '../src/serving/docker/build-image.js';
import { dockerfile } from '../src/serving/docker/dockerfile.js';
import { mlflowPipArgs } from '../src/serving/install-mlflow.js';
import { REPO_ROOT, tempDir } from './helpers.js';
import { CLI } from './server-process.js';
import { makeModels, servingPython } from './serving-env.js';

// Model images: the generated build context checked as files (and its mlflow-ts bundle run on its own,
// away from this checkout's node_modules), then real images built and run with podman, their
// /invocations answers compared with `models predict` on this machine.

const execFileAsync = promisify(execFile);
const python = servingPython();
const skip = python === undefined ? 'no Python environment with scikit-learn (see the log)' : false;
const models = tempDir('mlflow-ts-image-models-');
const work = tempDir('mlflow-ts-image-work-');

before(() => {
  if (python) makeModels(python, models.dir);
});
after(() => {
  models.cleanup();
  work.cleanup();
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}, input = ''): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, MLFLOW_TS_PYTHON: python, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.stdin.end(input);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const ONNX_INPUT = '{"inputs": {"X": [[1, 2, 3], [0.5, 0, -1]]}}';
const SKLEARN_INPUT =
  '{"dataframe_split": {"columns": ["x1", "x2", "n"], "data": [[5, 6, 7], [0, 0, 0], [-3, 1, 2]]}}';

describe('generate-dockerfile: the build context', { skip }, () => {
  test('an onnx model: no Python, the model and a self-sufficient mlflow-ts bundle', async () => {
    const out = path.join(work.dir, 'onnx-context');
    const res = await runCli([
      'models',
      'generate-dockerfile',
      '-m',
      path.join(models.dir, 'onnx'),
      '-d',
      out,
      '--base-image',
      'localhost/base:1',
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, new RegExp(`Generated Dockerfile in directory ${out}`));
    const text = readFileSync(path.join(out, 'Dockerfile'), 'utf8');
    assert.match(text, /^FROM localhost\/base:1$/m);
    assert.doesNotMatch(text, /apt-get|python3 -m venv|prepare-env/); // served in Node
    assert.match(text, /^COPY model_dir\/ \/opt\/ml\/model\/$/m);
    assert.match(text, /^EXPOSE 8080$/m);
    assert.match(
      text,
      /^ENTRYPOINT \["mlflow-ts","models","serve","-m","\/opt\/ml\/model","-h","0\.0\.0\.0","-p","8080","--env-manager","local"\]$/m,
    );
    assert.deepEqual(
      readdirSync(path.join(out, 'model_dir')).sort(),
      readdirSync(path.join(models.dir, 'onnx')).sort(),
    );
    assert.deepEqual(
      readFileSync(path.join(out, 'model_dir', 'model.onnx')),
      readFileSync(path.join(models.dir, 'onnx', 'model.onnx')),
    );
    // The bundle must run with nothing but itself: no workspace sources, no node_modules above it.
    const bin = /ln -s \/opt\/mlflow-ts\/app\/(\S+) \/usr\/local\/bin\/mlflow-ts/.exec(text)?.[1];
    assert.ok(bin, text);
    assert.ok(
      !existsSync(path.join(out, 'mlflow-ts', path.dirname(bin), '..', 'src')),
      'sources are left out',
    );
    const bundled = await execFileAsync(
      process.execPath,
      [
        path.join(out, 'mlflow-ts', bin),
        'models',
        'predict',
        '-m',
        path.join(out, 'model_dir'),
        '-i',
        writeInput(ONNX_INPUT),
      ],
      { cwd: out },
    );
    const here = await runCli(['models', 'predict', '-m', path.join(models.dir, 'onnx')], {}, ONNX_INPUT);
    assert.equal(here.code, 0, here.stderr);
    assert.equal(bundled.stdout, here.stdout);
    assert.equal(JSON.parse(here.stdout).predictions.Y.length, 2);
  });

  test("a sklearn model: a venv with the model's requirements; virtualenv and --install-mlflow build at image build", async () => {
    const venv = path.join(work.dir, 'sklearn-local');
    assert.equal(
      (await runCli(['models', 'generate-dockerfile', '-m', path.join(models.dir, 'sklearn'), '-d', venv]))
        .code,
      0,
    );
    const local = readFileSync(path.join(venv, 'Dockerfile'), 'utf8');
    assert.match(local, /^FROM node:20-bookworm-slim$/m);
    assert.match(local, /apt-get install -y --no-install-recommends python3 python3-venv/);
    assert.match(
      local,
      /^RUN python3 -m venv \/opt\/mlflow-ts\/python && \/opt\/mlflow-ts\/python\/bin\/pip install --no-cache-dir -r \/opt\/ml\/model\/requirements.txt$/m,
    );
    assert.match(local, /^ENV MLFLOW_TS_PYTHON=\/opt\/mlflow-ts\/python\/bin\/python$/m);
    assert.match(local, /^ARG PIP_INDEX_URL$/m);

    // The variants, from the same functions without bundling mlflow-ts again for each.
    const sk = path.join(models.dir, 'sklearn');
    const text = async (o: Omit<BuildContextOptions, 'baseImage'>) =>
      dockerfile({
        hasModel: o.modelDir !== undefined,
        pythonEnv: await imagePythonEnv(o),
        hasRequirements: o.modelDir !== undefined,
        installMlflow: o.installMlflow,
        mlflowPip: ['mlflow'],
        bundleBin: 'bin/mlflow-ts.js',
      });
    assert.match(
      await text({ modelDir: sk, installMlflow: true }),
      /pip install --no-cache-dir -r \/opt\/ml\/model\/requirements.txt mlflow$/m,
    );
    const virtualenv = await text({ modelDir: sk, envManager: 'virtualenv', installMlflow: true });
    assert.match(virtualenv, /^ENV MLFLOW_ENV_ROOT=\/opt\/mlflow-ts\/envs$/m);
    assert.match(
      virtualenv,
      /^RUN mlflow-ts models prepare-env -m \/opt\/ml\/model --env-manager virtualenv --install-mlflow$/m,
    );
    assert.match(virtualenv, /"--env-manager","virtualenv","--install-mlflow"\]$/m);
    assert.doesNotMatch(virtualenv, /python3 -m venv/);
    // An onnx model with --install-mlflow gets a Python environment to hold it.
    assert.equal(
      await imagePythonEnv({ modelDir: path.join(models.dir, 'onnx'), installMlflow: true }),
      'venv',
    );
    assert.equal(
      await imagePythonEnv({ modelDir: path.join(models.dir, 'onnx'), installMlflow: false }),
      'none',
    );

    // Without a model, as in MLflow: nothing copied, the environment made by virtualenv when it starts.
    const generic = await text({ installMlflow: false });
    assert.doesNotMatch(generic, /model_dir|prepare-env/);
    assert.match(generic, /"--env-manager","virtualenv"\]$/m);
    assert.equal(await imagePythonEnv({ envManager: 'local', installMlflow: false }), 'venv');
  });

  test('what it refuses, with the reason', async () => {
    const sk = path.join(models.dir, 'sklearn');
    const mlserver = await runCli(['models', 'build-docker', '-m', sk, '--enable-mlserver']);
    assert.equal(mlserver.code, 1);
    assert.match(mlserver.stderr, /--enable-mlserver is not supported by mlflow-ts/);
    const manager = await runCli([
      'models',
      'generate-dockerfile',
      '-m',
      sk,
      '--env-manager',
      'pip',
      '-d',
      work.dir,
    ]);
    assert.equal(manager.code, 1);
    assert.match(manager.stderr, /Invalid value for `env_manager`: pip\./);
    const spark = path.join(work.dir, 'spark-model');
    execFileSync('mkdir', ['-p', spark]);
    writeFileSync(path.join(spark, 'MLmodel'), 'flavors:\n  spark:\n    pyspark_version: 3.5.0\n');
    const unservable = await runCli([
      'models',
      'generate-dockerfile',
      '-m',
      spark,
      '-d',
      path.join(work.dir, 'x'),
    ]);
    assert.equal(unservable.code, 1);
    assert.match(unservable.stderr, /it has the flavors spark, and serving needs onnx or python_function/);
    const noEngine = await runCli(
      ['models', 'build-docker', '-m', path.join(models.dir, 'onnx'), '-n', 'x'],
      {
        PATH: path.join(work.dir, 'empty-bin'),
      },
    );
    assert.equal(noEngine.code, 1);
    assert.match(noEngine.stderr, /Could not find the docker or podman executable/);
  });

  test("pip's settings reach the build only as network URLs; --install-mlflow honours MLFLOW_HOME", () => {
    assert.deepEqual(
      pipBuildArgs({
        PIP_INDEX_URL: 'http://10.0.0.1:3141/simple/',
        PIP_EXTRA_INDEX_URL: 'file:///opt/pypi/simple https://mirror.example/simple',
        PIP_TRUSTED_HOST: '10.0.0.1',
        PIP_FIND_LINKS: '/opt/wheels',
      }),
      [
        '--build-arg',
        'PIP_INDEX_URL=http://10.0.0.1:3141/simple/',
        '--build-arg',
        'PIP_EXTRA_INDEX_URL=https://mirror.example/simple',
        '--build-arg',
        'PIP_TRUSTED_HOST=10.0.0.1',
      ],
    );
    assert.deepEqual(pipBuildArgs({ PIP_INDEX_URL: 'file:///opt/pypi/simple' }), []);
    assert.deepEqual(mlflowPipArgs({}), ['mlflow']);
    assert.deepEqual(mlflowPipArgs({ MLFLOW_HOME: '/src/mlflow' }), ['-e', '/src/mlflow']);
  });
});

function writeInput(body: string): string {
  const file = path.join(work.dir, `input-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, body);
  return file;
}

/** A static file server over a PEP 503 package directory, so pip inside a build reaches it on loopback. */
async function serveIndex(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = path.join(root, path.normalize(rel));
    if (!file.startsWith(root)) file = root;
    if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.html') ? 'text/html' : 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/simple/`, server };
}

const PODMAN_DIR = process.env.MLFLOW_TS_TEST_PODMAN_DIR;

describe('model images built and run (podman)', {
  skip:
    skip ||
    (!PODMAN_DIR && process.env.CI !== 'true'
      ? 'MLFLOW_TS_TEST_PODMAN_DIR is not set (start scripts/services/podman.sh)'
      : false),
}, () => {
  let baseImage = '';
  const engineEnv: NodeJS.ProcessEnv = {};
  const images: string[] = [];

  before(() => {
    if (!PODMAN_DIR)
      throw new Error(
        'MLFLOW_TS_TEST_PODMAN_DIR is not set: scripts/services/podman.sh start must run under CI',
      );
    Object.assign(engineEnv, {
      PATH: `${path.join(PODMAN_DIR, 'bin')}:${process.env.PATH}`,
      CONTAINERS_CONF: path.join(PODMAN_DIR, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: path.join(PODMAN_DIR, 'storage.conf'),
      // One layer per build instead of one per instruction: vfs storage copies every layer whole.
      BUILDAH_LAYERS: 'false',
    });
    baseImage = execFileSync(
      'bash',
      [path.join(REPO_ROOT, 'scripts/services/podman.sh'), 'image', 'node-python'],
      {
        env: { ...process.env, MLFLOW_TS_SERVICES_DIR: path.dirname(PODMAN_DIR) },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ).trim();
  });

  after(async () => {
    for (const image of images) {
      await execFileAsync('podman', ['rmi', '-f', image], { env: { ...process.env, ...engineEnv } }).catch(
        () => {},
      );
    }
  });

  const podman = (args: string[]) => execFileAsync('podman', args, { env: { ...process.env, ...engineEnv } });

  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  /** Runs the image, waits for /ping, posts `body` to /invocations; the container is removed after. */
  async function scoreInContainer(image: string, body: string): Promise<{ status: number; text: string }> {
    const port = await freePort();
    const name = `mlflow-ts-image-test-${port}`;
    await podman(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:8080`, image]);
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 120_000;
      for (;;) {
        const ok = await fetch(`${url}/ping`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline) {
          const logs = await podman(['logs', name]).catch((e) => e);
          throw new Error(`the container never answered /ping: ${logs.stdout}${logs.stderr}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      const res = await fetch(`${url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return { status: res.status, text: await res.text() };
    } finally {
      await podman(['rm', '-f', name]).catch(() => {});
    }
  }

  test('an onnx model: built offline on the local base image, its answers equal `models predict`', async () => {
    const image = 'localhost/mlflow-ts-test/model-onnx:1';
    images.push(image);
    const built = await runCli(
      ['models', 'build-docker', '-m', path.join(models.dir, 'onnx'), '-n', image, '--base-image', baseImage],
      engineEnv,
    );
    assert.equal(built.code, 0, built.stderr);
    assert.match(
      built.stderr,
      /=== Building image localhost\/mlflow-ts-test\/model-onnx:1: (docker|podman) build/,
    );
    assert.match(built.stderr, /STEP \d+\/\d+: ENTRYPOINT/); // the engine's progress is shown
    const res = await scoreInContainer(image, ONNX_INPUT);
    assert.equal(res.status, 200, res.text);
    const here = await runCli(['models', 'predict', '-m', path.join(models.dir, 'onnx')], {}, ONNX_INPUT);
    assert.equal(res.text, here.stdout.trim());
    const bad = await scoreInContainer(image, '{"inputs": {"X": [[1, 2]]}}');
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.text).error_code, 'INVALID_PARAMETER_VALUE');
  });

  test("a sklearn model: its requirements installed in the image by pip from this machine's index", async (t) => {
    let index: { url: string; server?: Server } | undefined;
    if (existsSync('/opt/pypi/simple')) index = await serveIndex('/opt/pypi');
    else if (/^https?:/.test(process.env.PIP_INDEX_URL ?? ''))
      index = { url: process.env.PIP_INDEX_URL as string };
    if (!index) {
      if (process.env.CI === 'true') throw new Error('no package index for pip inside the build');
      t.skip('no package index reachable from a build (/opt/pypi or an http PIP_INDEX_URL)');
      return;
    }
    try {
      const image = 'localhost/mlflow-ts-test/model-sklearn:1';
      images.push(image);
      const built = await runCli(
        [
          'models',
          'build-docker',
          '-m',
          path.join(models.dir, 'sklearn'),
          '-n',
          image,
          '--base-image',
          baseImage,
          '--network',
          'host',
        ],
        { ...engineEnv, PIP_INDEX_URL: index.url },
      );
      assert.equal(built.code, 0, built.stderr);
      assert.match(built.stderr, /Successfully installed .*scikit-learn/);
      const res = await scoreInContainer(image, SKLEARN_INPUT);
      assert.equal(res.status, 200, res.text);
      const here = await runCli(
        ['models', 'predict', '-m', path.join(models.dir, 'sklearn')],
        {},
        SKLEARN_INPUT,
      );
      assert.equal(here.code, 0, here.stderr);
      assert.equal(res.text, here.stdout.trim());
      const missing = await scoreInContainer(image, '{"dataframe_records": [{"x1": 1}]}');
      assert.equal(missing.status, 400);
      assert.match(JSON.parse(missing.text).message, /Model is missing inputs/);
    } finally {
      index.server?.close();
    }
  });
});
