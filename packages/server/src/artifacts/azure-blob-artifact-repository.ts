import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import {
  type BlobDownloadResponseParsed,
  BlobSASPermissions,
  BlobServiceClient,
  type ContainerClient,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
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

// Artifacts as block blobs of one Azure Storage container below a name prefix, addressed as MLflow does:
// `wasbs://<container>@<account>.blob.core.windows.net/<prefix>`. Folders are implied by '/' in blob
// names. Credentials come from AZURE_STORAGE_CONNECTION_STRING (which also names the endpoint, as for
// Azurite) or else AZURE_STORAGE_ACCESS_KEY for the account named in the URI.

export interface WasbsUri {
  container: string;
  account: string;
  /** The host after the account name: `blob.core.windows.net` or a sovereign cloud's equivalent. */
  suffix: string;
  /** Blob name prefix without leading or trailing '/'; '' for the whole container. */
  prefix: string;
}

/** The parts of a `wasbs://container@account.blob.<cloud suffix>/prefix` URI. */
export function parseWasbsUri(uri: string): WasbsUri {
  const m = /^wasbs:\/\/([^@/?#]+)@([a-z0-9]+)\.([a-z0-9.-]+)(\/[^?#]*)?$/i.exec(uri);
  if (!m) {
    throw new Error(
      `Not a WASBS URI: '${uri}' (expected wasbs://<container>@<account>.blob.core.windows.net/<prefix>).`,
    );
  }
  const suffix = m[3].toLowerCase();
  if (!suffix.startsWith('blob.')) {
    throw new Error(
      `WASBS URI '${uri}': the host must be a blob endpoint (<account>.blob.core.windows.net).`,
    );
  }
  const prefix = (m[4] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && prefix.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`WASBS URI '${uri}': the blob prefix must not contain empty, '.' or '..' segments.`);
  }
  return { container: m[1], account: m[2].toLowerCase(), suffix, prefix };
}

/** How the client authenticates; from the environment by default (azureSettingsFromEnv). */
export interface AzureBlobSettings {
  /** A full connection string (account, key or SAS, and endpoint); wins over accessKey. */
  connectionString?: string;
  /** The shared key of the account named in the URI. */
  accessKey?: string;
}

/** MLflow's variables: AZURE_STORAGE_CONNECTION_STRING, then AZURE_STORAGE_ACCESS_KEY. */
export function azureSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AzureBlobSettings {
  return {
    connectionString: env.AZURE_STORAGE_CONNECTION_STRING || undefined,
    accessKey: env.AZURE_STORAGE_ACCESS_KEY || undefined,
  };
}

/** Builds the service client for an account from settings; throws when there are no credentials. */
export function createBlobServiceClient(
  target: Pick<WasbsUri, 'account' | 'suffix'>,
  settings: AzureBlobSettings,
): BlobServiceClient {
  if (settings.connectionString) return BlobServiceClient.fromConnectionString(settings.connectionString);
  if (settings.accessKey) {
    return new BlobServiceClient(
      `https://${target.account}.${target.suffix}`,
      new StorageSharedKeyCredential(target.account, settings.accessKey),
    );
  }
  throw new Error(
    'Azure Blob Storage artifacts need credentials: set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCESS_KEY.',
  );
}

const clients = new Map<string, BlobServiceClient>();

/** One client per account and settings, shared by every repository that uses them. */
function sharedClient(target: WasbsUri, settings: AzureBlobSettings): BlobServiceClient {
  const key = JSON.stringify([
    settings.connectionString ? '' : `${target.account}.${target.suffix}`,
    settings,
  ]);
  let client = clients.get(key);
  if (!client) {
    client = createBlobServiceClient(target, settings);
    clients.set(key, client);
  }
  return client;
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

/** Parses `bytes a-b/size` from a ranged download. */
function parseContentRange(
  header: string | undefined,
): { start: number; end: number; size: number } | undefined {
  const m = header && /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim());
  return m ? { start: Number(m[1]), end: Number(m[2]), size: Number(m[3]) } : undefined;
}

/** How long the signed part URLs of a multipart upload stay valid (as MLflow: one hour). */
const PART_URL_EXPIRY_MS = 60 * 60 * 1000;

/**
 * The block id of a part. Azure wants every block id of a blob to have the same length, and two
 * uploads of the same file at once must not overwrite each other's blocks: so the upload's own id,
 * then the part number at a fixed width, in base64 as the Blob API takes it.
 */
function blockId(uploadId: string, partNumber: number): string {
  return Buffer.from(`${uploadId}-${String(partNumber).padStart(5, '0')}`).toString('base64');
}

/** Blobs deleted at the same time when a folder is removed. */
const DELETE_CONCURRENCY = 16;

export interface AzureBlobArtifactRepositoryOptions {
  /** Credentials; default from the environment (azureSettingsFromEnv). */
  settings?: AzureBlobSettings;
  /** A ready client (tests); takes precedence over settings. */
  client?: BlobServiceClient;
  /** Size of each block of an upload, in bytes; default 4 MiB. */
  blockSize?: number;
  /** Blocks uploaded at the same time (each holds a buffer of blockSize); default 2. */
  concurrency?: number;
  /** Most entries per listing page (tests use small pages); default the service's (5000). */
  pageSize?: number;
}

/** Artifacts as blobs below `wasbs://container@account.blob.core.windows.net/prefix`. */
export class AzureBlobArtifactRepository implements MultipartUploadRepository {
  readonly root: string;
  readonly container: string;
  /** Blob name prefix of the root, without a trailing '/'; '' for the whole container. */
  readonly prefix: string;
  private readonly containerClient: ContainerClient;
  private readonly blockSize: number;
  private readonly concurrency: number;
  private readonly pageSize: number | undefined;

  constructor(uri: string, options: AzureBlobArtifactRepositoryOptions = {}) {
    const parsed = parseWasbsUri(uri);
    this.container = parsed.container;
    this.prefix = parsed.prefix;
    this.root = `wasbs://${parsed.container}@${parsed.account}.${parsed.suffix}${parsed.prefix ? `/${parsed.prefix}` : ''}`;
    const service = options.client ?? sharedClient(parsed, options.settings ?? azureSettingsFromEnv());
    this.containerClient = service.getContainerClient(parsed.container);
    this.blockSize = Math.max(options.blockSize ?? 4 * 1024 * 1024, 64 * 1024);
    this.concurrency = Math.max(options.concurrency ?? 2, 1);
    this.pageSize = options.pageSize;
  }

  /** The blob name of a checked relative path ('' is the root itself). */
  private blobName(rel: string): string {
    return keyUnderPrefix(this.prefix, rel);
  }

  async list(relative: string): Promise<FileInfo[]> {
    const rel = safeArtifactPath(relative, { allowRoot: true });
    const base = this.blobName(rel);
    const listPrefix = base ? `${base}/` : '';
    const infos: FileInfo[] = [];
    const child = (name: string) => (rel ? `${rel}/${name}` : name);
    const pages = this.containerClient
      .listBlobsByHierarchy('/', { prefix: listPrefix })
      .byPage(this.pageSize ? { maxPageSize: this.pageSize } : {});
    for await (const page of pages) {
      for (const folder of page.segment.blobPrefixes ?? []) {
        if (!folder.name.startsWith(listPrefix)) continue;
        const name = folder.name.slice(listPrefix.length).replace(/\/$/, '');
        // Names with doubled separators ('a//b') would show as a nameless folder: not addressable here.
        if (name) infos.push({ path: child(name), is_dir: true });
      }
      for (const blob of page.segment.blobItems) {
        if (!blob.name.startsWith(listPrefix)) continue;
        const name = blob.name.slice(listPrefix.length);
        // A blob named like the folder itself (a folder marker) is not a file of it.
        if (name)
          infos.push({
            path: child(name),
            is_dir: false,
            file_size: Number(blob.properties.contentLength ?? 0),
          });
      }
    }
    return infos.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Size of a blob, for suffix ranges and unsatisfiable ones. */
  private async size(name: string, rel: string): Promise<number> {
    try {
      const props = await this.containerClient.getBlobClient(name).getProperties();
      return Number(props.contentLength ?? 0);
    } catch (error) {
      if (statusOf(error) === 404) throw MlflowError.notFound(`No such file or directory: '${rel}'`);
      throw error;
    }
  }

  async openRead(relative: string, range?: ReadRange): Promise<ArtifactRead> {
    const rel = safeArtifactPath(relative);
    const name = this.blobName(rel);
    const blob = this.containerClient.getBlobClient(name);
    // Azure takes an offset and a count: a suffix range needs the size first.
    let offset = 0;
    let count: number | undefined;
    if (range?.kind === 'suffix') {
      const span = resolveRange(range, await this.size(name, rel));
      offset = span.start;
      count = span.end - span.start + 1;
    } else if (range) {
      offset = range.start;
      count = range.end === undefined ? undefined : range.end - range.start + 1;
      if (count !== undefined && count <= 0) throw new RangeNotSatisfiableError(await this.size(name, rel));
    }
    let out: BlobDownloadResponseParsed;
    try {
      // A range needs an offset or a count; reading from 0 without either fetches the whole blob.
      out = await blob.download(offset, count, { maxRetryRequests: 3 });
    } catch (error) {
      if (statusOf(error) === 416 || codeOf(error) === 'InvalidRange') {
        const size = await this.size(name, rel);
        // An empty blob refuses every range; resolveRange gives the same verdict as a local file.
        resolveRange(range, size);
        throw new RangeNotSatisfiableError(size);
      }
      if (statusOf(error) === 404) throw MlflowError.notFound(`No such file or directory: '${rel}'`);
      throw error;
    }
    const stream = (out.readableStreamBody as Readable | undefined) ?? ReadableStream.from([]);
    const span = parseContentRange(out.contentRange);
    if (span && span.start >= span.size) {
      // Azure answers 416 for a start past the end; some emulators (Azurite) send an empty 206 instead.
      stream.destroy();
      throw new RangeNotSatisfiableError(span.size);
    }
    if (span) return { stream, size: span.size, start: span.start, end: span.end };
    if (offset > 0) {
      stream.destroy();
      throw new Error(`Azure Blob Storage ignored the byte range asked for '${rel}'.`);
    }
    // No Content-Range: the whole blob was sent.
    const size = Number(out.contentLength ?? 0);
    return { stream, size, start: 0, end: size - 1 };
  }

  async write(relative: string, body: Readable): Promise<void> {
    const rel = safeArtifactPath(relative);
    // Staged blocks, then one commit of the block list: the blob changes only at the commit, so readers
    // see the old blob or the complete new one, and a failed upload commits nothing (Azure discards
    // uncommitted blocks). At most `concurrency` + 1 buffers of `blockSize` are held in memory.
    const blob = this.containerClient.getBlockBlobClient(this.blobName(rel));
    // The body may fail before the upload reads it: make sure that error is the one reported.
    let bodyError: unknown;
    const onError = (error: unknown) => {
      bodyError ??= error;
    };
    body.on('error', onError);
    try {
      await blob.uploadStream(body, this.blockSize, this.concurrency);
    } catch (error) {
      throw bodyError ?? error;
    } finally {
      body.off('error', onError);
    }
    if (bodyError) throw bodyError;
  }

  async delete(relative: string): Promise<void> {
    const rel = safeArtifactPath(relative);
    const name = this.blobName(rel);
    // Everything below the folder of that name, then the blob of that name itself.
    const below = `${name}/`;
    const pages = this.containerClient
      .listBlobsFlat({ prefix: below })
      .byPage(this.pageSize ? { maxPageSize: this.pageSize } : {});
    for await (const page of pages) {
      const names = page.segment.blobItems.map((b) => b.name).filter((n) => n.startsWith(below));
      for (let i = 0; i < names.length; i += DELETE_CONCURRENCY) {
        await Promise.all(
          names
            .slice(i, i + DELETE_CONCURRENCY)
            .map((n) => this.containerClient.getBlobClient(n).deleteIfExists({ deleteSnapshots: 'include' })),
        );
      }
    }
    await this.containerClient.getBlobClient(name).deleteIfExists({ deleteSnapshots: 'include' });
  }

  // Multipart uploads driven by a client, as MLflow does them on Azure: each part is a block the client
  // stages with Put Block at a URL signed with a SAS, and completing commits the block list. Nothing is
  // visible until the commit; uncommitted blocks are discarded by Azure after a week.

  async createMultipartUpload(relative: string, numParts: number): Promise<CreatedMultipartUpload> {
    const rel = safeArtifactPath(relative);
    const blob = this.containerClient.getBlockBlobClient(this.blobName(rel));
    if (!(blob.credential instanceof StorageSharedKeyCredential)) {
      throw new MlflowError(
        'NOT_IMPLEMENTED',
        'Multipart uploads to Azure Blob Storage need the account key to sign the part URLs: configure the server with AZURE_STORAGE_CONNECTION_STRING including AccountKey, or AZURE_STORAGE_ACCESS_KEY.',
      );
    }
    const signed = await blob.generateSasUrl({
      permissions: BlobSASPermissions.parse('rw'),
      expiresOn: new Date(Date.now() + PART_URL_EXPIRY_MS),
    });
    const sas = signed.slice(signed.indexOf('?') + 1);
    const uploadId = randomBytes(12).toString('hex');
    const credentials = [];
    for (let part = 1; part <= numParts; part++) {
      const id = encodeURIComponent(blockId(uploadId, part));
      credentials.push({
        url: `${blob.url}?comp=block&blockid=${id}&${sas}`,
        part_number: part,
        headers: {},
      });
    }
    return { upload_id: uploadId, credentials };
  }

  async completeMultipartUpload(
    relative: string,
    uploadId: string | undefined,
    parts: MultipartUploadPart[],
  ): Promise<void> {
    const rel = safeArtifactPath(relative);
    const blob = this.containerClient.getBlockBlobClient(this.blobName(rel));
    const ordered = [...parts].sort((a, b) => a.part_number - b.part_number);
    // MLflow's clients send each part's URL, which names its block; without one the block id follows
    // from the upload id.
    const ids = ordered.map((part, i) => {
      const fromUrl =
        part.url && URL.canParse(part.url) ? new URL(part.url).searchParams.get('blockid') : null;
      if (fromUrl) return fromUrl;
      if (uploadId) return blockId(uploadId, part.part_number);
      throw MlflowError.invalidParameter(
        `Part ${i + 1} of the multipart upload has no url naming its block, and no upload_id was given.`,
      );
    });
    try {
      await blob.commitBlockList(ids);
    } catch (error) {
      if (statusOf(error) === 400) {
        throw MlflowError.invalidParameter(
          `The multipart upload cannot be completed: ${codeOf(error) ?? 'InvalidBlockList'}: not every part was uploaded.`,
        );
      }
      throw error;
    }
  }

  /** Nothing to do, as in MLflow: Azure cannot delete staged blocks, and discards them after a week. */
  async abortMultipartUpload(relative: string, _uploadId: string | undefined): Promise<void> {
    safeArtifactPath(relative);
  }
}
