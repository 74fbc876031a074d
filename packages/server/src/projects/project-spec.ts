import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isScalar, parseDocument, visit } from 'yaml';
import { ExecutionError } from './execution-error.js';
import { shellQuote } from './shell-quote.js';

// The MLproject format, as MLflow's mlflow/projects/_project_spec.py reads it: which keys exist, which
// combinations are refused, and where the environment comes from when there is no MLproject file.

/** The parameter types MLflow knows; anything else behaves as `string`. */
export type ParameterType = 'string' | 'float' | 'path' | 'uri';

export interface ParameterSpec {
  name: string;
  /** As written in the file (MLflow keeps unknown types and treats them as strings). */
  type: string;
  /** The default as text, or undefined when the parameter is required. */
  default?: string;
}

export interface EntryPoint {
  name: string;
  /** Declared parameters in file order (the order matters for path downloads and logging). */
  parameters: ParameterSpec[];
  /** The command template, with `{name}` placeholders (Python str.format syntax). */
  command: string;
}

/** docker_env: the image, extra volumes, and environment entries (copied NAME or [NAME, value]). */
export interface DockerEnv {
  image: string;
  volumes: string[];
  environment: Array<string | [string, string]>;
}

export interface DatabricksSparkJobSpec {
  pythonFile?: string;
  parameters: string[];
  pythonLibraries: string[];
}

export type EnvType = 'python_env' | 'conda_env' | 'docker_env';

export interface Project {
  /** The MLproject's `name`; undefined when there is none (MLflow then has no name either). */
  name?: string;
  /** The directory the project was loaded from. */
  directory: string;
  /** Which kind of environment the project declares (python_env when nothing is declared). */
  envType: EnvType;
  /** Absolute path of python_env.yaml / conda.yaml, when there is one. */
  envConfigPath?: string;
  dockerEnv?: DockerEnv;
  entryPoints: Map<string, EntryPoint>;
  databricksSparkJob?: DatabricksSparkJobSpec;
}

const ENV_KEYS: EnvType[] = ['python_env', 'conda_env', 'docker_env'];
const MLPROJECT_FILE = 'mlproject';
const DEFAULT_PYTHON_ENV_FILE = 'python_env.yaml';
const DEFAULT_CONDA_FILE = 'conda.yaml';

function invalid(message: string): ExecutionError {
  return new ExecutionError(`Project configuration (MLproject file) was invalid: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** YAML scalars (numbers, booleans) become text the way Python's str() prints them. */
function scalarText(value: unknown): string {
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value === null) return 'None';
  return String(value);
}

/**
 * A YAML number kept as written: `1.0` stays "1.0" (JavaScript would print 1), which is what Python
 * prints for the same default, so commands and logged params match MLflow's.
 */
class YamlNumber {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** The MLproject file of a directory, matched case-insensitively as MLflow does. */
export function findMlprojectFile(directory: string): string | undefined {
  const match = readdirSync(directory).find((name) => name.toLowerCase() === MLPROJECT_FILE);
  return match === undefined ? undefined : path.join(directory, match);
}

function parseParameter(entryPoint: string, name: string, raw: unknown): ParameterSpec {
  if (typeof raw === 'string') return { name, type: raw };
  if (raw === null || raw === undefined) return { name, type: 'string' };
  if (!isRecord(raw)) {
    throw invalid(
      `parameter '${name}' of entry point '${entryPoint}' must be a type name (e.g. \`${name}: float\`) or a mapping with 'type' and 'default'.`,
    );
  }
  const type = raw.type === undefined || raw.type === null ? 'string' : String(raw.type);
  const def = raw.default;
  return { name, type, default: def === undefined || def === null ? undefined : scalarText(def) };
}

function parseEntryPoints(raw: unknown): Map<string, EntryPoint> {
  const entryPoints = new Map<string, EntryPoint>();
  if (raw === undefined || raw === null) return entryPoints;
  if (!isRecord(raw))
    throw invalid("'entry_points' must be a mapping from entry point names to entry points.");
  for (const [name, body] of Object.entries(raw)) {
    if (!isRecord(body)) throw invalid(`entry point '${name}' must be a mapping with a 'command'.`);
    if (typeof body.command !== 'string' || body.command.trim() === '') {
      throw invalid(`entry point '${name}' has no 'command'.`);
    }
    const params = body.parameters ?? {};
    if (!isRecord(params)) throw invalid(`the 'parameters' of entry point '${name}' must be a mapping.`);
    entryPoints.set(name, {
      name,
      command: body.command,
      parameters: Object.entries(params).map(([p, spec]) => parseParameter(name, p, spec)),
    });
  }
  return entryPoints;
}

function parseDockerEnv(raw: unknown): DockerEnv {
  if (!isRecord(raw) || !raw.image) {
    throw invalid('Docker environment specified but no image attribute found.');
  }
  const volumes = raw.volumes ?? [];
  if (!Array.isArray(volumes) || !volumes.every((v) => typeof v === 'string')) {
    throw invalid(`Docker volumes must be a list of strings, e.g.: '["/path1/:/path1", "/path2/:/path2"]'`);
  }
  const environment = raw.environment ?? [];
  const entryOk = (e: unknown) =>
    typeof e === 'string' ||
    (Array.isArray(e) &&
      e.length === 2 &&
      typeof e[0] === 'string' &&
      e[1] !== null &&
      (typeof e[1] !== 'object' || e[1] instanceof YamlNumber));
  if (!Array.isArray(environment) || !environment.every(entryOk)) {
    throw invalid(
      `environment must be a list containing either strings (to copy environment variables from the host) or [NAME, value] pairs (to define new ones), e.g. '[["NEW_VAR", "new_value"], "VAR_TO_COPY_FROM_HOST"]'`,
    );
  }
  return {
    image: String(raw.image),
    volumes: volumes as string[],
    environment: environment.map((e) =>
      typeof e === 'string' ? e : ([e[0], scalarText(e[1])] as [string, string]),
    ),
  };
}

function stringList(raw: unknown, what: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid(`'${what}' must be a list.`);
  return raw.map(scalarText);
}

function parseDatabricksSparkJob(
  raw: unknown,
  yamlObj: Record<string, unknown>,
  entryPoints: Map<string, EntryPoint>,
): DatabricksSparkJobSpec {
  if (!isRecord(raw)) throw invalid("'databricks_spark_job' must be a mapping.");
  const pythonFile =
    raw.python_file === undefined || raw.python_file === null ? undefined : String(raw.python_file);
  if (pythonFile === undefined && entryPoints.size === 0) {
    throw new ExecutionError(
      "Databricks Spark job requires either 'databricks_spark_job.python_file' setting or 'entry_points' setting.",
    );
  }
  if (pythonFile !== undefined && entryPoints.size > 0) {
    throw new ExecutionError(
      "Databricks Spark job does not allow setting both 'databricks_spark_job.python_file' and 'entry_points'.",
    );
  }
  for (const entryPoint of entryPoints.values()) {
    for (const param of entryPoint.parameters) {
      if (param.type === 'path') {
        throw new ExecutionError(
          `Databricks Spark job does not support entry point parameter of 'path' type. '${param.name}' value type is invalid.`,
        );
      }
    }
  }
  const refused: Array<[string, string]> = [
    ['docker_env', 'docker'],
    ['python_env', 'python'],
    ['conda_env', 'conda'],
  ];
  for (const [key, what] of refused) {
    if (key in yamlObj)
      throw new ExecutionError(`Databricks Spark job does not support setting ${what} environment.`);
  }
  return {
    pythonFile,
    parameters: stringList(raw.parameters, 'databricks_spark_job.parameters'),
    pythonLibraries: stringList(raw.python_libraries, 'databricks_spark_job.python_libraries'),
  };
}

function readMlproject(file: string): Record<string, unknown> {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) throw invalid(`${file} is not valid YAML: ${doc.errors[0].message}`);
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'number' && node.source)
        node.value = new YamlNumber(node.source);
    },
  });
  const parsed: unknown = doc.toJS();
  if (parsed === null || parsed === undefined) return {};
  if (!isRecord(parsed)) throw invalid(`${file} must hold a YAML mapping (name, entry_points, ...).`);
  return parsed;
}

/**
 * Loads the project in `directory`: its MLproject file when there is one, otherwise the defaults
 * (python_env.yaml, else conda.yaml, else the current environment; scripts as entry points).
 */
export function loadProject(directory: string): Project {
  const file = findMlprojectFile(directory);
  const yamlObj = file ? readMlproject(file) : {};
  const envKeys = ENV_KEYS.filter((k) => k in yamlObj);
  if (envKeys.length > 1) {
    throw new ExecutionError(`Project cannot contain multiple environment fields: ${envKeys.join(', ')}`);
  }
  const name =
    yamlObj.name === undefined || yamlObj.name === null
      ? path.basename(path.resolve(directory))
      : String(yamlObj.name);
  const entryPoints = parseEntryPoints(yamlObj.entry_points);
  const base = { name, directory: path.resolve(directory), entryPoints };

  if (yamlObj.databricks_spark_job !== undefined) {
    return {
      ...base,
      envType: 'python_env',
      databricksSparkJob: parseDatabricksSparkJob(yamlObj.databricks_spark_job, yamlObj, entryPoints),
    };
  }
  if (yamlObj.docker_env) {
    return { ...base, envType: 'docker_env', dockerEnv: parseDockerEnv(yamlObj.docker_env) };
  }
  for (const [key, label] of [
    ['python_env', 'python_env file'],
    ['conda_env', 'conda environment file'],
  ] as const) {
    const declared = yamlObj[key];
    if (!declared) continue;
    const envPath = path.join(base.directory, String(declared));
    if (!existsSync(envPath)) {
      throw new ExecutionError(`Project specified ${label} ${envPath}, but no such file was found.`);
    }
    return { ...base, envType: key, envConfigPath: envPath };
  }
  const defaultPythonEnv = path.join(base.directory, DEFAULT_PYTHON_ENV_FILE);
  if (existsSync(defaultPythonEnv))
    return { ...base, envType: 'python_env', envConfigPath: defaultPythonEnv };
  const defaultConda = path.join(base.directory, DEFAULT_CONDA_FILE);
  if (existsSync(defaultConda)) return { ...base, envType: 'conda_env', envConfigPath: defaultConda };
  return { ...base, envType: 'python_env' };
}

/**
 * The entry point named `name`: a declared one, or a `.py`/`.sh` file of the project run as a script
 * (python or $SHELL). For a Databricks Spark job with python_file there is none (undefined).
 */
export function getEntryPoint(project: Project, name: string): EntryPoint | undefined {
  if (project.databricksSparkJob) {
    if (project.databricksSparkJob.pythonFile !== undefined) return undefined;
    if (!project.entryPoints.has(name)) {
      throw new ExecutionError(
        `The entry point '${name}' is not defined in the Databricks spark job MLproject file.`,
      );
    }
  }
  const declared = project.entryPoints.get(name);
  if (declared) return declared;
  const ext = path.extname(name);
  const runner = ext === '.py' ? 'python' : ext === '.sh' ? (process.env.SHELL ?? 'bash') : undefined;
  if (runner) return { name, parameters: [], command: `${runner} ${shellQuote(name)}` };
  if (ext === '.R') {
    // As MLflow: the R package's mlflow_source runs the script, parameters follow --args. The file
    // name is an R string literal inside one shell word, so no name can break out of either.
    const rCode = `mlflow::mlflow_source(${JSON.stringify(name)})`;
    return { name, parameters: [], command: `Rscript -e ${shellQuote(rCode)} --args` };
  }
  const known = [...project.entryPoints.keys()].map((k) => `'${k}'`).join(', ');
  throw new ExecutionError(
    `Could not find ${name} among entry points [${known}] or interpret ${name} as a runnable script. Supported script file extensions: ['.py', '.sh']`,
  );
}
