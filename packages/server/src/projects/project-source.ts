import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExecutionError } from './execution-error.js';
import { cloneRepository, gitInfo, isBranch } from './git.js';
import { downloadToFile } from './http-download.js';
import { extractZip } from './zip-archive.js';

// Where a project's files come from: a local directory used in place, a Git repository cloned into
// a fresh directory, or a .zip archive (local, file:// or http(s)) unpacked into a fresh directory.
// `uri#sub/dir` selects a directory inside any of them, as in MLflow.

export interface FetchedProject {
  /** The directory the project runs in (the sub-directory when one was given). */
  workDir: string;
  /** What tracking records as mlflow.source.name. */
  sourceName: string;
  /** The commit checked out, when the project is in a Git repository. */
  commit?: string;
  /** The first remote's URL (the cloned URI for a clone). */
  repoUrl?: string;
  /** The version when it names a branch (recorded as mlflow.source.git.branch). */
  branch?: string;
  /** True when the project was cloned or unpacked into a fresh temporary directory. */
  cloned: boolean;
}

/** Splits `uri#sub/dir`; a '.' in the sub-directory is refused (MLflow's rule, it blocks `..`). */
export function splitSubdirectory(uri: string): { uri: string; subdirectory: string } {
  const unquoted = uri.replace(/^['"]+|['"]+$/g, '');
  const hash = unquoted.indexOf('#');
  if (hash < 0) return { uri: unquoted, subdirectory: '' };
  const subdirectory = unquoted.slice(hash + 1);
  if (subdirectory.includes('.'))
    throw new ExecutionError("'.' is not allowed in project subdirectory paths.");
  return { uri: unquoted.slice(0, hash), subdirectory };
}

/** A plain path (no scheme) naming an existing directory. file:// URIs are cloned, as Git URIs. */
function localDirectory(uri: string): string | undefined {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(uri) || /^[^/]+@[^/]+:/.test(uri)) return undefined;
  const resolved = path.resolve(uri);
  return existsSync(resolved) && statSync(resolved).isDirectory() ? resolved : undefined;
}

/** True for what git can clone: https/http/ssh/git/file URLs and scp-like user@host:path. */
export function isGitUri(uri: string): boolean {
  return /^(https?|ssh|git|file|git\+ssh):\/\//i.test(uri) || /^[^/\s]+@[^/\s]+:/.test(uri);
}

/** MLflow's test for an archive: the URI (without its #sub/dir) ends in .zip. */
export function isZipUri(uri: string): boolean {
  return /.\.zip$/i.test(uri);
}

/**
 * Unpacks the archive named by `base` (a path, a file:// URI or an http(s) URL) into a fresh temporary
 * directory, as MLflow does for zip URIs. A downloaded archive is removed once unpacked.
 */
async function unpackZipProject(uri: string, base: string, log: (line: string) => void): Promise<string> {
  const dest = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-project-'));
  log(`=== Fetching project from ${uri} into ${dest} ===`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(base)?.[1].toLowerCase();
  try {
    if (scheme === 'http' || scheme === 'https') {
      const downloads = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-zip-'));
      try {
        const file = path.join(downloads, 'project.zip');
        await downloadToFile(base, file, log);
        await extractZip(file, dest, base);
      } finally {
        rmSync(downloads, { recursive: true, force: true });
      }
      return dest;
    }
    let file = base;
    if (scheme === 'file') {
      // As MLflow: the URI is percent-decoded and its host, if any, is the start of the path.
      file = decodeURIComponent(base.slice('file:'.length).replace(/^\/\//, ''));
    } else if (scheme !== undefined && scheme.length > 1) {
      throw new ExecutionError(
        `Cannot fetch the ZIP archive ${base}: only local paths, file:// URIs and http(s) URLs are supported for zip projects.`,
      );
    }
    const resolved = path.resolve(file);
    if (!existsSync(resolved) || !statSync(resolved).isFile())
      throw new ExecutionError(`Could not find the ZIP archive ${resolved} (project URI ${uri}).`);
    await extractZip(resolved, dest, base);
    return dest;
  } catch (error) {
    rmSync(dest, { recursive: true, force: true });
    throw error;
  }
}

function withSubdirectory(root: string, subdirectory: string): string {
  const dir = path.resolve(root, subdirectory);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ExecutionError(`Could not find subdirectory ${subdirectory} of ${root}`);
  }
  return dir;
}

/**
 * Makes the project at `uri` available locally. A local directory runs in place, unless `version`
 * is given: then its repository is cloned at that version into a fresh directory (MLflow would check
 * the version out in the user's own checkout; we never touch it). Git URIs are always cloned fresh.
 */
export async function fetchProject(
  uri: string,
  version: string | undefined,
  log: (line: string) => void = () => {},
): Promise<FetchedProject> {
  const { uri: base, subdirectory } = splitSubdirectory(uri);
  if (isZipUri(base)) {
    // MLflow ignores a version here and then fails looking for Git metadata; say so plainly instead.
    if (version !== undefined)
      throw new ExecutionError('Setting a version is only supported for Git project URIs');
    const dest = await unpackZipProject(uri, base, log);
    const workDir = withSubdirectory(dest, subdirectory);
    const info = await gitInfo(workDir);
    return {
      workDir,
      sourceName: zipSourceName(uri, base),
      commit: info.commit,
      repoUrl: info.repoUrl,
      cloned: true,
    };
  }
  const local = localDirectory(base);
  if (local && version === undefined) {
    const workDir = withSubdirectory(local, subdirectory);
    const info = await gitInfo(workDir);
    return {
      workDir,
      sourceName: info.root ? gitSourceName(info.root, workDir) : workDir,
      commit: info.commit,
      repoUrl: info.repoUrl,
      cloned: false,
    };
  }
  let cloneFrom = base;
  if (local) {
    const info = await gitInfo(local);
    if (!info.root) throw new ExecutionError('Setting a version is only supported for Git project URIs');
    cloneFrom = info.root;
  } else if (!isGitUri(base)) {
    throw new ExecutionError(
      `Project URI ${base} is neither an existing local directory nor a Git URI (https://, ssh://, git://, file:// or user@host:path).`,
    );
  }
  const dest = path.join(mkdtempSync(path.join(tmpdir(), 'mlflow-ts-project-')), 'repo');
  log(`=== Fetching project from ${uri} into ${dest} ===`);
  await cloneRepository(cloneFrom, dest, version, log);
  const workDir = withSubdirectory(dest, subdirectory);
  const info = await gitInfo(dest);
  return {
    workDir,
    sourceName: local ? gitSourceName(local, path.resolve(local, subdirectory)) : uri,
    commit: info.commit,
    repoUrl: info.repoUrl,
    branch: version !== undefined && (await isBranch(dest, version)) ? version : undefined,
    cloned: true,
  };
}

/** MLflow's source name for a directory inside a checkout: file://<root>#<relative dir>. */
function gitSourceName(root: string, dir: string): string {
  const relative = path.relative(root, dir);
  return relative ? `file://${root}#${relative}` : `file://${root}`;
}

/** MLflow records a local archive by its absolute path (with the #sub/dir) and a URI as given. */
function zipSourceName(uri: string, base: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(base) && !/^[A-Za-z]:[\\/]/.test(base)) return uri;
  const hash = uri.indexOf('#');
  return path.resolve(base) + (hash >= 0 ? uri.slice(hash) : '');
}
