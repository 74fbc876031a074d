import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openArtifactRepository } from '../artifacts/open-artifact-repository.js';
import { ExecutionError } from './execution-error.js';
import type { Downloader } from './parameters.js';
import type { RunTracking } from './run-tracking.js';

// Fetches the remote URIs given to `path` parameters into the run's storage directory, as MLflow's
// _download_artifact_from_uri: the result is <dir>/<last path segment>, a file or a whole directory.
// Proxied artifacts (mlflow-artifacts:) go through the tracking server, runs:/ URIs through the run's
// artifact location, s3:// and wasbs:// through our artifact repositories, http(s) as plain GETs.

function baseName(uriPath: string): string {
  const trimmed = uriPath.replace(/\/+$/, '');
  return decodeURIComponent(trimmed.slice(trimmed.lastIndexOf('/') + 1)) || 'download';
}

async function fetchOk(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(url, { headers });
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    throw new ExecutionError(`GET ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  }
  return response;
}

async function saveBody(response: Response, file: string): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  if (!response.body) throw new ExecutionError(`No body in the answer for ${file}`);
  await pipeline(
    Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
    createWriteStream(file),
  );
}

/** Downloads through a server's artifact proxy: a file, or a directory listed recursively. */
async function downloadProxied(base: string, artifactPath: string, target: string): Promise<void> {
  const listing = (await (await fetchOk(`${base}?path=${encodeURIComponent(artifactPath)}`)).json()) as {
    files?: Array<{ path: string; is_dir: boolean }>;
  };
  const files = listing.files ?? [];
  if (files.length === 0) {
    const encoded = artifactPath.split('/').map(encodeURIComponent).join('/');
    await saveBody(await fetchOk(`${base}/${encoded}`), target);
    return;
  }
  mkdirSync(target, { recursive: true });
  for (const entry of files) {
    // The proxy lists paths relative to the listed directory.
    const name = entry.path.slice(entry.path.lastIndexOf('/') + 1);
    await downloadProxied(base, `${artifactPath.replace(/\/+$/, '')}/${name}`, path.join(target, name));
  }
}

/** Downloads from an artifact repository rooted at `uri`'s parent: a file, or a directory tree. */
async function downloadFromRepository(uri: string, target: string): Promise<boolean> {
  const trimmed = uri.replace(/\/+$/, '');
  const asDir = openArtifactRepository(trimmed);
  if (!asDir) return false;
  const copyTree = async (rel: string, into: string): Promise<boolean> => {
    const entries = await asDir.list(rel);
    if (entries.length === 0) return false;
    mkdirSync(into, { recursive: true });
    for (const entry of entries) {
      const name = entry.path.slice(entry.path.lastIndexOf('/') + 1);
      const dest = path.join(into, name);
      if (entry.is_dir) await copyTree(entry.path, dest);
      else {
        const read = await asDir.openRead(entry.path);
        await pipeline(read.stream, createWriteStream(dest));
      }
    }
    return true;
  };
  if (await copyTree('', target)) return true;
  const slash = trimmed.lastIndexOf('/');
  const parent = openArtifactRepository(trimmed.slice(0, slash));
  if (!parent) return false;
  const read = await parent.openRead(trimmed.slice(slash + 1));
  mkdirSync(path.dirname(target), { recursive: true });
  await pipeline(read.stream, createWriteStream(target));
  return true;
}

/** The Downloader for `path` parameters, resolving runs:/ and mlflow-artifacts: through `tracking`. */
export function pathDownloader(tracking: RunTracking): Downloader {
  const download = async (uri: string, dir: string): Promise<string> => {
    mkdirSync(dir, { recursive: true });
    const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(uri);
    if (runs) {
      const run = await tracking.getRun(runs[1]);
      const inner = runs[2] ? `${run.artifactUri.replace(/\/+$/, '')}/${runs[2]}` : run.artifactUri;
      return download(inner, dir);
    }
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1].toLowerCase();
    if (scheme === 'mlflow-artifacts') {
      const hostMatch = /^mlflow-artifacts:\/\/([^/]+)(\/.*)?$/i.exec(uri);
      const artifactPath = (hostMatch ? (hostMatch[2] ?? '') : uri.slice('mlflow-artifacts:'.length)).replace(
        /^\/+/,
        '',
      );
      let base: string;
      if (hostMatch) base = `http://${hostMatch[1]}/api/2.0/mlflow-artifacts/artifacts`;
      else if (tracking.artifactProxyBase) base = tracking.artifactProxyBase();
      else {
        throw new ExecutionError(
          `${uri} is served by a tracking server's artifact proxy, but the tracking URI ${tracking.trackingUri} is not a server.`,
        );
      }
      const target = path.join(dir, baseName(artifactPath));
      await downloadProxied(base, artifactPath, target);
      return target;
    }
    if (scheme === 'http' || scheme === 'https') {
      const target = path.join(dir, baseName(new URL(uri).pathname));
      await saveBody(await fetchOk(uri), target);
      return target;
    }
    const target = path.join(dir, baseName(uri));
    if (await downloadFromRepository(uri, target)) return target;
    throw new ExecutionError(
      `Cannot download ${uri}: the scheme '${scheme}' is not supported for path parameters.`,
    );
  };
  return download;
}
