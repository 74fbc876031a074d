import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { ExecutionError } from '../execution-error.js';

// Finding the Python a python_env.yaml asks for. MLflow installs missing versions with pyenv; we use
// what is installed (PATH, then pyenv's versions) and say how to get a missing one.

export interface Interpreter {
  executable: string;
  /** Full version, e.g. "3.11.7". */
  version: string;
}

function versionOf(executable: string): string | undefined {
  try {
    return execFileSync(executable, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    }).trim();
  } catch {
    return undefined;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function pyenvInterpreters(): string[] {
  const root = process.env.PYENV_ROOT || path.join(homedir(), '.pyenv');
  const versions = path.join(root, 'versions');
  if (!existsSync(versions)) return [];
  return readdirSync(versions)
    .sort()
    .reverse()
    .map((v) => path.join(versions, v, 'bin', 'python'))
    .filter((p) => existsSync(p));
}

/** True when `actual` (x.y.z) satisfies `requested` (x, x.y or x.y.z). */
export function versionMatches(requested: string, actual: string): boolean {
  return actual === requested || actual.startsWith(`${requested}.`);
}

/** The interpreter for `requested` (any python3 when undefined), or a clear error naming what to install. */
export function findPython(requested: string | undefined): Interpreter {
  const names = requested
    ? [`python${requested.split('.').slice(0, 2).join('.')}`, 'python3', 'python']
    : ['python3', 'python'];
  const candidates = [
    ...names.map(onPath).filter((p): p is string => p !== undefined),
    ...(requested ? pyenvInterpreters() : []),
  ];
  const seen: string[] = [];
  for (const executable of candidates) {
    const version = versionOf(executable);
    if (!version) continue;
    seen.push(`${executable} (${version})`);
    if (!requested || versionMatches(requested, version)) return { executable, version };
  }
  if (!requested) {
    throw new ExecutionError('No python3 found on PATH: install Python 3 to use --env-manager virtualenv.');
  }
  throw new ExecutionError(
    `The project asks for Python ${requested}, which is not installed here (looked for ${names.join(', ')} on PATH and in pyenv's versions; found ${seen.length ? seen.join(', ') : 'none'}). Install it, e.g. \`pyenv install ${requested}\`, or change \`python\` in python_env.yaml.`,
  );
}
