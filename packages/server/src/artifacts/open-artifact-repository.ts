import type { ArtifactRepository } from './artifact-repository.js';
import { isLocalArtifactUri, uriScheme } from './artifact-uri.js';
import { DeferredArtifactRepository } from './deferred-artifact-repository.js';
import { LocalArtifactRepository, localArtifactDir } from './local-artifact-repository.js';

/** The URI schemes (besides plain paths) a repository exists for. */
export const SUPPORTED_ARTIFACT_SCHEMES = ['file', 's3', 'wasbs'] as const;

/**
 * The repository for an artifact URI: a local directory (plain path or file: URI), an S3 bucket
 * (s3://bucket/prefix, configured from MLflow's S3 environment variables) or an Azure Blob Storage
 * container (wasbs://container@account.blob.core.windows.net/prefix, credentials from MLflow's Azure
 * environment variables). Undefined for any other scheme. The object stores' SDKs load on first use
 * (DeferredArtifactRepository.open).
 */
export function openArtifactRepository(uri: string): ArtifactRepository | undefined {
  if (isLocalArtifactUri(uri)) return new LocalArtifactRepository(localArtifactDir(uri));
  if (uriScheme(uri) === 's3') {
    return new DeferredArtifactRepository(
      uri,
      async (u) => new (await import('./s3-artifact-repository.js')).S3ArtifactRepository(u),
    );
  }
  if (uriScheme(uri) === 'wasbs') {
    return new DeferredArtifactRepository(
      uri,
      async (u) => new (await import('./azure-blob-artifact-repository.js')).AzureBlobArtifactRepository(u),
    );
  }
  return undefined;
}
