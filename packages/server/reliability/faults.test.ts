// The fault-injection campaign's short form inside `npm test`: a full disk under SQLite and the artifact
// destination, PostgreSQL restarted under load (a private cluster, never the shared one), and clients
// that hang up mid-transfer (local and S3 destinations; S3 on a private moto). Figures from the long form are in docs/reliability.md.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../src/artifacts/s3-artifact-repository.js';
import { UPLOAD_TEMP_DIR } from '../src/artifacts/safe-path.js';
import { tempDir } from '../test/helpers.js';
import { motoStore, type ObjectStore } from './artifact-store-outage.js';
import { clientDisconnects } from './client-disconnects.js';
import { diskFull, mountTmpfs, PrivateCluster, postgresRestart } from './faults.js';
import { freePort, startServerProcess, stopServer } from './server-process.js';

test('a full disk: writes get 503 TEMPORARILY_UNAVAILABLE, nothing is corrupted, writes work again once space returns', async (t) => {
  const tmpfs = mountTmpfs(8);
  if ('reason' in tmpfs) return t.skip(tmpfs.reason);
  try {
    const r = await diskFull(tmpfs.dir);
    const kinds = Object.keys(r.whileFull);
    assert.ok(r.whileFull['503 TEMPORARILY_UNAVAILABLE'] >= 1, JSON.stringify(r.whileFull));
    assert.deepEqual(
      kinds.filter((k) => k !== '200' && k !== '503 TEMPORARILY_UNAVAILABLE'),
      [],
    );
    assert.equal(r.uploadWhileFull, 503);
    assert.equal(r.halfWrittenListed, false);
    assert.equal(r.leftoverTempFiles, 0);
    assert.equal(r.serverStayedUp, true);
    assert.equal(r.afterRecovery.metrics, 20);
    assert.equal(r.afterRecovery.upload, 200);
    assert.deepEqual(r.integrity, []);
    assert.equal(r.acknowledgedLost, 0);
  } finally {
    tmpfs.unmount();
  }
});

test('PostgreSQL restarted under load: 503s in MLflow shape during the gap, the pool reconnects, the SDK retries through it', async () => {
  const cluster = await PrivateCluster.create();
  try {
    const r = await postgresRestart(cluster, 2000);
    assert.deepEqual(r.unexpected, []);
    assert.ok((r.answers['during 503'] ?? 0) > 0, JSON.stringify(r.answers));
    assert.ok((r.answers['after 200'] ?? 0) > 0, JSON.stringify(r.answers));
    assert.ok(r.reconnectMs >= 0 && r.reconnectMs < 5000, `reconnected after ${r.reconnectMs} ms`);
    assert.deepEqual(r.sdkFailures, []);
    assert.equal(r.acknowledgedLost, 0);
  } finally {
    cluster.destroy();
  }
});

/** Incomplete multipart uploads in the S3 bucket of `store` (a cut upload must abort its own). */
async function pendingMultipartUploads(store: ObjectStore): Promise<number> {
  const client = createS3Client({
    endpoint: store.env.MLFLOW_S3_ENDPOINT_URL,
    region: 'us-east-1',
    accessKeyId: store.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: store.env.AWS_SECRET_ACCESS_KEY,
  });
  try {
    const bucket = new URL(store.destination).host;
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    return page.Uploads?.length ?? 0;
  } finally {
    client.destroy();
  }
}

test('clients that hang up mid-upload or mid-download, local and S3 destinations: nothing half-written listed or left, no descriptor kept, a healthy server', async () => {
  const store = tempDir('mlflow-ts-cut-store-');
  const local = tempDir('mlflow-ts-cut-');
  const s3 = await motoStore();
  await s3.start();
  const destinations = [
    {
      artifactsDir: local.dir,
      env: {},
      target: {
        name: 'local',
        leftovers: async () => readdirSync(path.join(local.dir, UPLOAD_TEMP_DIR), { recursive: true }).length,
      },
    },
    {
      artifactsDir: s3.destination,
      env: s3.env,
      target: { name: 'S3', leftovers: () => pendingMultipartUploads(s3) },
    },
  ];
  try {
    for (const [i, d] of destinations.entries()) {
      const server = await startServerProcess({
        storeUri: `sqlite:///${store.dir}/m${i}.db`,
        artifactsDir: d.artifactsDir,
        port: await freePort(),
        env: d.env,
      });
      try {
        const r = await clientDisconnects(server, d.target, 3);
        const { descriptors, ...rest } = r;
        assert.deepEqual(rest, {
          target: d.target.name,
          rounds: 3,
          uploadListed: false,
          leftovers: 0,
          downloadAfter: 16 * 1024 * 1024,
          serverHealthy: true,
        });
        // Nothing the cut transfers opened (temporary files, streams from S3) is still open.
        assert.ok(descriptors.after.files <= descriptors.before.files, JSON.stringify(descriptors));
        assert.ok(descriptors.after.sockets <= descriptors.before.sockets, JSON.stringify(descriptors));
      } finally {
        await stopServer(server.child);
      }
    }
  } finally {
    s3.cleanup();
    local.cleanup();
    store.cleanup();
  }
});
