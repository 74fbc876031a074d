import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatCommand } from '../command-template.js';
import { ExecutionError } from '../execution-error.js';
import type { ResolvedParameters } from '../parameters.js';
import type { DatabricksSparkJobSpec, EntryPoint } from '../project-spec.js';

// databricks_spark_job projects, as MLflow runs them: the job's Python file is wrapped in a small
// script that sets the run's variables, unpacks the project from DBFS and changes into it, then runs
// the original code; the wrapper goes to DBFS and runs as a spark_python_task.

/** The Python file and its arguments: python_file + parameters, or the entry point's `python` command. */
export function sparkJobCodeAndArgs(
  spec: DatabricksSparkJobSpec,
  entryPoint: EntryPoint | undefined,
  params: ResolvedParameters,
): { file: string; args: string[] } {
  if (spec.pythonFile !== undefined || entryPoint === undefined) {
    return { file: spec.pythonFile as string, args: spec.parameters };
  }
  // There is no shell here: each word of the template becomes one argument with the raw values put
  // in (MLflow splits the shell-quoted command on spaces, which breaks values with spaces).
  const words = entryPoint.command
    .trim()
    .split(/\s+/)
    .map((word) => formatCommand(word, params.declared));
  for (const [key, value] of params.extra) words.push(`--${key}`, value);
  if (words[0] !== 'python' || words.length < 2) {
    throw new ExecutionError(
      "Databricks spark job only supports 'python' command in the entry point configuration.",
    );
  }
  return { file: words[1], args: words.slice(2) };
}

function pythonString(text: string): string {
  // JSON string literals are valid Python string literals for any text.
  return JSON.stringify(text);
}

/** The wrapper script run on the cluster in place of the project's Python file. */
export function sparkJobWrapper(options: {
  workDir: string;
  file: string;
  env: Record<string, string>;
  extraction: string;
  projectDir: string;
}): string {
  const original = readFileSync(path.join(options.workDir, options.file), 'utf8');
  return [
    'import os',
    'import subprocess',
    `os.environ.update(${JSON.stringify(options.env)})`,
    `subprocess.check_call(${pythonString(options.extraction)}, shell=True)`,
    `os.chdir(${pythonString(options.projectDir)})`,
    original,
  ].join('\n');
}

export function wrapperName(): string {
  return `${randomUUID().replaceAll('-', '')}.py`;
}
