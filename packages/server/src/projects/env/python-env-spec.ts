import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ExecutionError } from '../execution-error.js';

// python_env.yaml (python, build_dependencies, dependencies), and the same information read from a
// conda.yaml when a conda project runs with --env-manager virtualenv (as MLflow's
// _PythonEnv.from_conda_yaml: the python pin and the pip section).

export interface PythonEnvSpec {
  /** Requested Python version ("3.10" or "3.10.13"); undefined means the default python3. */
  python?: string;
  buildDependencies: string[];
  dependencies: string[];
}

function readYaml(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ExecutionError(`${file} is not valid YAML: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ExecutionError(`${file} must hold a YAML mapping.`);
  return parsed as Record<string, unknown>;
}

function list(value: unknown, field: string, file: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw new ExecutionError(`\`${field}\` in ${file} must be a list but got ${typeof value}`);
  return value.map(String);
}

export function readPythonEnv(file: string): PythonEnvSpec {
  const raw = readYaml(file);
  const python = raw.python;
  if (python !== undefined && python !== null && typeof python !== 'string' && typeof python !== 'number') {
    throw new ExecutionError(`\`python\` in ${file} must be a string but got ${typeof python}`);
  }
  return {
    python: python === undefined || python === null ? undefined : String(python),
    buildDependencies: list(raw.build_dependencies, 'build_dependencies', file),
    dependencies: list(raw.dependencies, 'dependencies', file),
  };
}

export function pythonEnvFromConda(file: string): PythonEnvSpec {
  const raw = readYaml(file);
  const deps = Array.isArray(raw.dependencies) ? raw.dependencies : [];
  let python: string | undefined;
  const pip: string[] = [];
  for (const dep of deps) {
    if (typeof dep === 'string') {
      const m = /^python\s*(?:==?|>=)?\s*([0-9][0-9.*]*)/.exec(dep.trim());
      if (m && /^python\b/.test(dep.trim()) && !/^python-/.test(dep.trim()))
        python = m[1].replace(/\.?\*$/, '');
    } else if (dep && typeof dep === 'object' && Array.isArray((dep as { pip?: unknown }).pip)) {
      pip.push(...(dep as { pip: unknown[] }).pip.map(String));
    }
  }
  return { python, buildDependencies: ['pip'], dependencies: pip };
}
