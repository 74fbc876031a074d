/**
 * Streaming through the artifact proxy: uploads one large file with PUT and downloads it with GET over
 * HTTP, and compares the throughput with a plain streamed file copy on the same disk.
 *
 *   npx tsc -b packages/client packages/server        # the bench starts the built server
 *   npx tsx bench/artifact-stream.ts [--size-mb 2048] [--port 5093] [--dir /tmp/...]
 *
 * The server is the built CLI (packages/server/dist/cli/main.js server) on a fresh SQLite store with
 * --artifacts-destination inside --dir. Its peak RSS (VmHWM in /proc/<pid>/status) is read before and
 * after the transfers: a streamed proxy keeps it flat whatever the file size. The copy and the download
 * are checked byte for byte (SHA-256) after the timed part.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { commandLine, fmt, markdownTable } from './common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'packages/server/dist/cli/main.js');
const USAGE = 'usage: tsx bench/artifact-stream.ts [--size-mb 2048] [--port 5093] [--dir DIR]';
const cli = commandLine('artifact-stream', USAGE);

interface Options {
  sizeMb: number;
  port: number;
  dir: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    sizeMb: 2048,
    port: 5093,
    dir: path.join(tmpdir(), `mlflow-ts-artifact-stream-${process.pid}`),
  };
  cli.parse(argv, { 'size-mb': 'string', port: 'string', dir: 'string' }, (name, value, flag) => {
    if (name === 'size-mb') o.sizeMb = cli.count(flag, value);
    else if (name === 'port') o.port = cli.count(flag, value);
    else o.dir = path.resolve(value);
  });
  return o;
}

/** Writes `mb` MiB of incompressible data (a random MiB block, varied per block). */
async function makeFile(file: string, mb: number): Promise<void> {
  const block = randomBytes(1 << 20);
  const out = createWriteStream(file);
  for (let i = 0; i < mb; i++) {
    block.writeUInt32LE(i, 0);
    if (!out.write(Buffer.from(block)))
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function startServer(o: Options): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'server',
      '--backend-store-uri',
      `sqlite:///${path.join(o.dir, 'mlflow.db')}`,
      '--artifacts-destination',
      path.join(o.dir, 'destination'),
      '--port',
      String(o.port),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server exited (code ${code}) before it listened`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
  });
  return child;
}

/** Sends one request with `body` streamed from a file, or streams the answer into `saveTo`. */
function transfer(
  o: Options,
  method: 'PUT' | 'GET',
  urlPath: string,
  body?: string,
  saveTo?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port: o.port,
        method,
        path: urlPath,
        headers: body ? { 'Content-Type': 'application/octet-stream' } : {},
      },
      (response) => {
        if (response.statusCode !== 200) {
          let text = '';
          response.on('data', (c: Buffer) => {
            text += c.toString();
          });
          response.on('end', () =>
            reject(new Error(`${method} ${urlPath}: HTTP ${response.statusCode} ${text}`)),
          );
          return;
        }
        const sink = saveTo ? createWriteStream(saveTo) : undefined;
        const done = sink ? pipeline(response, sink) : new Promise((r) => response.resume().on('end', r));
        done.then(() => resolve(saveTo ? statSync(saveTo).size : 0), reject);
      },
    );
    request.on('error', reject);
    if (body) pipeline(createReadStream(body, { highWaterMark: 1 << 20 }), request).catch(reject);
    else request.end();
  });
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  mkdirSync(o.dir, { recursive: true });
  const source = path.join(o.dir, 'source.bin');
  const bytes = o.sizeMb * 1024 * 1024;
  const mb = bytes / 1e6;
  console.log(`artifact-stream: ${o.sizeMb} MiB through the proxy, files in ${o.dir}`);
  let server: ChildProcess | undefined;
  try {
    let t = performance.now();
    await makeFile(source, o.sizeMb);
    console.log(`  test file written (${fmt((performance.now() - t) / 1000)} s)`);

    t = performance.now();
    await pipeline(
      createReadStream(source, { highWaterMark: 1 << 20 }),
      createWriteStream(path.join(o.dir, 'copy.bin')),
    );
    const copySeconds = (performance.now() - t) / 1000;
    rmSync(path.join(o.dir, 'copy.bin'));

    server = await startServer(o);
    const pid = server.pid as number;
    const rssStart = peakRssMb(pid);
    const urlPath = '/api/2.0/mlflow-artifacts/artifacts/bench/big.bin';

    t = performance.now();
    await transfer(o, 'PUT', urlPath, source);
    const uploadSeconds = (performance.now() - t) / 1000;
    const rssAfterUpload = peakRssMb(pid);

    const downloaded = path.join(o.dir, 'downloaded.bin');
    t = performance.now();
    const size = await transfer(o, 'GET', urlPath, undefined, downloaded);
    const downloadSeconds = (performance.now() - t) / 1000;
    const rssAfterDownload = peakRssMb(pid);

    if (size !== bytes) throw new Error(`downloaded ${size} bytes, expected ${bytes}`);
    const stored = path.join(o.dir, 'destination', 'bench', 'big.bin');
    const [a, b, c] = await Promise.all([sha256(source), sha256(stored), sha256(downloaded)]);
    if (a !== b || a !== c) throw new Error('the stored or downloaded file differs from the source');

    const row = (name: string, seconds: number) => [
      name,
      fmt(mb, 0),
      fmt(seconds, 2),
      fmt(mb / seconds, 0),
      fmt(seconds / copySeconds, 2),
    ];
    console.log(
      `\n${markdownTable(
        ['transfer', 'MB', 's', 'MB/s', 'x plain copy'],
        [
          row('plain streamed file copy', copySeconds),
          row('PUT upload through the proxy', uploadSeconds),
          row('GET download through the proxy', downloadSeconds),
        ],
      )}`,
    );
    console.log(
      `\nServer peak RSS (VmHWM): ${fmt(rssStart)} MB after start-up, ${fmt(rssAfterUpload)} MB after the upload, ${fmt(rssAfterDownload)} MB after the download: growth ${fmt(rssAfterDownload - rssStart)} MB. Contents checked (SHA-256).`,
    );
  } finally {
    server?.kill('SIGINT');
    rmSync(o.dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`artifact-stream: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
