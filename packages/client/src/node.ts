/**
 * The Node entry of @mlflow-ts/client: everything of the browser entry, plus local file access for
 * artifacts (streamed uploads and downloads), MLFLOW_TRACKING_INSECURE_TLS, local tracking URIs served
 * in-process by the mlflow-ts package (local-server.ts), and a flush of buffered metrics when the
 * process runs out of work, and AsyncLocalStorage for the active span of tracing.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { localFetch } from './local-server.js';
import { type LocalFile, setPlatform } from './platform.js';
import { setSpanContextStore } from './tracing/context.js';
import type { LiveSpan } from './tracing/span.js';

async function listFiles(dir: string): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  const walk = async (rel: string) => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(child);
      else if (e.isFile())
        out.push({ relativePath: child, absolutePath: path.join(dir, ...child.split('/')) });
    }
  };
  await walk('');
  return out;
}

/** The account's login name; undefined where the OS has none for this uid (e.g. some containers). */
function accountName(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

setPlatform({
  env: () => process.env,
  accountName,
  isDirectory: async (p) => (await stat(p)).isDirectory(),
  fileBody: async (p) => {
    const { size } = await stat(p);
    if (size === 0) return { body: () => new Uint8Array(0), size };
    return { body: () => Readable.toWeb(createReadStream(p)) as unknown as ReadableStream<Uint8Array>, size };
  },
  listFiles,
  writeFile: async (target, body) => {
    await mkdir(path.dirname(target), { recursive: true });
    // Written beside the target and renamed, so an interrupted download leaves no partial file behind.
    const partial = `${target}.partial-${process.pid}`;
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    const source = body ? Readable.fromWeb(body as unknown as NodeReadableStream) : Readable.from([]);
    await pipeline(source, count, createWriteStream(partial));
    await rename(partial, target);
    return bytes;
  },
  joinPath: (...parts) => path.join(...parts),
  tempDir: () => mkdtemp(path.join(tmpdir(), 'mlflow-ts-artifacts-')),
  onExit: (hook) => {
    let running = false;
    const listener = () => {
      if (running) return;
      running = true;
      process.off('beforeExit', listener);
      hook().catch((error) => {
        console.error(`mlflow-ts: flushing buffered metrics at exit failed: ${error?.message ?? error}`);
        process.exitCode = 1;
      });
    };
    process.on('beforeExit', listener);
    return () => process.off('beforeExit', listener);
  },
  localFetch,
  insecureFetch: async () => {
    // Node's fetch takes an undici dispatcher; undici is loaded only when insecure TLS is asked for.
    let undici: typeof import('undici');
    try {
      undici = await import('undici');
    } catch {
      throw new Error("MLFLOW_TRACKING_INSECURE_TLS needs the 'undici' package in Node: npm install undici");
    }
    const dispatcher = new undici.Agent({ connect: { rejectUnauthorized: false } });
    return ((input: RequestInfo | URL, init?: RequestInit) =>
      undici.fetch(input as never, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
  },
});

// Each async call chain keeps its own active span, so concurrent traced calls get the right parents.
const activeSpans = new AsyncLocalStorage<LiveSpan | undefined>();
setSpanContextStore({
  active: () => activeSpans.getStore(),
  run: (span, fn) => activeSpans.run(span, fn),
});

export * from './index.js';
export { closeLocalServers } from './local-server.js';
