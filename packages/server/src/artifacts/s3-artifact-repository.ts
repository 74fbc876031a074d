import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { MlflowError } from '../entities/errors.js';
import {
  type ArtifactRead,
  type ArtifactRepository,
  type FileInfo,
  RangeNotSatisfiableError,
  type ReadRange,
  resolveRange,
} from './artifact-repository.js';
import { safeArtifactPath } from './safe-path.js';

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
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && ['true', '1', 't', 'yes', 'y'].includes(value.trim().toLowerCase());
}

/**
 * MLflow's variables: MLFLOW_S3_ENDPOINT_URL, MLFLOW_S3_IGNORE_TLS, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_DEFAULT_REGION (then AWS_REGION, then us-east-1).
 */
export function s3ClientSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3ClientSettings {
  return {
    endpoint: env.MLFLOW_S3_ENDPOINT_URL || undefined,
    region: env.AWS_DEFAULT_REGION || env.AWS_REGION || 'us-east-1',
    accessKeyId: env.AWS_ACCESS_KEY_ID || undefined,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY || undefined,
    sessionToken: env.AWS_SESSION_TOKEN || undefined,
    ignoreTls: truthy(env.MLFLOW_S3_IGNORE_TLS),
  };
}

/** Builds an S3 client from settings. */
export function createS3Client(settings: S3ClientSettings): S3Client {
  const config: S3ClientConfig = { region: settings.region || 'us-east-1' };
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
function sharedClient(settings: S3ClientSettings): S3Client {
  const key = JSON.stringify(settings);
  let client = clients.get(key);
  if (!client) {
    client = createS3Client(settings);
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

/** Keys per DeleteObjects request (the API's limit). */
const DELETE_BATCH = 1000;

export interface S3ArtifactRepositoryOptions {
  /** Client settings; default from the environment (s3ClientSettingsFromEnv). */
  settings?: S3ClientSettings;
  /** A ready client (tests); takes precedence over settings. */
  client?: S3Client;
  /** Size of each part of a multipart upload, in bytes (at least 5 MiB); default 8 MiB. */
  partSize?: number;
  /** Most keys per ListObjectsV2 page (tests use small pages); default the service's (1000). */
  pageSize?: number;
}

/** Artifacts as objects below `s3://bucket/prefix`. */
export class S3ArtifactRepository implements ArtifactRepository {
  readonly root: string;
  readonly bucket: string;
  /** Key prefix of the root, without a trailing '/'; '' for the whole bucket. */
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly pageSize: number | undefined;

  constructor(uri: string, options: S3ArtifactRepositoryOptions = {}) {
    const { bucket, prefix } = parseS3Uri(uri);
    this.bucket = bucket;
    this.prefix = prefix;
    this.root = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
    this.client = options.client ?? sharedClient(options.settings ?? s3ClientSettingsFromEnv());
    this.partSize = Math.max(options.partSize ?? 8 * 1024 * 1024, 5 * 1024 * 1024);
    this.pageSize = options.pageSize;
  }

  /** The object key of a checked relative path ('' is the root itself). */
  private key(rel: string): string {
    return this.prefix && rel ? `${this.prefix}/${rel}` : this.prefix || rel;
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
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
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
      params: { Bucket: this.bucket, Key: this.key(rel), Body: body },
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
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
