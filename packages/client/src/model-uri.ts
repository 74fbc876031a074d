import { RunArtifacts } from './artifacts.js';
import { MlflowError } from './errors.js';
import type { RegistryMethods } from './registry.js';

/** What a `models:/` or `runs:/` URI names, before asking the server where it is stored. */
export type ModelReference =
  | { kind: 'version'; name: string; version: string }
  | { kind: 'stage'; name: string; stage: string }
  | { kind: 'latest'; name: string }
  | { kind: 'alias'; name: string; alias: string }
  | { kind: 'logged-model'; modelId: string }
  | { kind: 'run'; runId: string; path: string };

function invalid(uri: string, why: string): MlflowError {
  return new MlflowError(
    'INVALID_PARAMETER_VALUE',
    `Invalid model URI '${uri}': ${why}. Use models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest, models:/<name>@<alias>, models:/<model_id> or runs:/<run_id>/<path>.`,
    400,
  );
}

/** Parses a `models:/...` or `runs:/...` URI (MLflow's forms); throws INVALID_PARAMETER_VALUE otherwise. */
export function parseModelUri(uri: string): ModelReference {
  const run = /^runs:\/+([^/]+)(?:\/(.*))?$/.exec(uri);
  if (run) return { kind: 'run', runId: run[1] as string, path: (run[2] ?? '').replace(/\/+$/, '') };
  const models = /^models:\/+(.+?)\/*$/.exec(uri);
  if (!models) throw invalid(uri, 'it must start with models:/ or runs:/');
  const rest = models[1] as string;
  const parts = rest.split('/');
  if (parts.length === 1) {
    const at = rest.lastIndexOf('@');
    if (at > 0) {
      const alias = rest.slice(at + 1);
      if (!alias) throw invalid(uri, 'the alias after @ is empty');
      return { kind: 'alias', name: rest.slice(0, at), alias };
    }
    return { kind: 'logged-model', modelId: rest };
  }
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw invalid(uri, 'expected exactly a name and a version or stage');
  const [name, second] = parts as [string, string];
  if (/^\d+$/.test(second)) return { kind: 'version', name, version: second };
  if (second.toLowerCase() === 'latest') return { kind: 'latest', name };
  return { kind: 'stage', name, stage: second };
}

/** What resolveModelUri needs of a client: the registry methods and two plain endpoint calls. */
type ResolvingClient = RegistryMethods;

/**
 * The artifact location (e.g. mlflow-artifacts:/..., s3://..., file:///...) that a `models:/` or
 * `runs:/` URI points at, found through the server: the version's download URI, the alias, the latest
 * version (in a stage), the logged model's artifact URI, or the run's artifact URI plus the path.
 */
export async function resolveModelUri(client: ResolvingClient, uri: string): Promise<string> {
  const ref = parseModelUri(uri);
  switch (ref.kind) {
    case 'version':
      return client.getModelVersionDownloadUri(ref.name, ref.version);
    case 'alias': {
      const v = await client.getModelVersionByAlias(ref.name, ref.alias);
      return client.getModelVersionDownloadUri(ref.name, v.version);
    }
    case 'latest':
    case 'stage': {
      const stages = ref.kind === 'stage' ? [ref.stage] : [];
      const versions = await client.getLatestVersions(ref.name, stages);
      const newest = versions.reduce<(typeof versions)[number] | undefined>(
        (best, v) => (!best || Number(v.version) > Number(best.version) ? v : best),
        undefined,
      );
      if (!newest) {
        throw new MlflowError(
          'RESOURCE_DOES_NOT_EXIST',
          `No versions of model '${ref.name}'${ref.kind === 'stage' ? ` in stage '${ref.stage}'` : ''} for '${uri}'. Register a version or transition one to that stage first.`,
          404,
        );
      }
      return client.getModelVersionDownloadUri(ref.name, newest.version);
    }
    case 'logged-model': {
      const r = await client.transport.call<{ model: { info: { artifact_uri: string } } }>(
        'GET',
        `logged-models/${encodeURIComponent(ref.modelId)}`,
      );
      return r.model.info.artifact_uri;
    }
    case 'run': {
      const r = await client.transport.call<{ run: { info: { artifact_uri: string } } }>('GET', 'runs/get', {
        run_id: ref.runId,
      });
      const base = r.run.info.artifact_uri.replace(/\/+$/, '');
      return ref.path ? `${base}/${ref.path}` : base;
    }
  }
}

/**
 * Node only: downloads every file of the model `uri` names into `dstDir` (a fresh temporary directory
 * when omitted) through the server's artifact proxy, and returns that directory. The location must be
 * reachable over HTTP (mlflow-artifacts:/ or http(s)); other stores throw INVALID_PARAMETER_VALUE.
 */
export async function downloadModel(
  client: ResolvingClient,
  uri: string,
  dstDir?: string,
  onFile?: (artifactPath: string, bytes: number) => void,
): Promise<string> {
  const location = await resolveModelUri(client, uri);
  return new RunArtifacts(client.transport, location).downloadLocal('', dstDir, onFile);
}
