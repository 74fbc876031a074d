// The artifact store stopped mid-upload: a private object store (moto or radosgw for S3, Azurite for Azure
// Blob, each started here on ports of its own; the shared test services are never touched) behind a real server
// process is SIGKILLed while a proxied upload and a multipart upload are in flight, kept down while
// requests arrive, then started again on the same port.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { createS3Client } from '../src/artifacts/s3-artifact-repository.js';
import { REPO_ROOT, tempDir } from '../test/helpers.js';
import { freePort, type LiveServer, startServerProcess, stopServer } from './server-process.js';

/** An object store the campaign can start, kill and start again at the same address. */
export interface ObjectStore {
  readonly name: string;
  /** The server's --artifacts-destination. */
  readonly destination: string;
  /** What the server process needs to reach it. */
  readonly env: Record<string, string>;
  /**
   * How long after a write the store keeps it across a kill, or undefined when it keeps nothing (moto
   * holds everything in memory; Azurite saves its index every 5 seconds).
   */
  readonly durableAfterMs?: number;
  /** Starts the store and makes the bucket or container (again, when it did not survive). */
  start(): Promise<void>;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  cleanup(): void;
}

async function waitUntil(ready: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const began = Date.now();
  while (!(await ready().catch(() => false))) {
    if (Date.now() - began > timeoutMs) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** moto's S3 server on a port of its own (python3 -m moto.server). */
export async function motoStore(): Promise<ObjectStore> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const bucket = 'outage';
  let child: ChildProcess | undefined;
  const env = {
    MLFLOW_S3_ENDPOINT_URL: url,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_DEFAULT_REGION: 'us-east-1',
  };
  return {
    name: 'S3 (moto)',
    destination: `s3://${bucket}/artifacts`,
    env,
    async start() {
      child = spawn(
        process.env.MLFLOW_TS_PYTHON || 'python3',
        ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)],
        {
          stdio: 'ignore',
        },
      );
      await waitUntil(async () => (await fetch(`${url}/`)).status === 200, `moto on port ${port}`);
      const client = createS3Client({
        endpoint: url,
        region: 'us-east-1',
        accessKeyId: 'testing',
        secretAccessKey: 'testing',
      });
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      client.destroy();
    },
    kill: () => killChild(child),
    cleanup: () => void killChild(child),
  };
}

/** Whether process `pid` has exited (a zombie waiting for init to reap it counts as exited). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

/**
 * Ceph's radosgw (a real S3) in a one-node cluster of its own, built by scripts/services/radosgw.sh in
 * a folder and on ports of its own; only its gateway process is killed and started again, the cluster
 * (and the objects) stay.
 */
export async function radosgwStore(): Promise<ObjectStore> {
  const dir = tempDir('mlflow-ts-rgw-');
  const [port, monPort, osdBase] = [await freePort(), await freePort(), await freePort()];
  const scriptEnv = {
    ...process.env,
    MLFLOW_TS_SERVICES_DIR: dir.dir,
    MLFLOW_TS_RGW_PORT: String(port),
    MLFLOW_TS_RGW_MON_PORT: String(monPort),
    MLFLOW_TS_RGW_OSD_PORTS: `${osdBase}-${osdBase + 19}`,
  };
  const script = path.join(REPO_ROOT, 'scripts/services/radosgw.sh');
  const base = path.join(dir.dir, 'radosgw');
  const pidFile = path.join(base, 'run/rgw.pid');
  const url = `http://127.0.0.1:${port}`;
  const keys = { accessKeyId: 'mlflow-ts-test', secretAccessKey: 'mlflow-ts-test-secret' };
  const bucket = 'outage';
  let built = false;
  return {
    name: 'S3 (radosgw)',
    destination: `s3://${bucket}/artifacts`,
    env: {
      MLFLOW_S3_ENDPOINT_URL: url,
      AWS_ACCESS_KEY_ID: keys.accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
    },
    durableAfterMs: 0,
    async start() {
      if (!built) {
        execFileSync('bash', [script, 'start'], { env: scriptEnv, stdio: ['ignore', 'ignore', 'inherit'] });
        built = true;
        const client = createS3Client({ endpoint: url, region: 'us-east-1', ...keys });
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        client.destroy();
        return;
      }
      // The gateway again, as the script starts it: detached from this process (so that the script's
      // stop can wait for it to exit), its pid where the script's stop looks for it.
      const pid = execFileSync(
        'bash',
        [
          '-c',
          `setsid nohup radosgw -n client.rgw -f >>"${path.join(base, 'log/rgw.out')}" 2>&1 </dev/null & echo $!`,
        ],
        { env: { ...scriptEnv, CEPH_CONF: path.join(base, 'cluster/ceph.conf') }, encoding: 'utf8' },
      ).trim();
      writeFileSync(pidFile, pid);
      await waitUntil(async () => (await fetch(`${url}/`)).status === 200, `radosgw on port ${port}`);
    },
    async kill() {
      const pid = Number(readFileSync(pidFile, 'utf8'));
      process.kill(pid, 'SIGKILL');
      await waitUntil(async () => gone(pid), `radosgw ${pid} to exit`);
    },
    cleanup() {
      try {
        // The gateway first: a dead one may stay a zombie until init reaps it, which the script's stop
        // would take for a process that ignores its signals.
        const pid = Number(readFileSync(pidFile, 'utf8'));
        if (!gone(pid)) process.kill(pid, 'SIGKILL');
        rmSync(pidFile, { force: true });
      } catch {
        // no gateway running
      }
      try {
        execFileSync('bash', [script, 'stop'], { env: scriptEnv, stdio: ['ignore', 'ignore', 'inherit'] });
      } catch {
        // The script said why on stderr; the folder goes anyway.
      }
      dir.cleanup();
    },
  };
}

const AZURITE_ACCOUNT = 'devstoreaccount1';
// Azurite's well-known development key (public, in Azurite's documentation).
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Azurite's Blob service on a port of its own, its data in a folder of its own (kept across kills). */
export async function azuriteStore(): Promise<ObjectStore> {
  const port = await freePort();
  const data = tempDir('mlflow-ts-azurite-');
  const container = 'outage';
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;
  let child: ChildProcess | undefined;
  return {
    name: 'Azure Blob (Azurite)',
    destination: `wasbs://${container}@${AZURITE_ACCOUNT}.blob.core.windows.net/artifacts`,
    env: { AZURE_STORAGE_CONNECTION_STRING: connectionString },
    durableAfterMs: 5500,
    async start() {
      const bin = path.join(REPO_ROOT, 'node_modules/azurite/dist/src/blob/main.js');
      child = spawn(
        process.execPath,
        [
          bin,
          '--blobHost',
          '127.0.0.1',
          '--blobPort',
          String(port),
          '--location',
          data.dir,
          '--silent',
          '--disableTelemetry',
          '--skipApiVersionCheck',
          '--loose',
        ],
        { stdio: 'ignore' },
      );
      const service = BlobServiceClient.fromConnectionString(connectionString);
      await waitUntil(async () => {
        await service.getProperties();
        return true;
      }, `Azurite on port ${port}`);
      await service.getContainerClient(container).createIfNotExists();
    },
    kill: () => killChild(child),
    cleanup() {
      void killChild(child).then(() => data.cleanup());
    },
  };
}

/** One answer: its status and error code (or what went wrong), and how long it took. */
export interface Outcome {
  status: number | string;
  errorCode?: string;
  message?: string;
  ms: number;
}

/** The error code and message of an answer's body, or 'not JSON'. */
function errorOf(text: string): Pick<Outcome, 'errorCode' | 'message'> {
  if (!text) return {};
  try {
    const body = JSON.parse(text) as { error_code?: string; message?: string };
    return { errorCode: body.error_code, message: body.message };
  } catch {
    return { errorCode: 'not JSON' };
  }
}

async function outcome(run: () => Promise<Response>): Promise<Outcome> {
  const began = performance.now();
  try {
    const res = await run();
    const text = await res.text();
    return { status: res.status, ...errorOf(text), ms: Math.round(performance.now() - began) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { status: cause?.code ?? (error as Error).message, ms: Math.round(performance.now() - began) };
  }
}

/**
 * A PUT of `total` bytes through the proxy whose body is sent in two halves: `between` runs after the
 * first half has gone out. Resolves with the answer (it may come before the second half is sent).
 */
function putInTwoHalves(url: string, total: number, between: () => Promise<void>): Promise<Outcome> {
  const began = performance.now();
  return new Promise((resolve) => {
    const done = (o: Omit<Outcome, 'ms'>) => resolve({ ...o, ms: Math.round(performance.now() - began) });
    const req = request(url, {
      method: 'PUT',
      headers: { 'content-length': String(total), 'content-type': 'application/octet-stream' },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, ...errorOf(text) }));
    });
    // The server may answer (and close) before the body is all sent: that answer is the one wanted.
    req.on('error', (error) =>
      setTimeout(() => done({ status: (error as { code?: string }).code ?? error.message }), 2000),
    );
    const half = Math.floor(total / 2);
    req.write(Buffer.alloc(half, 7), () => {
      void between().then(() => {
        if (!req.destroyed) req.end(Buffer.alloc(total - half, 8));
      });
    });
  });
}

export interface OutageResult {
  store: string;
  /** The proxied upload cut by the kill. */
  proxiedUpload: Outcome;
  /** mpu/complete of the multipart upload whose first part reached the store before the kill. */
  multipartComplete: Outcome;
  /** Requests while the store was down, by name. */
  whileDown: Record<string, Outcome>;
  /** Was a cut upload listed once the store was back. */
  halfWrittenListed: string[];
  /** The file uploaded before the outage, read back afterwards (durable stores only). */
  earlierFileIntact?: boolean;
  /** After the store came back: a proxied upload read back whole, and a whole multipart upload. */
  after: { upload: number | string; readBack: boolean; multipart: number | string; listed: boolean };
  serverStayedUp: boolean;
}

const ARTIFACTS = '/api/2.0/mlflow-artifacts';

async function multipartUpload(
  server: LiveServer,
  file: string,
  parts: Buffer[],
  beforeLastPart?: () => Promise<void>,
): Promise<{ complete: Outcome; partStatuses: (number | string)[] }> {
  const create = await fetch(`${server.base}${ARTIFACTS}/mpu/create/outage`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path: file, num_parts: parts.length }),
  });
  if (create.status !== 200) throw new Error(`mpu/create answered ${create.status}: ${await create.text()}`);
  const { upload_id, credentials } = (await create.json()) as {
    upload_id?: string;
    credentials: { url: string; part_number: number; headers?: Record<string, string> }[];
  };
  const sent: { part_number: number; etag: string; url: string }[] = [];
  const partStatuses: (number | string)[] = [];
  for (const [i, credential] of credentials.entries()) {
    if (i === credentials.length - 1 && beforeLastPart) await beforeLastPart();
    const answer = await fetch(credential.url, {
      method: 'PUT',
      headers: credential.headers ?? {},
      body: new Uint8Array(parts[i]),
    }).then(
      (r) => r,
      (error: { cause?: { code?: string } }) => error.cause?.code ?? 'network error',
    );
    if (typeof answer === 'string') {
      partStatuses.push(answer);
      continue;
    }
    partStatuses.push(answer.status);
    await answer.arrayBuffer();
    sent.push({
      part_number: credential.part_number,
      etag: answer.headers.get('etag') ?? '',
      url: credential.url,
    });
  }
  const complete = await outcome(() =>
    fetch(`${server.base}${ARTIFACTS}/mpu/complete/outage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: file, num_parts: parts.length, upload_id, parts: sent }),
    }),
  );
  return { complete, partStatuses };
}

/**
 * The campaign on one store: an upload before the outage, then the kill while a 24 MB proxied upload
 * (sent in halves) and a two-part multipart upload (first part sent) are in flight; requests during
 * the outage; the store started again; what is listed, and whether uploads work again.
 */
export async function artifactStoreOutage(
  store: ObjectStore,
  uploadBytes = 24 * 1024 * 1024,
): Promise<OutageResult> {
  const db = tempDir('mlflow-ts-outage-');
  await store.start();
  const server = await startServerProcess({
    storeUri: `sqlite:///${db.dir}/m.db`,
    artifactsDir: store.destination,
    port: await freePort(),
    env: store.env,
  });
  const url = (p: string) => `${server.base}${ARTIFACTS}/artifacts/outage/${p}`;
  try {
    const earlier = await fetch(url('earlier.txt'), { method: 'PUT', body: 'before the outage' });
    if (earlier.status !== 200) throw new Error(`the upload before the outage answered ${earlier.status}`);
    if (store.durableAfterMs !== undefined) await sleep(store.durableAfterMs);

    // The multipart upload's first part reaches the store, then the proxied upload sends half its body;
    // the store is killed with both in flight, and the rest of each is sent to a store that is gone.
    let firstPartSent!: () => void;
    const firstPart = new Promise<void>((resolve) => {
      firstPartSent = resolve;
    });
    let storeKilled!: () => void;
    const killed = new Promise<void>((resolve) => {
      storeKilled = resolve;
    });
    const parts = [Buffer.alloc(5 * 1024 * 1024, 1), Buffer.alloc(1024, 2)];
    const multipart = multipartUpload(server, 'multi.bin', parts, async () => {
      firstPartSent();
      await killed;
    });
    const proxiedUpload = await putInTwoHalves(url('big.bin'), uploadBytes, async () => {
      await firstPart;
      await sleep(300); // the server is writing the first half to the store
      await store.kill();
      storeKilled();
    });
    const { complete: multipartComplete } = await multipart;

    const whileDown: Record<string, Outcome> = {
      'PUT artifact': await outcome(() => fetch(url('down.txt'), { method: 'PUT', body: 'x' })),
      'GET artifact': await outcome(() => fetch(url('earlier.txt'))),
      'GET listing': await outcome(() => fetch(`${server.base}${ARTIFACTS}/artifacts?path=outage`)),
      'DELETE artifact': await outcome(() => fetch(url('earlier.txt'), { method: 'DELETE' })),
      'mpu/create': await outcome(() =>
        fetch(`${server.base}${ARTIFACTS}/mpu/create/outage`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path: 'down.bin', num_parts: 1 }),
        }),
      ),
      '/health': await outcome(() => fetch(`${server.base}/health`)),
      'experiments/create': await outcome(() =>
        fetch(`${server.api}/experiments/create`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'while the artifact store is down' }),
        }),
      ),
    };

    await store.start();
    const listing = (await (await fetch(`${server.base}${ARTIFACTS}/artifacts?path=outage`)).json()) as {
      files?: { path: string }[];
    };
    const listed = (listing.files ?? []).map((f) => f.path);
    // Paths in a listing are relative to the folder listed.
    const halfWrittenListed = listed.filter((p) => /^(big|multi|down)\./.test(p));
    const earlierFileIntact =
      store.durableAfterMs !== undefined
        ? (await (await fetch(url('earlier.txt'))).text()) === 'before the outage'
        : undefined;

    const body = Buffer.alloc(6 * 1024 * 1024, 9);
    const again = await fetch(url('again.bin'), { method: 'PUT', body });
    await again.text();
    const readBack = Buffer.from(await (await fetch(url('again.bin'))).arrayBuffer());
    const whole = await multipartUpload(server, 'whole.bin', [
      Buffer.alloc(5 * 1024 * 1024, 3),
      Buffer.alloc(10, 4),
    ]);
    const after = (await (await fetch(`${server.base}${ARTIFACTS}/artifacts?path=outage`)).json()) as {
      files?: { path: string }[];
    };
    return {
      store: store.name,
      proxiedUpload,
      multipartComplete,
      whileDown,
      halfWrittenListed,
      earlierFileIntact,
      after: {
        upload: again.status,
        readBack: readBack.equals(body),
        multipart: whole.complete.status,
        listed: (after.files ?? []).some((f) => f.path === 'whole.bin'),
      },
      serverStayedUp: server.child.exitCode === null && (await fetch(`${server.base}/health`)).status === 200,
    };
  } finally {
    await stopServer(server.child);
    store.cleanup();
    db.cleanup();
  }
}
