// How the server reads the artifact URI of a run or experiment.

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]+):/;

/** The URI's scheme in lower case, or undefined for a plain path (one-letter "schemes" are drives). */
export function uriScheme(uri: string): string | undefined {
  return SCHEME.exec(uri)?.[1].toLowerCase();
}

/** True for a plain local path or a file: URI. */
export function isLocalArtifactUri(uri: string): boolean {
  const scheme = uriScheme(uri);
  return scheme === undefined || scheme === 'file';
}

const HTTP_ANCHOR = '/api/2.0/mlflow-artifacts/artifacts/';

/**
 * For a proxied artifact URI, the path below the server's --artifacts-destination it stands for:
 * `mlflow-artifacts:/1/abc/artifacts` and `mlflow-artifacts://host:port/1/abc/artifacts` give
 * `1/abc/artifacts`; an http(s) URL of this server's artifact API gives the part after
 * /api/2.0/mlflow-artifacts/artifacts/. Undefined for any other URI. The result is not yet checked
 * for safety.
 */
export function proxiedArtifactPath(uri: string): string | undefined {
  const scheme = uriScheme(uri);
  if (scheme !== 'mlflow-artifacts' && scheme !== 'http' && scheme !== 'https') return undefined;
  // Split by hand: WHATWG URL parsing would resolve '..' segments and so hide them from the check.
  let rest = uri.slice(scheme.length + 1).replace(/[?#].*$/s, '');
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    rest = slash === -1 ? '' : rest.slice(slash);
  }
  const pathname = rest;
  if (scheme === 'mlflow-artifacts') return pathname.replace(/^\/+/, '');
  const at = pathname.indexOf(HTTP_ANCHOR);
  if (at === -1) return undefined;
  return pathname.slice(at + HTTP_ANCHOR.length).replace(/^\/+/, '');
}

/**
 * A relative local artifact location made absolute against `cwd`, as MLflow's resolve_uri_if_local
 * does when an experiment is created: a plain path becomes an absolute path, a `file:` URI with a
 * relative path a `file:///...` URI. Absolute paths and other URIs are returned as given.
 */
export function resolveLocalUri(uri: string, cwd: string): string {
  const scheme = uriScheme(uri);
  if (scheme !== undefined && scheme !== 'file') return uri;
  const rest = scheme === 'file' ? uri.slice('file:'.length) : uri;
  // A file URI with an authority (file://host/...) always has an absolute path.
  if (rest.startsWith('/')) return uri;
  const query = scheme === 'file' ? (/\?.*$/s.exec(rest)?.[0] ?? '') : '';
  const relative = query ? rest.slice(0, -query.length) : rest;
  // pathlib's joinpath drops `.` segments and empty ones but keeps `..`.
  const segments = relative.split('/').filter((s) => s !== '' && s !== '.');
  const absolute = [cwd.replace(/\/+$/, ''), ...segments].join('/') || '/';
  return scheme === 'file' ? `file://${absolute}${query}` : absolute;
}
