import path from 'node:path';
import { isLocalArtifactUri, uriScheme } from '../artifacts/artifact-uri.js';
import { MlflowError } from '../entities/errors.js';

// MLflow's checks on the `source` of a new model version (its handler's _validate_source_run): a local
// path is only accepted inside the artifact directory of the version's run, and any other URI must
// not climb out of its path with `..`, NUL bytes or a path that normalises to something else. The
// server later reads a version's files from its source, so these checks keep it from serving files
// outside the artifact stores.

/** Python's urllib.parse.unquote_plus, leaving malformed escapes as they are. */
function unquotePlus(text: string): string {
  return text.replace(/\+/g, ' ').replace(/(%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** The path of a URI as Python's urlparse reads it: after scheme and netloc, before query and fragment. */
function uriPath(uri: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(uri);
  let rest = scheme ? uri.slice(scheme[0].length) : uri;
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?#]/);
    rest = end === -1 ? '' : rest.slice(2 + end);
  }
  return rest.replace(/[?#].*$/s, '');
}

function relativeReferences(source: string): MlflowError {
  return MlflowError.invalidParameter(
    `Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`,
  );
}

/** Rejects a non-local source whose path is not already absolute and normal. */
function checkNoRelativeReferences(original: string): void {
  let source = original;
  for (let unquoted = unquotePlus(source); unquoted !== source; unquoted = unquotePlus(source)) {
    source = unquoted;
  }
  const sourcePath = uriPath(source).replace(/\/+$/, '').replace(/\/+/g, '/');
  if (sourcePath.includes('\u0000') || source.split('/').includes('..')) throw relativeReferences(original);
  // MLflow resolves the path on the server's file system and requires it to come back unchanged:
  // an absolute path with no `.` segments. (An empty path resolves to the working directory.)
  if (!sourcePath.startsWith('/') || path.posix.resolve(sourcePath) !== sourcePath) {
    throw relativeReferences(original);
  }
}

/** The local file system path of a plain path or file: URI. */
function localPath(uri: string): string {
  if (uriScheme(uri) !== 'file') return uri;
  return unquotePlus(uriPath(uri).replace(/\+/g, '%2B'));
}

/**
 * What a version is created from: a run (run_id) or, in MLflow 3, a logged model (model_id), with a
 * way to look up its artifact location (throwing MLflow's not-found error for an unknown id).
 */
export interface SourceOwner {
  field: 'run_id' | 'model_id';
  id?: string;
  artifactUri(id: string): Promise<string>;
}

/**
 * Checks a model version's source as MLflow does (_validate_source_run / _validate_source_model).
 * Also applies MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX when the server has it set.
 */
export async function checkModelVersionSource(source: string, owner: SourceOwner): Promise<void> {
  const pattern = process.env.MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX;
  if (pattern && !new RegExp(pattern).test(source)) {
    throw MlflowError.invalidParameter(`Invalid model version source: '${source}'.`);
  }
  const scheme = uriScheme(source);
  if (scheme === 'file') {
    const host = /^file:\/\/([^/?#]*)/i.exec(source)?.[1] ?? '';
    const hostname = host.replace(/:\d*$/, '').toLowerCase();
    if (
      hostname &&
      hostname !== '.' &&
      !hostname.startsWith('localhost') &&
      !hostname.startsWith('127.0.0.1')
    ) {
      throw MlflowError.invalidParameter(
        `${source} is not a valid remote uri. For remote access on windows, please consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>).`,
      );
    }
  }
  if (!isLocalArtifactUri(source)) {
    checkNoRelativeReferences(source);
    return;
  }
  let shown = source;
  if (owner.id) {
    const artifactUri = await owner.artifactUri(owner.id);
    const resolved = path.resolve(localPath(source));
    shown = resolved;
    if (isLocalArtifactUri(artifactUri)) {
      const ownerDir = path.resolve(localPath(artifactUri));
      const inside = ownerDir.endsWith(path.sep) ? ownerDir : ownerDir + path.sep;
      if (resolved === ownerDir || resolved.startsWith(inside)) return;
    }
  }
  throw MlflowError.invalidParameter(
    `Invalid model version source: '${shown}'. To use a local path as a model version source, the ${owner.field} request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the ${owner.field}.`,
  );
}
