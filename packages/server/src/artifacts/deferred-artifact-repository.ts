// An object-store repository (S3, Azure Blob) whose SDK is loaded on first use: the AWS and Azure SDKs
// are some thousand modules, which every server start would otherwise load whether or not any artifact
// lives in an object store (docs/reliability.md, restart time).
import type { Readable } from 'node:stream';
import type {
  ArtifactRead,
  CreatedMultipartUpload,
  FileInfo,
  MultipartUploadPart,
  MultipartUploadRepository,
  ReadRange,
} from './artifact-repository.js';

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

  async list(path: string): Promise<FileInfo[]> {
    return (await this.open()).list(path);
  }

  async openRead(path: string, range?: ReadRange): Promise<ArtifactRead> {
    return (await this.open()).openRead(path, range);
  }

  async write(path: string, body: Readable): Promise<void> {
    // Errors of the body while the SDK loads are the upload's (write's contract reports them).
    return (await this.open()).write(path, body);
  }

  async delete(path: string): Promise<void> {
    return (await this.open()).delete(path);
  }

  async createMultipartUpload(path: string, numParts: number): Promise<CreatedMultipartUpload> {
    return (await this.open()).createMultipartUpload(path, numParts);
  }

  async completeMultipartUpload(
    path: string,
    uploadId: string | undefined,
    parts: MultipartUploadPart[],
  ): Promise<void> {
    return (await this.open()).completeMultipartUpload(path, uploadId, parts);
  }

  async abortMultipartUpload(path: string, uploadId: string | undefined): Promise<void> {
    return (await this.open()).abortMultipartUpload(path, uploadId);
  }
}
