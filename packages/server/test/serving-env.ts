// Test set-up for serving: a Python virtualenv with scikit-learn, cloudpickle, pandas, onnx and onnxruntime from this
// machine's package index, cached between runs, and the small models make_models.py writes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './helpers.js';

const PACKAGES = ['scikit-learn', 'cloudpickle', 'pandas', 'numpy', 'onnx', 'onnxruntime'];
const MAKE_MODELS = path.join(REPO_ROOT, 'packages/server/test/fixtures/serving/make_models.py');

function works(python: string): boolean {
  try {
    execFileSync(python, ['-c', 'import sklearn, cloudpickle, pandas, onnx, onnxruntime'], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

function build(): string {
  const cacheRoot = process.env.MLFLOW_TS_TEST_CACHE ?? path.join(tmpdir(), 'mlflow-ts-test-cache');
  const pythonVersion = execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim();
  const key = createHash('sha256')
    .update(`${pythonVersion} ${PACKAGES.join(' ')}`)
    .digest('hex')
    .slice(0, 12);
  const dir = path.join(cacheRoot, `serving-venv-${key}`);
  const python = path.join(dir, 'bin', 'python');
  if (existsSync(python) && works(python)) return python;
  mkdirSync(cacheRoot, { recursive: true });
  // Built beside its final place and renamed, so a run cut short never leaves a half-made cache.
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  execFileSync('python3', ['-m', 'venv', building], { stdio: 'inherit' });
  const env: NodeJS.ProcessEnv = { ...process.env, PIP_NO_INPUT: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' };
  // A machine with a local package mirror (this one, CI) uses it as the index: pip would otherwise try
  // pypi.org first, and without a network each package waits for its retries.
  if (existsSync('/opt/pypi/simple') && !process.env.PIP_INDEX_URL)
    env.PIP_INDEX_URL = 'file:///opt/pypi/simple';
  execFileSync(path.join(building, 'bin', 'python'), ['-m', 'pip', 'install', '-q', ...PACKAGES], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
  });
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  if (!works(python)) throw new Error(`the serving test virtualenv at ${dir} cannot import its packages`);
  return python;
}

/**
 * The test interpreter, or undefined (with the reason logged) when it cannot be made here. Under
 * CI=true a failure fails the tests instead: CI machines must be able to build it.
 */
export function servingPython(): string | undefined {
  try {
    return build();
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    console.error(`serving tests skipped: no Python environment with scikit-learn and onnx (${error})`);
    return undefined;
  }
}

/** Writes the test models (sklearn, sklearn-pickle, custom, tensor, onnx) under `dir`. */
export function makeModels(python: string, dir: string): void {
  execFileSync(python, [MAKE_MODELS, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}
