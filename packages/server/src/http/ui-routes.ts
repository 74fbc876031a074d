// Serves the built web UI (packages/ui/dist) at /. The build is optional at run time: without it the
// API works as before and / explains how to build the UI.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

interface UiFile {
  body: Buffer;
  /** Whether the file is worth compressing; its gzip is made on the first request that accepts it. */
  compressible: boolean;
  gzipped?: Buffer;
  type: string;
  etag: string;
  /** Hashed build outputs never change under their name; everything else is revalidated. */
  immutable: boolean;
}

export interface UiBuild {
  dir: string;
  files: Map<string, UiFile>;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  map: 'application/json',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  txt: 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = /^(text\/|application\/json|image\/svg)/;

/** Paths that belong to the server, never to the UI's client-side routes. */
const SERVER_PREFIXES = ['/api/', '/ajax-api/', '/get-artifact', '/health', '/version', '/static-files/'];

/**
 * Where the UI build is: MLFLOW_TS_UI_DIR when set, else the dist/ folder of the @mlflow-ts/ui
 * workspace package. Undefined when neither can be found.
 */
export function locateUiBuild(): string | undefined {
  if (process.env.MLFLOW_TS_UI_DIR) return path.resolve(process.env.MLFLOW_TS_UI_DIR);
  try {
    const pkg = createRequire(import.meta.url).resolve('@mlflow-ts/ui/package.json');
    return path.join(path.dirname(pkg), 'dist');
  } catch {
    return undefined;
  }
}

/** Reads the whole build into memory (it is a few hundred kilobytes); undefined when it is missing. */
export function loadUiBuild(dir: string | undefined): UiBuild | undefined {
  if (!dir || !existsSync(path.join(dir, 'index.html'))) return undefined;
  const files = new Map<string, UiFile>();
  const walk = (sub: string) => {
    for (const entry of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        walk(rel);
        continue;
      }
      const full = path.join(dir, rel);
      if (!statSync(full).isFile()) continue;
      const body = readFileSync(full);
      const type = TYPES[path.extname(rel).slice(1).toLowerCase()] ?? 'application/octet-stream';
      files.set(`/${rel}`, {
        body,
        // Compressed on first request, not here: it costs tens of milliseconds of every server start.
        compressible: COMPRESSIBLE.test(type) && body.length > 1024,
        type,
        etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`,
        immutable: rel.startsWith('assets/'),
      });
    }
  };
  walk('');
  return { dir, files };
}

function send(request: FastifyRequest, reply: FastifyReply, file: UiFile): FastifyReply {
  reply
    .header('Cache-Control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('ETag', file.etag)
    .header('Vary', 'Accept-Encoding')
    .header('X-Content-Type-Options', 'nosniff')
    .type(file.type);
  if (request.headers['if-none-match'] === file.etag) return reply.status(304).send();
  const accepts = String(request.headers['accept-encoding'] ?? '');
  if (file.compressible && /\bgzip\b/.test(accepts)) {
    file.gzipped ??= gzipSync(file.body);
    return reply.header('Content-Encoding', 'gzip').send(file.gzipped);
  }
  return reply.send(file.body);
}

const MISSING_PAGE = (dir: string | undefined) => `<!doctype html>
<meta charset="utf-8"><title>mlflow-ts: web UI not built</title>
<h1>The mlflow-ts web UI is not built</h1>
<p>The REST API works; only the browser UI is missing. Build it from the mlflow-ts checkout with
<code>npm install</code> (which runs <code>npm run build</code>), or point
<code>MLFLOW_TS_UI_DIR</code> at a built UI.</p>
<p>Looked for <code>${(dir ?? '@mlflow-ts/ui (not installed)').replace(/[<>&]/g, '')}/index.html</code>.</p>
`;

/**
 * Routes for the UI: its static files, and index.html for client-side routes (GET requests that
 * accept HTML outside the server's own paths). Returns the not-found hook the app's handler calls
 * first: true when it answered the request.
 */
export function uiRoutes(
  app: FastifyInstance,
  build: UiBuild | undefined,
  dir: string | undefined,
): (request: FastifyRequest, reply: FastifyReply) => boolean {
  const index = build?.files.get('/index.html');
  const serveIndex = (request: FastifyRequest, reply: FastifyReply) => {
    if (!index) {
      return reply
        .status(503)
        .type('text/html; charset=utf-8')
        .header('Cache-Control', 'no-cache')
        .send(MISSING_PAGE(dir));
    }
    return send(request, reply, index);
  };
  app.get('/', serveIndex);
  return (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const urlPath = decodeURIComponentSafe(request.url.split('?')[0]);
    if (urlPath === undefined) return false;
    if (SERVER_PREFIXES.some((p) => urlPath === p.replace(/\/$/, '') || urlPath.startsWith(p))) return false;
    const file = build?.files.get(urlPath);
    if (file && urlPath !== '/index.html') {
      send(request, reply, file);
      return true;
    }
    // A missing hashed asset is a real 404, not a page: the browser would try to run HTML as a script.
    if (urlPath.startsWith('/assets/')) return false;
    if (!String(request.headers.accept ?? '').includes('text/html')) return false;
    serveIndex(request, reply);
    return true;
  };
}

function decodeURIComponentSafe(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
