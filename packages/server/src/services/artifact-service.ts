import { Readable } from 'node:stream';
import {
  type ArtifactRead,
  type ArtifactRepository,
  type CreatedMultipartUpload,
  type FileInfo,
  type MultipartUploadPart,
  type MultipartUploadRepository,
  type ReadRange,
  supportsMultipartUpload,
} from '../artifacts/artifact-repository.js';
import { proxiedArtifactPath, uriScheme } from '../artifacts/artifact-uri.js';
import { openArtifactRepository } from '../artifacts/open-artifact-repository.js';
import { safeArtifactPath } from '../artifacts/safe-path.js';
import { MlflowError } from '../entities/errors.js';
import type { Run } from '../entities/tracking.js';
import type { ArtifactReservationLedger } from '../store/artifact-reservation-repository.js';
import { ArtifactQuota } from './artifact-quota.js';

/** MLflow's refusal of a multipart upload; its clients test for this prefix to fall back. */
const MULTIPART_UNSUPPORTED = 'Multipart upload is not supported for the current artifact repository';

/** Opens the repository for a --artifacts-destination URI: a local directory, s3://bucket/prefix or
 * wasbs://container@account.blob.core.windows.net/prefix. */
export function openArtifactDestination(uri: string): ArtifactRepository {
  const repo = openArtifactRepository(uri);
  if (repo) return repo;
  throw new Error(
    `artifact destination '${uri}': the '${uriScheme(uri)}' scheme is not supported yet; use a local directory, s3://bucket/prefix or wasbs://container@account.blob.core.windows.net/prefix.`,
  );
}

export interface ArtifactServiceOptions {
  /** The repository behind the mlflow-artifacts proxy; absent with --no-serve-artifacts. */
  proxy?: ArtifactRepository;
  /** Looks a run up (the tracking service); absent on an --artifacts-only server. */
  getRun?: (runId: string) => Promise<Run>;
  /** The artifact_bytes_per_run quota on proxied uploads; absent: none. */
  artifactBytesPerRun?: number;
  /** Where the quota reserves room for uploads in flight (the store's); absent: in this process. */
  reservations?: ArtifactReservationLedger;
}

/** Where a run's artifacts live: a repository and the path of the run's root inside it. */
interface RunArtifacts {
  rootUri: string;
  repo: ArtifactRepository;
  prefix: string;
}

function join(prefix: string, rel: string): string {
  return prefix && rel ? `${prefix}/${rel}` : prefix || rel;
}

/** The artifact rules: the proxy (mlflow-artifacts API) and the artifacts of runs. */
export class ArtifactService {
  private readonly quota?: ArtifactQuota;

  constructor(private readonly options: ArtifactServiceOptions) {
    if (options.proxy && options.artifactBytesPerRun !== undefined) {
      this.quota = new ArtifactQuota(options.artifactBytesPerRun, options.proxy, options.reservations);
    }
  }

  get serving(): boolean {
    return this.options.proxy !== undefined;
  }

  /** Whether the proxy takes multipart uploads (its destination is an object store that has them). */
  get multipartUploads(): boolean {
    return this.options.proxy !== undefined && supportsMultipartUpload(this.options.proxy);
  }

  private proxy(): ArtifactRepository {
    if (!this.options.proxy)
      throw new MlflowError('FEATURE_DISABLED', 'This server does not serve artifacts.');
    return this.options.proxy;
  }

  // --- the proxy: paths relative to --artifacts-destination ---

  /** Lists a folder of the destination; entries carry their base names, as MLflow's proxy does. */
  async proxyList(path: string | undefined): Promise<FileInfo[]> {
    const rel = safeArtifactPath(path ?? '', { allowRoot: true });
    const files = await this.proxy().list(rel);
    return files.map((f) => ({ ...f, path: f.path.slice(f.path.lastIndexOf('/') + 1) }));
  }

  proxyRead(path: string, range?: ReadRange): Promise<ArtifactRead> {
    return this.proxy().openRead(safeArtifactPath(path), range);
  }

  /** Stores an upload; `declaredBytes` (its Content-Length, when sent) lets the quota refuse it unread. */
  async proxyWrite(path: string, body: Readable, declaredBytes?: number): Promise<void> {
    const rel = safeArtifactPath(path);
    const repo = this.proxy();
    if (!this.quota) return repo.write(rel, body);
    const admission = await this.quota.admit(rel, declaredBytes);
    if (!admission.cap) return repo.write(rel, body);
    const guard = this.quota.guard(admission);
    body.on('error', (error) => guard.destroy(error));
    // Refused midway: the rest of the body is read and dropped, so the answer can still be sent.
    guard.on('error', () => {
      body.unpipe(guard);
      body.resume();
    });
    let landed: number | undefined;
    try {
      await repo.write(rel, body.pipe(guard));
      landed = guard.bytes;
    } finally {
      await admission.release(landed);
    }
  }

  proxyDelete(path: string): Promise<void> {
    return this.proxy().delete(safeArtifactPath(path));
  }

  // --- multipart uploads through the proxy (MLflow's mpu/create, mpu/complete, mpu/abort) ---

  /**
   * The proxy's multipart uploads, refused for `target` where they cannot be counted: their parts go
   * straight to storage, past the quota's byte count. MLflow's clients fall back to a single upload
   * (which the quota counts) when the refusal's message starts with MLflow's own wording. Aborting
   * (no target given) is always allowed.
   */
  private multipartProxy(target?: string): MultipartUploadRepository {
    const repo = this.proxy();
    if (!supportsMultipartUpload(repo)) {
      throw new MlflowError('NOT_IMPLEMENTED', MULTIPART_UNSUPPORTED);
    }
    if (target !== undefined && this.quota?.covers(target)) {
      throw new MlflowError(
        'NOT_IMPLEMENTED',
        `${MULTIPART_UNSUPPORTED}: with an artifact_bytes_per_run limit, files go into a run's folder as single uploads, which the limit counts.`,
      );
    }
    return repo;
  }

  /**
   * The file a multipart upload writes, as MLflow names it: the base name of the client's file
   * (`fileName`, usually a local path) inside the folder `artifactPath`.
   */
  private multipartTarget(artifactPath: string, fileName: string): string {
    const dir = safeArtifactPath(artifactPath);
    const base = fileName.slice(fileName.lastIndexOf('/') + 1);
    if (base === '') throw MlflowError.invalidParameter(`Invalid path '${fileName}': it names no file.`);
    return safeArtifactPath(`${dir}/${base}`);
  }

  proxyCreateMultipartUpload(
    artifactPath: string,
    fileName: string,
    numParts: number,
  ): Promise<CreatedMultipartUpload> {
    const target = this.multipartTarget(artifactPath, fileName);
    return this.multipartProxy(target).createMultipartUpload(target, numParts);
  }

  proxyCompleteMultipartUpload(
    artifactPath: string,
    fileName: string,
    uploadId: string | undefined,
    parts: MultipartUploadPart[],
  ): Promise<void> {
    const target = this.multipartTarget(artifactPath, fileName);
    return this.multipartProxy(target).completeMultipartUpload(target, uploadId, parts);
  }

  proxyAbortMultipartUpload(
    artifactPath: string,
    fileName: string,
    uploadId: string | undefined,
  ): Promise<void> {
    const target = this.multipartTarget(artifactPath, fileName);
    return this.multipartProxy().abortMultipartUpload(target, uploadId);
  }

  // --- runs ---

  private async runArtifacts(runId: string): Promise<RunArtifacts> {
    if (!this.options.getRun) throw new MlflowError('FEATURE_DISABLED', 'This server has no tracking store.');
    const rootUri = (await this.options.getRun(runId)).info.artifact_uri;
    return this.artifactsAt(rootUri, `run '${runId}'`);
  }

  /** The repository and prefix of an artifact root URI (a run's or a logged model's); `owner` names it in errors. */
  private artifactsAt(rootUri: string, owner: string): RunArtifacts {
    const proxied = proxiedArtifactPath(rootUri);
    if (proxied !== undefined && this.options.proxy) {
      return { rootUri, repo: this.options.proxy, prefix: safeArtifactPath(proxied, { allowRoot: true }) };
    }
    const direct = proxied === undefined ? openArtifactRepository(rootUri) : undefined;
    if (direct) return { rootUri, repo: direct, prefix: '' };
    throw new MlflowError(
      'NOT_IMPLEMENTED',
      proxied !== undefined
        ? `The artifacts of ${owner} are proxied (${rootUri}), but this server does not serve artifacts.`
        : `The artifacts of ${owner} are stored at ${rootUri}; the '${uriScheme(rootUri)}' scheme is not supported by this server yet.`,
    );
  }

  private static async listUnder(place: RunArtifacts, path: string | undefined) {
    const rel = path === undefined ? '' : safeArtifactPath(path, { allowRoot: true });
    const files = await place.repo.list(join(place.prefix, rel));
    const strip = place.prefix ? place.prefix.length + 1 : 0;
    return { rootUri: place.rootUri, files: files.map((f) => ({ ...f, path: f.path.slice(strip) })) };
  }

  /**
   * The entries of one folder under a logged model's artifact location (MLflow's
   * ListLoggedModelArtifacts), with paths relative to that location.
   */
  async listLoggedModelArtifacts(
    modelId: string,
    artifactUri: string,
    path: string | undefined,
  ): Promise<{ rootUri: string; files: FileInfo[] }> {
    if (path !== undefined) safeArtifactPath(path, { allowRoot: true });
    return ArtifactService.listUnder(this.artifactsAt(artifactUri, `logged model '${modelId}'`), path);
  }

  /** One file of a logged model (the UI's logged-models/<id>/artifacts/files route). */
  async readLoggedModelArtifact(
    modelId: string,
    artifactUri: string,
    path: string,
    range?: ReadRange,
  ): Promise<ArtifactRead> {
    const rel = safeArtifactPath(path);
    const place = this.artifactsAt(artifactUri, `logged model '${modelId}'`);
    return place.repo.openRead(join(place.prefix, rel), range);
  }

  /**
   * One file below an artifact URI, such as a model version's storage location. A runs:/<run_id>/<path>
   * URI stands for <path> inside that run's artifacts, as MLflow's runs artifact repository reads it.
   */
  async readArtifactAt(rootUri: string, path: string, range?: ReadRange): Promise<ArtifactRead> {
    const rel = safeArtifactPath(path);
    const runs = /^runs:\/([^/]+)(?:\/(.*))?$/s.exec(rootUri);
    if (runs) {
      const inRun = runs[2] ? safeArtifactPath(runs[2].replace(/\/+$/, ''), { allowRoot: true }) : '';
      const run = await this.runArtifacts(runs[1]);
      return run.repo.openRead(join(join(run.prefix, inRun), rel), range);
    }
    const at = this.artifactsAt(rootUri, `'${rootUri}'`);
    return at.repo.openRead(join(at.prefix, rel), range);
  }

  /** A file below an artifact URI (a trace's traces.json) to be read as it arrives; undefined when missing. */
  async openAt(rootUri: string, path: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    try {
      return (await this.readArtifactAt(rootUri, path)).stream;
    } catch (e) {
      if (e instanceof MlflowError && e.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw e;
    }
  }

  /** MLflow's ListArtifacts: the entries of one folder of a run, with run-relative paths. */
  async listRunArtifacts(
    runId: string,
    path: string | undefined,
  ): Promise<{ rootUri: string; files: FileInfo[] }> {
    if (path !== undefined) safeArtifactPath(path, { allowRoot: true });
    return ArtifactService.listUnder(await this.runArtifacts(runId), path);
  }

  /** Writes one file into a run's artifacts (the UI's upload-artifact route). */
  async writeRunArtifact(runId: string, path: string, data: Buffer): Promise<void> {
    const rel = safeArtifactPath(path);
    const run = await this.runArtifacts(runId);
    const at = join(run.prefix, rel);
    // Kept in the proxy's destination: the same quota as proxied uploads.
    if (run.repo === this.options.proxy) return this.proxyWrite(at, Readable.from([data]), data.length);
    await run.repo.write(at, Readable.from([data]));
  }

  /** One file of a run (the get-artifact route). */
  async readRunArtifact(runId: string, path: string, range?: ReadRange): Promise<ArtifactRead> {
    const rel = safeArtifactPath(path);
    const run = await this.runArtifacts(runId);
    return run.repo.openRead(join(run.prefix, rel), range);
  }
}
