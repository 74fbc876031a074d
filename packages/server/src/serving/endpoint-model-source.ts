// Where the tracking server's endpoints get their models: versions resolved in the registry, files read
// from the server's own artifact stores (the proxy's destination, or the version's storage location).
import { existsSync } from 'node:fs';
import type { ArtifactRepository } from '../artifacts/artifact-repository.js';
import { proxiedArtifactPath } from '../artifacts/artifact-uri.js';
import { openArtifactRepository } from '../artifacts/open-artifact-repository.js';
import { safeArtifactPath } from '../artifacts/safe-path.js';
import { MlflowError } from '../entities/errors.js';
import type { EndpointModelSource } from './endpoint-host.js';

/** The registry calls the source needs (RegistryService has them). */
export interface VersionRegistry {
  resolveModelVersion(uri: string): Promise<{ name: string; version: number }>;
  getModelVersion(name: string, version: string): Promise<unknown>;
  getModelVersionDownloadUri(name: string, version: string): Promise<string>;
  /** A models:/ URI's storage location (a version's source may be one). */
  resolveModelUri(uri: string): Promise<string>;
  /** A run's artifact root (a version's source may be runs:/<run_id>/<path>). */
  runArtifactUri(runId: string): Promise<string>;
}

/** Follows runs:/ and models:/ sources to the place the files are (a few hops at most). */
async function storageLocation(registry: VersionRegistry, source: string): Promise<string> {
  let location = source;
  for (let hop = 0; hop < 4; hop++) {
    const run = /^runs:\/([^/]+)\/?(.*)$/.exec(location);
    if (run) {
      const root = (await registry.runArtifactUri(run[1])).replace(/\/+$/, '');
      location = run[2] ? `${root}/${run[2]}` : root;
    } else if (/^models:/i.test(location)) {
      location = await registry.resolveModelUri(location);
    } else {
      return location;
    }
  }
  return location;
}

/** model-source.ts's copy, loaded with the first model (it brings the SDK's client along). */
async function copyTree() {
  return (await import('./model-source.js')).copyTree;
}

export function registryModelSource(
  registry: VersionRegistry,
  proxy: ArtifactRepository | undefined,
): EndpointModelSource {
  return {
    async resolveVersion(modelUri) {
      const { name, version } = await registry.resolveModelVersion(modelUri);
      // A number in the URI names a version only when it exists (an alias always names one).
      await registry.getModelVersion(name, String(version));
      return version;
    },
    async fetchVersion(name, version, scratch) {
      const location = await storageLocation(
        registry,
        await registry.getModelVersionDownloadUri(name, String(version)),
      );
      const proxied = proxiedArtifactPath(location);
      if (proxied !== undefined) {
        if (!proxy) {
          throw new MlflowError(
            'INVALID_PARAMETER_VALUE',
            `The files of version ${version} are proxied (${location}), but this server does not serve artifacts.`,
          );
        }
        await (await copyTree())(proxy, safeArtifactPath(proxied, { allowRoot: true }), scratch);
        return scratch;
      }
      const repo = openArtifactRepository(location);
      if (!repo) {
        throw new MlflowError('INVALID_PARAMETER_VALUE', `Cannot read a model from '${location}'.`);
      }
      if (repo.root && existsSync(repo.root)) return repo.root; // a local store: served in place
      await (await copyTree())(repo, '', scratch);
      return scratch;
    },
  };
}
