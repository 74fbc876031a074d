// An object-store repository (S3, Azure Blob) whose SDK is loaded on first use: the AWS and Azure SDKs
// are some thousand modules, which every server start would otherwise load whether or not any artifact
// lives in an object store (docs/reliability.md, restart time). Being every call's way to the store, it
// is also where a store that cannot be reached is told apart (store-unreachable.ts).
import type { Readable } from 'node:stream';
import type {
  ArtifactRead,
  CreatedMultipartUpload,
  FileInfo,
  MultipartUploadPart,
  MultipartUploadRepository,
  ReadRange,
} from './artifact-repository.js';
import { unreachableStoreError } from './store-unreachable.js';

export class DeferredArtifactRepository implements MultipartUploadRepository {
  private loading?: Promise<MultipartUploadRepository>;
  private loaded?: MultipartUploadRepository;

  constructor(
    private readonly uri: string,
    private readonly load: (uri: string) => Promise<MultipartUploadRepository>,
  ) {}

  /** The repository itself, its SDK loaded; a bad URI or configuration fails here, and on every use. */
  open(): Promise<MultipartUploadRepository> {
    this.loading ??= this.load(this.uri).then((repo) => {
      this.loaded = repo;
      return repo;
    });
    return this.loading;
  }

  get root(): string {
    return this.loaded?.root ?? this.uri;
  }

  /** Runs `call` on the loaded repository; a store that does not answer fails it as unreachable. */
  private async call<T>(call: (repo: MultipartUploadRepository) => Promise<T>): Promise<T> {
    const repo = await this.open();
    try {
      return await call(repo);
    } catch (error) {
      throw unreachableStoreError(error, this.root);
    }
  }

  list(path: string): Promise<FileInfo[]> {
    return this.call((repo) => repo.list(path));
  }

  openRead(path: string, range?: ReadRange): Promise<ArtifactRead> {
    return this.call((repo) => repo.openRead(path, range));
  }

  async write(path: string, body: Readable): Promise<void> {
    // A client that hangs up fails the body with a socket error too: that one is the client's, not
    // the store's, and is reported as it is.
    let bodyError: unknown;
    const onError = (error: unknown) => {
      bodyError ??= error;
    };
    body.on('error', onError);
    try {
      return await this.call((repo) => repo.write(path, body));
    } catch (error) {
      throw bodyError ?? error;
    } finally {
      body.off('error', onError);
    }
  }

  delete(path: string): Promise<void> {
    return this.call((repo) => repo.delete(path));
  }

  createMultipartUpload(path: string, numParts: number): Promise<CreatedMultipartUpload> {
    return this.call((repo) => repo.createMultipartUpload(path, numParts));
  }

  completeMultipartUpload(
    path: string,
    uploadId: string | undefined,
    parts: MultipartUploadPart[],
  ): Promise<void> {
    return this.call((repo) => repo.completeMultipartUpload(path, uploadId, parts));
  }

  abortMultipartUpload(path: string, uploadId: string | undefined): Promise<void> {
    return this.call((repo) => repo.abortMultipartUpload(path, uploadId));
  }
}
