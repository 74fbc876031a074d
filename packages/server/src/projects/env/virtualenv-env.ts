import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { shellQuote } from '../shell-quote.js';
import { cachedEnv, envRoot } from './env-cache.js';
import type { EnvContext, PreparedEnv } from './env-manager.js';
import { runStep } from './env-manager.js';
import { type PythonEnvSpec, pythonEnvFromConda, readPythonEnv } from './python-env-spec.js';
import { findPython } from './python-interpreters.js';

// --env-manager virtualenv: a Python virtual environment (the standard library's venv, where MLflow
// uses the virtualenv package) with the requested interpreter, build dependencies then dependencies
// installed by pip. pip reads the user's own configuration (index URL, find-links, constraints), so
// private or local package indexes work unchanged.

/** The spec for a project: python_env.yaml, or the Python parts of conda.yaml, or just python3. */
export function pythonEnvOf(ctx: Pick<EnvContext, 'project'>): PythonEnvSpec {
  const { project } = ctx;
  if (!project.envConfigPath) return { buildDependencies: [], dependencies: [] };
  return project.envType === 'conda_env'
    ? pythonEnvFromConda(project.envConfigPath)
    : readPythonEnv(project.envConfigPath);
}

/** pip arguments for requirement lines: options split from their value, specifiers kept whole. */
export function pipArgs(lines: string[]): string[] {
  const args: string[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const option = /^(-[A-Za-z]|--[A-Za-z-]+)(?:[\s=]+(.*))?$/.exec(line);
    if (option) {
      args.push(option[1]);
      if (option[2] !== undefined) args.push(option[2].trim());
    } else args.push(line);
  }
  return args;
}

/** Files referenced with -r/-c, whose contents are part of the environment's identity. */
function referencedFileContents(lines: string[], workDir: string): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const m = /^\s*(?:-r|-c|--requirement|--constraint)[\s=]+(\S+)/.exec(line);
    if (!m) continue;
    const file = path.resolve(workDir, m[1]);
    out.push(`${m[1]}:${existsSync(file) ? readFileSync(file, 'utf8') : ''}`);
  }
  return out;
}

/** The cache key: interpreter version and every requirement (with referenced files' contents). */
export function virtualenvName(spec: PythonEnvSpec, pythonVersion: string, workDir: string): string {
  const identity = JSON.stringify({
    python: pythonVersion,
    build: spec.buildDependencies,
    deps: spec.dependencies,
    files: referencedFileContents([...spec.buildDependencies, ...spec.dependencies], workDir),
  });
  return `mlflow-ts-${createHash('sha256').update(identity).digest('hex').slice(0, 40)}`;
}

/** Installs the build dependencies, then the dependencies, each list in one installer call. */
export async function installRequirements(
  spec: PythonEnvSpec,
  ctx: Pick<EnvContext, 'log'>,
  install: (args: string[]) => Promise<void>,
): Promise<void> {
  for (const [what, deps] of [
    ['build dependencies', spec.buildDependencies],
    ['dependencies', spec.dependencies],
  ] as const) {
    const args = pipArgs(deps);
    if (args.length === 0) continue;
    ctx.log(`=== Installing ${what}: ${deps.join(', ')} ===`);
    await install(args);
  }
}

export async function prepareVirtualenv(ctx: EnvContext): Promise<PreparedEnv> {
  const spec = pythonEnvOf(ctx);
  const python = findPython(spec.python);
  const envDir = path.join(envRoot(), 'virtualenv_envs', virtualenvName(spec, python.version, ctx.workDir));
  const pipEnv = { ...process.env, PIP_NO_INPUT: '1' };
  const { reused } = await cachedEnv(envDir, ctx.log, async (dir) => {
    ctx.log(`=== Creating a virtualenv in ${dir} with Python ${python.version} (${python.executable}) ===`);
    await runStep(python.executable, ['-m', 'venv', dir], { signal: ctx.signal });
    const envPython = path.join(dir, 'bin', 'python');
    await installRequirements(spec, ctx, (args) =>
      runStep(envPython, ['-m', 'pip', 'install', ...args], {
        cwd: ctx.workDir,
        env: pipEnv,
        signal: ctx.signal,
      }),
    );
  });
  if (reused) ctx.log(`=== Using the cached virtualenv ${envDir} ===`);
  const activate = `source ${shellQuote(path.join(envDir, 'bin', 'activate'))}`;
  return { wrap: (command) => `${activate} && ${command}`, tags: { 'mlflow.project.env': 'virtualenv' } };
}
