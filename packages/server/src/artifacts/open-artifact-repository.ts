import type { ArtifactRepository } from './artifact-repository.js';
import { isLocalArtifactUri, uriScheme } from './artifact-uri.js';
import { AzureBlobArtifactRepository } from './azure-blob-artifact-repository.js';
import { LocalArtifactRepository, localArtifactDir } from './local-artifact-repository.js';
import { S3ArtifactRepository } from './s3-artifact-repository.js';

/** The URI schemes (besides plain paths) a repository exists for. */
export const SUPPORTED_ARTIFACT_SCHEMES = ['file', 's3', 'wasbs'] as const;

/**
 * The repository for an artifact URI: a local directory (plain path or file: URI), an S3 bucket
 * (s3://bucket/prefix, configured from MLflow's S3 environment variables) or an Azure Blob Storage
 * container (wasbs://container@account.blob.core.windows.net/prefix, credentials from MLflow's Azure
 * environment variables). Undefined for any other scheme.
 */
export function openArtifactRepository(uri: string): ArtifactRepository | undefined {
  if (isLocalArtifactUri(uri)) return new LocalArtifactRepository(localArtifactDir(uri));
  if (uriScheme(uri) === 's3') return new S3ArtifactRepository(uri);
  if (uriScheme(uri) === 'wasbs') return new AzureBlobArtifactRepository(uri);
  return undefined;
}
