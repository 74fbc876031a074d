// The limits campaign against the real server process: slow clients (slowloris) and the connection cap,
// the JSON body limit, and the server's peak memory while a large artifact streams through the proxy
// and while a long metric history is read back.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { getFresh, postJson } from './faults.js';
import type { LiveServer } from './server-process.js';

/** The process's resident memory now and at its peak (VmRSS, VmHWM), in MB. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

export interface SlowlorisResult {
  slowConnections: number;
  /** Slow connections the server refused at once because of the cap. */
  droppedAtOnce: number;
  /** The longest a slow connection was held open by the server (ms). */
  longestHeldMs: number;
  /** Slow connections still open when the attack ended (none expected). */
  stillOpen: number;
  /** A well-behaved client's /health requests during the attack. */
  legitimate: { ok: number; failed: number };
  healthyAfter: boolean;
}

/**
 * Opens `connections` sockets that each send a request line and then one header byte every `dripMs`,
 * reopening none, while a well-behaved client asks for /health every 200 ms on fresh connections.
 */
export async function slowloris(
  server: LiveServer,
  connections: number,
  dripMs: number,
  durationMs: number,
  /** The well-behaved client's address (the slow connections come from 127.0.0.1); default the same. */
  legitimateFrom?: string,
): Promise<SlowlorisResult> {
  const { port } = new URL(server.base);
  const opened: { socket: Socket; at: number; closedAfter?: number }[] = [];
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < connections; i++) {
    const socket = connect(Number(port), '127.0.0.1');
    const entry: { socket: Socket; at: number; closedAfter?: number } = { socket, at: Date.now() };
    opened.push(entry);
    socket.on('error', () => {});
    socket.on('close', () => {
      entry.closedAfter = Date.now() - entry.at;
    });
    socket.on('connect', () => {
      socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const timer = setInterval(() => {
        if (!socket.destroyed) socket.write('X');
      }, dripMs);
      timers.push(timer);
    });
  }
  const legitimate = { ok: 0, failed: 0 };
  const until = Date.now() + durationMs;
  while (Date.now() < until) {
    await getFresh(`${server.base}/health`, legitimateFrom).then(
      (r) => (r.status === 200 ? legitimate.ok++ : legitimate.failed++),
      () => legitimate.failed++,
    );
    await sleep(200);
  }
  for (const timer of timers) clearInterval(timer);
  const stillOpen = opened.filter((o) => o.closedAfter === undefined).length;
  for (const o of opened) o.socket.destroy();
  const closed = opened.map((o) => o.closedAfter ?? durationMs);
  const healthyAfter = await getFresh(`${server.base}/health`).then(
    (r) => r.status === 200,
    () => false,
  );
  return {
    slowConnections: connections,
    droppedAtOnce: closed.filter((ms) => ms < 500).length,
    longestHeldMs: Math.max(...closed),
    stillOpen,
    legitimate,
    healthyAfter,
  };
}

/**
 * A JSON body just over the 32 MB limit; resolves with the answer. The server answers as soon as the
 * declared length is too large and closes the connection, so the client's write may fail (EPIPE) after
 * the answer has arrived: the answer is what counts.
 */
export async function oversizedBody(server: LiveServer): Promise<{ status: number; errorCode?: string }> {
  const body = Buffer.from(JSON.stringify({ name: 'x'.repeat(33 * 1024 * 1024) }));
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${server.api}/experiments/create`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', (error) => {
      if (!answered) setTimeout(() => (answered ? undefined : reject(error)), 1000);
    });
    req.end(body);
  });
  let errorCode: string | undefined;
  try {
    errorCode = (JSON.parse(answer.body) as { error_code?: string }).error_code;
  } catch {
    // not JSON: errorCode stays undefined and the caller's check fails
  }
  return { status: answer.status, errorCode };
}

/**
 * Sends a 33 MB body whole before reading anything, as a client that does not watch for an early
 * answer does, then a second request on the same connection. The server must let the body in (and
 * drop it) rather than close on it: a close with the body unread resets the connection and the
 * client never sees its 400. With `close`, the client asks for `Connection: close` and sends no second
 * request; the server must still read the body before it closes.
 */
export async function refusedBodyThenReuse(
  server: LiveServer,
  options: { close?: boolean } = {},
): Promise<{ written: boolean; answers: string[]; error?: string }> {
  const { hostname, port } = new URL(server.base);
  const body = Buffer.alloc(33 * 1024 * 1024, 0x61);
  body.write('{"name":"', 0);
  body.write('"}', body.length - 2);
  const head =
    `POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\nHost: ${hostname}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
    (options.close ? 'Connection: close\r\n\r\n' : '\r\n');
  const socket: Socket = connect(Number(port), hostname);
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  const closed = new Promise<string | undefined>((resolve) => {
    socket.on('error', (error) => resolve(error.message));
    socket.on('close', () => resolve(undefined));
  });
  const write = (data: string | Buffer) =>
    new Promise<boolean>((resolve) => socket.write(data, (error) => resolve(!error)));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  let written = (await write(head)) && (await write(body));
  if (written && !options.close) written = await write(`GET /health HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
  const expected = options.close ? 1 : 2;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (received.match(/HTTP\/1\.1 /g) ?? []).length < expected) await sleep(20);
  socket.destroy();
  const error = await Promise.race([closed, sleep(100).then(() => undefined)]);
  const answers = received.split(/(?=HTTP\/1\.1 )/).map((a) => a.split('\r\n')[0]);
  return { written, answers: answers.filter((a) => a.length > 0), error };
}

/** Streams `megabytes` through the artifact proxy without holding them in this process either. */
export async function uploadMemory(
  server: LiveServer,
  megabytes: number,
): Promise<{ status: number; seconds: number; before: number; peakMb: number; rssAfterMb: number }> {
  const pid = server.child.pid ?? 0;
  const before = memoryOf(pid).peakMb;
  const chunk = Buffer.alloc(1024 * 1024, 3);
  const began = Date.now();
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      `${server.base}/api/2.0/mlflow-artifacts/artifacts/big/upload.bin`,
      { method: 'PUT', agent: false, headers: { 'content-length': String(megabytes * chunk.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < megabytes) {
        sent++;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
  const after = memoryOf(pid);
  return {
    status,
    seconds: (Date.now() - began) / 1000,
    before,
    peakMb: after.peakMb,
    rssAfterMb: after.rssMb,
  };
}

/** Logs `points` of one metric and reads the whole history back in one get-history. */
export async function historyMemory(
  server: LiveServer,
  points: number,
): Promise<{ logSeconds: number; readSeconds: number; bytes: number; before: number; peakMb: number }> {
  const exp = JSON.parse(
    (await postJson(server.api, 'experiments/create', { name: `h-${Date.now()}` })).body,
  );
  const run = JSON.parse(
    (await postJson(server.api, 'runs/create', { experiment_id: exp.experiment_id })).body,
  );
  const runId = run.run.info.run_id as string;
  const began = Date.now();
  const lanes = 4;
  const perLane = Math.ceil(points / 1000 / lanes);
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let b = 0; b < perLane; b++) {
        const first = (lane * perLane + b) * 1000;
        if (first >= points) return;
        const metrics = Array.from({ length: Math.min(1000, points - first) }, (_, i) => ({
          key: 'loss',
          value: (first + i) / points,
          timestamp: 1_700_000_000_000 + first + i,
          step: first + i,
        }));
        const a = await postJson(server.api, 'runs/log-batch', { run_id: runId, metrics });
        if (a.status !== 200) throw new Error(`log-batch: ${a.status} ${a.body.slice(0, 200)}`);
      }
    }),
  );
  const logSeconds = (Date.now() - began) / 1000;
  const pid = server.child.pid ?? 0;
  const before = memoryOf(pid).peakMb;
  const readBegan = Date.now();
  const bytes = await new Promise<number>((resolve, reject) => {
    request(`${server.api}/metrics/get-history?run_id=${runId}&metric_key=loss`, { agent: false }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(n) : reject(new Error(`status ${res.statusCode}`)),
      );
    })
      .on('error', reject)
      .end();
  });
  return {
    logSeconds,
    readSeconds: (Date.now() - readBegan) / 1000,
    bytes,
    before,
    peakMb: memoryOf(pid).peakMb,
  };
}
