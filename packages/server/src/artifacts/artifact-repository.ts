import type { Readable } from 'node:stream';

// The storage behind artifacts. Each implementation (local directory now; S3, Azure and others later)
// is rooted at one location and takes paths relative to it that safeArtifactPath has already checked.
// Implementations must still keep every operation inside their root (a local one checks symlinks).

/** One entry of a listing, as MLflow's FileInfo: the path is relative to the repository root. */
export interface FileInfo {
  path: string;
  is_dir: boolean;
  /** Size in bytes; absent for directories. */
  file_size?: number;
}

/** The bytes a client asked for (HTTP Range semantics, before the size is known). */
export type ReadRange =
  /** From `start` to `end` inclusive, or to the end of the file when `end` is absent. */
  | { kind: 'from'; start: number; end?: number }
  /** The last `length` bytes. */
  | { kind: 'suffix'; length: number };

export interface ArtifactRead {
  stream: Readable;
  /** Size of the whole file. */
  size: number;
  /** First and last byte (inclusive) the stream carries; end is start - 1 for an empty body. */
  start: number;
  end: number;
}

/** Thrown by openRead when the requested range lies outside the file. */
export class RangeNotSatisfiableError extends Error {
  constructor(readonly size: number) {
    super(`The requested range is not satisfiable for a file of ${size} bytes.`);
    this.name = 'RangeNotSatisfiableError';
  }
}

/**
 * Resolves a ReadRange against a file size: the inclusive byte span to send, or throws
 * RangeNotSatisfiableError. Shared so every repository answers ranges alike.
 */
export function resolveRange(range: ReadRange | undefined, size: number): { start: number; end: number } {
  if (!range) return { start: 0, end: size - 1 };
  if (range.kind === 'suffix') {
    if (range.length <= 0 || size === 0) throw new RangeNotSatisfiableError(size);
    return { start: Math.max(0, size - range.length), end: size - 1 };
  }
  if (range.start >= size) throw new RangeNotSatisfiableError(size);
  const end = range.end === undefined ? size - 1 : Math.min(range.end, size - 1);
  return { start: range.start, end };
}

export interface ArtifactRepository {
  /** The root this repository serves, as a URI or path, for messages. */
  readonly root: string;

  /**
   * The direct children of `path` ('' for the root), sorted by path, each with its path relative to
   * the repository root. A missing path or a file lists as empty, as in MLflow.
   */
  list(path: string): Promise<FileInfo[]>;

  /** Streams one file (or a byte range of it). Throws RESOURCE_DOES_NOT_EXIST for a missing file. */
  openRead(path: string, range?: ReadRange): Promise<ArtifactRead>;

  /**
   * Stores the stream at `path`, replacing any file there. Atomic: readers see the old file or the
   * complete new one, and a failed or interrupted upload leaves nothing visible.
   */
  write(path: string, body: Readable): Promise<void>;

  /** Deletes a file or a whole directory; a missing path is not an error, as in MLflow. */
  delete(path: string): Promise<void>;

  // Multipart uploads (MLflow's mpu/create, mpu/complete, mpu/abort) belong to object stores: see
  // MultipartUploadRepository, an optional extension.
}

/** Where and how the client sends one part of a multipart upload (MLflow's MultipartUploadCredential). */
export interface MultipartUploadCredential {
  url: string;
  part_number: number;
  /** Headers the client must send with the part; empty for presigned S3 and Azure SAS URLs. */
  headers: Record<string, string>;
}

/** A started multipart upload: its id and one credential per part, numbered from 1. */
export interface CreatedMultipartUpload {
  upload_id: string;
  /** One per part, numbered from 1. */
  credentials: MultipartUploadCredential[];
}

/** One uploaded part, as the client reports it when completing (MLflow's MultipartUploadPart). */
export interface MultipartUploadPart {
  part_number: number;
  /** The part's ETag as storage answered it; '' when storage gives none (Azure blocks). */
  etag: string;
  /** The URL the part was sent to, as mpu/create handed it out. */
  url?: string;
}

/**
 * A repository whose clients can upload a file in parts straight to storage: the server starts the
 * upload and hands out one URL per part, then assembles (or discards) the parts when told to.
 * Paths are relative to the repository root and already checked, as for ArtifactRepository.
 */
export interface MultipartUploadRepository extends ArtifactRepository {
  createMultipartUpload(path: string, numParts: number): Promise<CreatedMultipartUpload>;
  /**
   * Assembles the parts into the file at `path`; unknown upload ids are RESOURCE_DOES_NOT_EXIST where
   * the store can tell. The upload id is optional in MLflow's API (its Azure uploads have none).
   */
  completeMultipartUpload(
    path: string,
    uploadId: string | undefined,
    parts: MultipartUploadPart[],
  ): Promise<void>;
  /** Discards an upload and its parts where the store can (unknown ids: RESOURCE_DOES_NOT_EXIST). */
  abortMultipartUpload(path: string, uploadId: string | undefined): Promise<void>;
}

export function supportsMultipartUpload(repo: ArtifactRepository): repo is MultipartUploadRepository {
  const r = repo as Partial<MultipartUploadRepository>;
  return (
    typeof r.createMultipartUpload === 'function' &&
    typeof r.completeMultipartUpload === 'function' &&
    typeof r.abortMultipartUpload === 'function'
  );
}
