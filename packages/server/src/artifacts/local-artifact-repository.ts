import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { MlflowError } from '../entities/errors.js';
import {
  type ArtifactRead,
  type ArtifactRepository,
  type FileInfo,
  type ReadRange,
  resolveRange,
} from './artifact-repository.js';
import { invalidPath, isInside, realLocationInside, safeArtifactPath, UPLOAD_TEMP_DIR } from './safe-path.js';

/** The directory a local artifact URI names: a plain path or a file: URI. */
export function localArtifactDir(uri: string): string {
  if (uri.startsWith('file:')) {
    // file:///abs/path and file:/abs/path; a host other than localhost is not a local path.
    const url = new URL(
      uri.startsWith('file:///') || uri.startsWith('file://localhost/') ? uri : `file://${uri.slice(5)}`,
    );
    return fileURLToPath(url);
  }
  return path.resolve(uri);
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

const TEMP_SUFFIX = '.part';
/** The names of upload temporary files: 24 hex digits and the suffix. */
const TEMP_NAME = /^[0-9a-f]{24}\.part$/;

/** Longest file name (in UTF-8 bytes) and path Linux file systems take; longer ones fail with ENAMETOOLONG. */
const NAME_MAX = 255;
const PATH_MAX = 4096;

/** Refuses a path the file system cannot hold, so that it is the client's error rather than a 500. */
function checkNameLengths(absolute: string): void {
  const tooLong =
    Buffer.byteLength(absolute) >= PATH_MAX ||
    absolute.split(path.sep).some((name) => Buffer.byteLength(name) > NAME_MAX);
  if (tooLong) {
    throw MlflowError.invalidParameter(
      `Invalid path: a name in it is longer than ${NAME_MAX} bytes or the whole is longer than ${PATH_MAX} bytes, which the file system does not allow.`,
    );
  }
}

/** Artifacts as files below one local directory. */
export class LocalArtifactRepository implements ArtifactRepository {
  readonly root: string;
  private realRoot: string | undefined;

  constructor(rootDir: string) {
    this.root = path.resolve(rootDir);
  }

  /** The root after following symlinks; created on demand for writes, undefined while it is missing. */
  private async rootReal(create: boolean): Promise<string | undefined> {
    if (this.realRoot) return this.realRoot;
    if (create) await mkdir(this.root, { recursive: true });
    try {
      this.realRoot = await realpath(this.root);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    return this.realRoot;
  }

  /** The real absolute location of a checked relative path, refusing symlinks that leave the root. */
  private async locate(realRoot: string, relative: string): Promise<string> {
    const lexical = path.join(realRoot, ...relative.split('/').filter(Boolean));
    if (!isInside(realRoot, lexical)) throw invalidPath();
    checkNameLengths(lexical);
    return realLocationInside(realRoot, lexical);
  }

  async list(relative: string): Promise<FileInfo[]> {
    const rel = safeArtifactPath(relative, { allowRoot: true });
    const realRoot = await this.rootReal(false);
    if (!realRoot) return [];
    const dir = await this.locate(realRoot, rel);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw error;
    }
    const infos: FileInfo[] = [];
    for (const name of names) {
      if (rel === '' && name === UPLOAD_TEMP_DIR) continue;
      const full = path.join(dir, name);
      let entry = await lstat(full).catch(() => undefined);
      if (!entry) continue;
      if (entry.isSymbolicLink()) {
        // A link is listed as what it points to, and only when that lies inside the root.
        const target = await realpath(full).catch(() => undefined);
        if (!target || !isInside(realRoot, target)) continue;
        entry = await stat(target).catch(() => undefined);
        if (!entry) continue;
      }
      const itemPath = rel ? `${rel}/${name}` : name;
      if (entry.isDirectory()) infos.push({ path: itemPath, is_dir: true });
      else if (entry.isFile()) infos.push({ path: itemPath, is_dir: false, file_size: entry.size });
    }
    return infos.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async openRead(relative: string, range?: ReadRange): Promise<ArtifactRead> {
    const rel = safeArtifactPath(relative);
    const realRoot = await this.rootReal(false);
    const notFound = () => MlflowError.notFound(`No such file or directory: '${rel}'`);
    if (!realRoot) throw notFound();
    const file = await this.locate(realRoot, rel);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound();
      throw error;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw MlflowError.invalidParameter(`'${rel}' is a directory, not a file.`);
      const { start, end } = resolveRange(range, info.size);
      if (end < start) {
        // Nothing to send (an empty file).
        await handle.close();
        return { stream: Readable.from([]), size: info.size, start, end };
      }
      return {
        stream: handle.createReadStream({ start, end, highWaterMark: 1 << 20 }),
        size: info.size,
        start,
        end,
      };
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  async write(relative: string, body: Readable): Promise<void> {
    const rel = safeArtifactPath(relative);
    const realRoot = (await this.rootReal(true)) as string;
    // Check before receiving anything: the destination must not lead outside the root.
    await this.locate(realRoot, rel);
    const tempDir = path.join(realRoot, UPLOAD_TEMP_DIR);
    await mkdir(tempDir, { recursive: true });
    const temp = path.join(tempDir, `${randomBytes(12).toString('hex')}${TEMP_SUFFIX}`);
    try {
      await pipeline(body, createWriteStream(temp, { flags: 'wx' }));
      // The parent may have been created or replaced meanwhile: check again, then create and move.
      const target = await this.locate(realRoot, rel);
      const parent = path.dirname(target);
      try {
        await mkdir(parent, { recursive: true });
      } catch (error) {
        if (errnoCode(error) === 'EEXIST' || errnoCode(error) === 'ENOTDIR') {
          throw MlflowError.invalidParameter(`Cannot write '${rel}': a parent of it is a file.`);
        }
        throw error;
      }
      const placed = await this.locate(realRoot, rel);
      if ((await stat(placed).catch(() => undefined))?.isDirectory()) {
        throw MlflowError.invalidParameter(`Cannot write '${rel}': it is a directory.`);
      }
      await rename(temp, placed);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
  }

  /**
   * Removes upload temporary files that nobody has written to for `olderThanMs` (those of a server
   * killed mid-upload); returns how many. Age is the guard: several server processes may share this
   * root, and an upload in progress keeps its file's modification time fresh.
   */
  async sweepAbandonedUploads(olderThanMs: number, now = Date.now()): Promise<number> {
    const realRoot = await this.rootReal(false);
    if (!realRoot) return 0;
    const tempDir = path.join(realRoot, UPLOAD_TEMP_DIR);
    let names: string[];
    try {
      names = await readdir(tempDir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return 0;
      throw error;
    }
    let removed = 0;
    for (const name of names) {
      // Only names write() gives its files; anything else there is not ours to delete.
      if (!TEMP_NAME.test(name)) continue;
      const file = path.join(tempDir, name);
      const info = await lstat(file).catch(() => undefined);
      if (!info?.isFile() || info.mtimeMs > now - olderThanMs) continue;
      try {
        await unlink(file);
        removed++;
      } catch (error) {
        // Finished (renamed) or swept by another process meanwhile.
        if (errnoCode(error) !== 'ENOENT') throw error;
      }
    }
    return removed;
  }

  async delete(relative: string): Promise<void> {
    const rel = safeArtifactPath(relative);
    const realRoot = await this.rootReal(false);
    if (!realRoot) return;
    const lexical = path.join(realRoot, ...rel.split('/'));
    checkNameLengths(lexical);
    // The parent must resolve inside the root; the entry itself is removed, never followed.
    const target = path.join(
      await realLocationInside(realRoot, path.dirname(lexical)),
      path.basename(lexical),
    );
    if (!isInside(realRoot, target) || target === realRoot) throw invalidPath();
    try {
      await rm(target, { recursive: true, force: true });
    } catch (error) {
      // A path through a file (`a/b` where `a` is a file) names nothing, like a missing one.
      if (errnoCode(error) !== 'ENOTDIR') throw error;
    }
  }
}
