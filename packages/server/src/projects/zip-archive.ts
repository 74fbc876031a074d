import {
  createWriteStream,
  lstatSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { ExecutionError } from './execution-error.js';

// Links are resolved with realpath(3) (realpathSync.native): Node's own realpathSync treats `a/..`
// lexically, which is not where the kernel would lead through a link `a`.
//
// Unpacks a project's .zip archive into a fresh directory without letting the archive write anywhere
// else: names that climb out (`../x`, `/etc/x`, `C:\x`) refuse the whole archive, and symbolic links are
// created only after every file is written (so no file is written through one) and only when they
// resolve inside the destination.

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
/** Creator systems whose external attributes carry Unix mode bits in the high 16 bits. */
const UNIX_CREATORS = new Set([3, 19]); // Unix, OS X
/** A link target longer than this is not a path. */
const MAX_LINK_TARGET = 4096;

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return (
    relative === '' ||
    (!relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative))
  );
}

function unixMode(entry: yauzl.Entry): number {
  return UNIX_CREATORS.has(entry.versionMadeBy >> 8) ? (entry.externalFileAttributes >>> 16) & 0xffff : 0;
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      break;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).subarray(0, limit + 1);
}

/** yauzl leaves CRC-32 checking to its caller; a damaged entry must not become a project file. */
function crcCheck(entry: yauzl.Entry, label: string): Transform {
  let crc = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
    flush(done) {
      done(
        crc === entry.crc32 ? null : refused(label, `the entry ${entry.fileName} is damaged (bad CRC-32)`),
      );
    },
  });
}

function refused(label: string, reason: string): ExecutionError {
  return new ExecutionError(`Refusing to unpack the ZIP archive ${label}: ${reason}`);
}

/**
 * Unpacks the archive `file` into the existing empty directory `dest`. `label` names the archive in
 * errors (the URI the user gave). Executable bits are kept; set-id bits are not. On any error the
 * partial contents are removed and an ExecutionError says what was wrong with the archive.
 */
export async function extractZip(file: string, dest: string, label: string): Promise<void> {
  try {
    await unpack(file, dest, label);
  } catch (error) {
    for (const entry of safeReaddir(dest)) rmSync(path.join(dest, entry), { recursive: true, force: true });
    if (error instanceof ExecutionError) throw error;
    throw new ExecutionError(`Could not read the ZIP archive ${label}: ${(error as Error).message}`);
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function unpack(file: string, dest: string, label: string): Promise<void> {
  const root = realpathSync.native(dest);
  let zip: yauzl.ZipFile;
  try {
    // decodeStrings makes yauzl itself refuse absolute names and `..` components.
    zip = await yauzl.openPromise(file, { decodeStrings: true, validateEntrySizes: true });
  } catch (error) {
    throw new ExecutionError(`${label} is not a valid ZIP archive: ${(error as Error).message}`);
  }
  const links: Array<{ name: string; target: string }> = [];
  try {
    for await (const entry of zip.eachEntry()) {
      const name = entry.fileName;
      const target = path.resolve(root, name);
      if (!isInside(root, target))
        throw refused(label, `the entry ${name} would be written outside the project`);
      const mode = unixMode(entry);
      const type = mode & S_IFMT;
      if (name.endsWith('/') || type === S_IFDIR) {
        mkdirSync(target, { recursive: true });
        continue;
      }
      if (entry.isEncrypted()) throw refused(label, `the entry ${name} is encrypted`);
      if (!entry.canDecodeFileData())
        throw refused(
          label,
          `the entry ${name} uses compression method ${entry.compressionMethod}, which is not supported`,
        );
      if (type === S_IFLNK) {
        const bytes = await readAll(await zip.openReadStreamPromise(entry), MAX_LINK_TARGET);
        if (bytes.length > MAX_LINK_TARGET)
          throw refused(label, `the symbolic link ${name} has an overlong target`);
        links.push({ name, target: bytes.toString('utf8') });
        continue;
      }
      if (type !== 0 && type !== S_IFREG)
        throw refused(label, `the entry ${name} is not a file, directory or link`);
      mkdirSync(path.dirname(target), { recursive: true });
      const fileMode = mode & 0o111 ? 0o755 : 0o644;
      await pipeline(
        await zip.openReadStreamPromise(entry),
        crcCheck(entry, label),
        createWriteStream(target, { mode: fileMode }),
      );
    }
  } finally {
    zip.close();
  }
  for (const link of links) createLink(root, link, label);
  for (const link of links) checkLink(root, link, label);
}

/** Creates a link whose own location and lexical target are inside `root`. */
function createLink(root: string, link: { name: string; target: string }, label: string): void {
  if (link.target === '' || link.target.includes('\0') || path.isAbsolute(link.target))
    throw refused(label, `the symbolic link ${link.name} points to ${link.target || 'nothing'}`);
  const at = path.resolve(root, link.name);
  const parent = path.dirname(at);
  // Directories are made only below a place that really is inside `root` (an earlier link in the
  // path could lead elsewhere).
  let existing = parent;
  while (!lstatSync(existing, { throwIfNoEntry: false })) existing = path.dirname(existing);
  let realExisting: string;
  try {
    realExisting = realpathSync.native(existing);
  } catch {
    throw refused(label, `the symbolic link ${link.name} is placed under a link that leads nowhere`);
  }
  if (!isInside(root, realExisting))
    throw refused(
      label,
      `the symbolic link ${link.name} is placed under a link that leads outside the project`,
    );
  mkdirSync(parent, { recursive: true });
  if (lstatSync(at, { throwIfNoEntry: false }))
    throw refused(label, `the symbolic link ${link.name} has the name of another entry`);
  // The parent may be reached through a link made just before; what counts is where it really is.
  const realParent = realpathSync.native(parent);
  if (!isInside(root, realParent) || !isInside(root, path.resolve(realParent, link.target)))
    throw refused(label, `the symbolic link ${link.name} points outside the project (${link.target})`);
  symlinkSync(link.target, path.join(realParent, path.basename(at)));
}

/** After all links exist: each must resolve, through any chain of links, to a place inside `root`. */
function checkLink(root: string, link: { name: string; target: string }, label: string): void {
  const at = path.resolve(root, link.name);
  let real: string;
  try {
    real = realpathSync.native(at);
  } catch {
    // A dangling link could later be written through to anywhere its chain leads.
    throw refused(
      label,
      `the symbolic link ${link.name} points to ${link.target}, which is not in the archive`,
    );
  }
  if (!isInside(root, real))
    throw refused(label, `the symbolic link ${link.name} points outside the project (${link.target})`);
}
