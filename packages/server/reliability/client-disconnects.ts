// Clients that hang up mid-transfer, several times over: PUTs through the artifact proxy cut off part-way
// and GETs whose reader leaves after the first chunk, against a local destination or an S3 bucket. The
// server must list nothing half-written, leave nothing behind (temporary files, incomplete multipart
// uploads) and hold no more descriptors (files, sockets) afterwards than before.
import { readdirSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveServer } from './server-process.js';

/** Where the cut uploads went, and how to count what they left there. */
export interface DisconnectTarget {
  name: string;
  /** Temporary files (a local destination's upload folder) or incomplete multipart uploads (S3). */
  leftovers(): Promise<number>;
}

/** A process's open descriptors by kind. */
export interface Descriptors {
  files: number;
  sockets: number;
  other: number;
}

export interface DisconnectResult {
  target: string;
  rounds: number;
  /** Was any cut upload listed afterwards. */
  uploadListed: boolean;
  leftovers: number;
  /** Bytes of a whole download of the 16 MB file afterwards. */
  downloadAfter: number;
  /** The server's descriptors after a warm-up (a whole upload and download), and after the rounds. */
  descriptors: { before: Descriptors; after: Descriptors };
  serverHealthy: boolean;
}

/** The open descriptors of process `pid` (/proc/<pid>/fd). */
export function descriptorsOf(pid: number): Descriptors {
  const count: Descriptors = { files: 0, sockets: 0, other: 0 };
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while listed
    }
    if (target.startsWith('socket:')) count.sockets++;
    else if (target.startsWith('/') && !target.startsWith('/dev/')) count.files++;
    else count.other++;
  }
  return count;
}

const MB = 1024 * 1024;

/** A PUT that declares `declared` bytes, sends `sent` and closes the socket. */
function cutUpload(url: string, declared: number, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(declared) } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(sent, 1), () => {
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
  });
}

/** A GET whose reader leaves after the first chunk of the answer. */
function cutDownload(url: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => resolve());
    req.end();
  });
}

/**
 * `rounds` cut uploads (20 MB declared, 10 MB sent: past the first part of an S3 multipart upload) and
 * `rounds` cut downloads of a 16 MB file; then what is listed, left behind and held open.
 */
export async function clientDisconnects(
  server: LiveServer,
  target: DisconnectTarget,
  rounds = 5,
): Promise<DisconnectResult> {
  const artifacts = `${server.base}/api/2.0/mlflow-artifacts/artifacts/cut`;
  const pid = server.child.pid as number;
  // The warm-up: whatever the server keeps open between requests (pools, the store) is open from here.
  const whole = await fetch(`${artifacts}/whole.bin`, { method: 'PUT', body: Buffer.alloc(16 * MB, 2) });
  await whole.text();
  await (await fetch(`${artifacts}/whole.bin`)).arrayBuffer();
  await sleep(300);
  const before = descriptorsOf(pid);

  for (let i = 0; i < rounds; i++) {
    await cutUpload(`${artifacts}/part-${i}.bin`, 20 * MB, 10 * MB);
    await cutDownload(`${artifacts}/whole.bin`);
  }
  // Cleanup after a cut is asynchronous (an aborted multipart upload, a file removed): give it a while.
  let after = descriptorsOf(pid);
  for (let waited = 0; waited < 5000; waited += 200) {
    if (after.files <= before.files && after.sockets <= before.sockets) break;
    await sleep(200);
    after = descriptorsOf(pid);
  }
  const listing = (await (
    await fetch(`${server.base}/api/2.0/mlflow-artifacts/artifacts?path=cut`)
  ).json()) as {
    files?: { path: string }[];
  };
  const download = await fetch(`${artifacts}/whole.bin`);
  const bytes = (await download.arrayBuffer()).byteLength;
  return {
    target: target.name,
    rounds,
    uploadListed: (listing.files ?? []).some((f) => f.path.startsWith('part-')),
    leftovers: await target.leftovers(),
    downloadAfter: download.status === 200 ? bytes : -download.status,
    descriptors: { before, after },
    serverHealthy: (await fetch(`${server.base}/health`)).status === 200,
  };
}
