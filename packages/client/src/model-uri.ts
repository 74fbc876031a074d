import { joinArtifactPath, RunArtifacts } from './artifacts.js';
import { MlflowError } from './errors.js';
import type { RegistryMethods } from './registry.js';

/**
 * What a `models:/` or `runs:/` URI names, before asking the server where it is stored. `path` is a
 * file or directory below the model's root (models:/<name>/<version>/<path>, models:/<name>@<alias>/<path>).
 */
export type ModelReference =
  | { kind: 'version'; name: string; version: string; path?: string }
  | { kind: 'stage'; name: string; stage: string; path?: string }
  | { kind: 'latest'; name: string; path?: string }
  | { kind: 'alias'; name: string; alias: string; path?: string }
  | { kind: 'logged-model'; modelId: string }
  | { kind: 'run'; runId: string; path: string };

function invalid(uri: string, why: string): MlflowError {
  return new MlflowError(
    'INVALID_PARAMETER_VALUE',
    `Invalid model URI '${uri}': ${why}. Use models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest or models:/<name>@<alias> (each optionally followed by /<path> inside the model), models:/<model_id> or runs:/<run_id>/<path>.`,
    400,
  );
}

/** The segments of a path inside a model; `.` and `..` would leave the model's files. */
function subPath(uri: string, segments: string[]): string | undefined {
  const kept = segments.filter((s) => s !== '');
  if (kept.some((s) => s === '.' || s === '..'))
    throw invalid(uri, "'.' and '..' are not allowed in the path");
  return kept.length > 0 ? kept.join('/') : undefined;
}

/** The registry part of a models:/ URI (name with version, stage, latest or alias), as MLflow reads it. */
function registryReference(uri: string, base: string[], path: string | undefined): ModelReference {
  const withPath = <R extends ModelReference>(ref: R): R => (path ? { ...ref, path } : ref);
  if (base.length === 2) {
    const [name, suffix] = base as [string, string];
    if (name.trim() === '') throw invalid(uri, 'the model name is empty');
    if (/^\d+$/.test(suffix)) return withPath({ kind: 'version', name, version: suffix });
    if (suffix.toLowerCase() === 'latest') return withPath({ kind: 'latest', name });
    return withPath({ kind: 'stage', name, stage: suffix });
  }
  const only = base[0] as string;
  const at = only.lastIndexOf('@');
  if (at === -1) return { kind: 'logged-model', modelId: only };
  const name = only.slice(0, at);
  const alias = only.slice(at + 1);
  if (alias.trim() === '') throw invalid(uri, 'the alias after @ is empty');
  if (name.trim() === '') throw invalid(uri, 'the model name is empty');
  return withPath({ kind: 'alias', name, alias });
}

/**
 * Parses a `models:/...` or `runs:/...` URI (MLflow's forms); throws INVALID_PARAMETER_VALUE otherwise.
 * As in MLflow, what follows `<name>/<version|stage|latest>` or `<name>@<alias>` is a path inside the
 * model, and a single segment without `@` is a logged model's id.
 */
export function parseModelUri(uri: string): ModelReference {
  const run = /^runs:\/+([^/]+)(?:\/(.*))?$/.exec(uri);
  if (run) return { kind: 'run', runId: run[1] as string, path: (run[2] ?? '').replace(/\/+$/, '') };
  const models = /^models:(.*)$/is.exec(uri);
  if (!models) throw invalid(uri, 'it must start with models:/ or runs:/');
  let rest = models[1] as string;
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const netloc = slash === -1 ? rest.slice(2) : rest.slice(2, slash);
    if (netloc !== '') {
      throw invalid(
        uri,
        `'${netloc}' names another registry (a Databricks profile), which this client cannot reach`,
      );
    }
    rest = slash === -1 ? '' : rest.slice(slash);
  }
  rest = rest.replace(/\/+$/, '');
  if (!rest.startsWith('/') || rest.length <= 1) throw invalid(uri, 'the model name is missing');
  const segments = rest.slice(1).split('/');
  const first = segments[0] as string;
  if (first.trim() === '') throw invalid(uri, 'the model name is empty');
  if (segments.length === 1) return registryReference(uri, [first], undefined);
  // MLflow's split: <name>@<alias>/<path> or <name>/<suffix>/<path>.
  const baseLength = first.includes('@') ? 1 : 2;
  return registryReference(uri, segments.slice(0, baseLength), subPath(uri, segments.slice(baseLength)));
}

/** What resolveModelUri needs of a client: the registry and logged-model methods. */
type ResolvingClient = RegistryMethods;

/** The newest version of a model (in a stage), as models:/<name>/<stage> and /latest mean it. */
async function newestVersion(
  client: ResolvingClient,
  uri: string,
  ref: { kind: 'stage' | 'latest'; name: string; stage?: string },
): Promise<string> {
  const versions = await client.getLatestVersions(ref.name, ref.stage === undefined ? [] : [ref.stage]);
  const newest = versions.reduce<(typeof versions)[number] | undefined>(
    (best, v) => (!best || Number(v.version) > Number(best.version) ? v : best),
    undefined,
  );
  if (!newest) {
    throw new MlflowError(
      'RESOURCE_DOES_NOT_EXIST',
      `No versions of model '${ref.name}'${ref.stage === undefined ? '' : ` in stage '${ref.stage}'`} for '${uri}'. Register a version or transition one to that stage first.`,
      404,
    );
  }
  return newest.version;
}

/** The storage location of what a URI names (its root) and the path inside it, found through the server. */
async function locate(client: ResolvingClient, uri: string): Promise<{ root: string; path: string }> {
  const ref = parseModelUri(uri);
  switch (ref.kind) {
    case 'version':
      return { root: await client.getModelVersionDownloadUri(ref.name, ref.version), path: ref.path ?? '' };
    case 'alias': {
      const v = await client.getModelVersionByAlias(ref.name, ref.alias);
      return { root: await client.getModelVersionDownloadUri(ref.name, v.version), path: ref.path ?? '' };
    }
    case 'latest':
    case 'stage': {
      const version = await newestVersion(client, uri, ref);
      return { root: await client.getModelVersionDownloadUri(ref.name, version), path: ref.path ?? '' };
    }
    case 'logged-model':
      return { root: (await client.getLoggedModel(ref.modelId)).info.artifact_uri, path: '' };
    case 'run': {
      const run = await client.transport.call<{ run: { info: { artifact_uri: string } } }>(
        'GET',
        'runs/get',
        {
          run_id: ref.runId,
        },
      );
      return { root: run.run.info.artifact_uri, path: ref.path };
    }
  }
}

/**
 * The artifact location (e.g. mlflow-artifacts:/..., s3://..., file:///...) that a `models:/` or
 * `runs:/` URI points at, found through the server: the version's download URI (by number, alias, or
 * the latest version in a stage), the logged model's artifact URI, or the run's artifact URI, followed
 * by the URI's path inside it.
 */
export async function resolveModelUri(client: ResolvingClient, uri: string): Promise<string> {
  const { root, path } = await locate(client, uri);
  return path ? `${root.replace(/\/+$/, '')}/${path}` : root;
}

/**
 * Node only: downloads the files a model URI names into `dstDir` (a fresh temporary directory when
 * omitted) through the server's artifact proxy, and returns the local path of what it names: `dstDir`
 * itself for a whole model, `<dstDir>/<path>` for a URI with a path inside the model or run (a file or
 * a directory), as MLflow's download_artifacts lays them out. The location must be reachable over HTTP
 * (mlflow-artifacts:/ or http(s)); other stores throw INVALID_PARAMETER_VALUE.
 */
export async function downloadModel(
  client: ResolvingClient,
  uri: string,
  dstDir?: string,
  onFile?: (artifactPath: string, bytes: number) => void,
): Promise<string> {
  const { root, path } = await locate(client, uri);
  return new RunArtifacts(client.transport, root).downloadLocal(joinArtifactPath(path), dstDir, onFile);
}
