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
