import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  ListPartsCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { MlflowError } from '../entities/errors.js';
import {
  type ArtifactRead,
  type CreatedMultipartUpload,
  type FileInfo,
  type MultipartUploadPart,
  type MultipartUploadRepository,
  RangeNotSatisfiableError,
  type ReadRange,
  resolveRange,
} from './artifact-repository.js';
import { keyUnderPrefix, safeArtifactPath } from './safe-path.js';

// Artifacts as objects of one S3 bucket below a key prefix: `s3://bucket/prefix`. Folders are implied by
// '/' in keys, as in MLflow's S3 repository. The client is configured from MLflow's environment variables
// (see s3ClientSettingsFromEnv); credentials not given there come from the AWS SDK's default chain.

/** Bucket and key prefix (no leading or trailing '/', '' for the bucket's top) of an s3:// URI. */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/?#]+)(\/[^?#]*)?$/i.exec(uri);
  if (!m) throw new Error(`Not an S3 URI: '${uri}' (expected s3://bucket/prefix).`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && prefix.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`S3 URI '${uri}': the key prefix must not contain empty, '.' or '..' segments.`);
  }
  return { bucket: m[1], prefix };
}

/** What configures the S3 client; every field is optional. */
export interface S3ClientSettings {
  /** A custom endpoint (MinIO, moto, Ceph...); implies path-style addressing. */
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Skip TLS certificate verification (MLFLOW_S3_IGNORE_TLS). */
  ignoreTls?: boolean;
  /**
   * Extra PutObject/CreateMultipartUpload parameters for every upload, in S3's API names (MLflow's
   * MLFLOW_S3_UPLOAD_EXTRA_ARGS, e.g. {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "..."}).
   */
  uploadExtraArgs?: Record<string, unknown>;
  /** The account that must own the bucket; S3 refuses every request otherwise (MLFLOW_S3_EXPECTED_BUCKET_OWNER). */
  expectedBucketOwner?: string;
}

/** Parameters MLFLOW_S3_UPLOAD_EXTRA_ARGS cannot override: they are the upload itself. */
const RESERVED_UPLOAD_ARGS = new Set(['Bucket', 'Key', 'Body', 'UploadId', 'PartNumber', 'MultipartUpload']);

/** Parses MLFLOW_S3_UPLOAD_EXTRA_ARGS: a JSON object of PutObject parameters. */
export function parseUploadExtraArgs(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `MLFLOW_S3_UPLOAD_EXTRA_ARGS is not valid JSON (${(error as Error).message}); expected an object such as {"ServerSideEncryption": "AES256"}.`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(
      'MLFLOW_S3_UPLOAD_EXTRA_ARGS must be a JSON object of S3 PutObject parameters, such as {"ServerSideEncryption": "AES256"}.',
    );
  }
  const reserved = Object.keys(value).filter((k) => RESERVED_UPLOAD_ARGS.has(k));
  if (reserved.length) {
    throw new Error(`MLFLOW_S3_UPLOAD_EXTRA_ARGS must not set ${reserved.join(', ')}: the upload sets them.`);
  }
  return value as Record<string, unknown>;
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && ['true', '1', 't', 'yes', 'y'].includes(value.trim().toLowerCase());
}

/**
 * MLflow's variables: MLFLOW_S3_ENDPOINT_URL, MLFLOW_S3_IGNORE_TLS, MLFLOW_S3_UPLOAD_EXTRA_ARGS,
 * MLFLOW_S3_EXPECTED_BUCKET_OWNER, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
 * AWS_DEFAULT_REGION (then AWS_REGION, then us-east-1). Throws on a malformed MLFLOW_S3_UPLOAD_EXTRA_ARGS.
 */
export function s3ClientSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3ClientSettings {
  return {
    endpoint: env.MLFLOW_S3_ENDPOINT_URL || undefined,
    region: env.AWS_DEFAULT_REGION || env.AWS_REGION || 'us-east-1',
    accessKeyId: env.AWS_ACCESS_KEY_ID || undefined,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY || undefined,
    sessionToken: env.AWS_SESSION_TOKEN || undefined,
    ignoreTls: truthy(env.MLFLOW_S3_IGNORE_TLS),
    uploadExtraArgs: env.MLFLOW_S3_UPLOAD_EXTRA_ARGS
      ? parseUploadExtraArgs(env.MLFLOW_S3_UPLOAD_EXTRA_ARGS)
      : undefined,
    expectedBucketOwner: env.MLFLOW_S3_EXPECTED_BUCKET_OWNER || undefined,
  };
}

/**
 * Builds an S3 client from settings. `forPresigning` leaves out the optional checksums the SDK would
 * otherwise sign into a URL: a client sending the part later cannot know them in advance.
 */
export function createS3Client(settings: S3ClientSettings, forPresigning = false): S3Client {
  const config: S3ClientConfig = { region: settings.region || 'us-east-1' };
  if (forPresigning) {
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  if (settings.endpoint) {
    config.endpoint = settings.endpoint;
    config.forcePathStyle = true;
    // S3-compatible stores do not all accept the SDK's default extra checksums; send them only where
    // the API requires them.
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  if (settings.accessKeyId && settings.secretAccessKey) {
    config.credentials = {
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      ...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
    };
  }
  if (settings.ignoreTls) {
    config.requestHandler = { httpsAgent: new HttpsAgent({ rejectUnauthorized: false, keepAlive: true }) };
  }
  return new S3Client(config);
}

const clients = new Map<string, S3Client>();

/** One client per distinct settings, shared by every repository that uses them. */
function sharedClient(settings: S3ClientSettings, forPresigning = false): S3Client {
  const key = JSON.stringify([settings, forPresigning]);
  let client = clients.get(key);
  if (!client) {
    client = createS3Client(settings, forPresigning);
    clients.set(key, client);
  }
  return client;
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string }).name;
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** The Range header for a ReadRange, S3 accepting the same forms as HTTP. */
function rangeHeader(range: ReadRange): string {
  if (range.kind === 'suffix') return `bytes=-${range.length}`;
  return `bytes=${range.start}-${range.end ?? ''}`;
}

/** Parses `bytes a-b/size` from a ranged GetObject answer. */
function parseContentRange(
  header: string | undefined,
): { start: number; end: number; size: number } | undefined {
  const m = header && /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim());
  return m ? { start: Number(m[1]), end: Number(m[2]), size: Number(m[3]) } : undefined;
}

/** Lifetime of a presigned part URL, in seconds (an hour, as boto's default in MLflow). */
const PART_URL_EXPIRY = 3600;

/** S3 error names that mean the client's multipart request itself was wrong. */
const BAD_MULTIPART_REQUEST = new Set([
  'InvalidPart',
  'InvalidPartOrder',
  'EntityTooSmall',
  'MalformedXML',
  'InvalidArgument',
  'InvalidRequest',
]);

/** The upload id and each part's ETag are optional in MLflow's API but S3 needs them. */
function missingForS3(field: string): MlflowError {
  return MlflowError.invalidParameter(
    `Missing value for required parameter '${field}': S3 multipart uploads need it.`,
  );
}

/** Maps S3's answers about a client's multipart upload to MLflow errors; others pass through. */
function multipartError(error: unknown, uploadId: string): unknown {
  const name = errorName(error);
  if (name === 'NoSuchUpload' || httpStatus(error) === 404) {
    return MlflowError.notFound(`No multipart upload with id '${uploadId}' at that path.`);
  }
  if (name && BAD_MULTIPART_REQUEST.has(name)) {
    return MlflowError.invalidParameter(
      `The multipart upload '${uploadId}' cannot be completed: ${name}: ${(error as Error).message}`,
    );
  }
  return error;
}

/** Keys per DeleteObjects request (the API's limit). */
const DELETE_BATCH = 1000;

export interface S3ArtifactRepositoryOptions {
  /** Client settings; default from the environment (s3ClientSettingsFromEnv). */
  settings?: S3ClientSettings;
  /** A ready client (tests); takes precedence over settings, and also signs part URLs. */
  client?: S3Client;
  /** Size of each part of a multipart upload, in bytes (at least 5 MiB); default 8 MiB. */
  partSize?: number;
  /** Most keys per ListObjectsV2 page (tests use small pages); default the service's (1000). */
  pageSize?: number;
}

/** Artifacts as objects below `s3://bucket/prefix`. */
export class S3ArtifactRepository implements MultipartUploadRepository {
  readonly root: string;
  readonly bucket: string;
  /** Key prefix of the root, without a trailing '/'; '' for the whole bucket. */
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly presignClient: S3Client;
  private readonly partSize: number;
  private readonly pageSize: number | undefined;
  /** ExpectedBucketOwner for every request, or nothing. */
  private readonly owner: { ExpectedBucketOwner?: string };
  private readonly uploadArgs: Record<string, unknown>;

  constructor(uri: string, options: S3ArtifactRepositoryOptions = {}) {
    const { bucket, prefix } = parseS3Uri(uri);
    this.bucket = bucket;
    this.prefix = prefix;
    this.root = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
    const settings = options.settings ?? s3ClientSettingsFromEnv();
    this.client = options.client ?? sharedClient(settings);
    this.presignClient = options.client ?? sharedClient(settings, true);
    this.partSize = Math.max(options.partSize ?? 8 * 1024 * 1024, 5 * 1024 * 1024);
    this.pageSize = options.pageSize;
    this.owner = settings.expectedBucketOwner ? { ExpectedBucketOwner: settings.expectedBucketOwner } : {};
    this.uploadArgs = settings.uploadExtraArgs ?? {};
  }

  /** The object key of a checked relative path ('' is the root itself). */
  private key(rel: string): string {
    return keyUnderPrefix(this.prefix, rel);
  }

  async list(relative: string): Promise<FileInfo[]> {
    const rel = safeArtifactPath(relative, { allowRoot: true });
    const base = this.key(rel);
    const listPrefix = base ? `${base}/` : '';
    const infos: FileInfo[] = [];
    const child = (name: string) => (rel ? `${rel}/${name}` : name);
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          ...this.owner,
          Prefix: listPrefix,
          Delimiter: '/',
          ContinuationToken: token,
          MaxKeys: this.pageSize,
        }),
      );
      for (const common of page.CommonPrefixes ?? []) {
        const p = common.Prefix ?? '';
        if (!p.startsWith(listPrefix)) continue;
        const name = p.slice(listPrefix.length).replace(/\/$/, '');
        // Keys with doubled separators ('a//b') would show as a nameless folder: not addressable here.
        if (name) infos.push({ path: child(name), is_dir: true });
      }
      for (const object of page.Contents ?? []) {
        const k = object.Key ?? '';
        if (!k.startsWith(listPrefix)) continue;
        const name = k.slice(listPrefix.length);
        // The key equal to the prefix is a folder marker some tools create; it is not a file.
        if (name) infos.push({ path: child(name), is_dir: false, file_size: Number(object.Size ?? 0) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return infos.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Size of an object, for answering an unsatisfiable range. */
  private async size(key: string, rel: string): Promise<number> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, ...this.owner, Key: key }),
      );
      return Number(head.ContentLength ?? 0);
    } catch (error) {
      if (errorName(error) === 'NotFound' || httpStatus(error) === 404) {
        throw MlflowError.notFound(`No such file or directory: '${rel}'`);
      }
      throw error;
    }
  }

  async openRead(relative: string, range?: ReadRange): Promise<ArtifactRead> {
    const rel = safeArtifactPath(relative);
    const key = this.key(rel);
    if (range?.kind === 'suffix' && range.length <= 0) {
      throw new RangeNotSatisfiableError(await this.size(key, rel));
    }
    let out: GetObjectCommandOutput;
    try {
      out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          ...this.owner,
          Key: key,
          Range: range ? rangeHeader(range) : undefined,
        }),
      );
    } catch (error) {
      const name = errorName(error);
      if (name === 'NoSuchKey' || name === 'NotFound' || httpStatus(error) === 404) {
        throw MlflowError.notFound(`No such file or directory: '${rel}'`);
      }
      if (name === 'InvalidRange' || httpStatus(error) === 416) {
        const size = await this.size(key, rel);
        // An empty object refuses every range; resolveRange gives the same verdict as a local file.
        resolveRange(range, size);
        throw new RangeNotSatisfiableError(size);
      }
      throw error;
    }
    const body = out.Body as Readable | undefined;
    const stream = body ?? Readable.from([]);
    const span = parseContentRange(out.ContentRange);
    if (span) return { stream, size: span.size, start: span.start, end: span.end };
    // No Content-Range: the whole object was sent (no range asked, or a store that ignores ranges).
    const size = Number(out.ContentLength ?? 0);
    return { stream, size, start: 0, end: size - 1 };
  }

  async write(relative: string, body: Readable): Promise<void> {
    const rel = safeArtifactPath(relative);
    // One PutObject for a body smaller than a part, else a multipart upload that holds a few parts in
    // memory at a time; either way the object appears only when complete, and a failed multipart upload
    // is aborted.
    const upload = new Upload({
      client: this.client,
      params: { ...this.uploadArgs, Bucket: this.bucket, ...this.owner, Key: this.key(rel), Body: body },
      partSize: this.partSize,
      queueSize: 2,
      leavePartsOnError: false,
    });
    // The body may fail before the upload reads it: make sure that error is the one reported.
    let bodyError: unknown;
    const onError = (error: unknown) => {
      bodyError ??= error;
    };
    body.on('error', onError);
    try {
      await upload.done();
    } catch (error) {
      throw bodyError ?? error;
    } finally {
      body.off('error', onError);
    }
    if (bodyError) throw bodyError;
  }

  async delete(relative: string): Promise<void> {
    const rel = safeArtifactPath(relative);
    const key = this.key(rel);
    // Everything below the folder of that name, then the object of that name itself.
    const below = `${key}/`;
    let token: string | undefined;
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const result = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          ...this.owner,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      batch = [];
      const failed = result.Errors ?? [];
      if (failed.length > 0) {
        throw new Error(
          `Could not delete ${failed.length} object(s) below '${rel}': ${failed[0].Key}: ${failed[0].Code} ${failed[0].Message ?? ''}`.trim(),
        );
      }
    };
    do {
      const page: ListObjectsV2CommandOutput = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          ...this.owner,
          Prefix: below,
          ContinuationToken: token,
          MaxKeys: this.pageSize,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key?.startsWith(below)) batch.push(object.Key);
        if (batch.length >= DELETE_BATCH) await flush();
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    await flush();
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, ...this.owner, Key: key }));
  }

  // Multipart uploads driven by a client: the server starts the upload and signs one UploadPart URL per
  // part; the client PUTs each part straight to S3 and reports the ETags back to complete.

  async createMultipartUpload(relative: string, numParts: number): Promise<CreatedMultipartUpload> {
    const key = this.key(safeArtifactPath(relative));
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ ...this.uploadArgs, Bucket: this.bucket, ...this.owner, Key: key }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`S3 started no multipart upload for '${key}'.`);
    const credentials = [];
    for (let part = 1; part <= numParts; part++) {
      const url = await getSignedUrl(
        this.presignClient,
        // No ExpectedBucketOwner here: it would become a signed header every client had to send.
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: part,
        }),
        { expiresIn: PART_URL_EXPIRY },
      );
      credentials.push({ url, part_number: part, headers: {} });
    }
    return { upload_id: uploadId, credentials };
  }

  async completeMultipartUpload(
    relative: string,
    uploadId: string | undefined,
    parts: MultipartUploadPart[],
  ): Promise<void> {
    const key = this.key(safeArtifactPath(relative));
    if (!uploadId) throw missingForS3('upload_id');
    parts.forEach((p, i) => {
      if (!p.etag) throw missingForS3(`parts[${i}].etag`);
    });
    try {
      // Ask for the upload first: an unknown id is then NoSuchUpload on every S3-compatible store
      // (some, moto among them, fail otherwise on completing an unknown upload).
      await this.client.send(
        new ListPartsCommand({
          Bucket: this.bucket,
          ...this.owner,
          Key: key,
          UploadId: uploadId,
          MaxParts: 1,
        }),
      );
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          ...this.owner,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.part_number, ETag: p.etag })) },
        }),
      );
    } catch (error) {
      throw multipartError(error, uploadId);
    }
  }

  async abortMultipartUpload(relative: string, uploadId: string | undefined): Promise<void> {
    const key = this.key(safeArtifactPath(relative));
    if (!uploadId) throw missingForS3('upload_id');
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, ...this.owner, Key: key, UploadId: uploadId }),
      );
    } catch (error) {
      throw multipartError(error, uploadId);
    }
  }
}
