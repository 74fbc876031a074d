import type { FileInfo } from './entities.js';
import { MlflowError } from './errors.js';
import { type BodySource, need, platform } from './platform.js';
import type { RestTransport } from './rest.js';

/** Data to upload: bytes, text, a Blob/File (browsers), or a factory giving a fresh body per attempt. */
export type ArtifactData = Uint8Array | ArrayBuffer | Blob | string | BodySource;

const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

function encodePath(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/');
}

export function joinArtifactPath(...parts: (string | undefined)[]): string {
  return parts
    .filter((p): p is string => p !== undefined && p !== '')
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter((p) => p !== '')
    .join('/');
}

function bodySource(data: ArtifactData): BodySource {
  if (typeof data === 'function') return data;
  if (typeof data === 'string') {
    const bytes = new TextEncoder().encode(data);
    return () => bytes;
  }
  return () => data as BodyInit;
}

/**
 * A run's artifact root reached over HTTP through the server's artifact proxy (mlflow-artifacts:/ URIs,
 * as a server started with --serve-artifacts hands out) or a plain http(s) artifact URI.
 */
export class RunArtifacts {
  private readonly base: string;

  constructor(
    private readonly transport: RestTransport,
    readonly artifactUri: string,
  ) {
    this.base = RunArtifacts.baseUrl(transport.baseUrl, artifactUri);
  }

  /** The URL below which the artifacts of `artifactUri` are served. */
  static baseUrl(trackingUri: string, artifactUri: string): string {
    const m = /^mlflow-artifacts:(?:\/\/([^/]+))?(\/.*)?$/.exec(artifactUri);
    if (m) {
      const tracking = new URL(trackingUri);
      const origin = m[1] ? `${tracking.protocol}//${m[1]}` : trackingUri.replace(/\/+$/, '');
      const root = encodePath(m[2] ?? '');
      return `${origin}${PROXY}${root ? `/${root}` : ''}`;
    }
    if (/^https?:\/\//.test(artifactUri)) return artifactUri.replace(/\/+$/, '');
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Artifact URI '${artifactUri}' cannot be reached over HTTP. Start the tracking server with --serve-artifacts (the default) so runs get mlflow-artifacts:/ URIs, or read the store directly.`,
      0,
    );
  }

  private pathOf(url: string): string {
    return url.startsWith(this.transport.baseUrl) ? url.slice(this.transport.baseUrl.length) : url;
  }

  private fileUrl(path: string): string {
    // fetch would resolve '..' inside the URL before sending it, escaping the run's artifact root.
    if (path.split(/[\\/]/).some((s) => s === '..' || s === '.')) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `Invalid artifact path '${path}': '.' and '..' are not allowed.`,
        0,
      );
    }
    const rel = encodePath(path);
    if (!rel) throw new MlflowError('INVALID_PARAMETER_VALUE', 'An artifact path is required.', 0);
    return `${this.base}/${rel}`;
  }

  /** Lists one directory of the run's artifacts; entry paths are relative to the artifact root. */
  async list(path = ''): Promise<FileInfo[]> {
    const proxyIndex = this.base.indexOf(PROXY);
    let response: Response;
    if (proxyIndex >= 0) {
      const root = decodeURIComponent(this.base.slice(proxyIndex + PROXY.length).replace(/^\//, ''));
      const listUrl = this.base.slice(0, proxyIndex + PROXY.length);
      response = await this.request(listUrl, {
        method: 'GET',
        query: { path: joinArtifactPath(root, path) },
      });
    } else {
      response = await this.request(this.base, { method: 'GET', query: { path } });
    }
    const body = (await response.json()) as { files?: FileInfo[] };
    return (body.files ?? []).map((f) => ({
      ...f,
      path: joinArtifactPath(path, f.path.slice(f.path.lastIndexOf('/') + 1)),
    }));
  }

  /** Every file below `path`, walking directories. */
  async listAll(path = ''): Promise<FileInfo[]> {
    const out: FileInfo[] = [];
    for (const entry of await this.list(path)) {
      if (entry.is_dir) out.push(...(await this.listAll(entry.path)));
      else out.push(entry);
    }
    return out;
  }

  /** Uploads `data` as the file `path` (relative to the artifact root). */
  async upload(path: string, data: ArtifactData): Promise<void> {
    const response = await this.request(this.fileUrl(path), {
      method: 'PUT',
      body: bodySource(data),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    await response.body?.cancel().catch(() => {});
  }

  /** Opens one file; the response body streams it (a fetch Response, as in browsers). */
  open(path: string): Promise<Response> {
    return this.request(this.fileUrl(path), { method: 'GET' });
  }

  async readBytes(path: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.open(path)).arrayBuffer());
  }

  async readText(path: string): Promise<string> {
    return (await this.open(path)).text();
  }

  async readBlob(path: string): Promise<Blob> {
    return (await this.open(path)).blob();
  }

  /** Deletes a file or directory through the proxy. */
  async delete(path: string): Promise<void> {
    const response = await this.request(this.fileUrl(path), { method: 'DELETE' });
    await response.body?.cancel().catch(() => {});
  }

  /**
   * Node only: uploads a local file or directory below `artifactPath` (a file keeps its base name; a
   * directory's contents keep their relative paths). Returns the artifact paths written.
   */
  async uploadLocal(localPath: string, artifactPath?: string): Promise<string[]> {
    const isDirectory = need('isDirectory', 'Uploading a local path');
    if (await isDirectory(localPath)) {
      const written: string[] = [];
      for (const file of await need('listFiles', 'Uploading a directory')(localPath)) {
        const dest = joinArtifactPath(artifactPath, file.relativePath);
        const { body } = await need('fileBody', 'Uploading a file')(file.absolutePath);
        await this.upload(dest, body);
        written.push(dest);
      }
      return written;
    }
    const name = localPath.split(/[\\/]/).pop() ?? localPath;
    const dest = joinArtifactPath(artifactPath, name);
    const { body } = await need('fileBody', 'Uploading a file')(localPath);
    await this.upload(dest, body);
    return [dest];
  }

  /**
   * Node only: downloads the file or directory `path` into `dstDir` (a fresh temporary directory when
   * omitted), streaming each file to disk. Returns the local path of what was downloaded.
   */
  async downloadLocal(
    path: string,
    dstDir?: string,
    onFile?: (artifactPath: string, bytes: number) => void,
  ): Promise<string> {
    const join = need('joinPath', 'Downloading artifacts');
    const write = need('writeFile', 'Downloading artifacts');
    const dir = dstDir ?? (await need('tempDir', 'Downloading artifacts')());
    const clean = joinArtifactPath(path);
    // A path is a directory when listing it yields entries (MLflow decides the same way).
    const entries = clean === '' ? await this.listAll('') : await this.listAll(clean).catch(() => []);
    if (clean !== '' && entries.length === 0) {
      const parent = clean.includes('/') ? clean.slice(0, clean.lastIndexOf('/')) : '';
      const siblings = await this.list(parent);
      const self = siblings.find((f) => f.path === clean);
      if (self?.is_dir) return join(dir, ...clean.split('/'));
      const target = join(dir, ...clean.split('/'));
      const bytes = await write(target, (await this.open(clean)).body);
      onFile?.(clean, bytes);
      return target;
    }
    for (const entry of entries) {
      const target = join(dir, ...entry.path.split('/'));
      const bytes = await write(target, (await this.open(entry.path)).body);
      onFile?.(entry.path, bytes);
    }
    return clean === '' ? dir : join(dir, ...clean.split('/'));
  }

  private request(url: string, options: Parameters<RestTransport['request']>[1]): Promise<Response> {
    return this.transport.request(this.pathOf(url), options);
  }
}

/** Whether the runtime can read local files (the Node entry was loaded). */
export function hasLocalFiles(): boolean {
  return platform().fileBody !== undefined;
}
