import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type ArtifactRead,
  type MultipartUploadPart,
  RangeNotSatisfiableError,
  type ReadRange,
} from '../artifacts/artifact-repository.js';
import { safeArtifactPath } from '../artifacts/safe-path.js';
import { MlflowError } from '../entities/errors.js';
import type { ArtifactService } from '../services/artifact-service.js';
import type { Endpoint } from './endpoint.js';
import { artifactMimeType, attachmentDisposition } from './mime-type.js';
import { missing, RequestFields } from './request-fields.js';

const PROXY_PREFIXES = ['/api/2.0/mlflow-artifacts', '/ajax-api/2.0/mlflow-artifacts'];

/**
 * The Range header as one byte range, or undefined to send the whole file: no header, several ranges,
 * or a header that does not parse (which HTTP lets a server ignore).
 */
export function parseRange(header: string | undefined): ReadRange | undefined {
  if (!header) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') return { kind: 'suffix', length: Number(m[2]) };
  const start = Number(m[1]);
  if (m[2] === '') return { kind: 'from', start };
  const end = Number(m[2]);
  return end < start ? undefined : { kind: 'from', start, end };
}

/** Sends a file as MLflow does (an attachment, typed by extension), honouring a Range header. */
export async function sendArtifact(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  open: (range?: ReadRange) => Promise<ArtifactRead>,
): Promise<FastifyReply> {
  const range = parseRange(request.headers.range);
  let read: ArtifactRead;
  try {
    read = await open(range);
  } catch (error) {
    if (!(error instanceof RangeNotSatisfiableError)) throw error;
    return reply
      .status(416)
      .header('Content-Range', `bytes */${error.size}`)
      .type('application/json')
      .send(JSON.stringify({ error_code: 'INVALID_PARAMETER_VALUE', message: error.message }));
  }
  reply
    .header('Content-Type', artifactMimeType(path))
    .header('Content-Disposition', attachmentDisposition(path))
    .header('X-Content-Type-Options', 'nosniff')
    .header('Accept-Ranges', 'bytes')
    .header('Content-Length', String(read.end - read.start + 1));
  if (range) reply.status(206).header('Content-Range', `bytes ${read.start}-${read.end}/${read.size}`);
  return reply.send(read.stream);
}

/** The artifact path in a proxy URL, taken from the raw URL and percent-decoded exactly once. */
function pathAfter(request: FastifyRequest, anchor: string): string {
  const url = (request.raw.url ?? '').split('?')[0];
  const at = url.indexOf(anchor);
  const encoded = at === -1 ? '' : url.slice(at + anchor.length);
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw MlflowError.invalidParameter('Invalid path');
  }
}

/** MLflow's answer when artifact serving is off: a 503 with a plain-text explanation. */
function servingDisabled(reply: FastifyReply, rule: string): FastifyReply {
  return reply
    .status(503)
    .type('text/plain; charset=utf-8')
    .send(
      `Endpoint: ${rule} disabled due to the mlflow server running with \`--no-serve-artifacts\`. To enable artifacts server functionality, run \`mlflow server\` with \`--serve-artifacts\``,
    );
}

/**
 * MLflow's artifact proxy (the mlflow-artifacts API): upload, download, list and delete below the
 * server's --artifacts-destination. Request bodies are streamed to storage, never buffered.
 */
export async function artifactProxyRoutes(app: FastifyInstance, artifacts: ArtifactService): Promise<void> {
  // In this plugin's scope a body of any type is handed over as the raw request stream.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  for (const prefix of PROXY_PREFIXES) {
    const anchor = `${prefix}/artifacts/`;
    const fileRule = `${prefix}/artifacts/<path:artifact_path>`;
    const listRule = `${prefix}/artifacts`;

    const list = async (request: FastifyRequest, reply: FastifyReply) => {
      if (!artifacts.serving) return servingDisabled(reply, listRule);
      const query = (request.query ?? {}) as Record<string, unknown>;
      const raw = Array.isArray(query.path) ? query.path[0] : query.path;
      if (raw !== undefined && typeof raw !== 'string') throw MlflowError.invalidParameter('Invalid path');
      const files = await artifacts.proxyList(raw);
      return reply.type('application/json').send(JSON.stringify(files.length ? { files } : {}));
    };
    app.get(listRule, list);

    app.get(`${prefix}/artifacts/*`, async (request, reply) => {
      if (!artifacts.serving) return servingDisabled(reply, fileRule);
      const path = pathAfter(request, anchor);
      // `artifacts/` with nothing after it is the listing route with a trailing slash.
      if (path === '') return list(request, reply);
      return sendArtifact(request, reply, path, (range) => artifacts.proxyRead(path, range));
    });

    app.put(`${prefix}/artifacts/*`, async (request, reply) => {
      if (!artifacts.serving) return servingDisabled(reply, fileRule);
      const path = pathAfter(request, anchor);
      const body = (request.body as Readable | undefined) ?? request.raw;
      const length = request.headers['content-length'];
      await artifacts.proxyWrite(path, body, length === undefined ? undefined : Number(length));
      return reply.type('application/json').send('{}');
    });

    app.delete(`${prefix}/artifacts/*`, async (request, reply) => {
      if (!artifacts.serving) return servingDisabled(reply, fileRule);
      await artifacts.proxyDelete(pathAfter(request, anchor));
      return reply.type('application/json').send('{}');
    });
  }
}

/** S3 allows parts numbered 1 to 10000. */
const MAX_PARTS = 10000;

function numParts(f: RequestFields): number {
  const n = f.requiredInt('num_parts');
  if (n < 1 || n > MAX_PARTS) {
    throw MlflowError.invalidParameter(
      `Invalid value ${n} for parameter 'num_parts' supplied: it must be between 1 and ${MAX_PARTS}.`,
    );
  }
  return n;
}

function uploadParts(f: RequestFields): MultipartUploadPart[] {
  const items = f.objects('parts');
  if (items.length === 0) throw missing('parts');
  return items.map((item, i) => {
    const p = new RequestFields(item, false);
    const partNumber = p.optionalInt('part_number');
    if (partNumber === undefined) throw missing(`parts[${i}].part_number`);
    // Azure answers a staged block without an ETag, so MLflow's client may send an empty one; S3
    // needs it (the S3 repository says so).
    const etag = p.optionalString('etag') ?? '';
    const url = p.optionalString('url');
    return { part_number: partNumber, etag, ...(url ? { url } : {}) };
  });
}

/**
 * MLflow's multipart uploads through the proxy: POST mpu/create, mpu/complete and mpu/abort followed by
 * the folder the file goes to; the JSON body names the file (`path`, whose base name is used). The
 * parts themselves go straight to storage, at the URLs mpu/create hands out.
 */
export function multipartUploadRoutes(
  app: FastifyInstance,
  artifacts: ArtifactService,
  fields: (r: FastifyRequest) => RequestFields,
): void {
  for (const prefix of PROXY_PREFIXES) {
    const route = (action: string, handle: (path: string, f: RequestFields) => Promise<unknown>) => {
      const anchor = `${prefix}/mpu/${action}/`;
      app.post(`${anchor}*`, async (request, reply) => {
        if (!artifacts.serving) {
          return servingDisabled(reply, `${prefix}/mpu/${action}/<path:artifact_path>`);
        }
        // The folder is checked first, then the body, then whether the destination can do it.
        const path = safeArtifactPath(pathAfter(request, anchor));
        const result = await handle(path, fields(request));
        return reply.type('application/json').send(JSON.stringify(result));
      });
    };
    route('create', async (path, f) => {
      const fileName = f.requiredString('path');
      const created = await artifacts.proxyCreateMultipartUpload(path, fileName, numParts(f));
      // As MLflow writes the message: empty header maps are left out.
      return {
        upload_id: created.upload_id,
        credentials: created.credentials.map((c) => ({
          url: c.url,
          part_number: c.part_number,
          ...(Object.keys(c.headers).length ? { headers: c.headers } : {}),
        })),
      };
    });
    route('complete', async (path, f) => {
      const fileName = f.requiredString('path');
      // Optional as in MLflow: Azure uploads may be completed from the parts' URLs alone.
      const uploadId = f.optionalString('upload_id') || undefined;
      await artifacts.proxyCompleteMultipartUpload(path, fileName, uploadId, uploadParts(f));
      return {};
    });
    route('abort', async (path, f) => {
      const fileName = f.requiredString('path');
      await artifacts.proxyAbortMultipartUpload(path, fileName, f.optionalString('upload_id') || undefined);
      return {};
    });
  }
}

/** GET /get-artifact?run_id=&path=: one file of a run, as MLflow serves it at the server root. */
export function getArtifactRoute(
  app: FastifyInstance,
  artifacts: ArtifactService,
  fields: (r: FastifyRequest) => RequestFields,
): void {
  app.get('/get-artifact', async (request, reply) => {
    const f = fields(request);
    const runId = f.runId();
    const path = f.requiredString('path');
    return sendArtifact(request, reply, path, (range) => artifacts.readRunArtifact(runId, path, range));
  });
}

/**
 * The policy an HTML report is served under. `sandbox allow-scripts` makes the document an opaque
 * origin even when opened outside the UI's frame, so its scripts can neither read the server's
 * cookies nor call its API as the user; it may run inline script and style (plotting libraries'
 * reports do) and show inline or data: images, but loads nothing from anywhere and cannot connect,
 * submit forms or be framed by another site.
 */
export const HTML_REPORT_CSP = [
  'sandbox allow-scripts',
  "default-src 'none'",
  "script-src 'unsafe-inline' 'unsafe-eval' data: blob:",
  "style-src 'unsafe-inline' data:",
  'img-src data: blob:',
  'font-src data:',
  'media-src data: blob:',
  "connect-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'self'",
].join('; ');

const HTML_FILE = /\.html?$/i;

/**
 * GET /get-artifact-html?run_id=&path=: an HTML artifact of a run as a page for the UI's sandboxed
 * frame (our extension; /get-artifact sends every file as an attachment, which a frame cannot show).
 * Only .html and .htm files, and only under HTML_REPORT_CSP.
 */
export function getHtmlArtifactRoute(
  app: FastifyInstance,
  artifacts: ArtifactService,
  fields: (r: FastifyRequest) => RequestFields,
): void {
  app.get('/get-artifact-html', async (request, reply) => {
    const f = fields(request);
    const runId = f.runId();
    const path = f.requiredString('path');
    if (!HTML_FILE.test(path))
      throw MlflowError.invalidParameter(`Only .html and .htm artifacts are served as pages, not '${path}'.`);
    const read = await artifacts.readRunArtifact(runId, path);
    return reply
      .header('Content-Type', 'text/html; charset=utf-8')
      .header('Content-Security-Policy', HTML_REPORT_CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .header('Cache-Control', 'no-store')
      .header('Content-Length', String(read.end - read.start + 1))
      .send(read.stream);
  });
}

/** MLflow's ListArtifacts under /api/2.0/mlflow: a run's artifacts. */
export function artifactEndpoints(): Endpoint<ArtifactService>[] {
  return [
    {
      method: 'GET',
      path: 'artifacts/list',
      handle: async (artifacts, f) => {
        const listing = await artifacts.listRunArtifacts(f.runId(), f.optionalString('path'));
        return { root_uri: listing.rootUri, files: listing.files };
      },
    },
  ];
}
