// The web UI's one-file upload into a run's artifacts (MLflow's ajax-only upload-artifact handler):
// run_uuid and path in the query string, the file's bytes as the raw body, at most 10 MB.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { safeArtifactPath } from '../artifacts/safe-path.js';
import { MlflowError } from '../entities/errors.js';
import type { ArtifactService } from '../services/artifact-service.js';

/** MLflow's limit; a larger file goes through the artifact proxy instead. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

function tooLarge(): MlflowError {
  return MlflowError.invalidParameter('Artifact size is too large. Max size is 10MB.');
}

function queryValue(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown>)[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

/** The body's bytes, refused past the limit even when no Content-Length announced the size. */
async function readLimited(body: unknown): Promise<Buffer> {
  if (!(body instanceof Readable)) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_UPLOAD_BYTES) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Registers POST /ajax-api/2.0/mlflow/upload-artifact in `scope`, a plugin scope of its own. */
export async function uploadArtifactRoute(scope: FastifyInstance, artifacts: ArtifactService): Promise<void> {
  // The body is the file, of whatever type the browser gives it: handed over unread.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  scope.post('/ajax-api/2.0/mlflow/upload-artifact', async (request, reply) => {
    // MLflow's checks, in its order: the run, the path, the declared size, then the data itself.
    const runId = queryValue(request, 'run_uuid');
    if (!runId) throw MlflowError.invalidParameter('Request must specify run_uuid.');
    const path = queryValue(request, 'path');
    if (!path) throw MlflowError.invalidParameter('Request must specify path.');
    safeArtifactPath(path);
    if (Number(request.headers['content-length'] ?? 0) > MAX_UPLOAD_BYTES) throw tooLarge();
    const data = await readLimited(request.body);
    if (data.length === 0) throw MlflowError.invalidParameter('Request must specify data.');
    await artifacts.writeRunArtifact(runId, path, data);
    return reply.type('application/json').send('');
  });
}
