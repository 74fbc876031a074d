// Fault injection against the real server process: a full disk under the SQLite store and the artifact
// destination (a small tmpfs), PostgreSQL stopped and started again under load (a private cluster), and
// clients that hang up in the middle of an upload or a download.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MlflowClient } from '@mlflow-ts/client';
import { tempDir } from '../test/helpers.js';
import { checkStore } from './crash.js';
import { freePort, killHard, type LiveServer, startServerProcess, stopServer } from './server-process.js';

export interface Answer {
  status: number;
  body: string;
}

export async function postJson(api: string, endpoint: string, body: unknown): Promise<Answer> {
  const r = await fetch(`${api}/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: r.status, body: await r.text() };
}

/** True for MLflow's 503 TEMPORARILY_UNAVAILABLE error JSON. */
export function isUnavailable(a: Answer): boolean {
  if (a.status !== 503) return false;
  try {
    const body = JSON.parse(a.body) as { error_code?: string; message?: string };
    return body.error_code === 'TEMPORARILY_UNAVAILABLE' && typeof body.message === 'string';
  } catch {
    return false;
  }
}

/** A PUT on a connection of its own; resolves with the status even when the server stops reading early. */
function putFresh(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', agent: false, timeout: 30_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A GET on a connection of its own (a refused upload can leave a pooled connection broken), from
 * `localAddress` when given (another loopback address: another client).
 */
export function getFresh(url: string, localAddress?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 30_000, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

async function newRun(api: string): Promise<string> {
  const exp = JSON.parse(
    (await postJson(api, 'experiments/create', { name: `f-${Date.now()}-${Math.random()}` })).body,
  );
  const run = JSON.parse((await postJson(api, 'runs/create', { experiment_id: exp.experiment_id })).body);
  return run.run.info.run_id as string;
}

/** A tmpfs of `megabytes` at a new directory, or the reason it could not be mounted (not root...). */
export function mountTmpfs(megabytes: number): { dir: string; unmount(): void } | { reason: string } {
  const dir = path.join(tmpdir(), `mlflow-ts-full-${process.pid}-${Date.now()}`);
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return {
      reason: `mount -t tmpfs failed: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`,
    };
  }
  return {
    dir,
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a file until the file system is full; returns its path (delete it to give the space back). */
function fillDisk(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
    // The last few bytes, so no page is left for SQLite to grow into.
    for (const size of [4096, 512, 1]) {
      try {
        for (;;) writeSync(fd, chunk.subarray(0, size));
      } catch {
        // full at this size too
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

export interface DiskFullResult {
  /** log-batch answers while the disk was full. */
  whileFull: Record<string, number>;
  /** Artifact PUT answer while full, and whether the file was listed afterwards. */
  uploadWhileFull: number;
  halfWrittenListed: boolean;
  leftoverTempFiles: number;
  /** Writes answered 200 after the space came back. */
  afterRecovery: { metrics: number; upload: number };
  acknowledgedLost: number;
  integrity: string[];
  serverStayedUp: boolean;
}

/** The SQLite store and the artifact destination on one small tmpfs, filled up and then freed. */
export async function diskFull(tmpfsDir: string): Promise<DiskFullResult> {
  const db = path.join(tmpfsDir, 'mlflow.db');
  const artifacts = path.join(tmpfsDir, 'artifacts');
  mkdirSync(artifacts);
  const spec = { storeUri: `sqlite:///${db}`, artifactsDir: artifacts, port: await freePort() };
  let server: LiveServer | undefined = await startServerProcess(spec);
  const result: DiskFullResult = {
    whileFull: {},
    uploadWhileFull: 0,
    halfWrittenListed: false,
    leftoverTempFiles: 0,
    afterRecovery: { metrics: 0, upload: 0 },
    acknowledgedLost: 0,
    integrity: [],
    serverStayedUp: false,
  };
  try {
    const api = server.api;
    const runId = await newRun(api);
    const acked: number[] = [];
    const batch = (step: number) =>
      postJson(api, 'runs/log-batch', {
        run_id: runId,
        metrics: Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: step, timestamp: 1, step })),
      });
    const filler = fillDisk(tmpfsDir);
    let step = 0;
    // SQLite may still have free pages in the file; keep writing until the disk says no, then some more.
    for (let failures = 0; step < 2000 && failures < 10; step++) {
      const a = await batch(step);
      const kind =
        a.status === 200
          ? '200'
          : isUnavailable(a)
            ? '503 TEMPORARILY_UNAVAILABLE'
            : `${a.status} ${a.body.slice(0, 120)}`;
      result.whileFull[kind] = (result.whileFull[kind] ?? 0) + 1;
      if (a.status === 200) acked.push(step);
      else failures++;
    }
    result.uploadWhileFull = await putFresh(
      `${server.base}/api/2.0/mlflow-artifacts/artifacts/full/big.bin`,
      Buffer.alloc(2 * 1024 * 1024, 7),
    );
    const listed = await getFresh(`${server.base}/api/2.0/mlflow-artifacts/artifacts?path=full`);
    result.halfWrittenListed = listed.body.includes('big.bin');
    const uploads = path.join(artifacts, '.mlflow-ts-uploads');
    result.leftoverTempFiles = readdirSync(uploads, { recursive: true }).length;
    result.serverStayedUp = await getFresh(`${server.base}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (!result.serverStayedUp) throw new Error(`the server died on a full disk:\n${server.output()}`);

    rmSync(filler);
    for (let i = 0; i < 20; i++, step++) {
      const a = await batch(step);
      if (a.status === 200) {
        acked.push(step);
        result.afterRecovery.metrics++;
      }
    }
    const again = await fetch(`${server.base}/api/2.0/mlflow-artifacts/artifacts/full/big.bin`, {
      method: 'PUT',
      body: Buffer.alloc(1024 * 1024, 7),
    });
    await again.text();
    result.afterRecovery.upload = again.status;

    // A crash after the fault must not find a damaged file either.
    await killHard(server.child);
    result.integrity = await checkStore('sqlite', spec.storeUri);
    server = await startServerProcess(spec);
    const history = await (
      await fetch(`${server.api}/metrics/get-history?run_id=${runId}&metric_key=k0`)
    ).json();
    const stored = new Set((history.metrics ?? []).map((m: { step: number }) => m.step));
    result.acknowledgedLost = acked.filter((s) => !stored.has(s)).length;
  } finally {
    if (server) await stopServer(server.child);
  }
  return result;
}

/** A PostgreSQL cluster of our own (the shared one must not be restarted), run as the postgres user. */
export class PrivateCluster {
  static readonly BIN = '/usr/lib/postgresql/15/bin';
  readonly dir: string;
  private constructor(
    readonly port: number,
    private readonly cleanup: () => void,
    dir: string,
  ) {
    this.dir = dir;
  }

  get uri(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(): Promise<PrivateCluster> {
    const base = tempDir('mlflow-ts-pg-');
    const dir = path.join(base.dir, 'data');
    execFileSync('chown', ['postgres:postgres', base.dir]);
    const cluster = new PrivateCluster(await freePort(), base.cleanup, dir);
    cluster.pg('initdb', ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
    cluster.start();
    return cluster;
  }

  private pg(tool: string, args: string[]): void {
    execFileSync('runuser', ['-u', 'postgres', '--', path.join(PrivateCluster.BIN, tool), ...args], {
      stdio: 'pipe',
      cwd: '/',
    });
  }

  start(): void {
    this.pg('pg_ctl', [
      '-D',
      this.dir,
      '-l',
      path.join(this.dir, 'log'),
      '-o',
      `-p ${this.port} -k /tmp -c fsync=off`,
      '-w',
      '-t',
      '60',
      'start',
    ]);
  }

  /** Fast shutdown: open sessions are ended, as when the database is restarted for maintenance. */
  stop(): void {
    this.pg('pg_ctl', ['-D', this.dir, '-m', 'fast', '-w', 'stop']);
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // not running
    }
    this.cleanup();
  }
}

export interface PostgresRestartResult {
  /** Answers to the raw clients, by kind, before, during and after the gap. */
  answers: Record<string, number>;
  /** Answers that were neither 200 nor MLflow's 503. */
  unexpected: string[];
  gapMs: number;
  /** From PostgreSQL accepting connections again to the first 200. */
  reconnectMs: number;
  /** SDK calls made during the gap, all of which should succeed by retrying. */
  sdkCalls: number;
  sdkFailures: string[];
  acknowledgedLost: number;
}

/** Stops the private cluster under load for `gapMs`, then starts it again. */
export async function postgresRestart(cluster: PrivateCluster, gapMs = 2000): Promise<PostgresRestartResult> {
  const artifacts = tempDir('mlflow-ts-pgr-artifacts-');
  const spec = { storeUri: cluster.uri, artifactsDir: artifacts.dir, port: await freePort() };
  const server = await startServerProcess(spec);
  const result: PostgresRestartResult = {
    answers: {},
    unexpected: [],
    gapMs,
    reconnectMs: -1,
    sdkCalls: 0,
    sdkFailures: [],
    acknowledgedLost: 0,
  };
  let phase = 'before';
  let stop = false;
  let restartedAt = 0;
  const acked: { key: string; step: number }[] = [];
  try {
    const runId = await newRun(server.api);
    const clients = Array.from({ length: 5 }, async (_, c) => {
      for (let step = 0; !stop; step++) {
        let a: Answer;
        try {
          a = await postJson(server.api, 'runs/log-metric', {
            run_id: runId,
            key: `c${c}`,
            value: step,
            timestamp: Date.now(),
            step,
          });
        } catch (error) {
          result.unexpected.push(`${phase}: ${String(error)}`);
          continue;
        }
        const kind = `${phase} ${a.status === 200 ? '200' : isUnavailable(a) ? '503' : a.status}`;
        result.answers[kind] = (result.answers[kind] ?? 0) + 1;
        if (a.status === 200) {
          acked.push({ key: `c${c}`, step });
          if (phase === 'after' && result.reconnectMs < 0) result.reconnectMs = Date.now() - restartedAt;
        } else if (!isUnavailable(a)) result.unexpected.push(`${phase}: ${a.status} ${a.body.slice(0, 200)}`);
        else await sleep(50);
      }
    });
    await sleep(500);
    cluster.stop();
    phase = 'during';
    // Our SDK, with its usual policy but short waits, sends through the gap and must get through.
    const sdk = new MlflowClient({ trackingUri: server.base, backoffFactor: 0.5, backoffJitter: 0.2 });
    const sdkCalls = Array.from({ length: 3 }, (_, i) =>
      sdk.logMetric(runId, `sdk${i}`, i, { step: 0 }).then(
        () => acked.push({ key: `sdk${i}`, step: 0 }),
        (error: unknown) => result.sdkFailures.push(String(error)),
      ),
    );
    result.sdkCalls = sdkCalls.length;
    await sleep(gapMs);
    cluster.start();
    restartedAt = Date.now();
    phase = 'after';
    await Promise.all(sdkCalls);
    await sleep(1500);
    stop = true;
    await Promise.all(clients);
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`the server died when PostgreSQL restarted:\n${server.output()}`);
    }
    for (const key of new Set(acked.map((a) => a.key))) {
      const h = await (
        await fetch(`${server.api}/metrics/get-history?run_id=${runId}&metric_key=${key}`)
      ).json();
      const stored = new Set((h.metrics ?? []).map((m: { step: number }) => m.step));
      result.acknowledgedLost += acked.filter((a) => a.key === key && !stored.has(a.step)).length;
    }
  } finally {
    await stopServer(server.child);
    artifacts.cleanup();
  }
  return result;
}
