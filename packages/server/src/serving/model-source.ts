// A model URI (-m) to a local directory: local paths as they are; runs:/ and models:/ resolved through
// the tracking server (MLFLOW_TRACKING_URI); mlflow-artifacts:/ and http(s) fetched through it; s3://
// and wasbs:// read from the store directly.

import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { MlflowClient, RunArtifacts, resolveModelUri } from '@mlflow-ts/client';
import type { ArtifactRepository } from '../artifacts/artifact-repository.js';
import { openArtifactRepository } from '../artifacts/open-artifact-repository.js';
import { MlflowError } from '../entities/errors.js';

/** Copies the folder `from` of `repo` into the local folder `to`. */
export async function copyTree(repo: ArtifactRepository, from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const info of await repo.list(from)) {
    const name = path.posix.basename(info.path);
    if (info.is_dir) await copyTree(repo, info.path, path.join(to, name));
    else await pipeline((await repo.openRead(info.path)).stream, createWriteStream(path.join(to, name)));
  }
}

async function fetchLocation(client: MlflowClient, location: string, dst: string): Promise<string> {
  if (/^(mlflow-artifacts|https?):/.test(location)) {
    return new RunArtifacts(client.transport, location).downloadLocal('', dst);
  }
  const repo = openArtifactRepository(location);
  if (!repo) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Cannot read a model from '${location}': unsupported location.`,
    );
  }
  if (repo.root && existsSync(repo.root)) return repo.root; // a local store: serve it in place
  await copyTree(repo, '', dst);
  return dst;
}

/**
 * The local directory holding the model `uri` names, downloading it into `dstDir` (a new temporary
 * directory by default) when it is remote.
 */
export async function localModelDir(uri: string, dstDir?: string): Promise<string> {
  if (uri.startsWith('file:')) return fileURLToPath(uri);
  if (!/^[a-z][a-z0-9+.-]*:/i.test(uri) || /^[a-z]:[\\/]/i.test(uri)) {
    if (!existsSync(uri)) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No model at '${uri}'.`);
    return path.resolve(uri);
  }
  const client = new MlflowClient();
  const dst = dstDir ?? (await mkdtemp(path.join(tmpdir(), 'mlflow-ts-model-')));
  // A registered version's source may itself be a runs:/ or models:/ URI; follow it (a few hops at most).
  let location = uri;
  for (let hop = 0; hop < 4 && /^(runs|models):/.test(location); hop++) {
    location = await resolveModelUri(client, location);
  }
  return fetchLocation(client, location, dst);
}
