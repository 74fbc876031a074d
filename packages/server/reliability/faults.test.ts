// The fault-injection campaign's short form inside `npm test`: a full disk under SQLite and the artifact
// destination, PostgreSQL restarted under load (a private cluster, never the shared one), and clients
// that hang up mid-transfer. Figures from the long form are in docs/reliability.md.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir } from '../test/helpers.js';
import { clientDisconnects, diskFull, mountTmpfs, PrivateCluster, postgresRestart } from './faults.js';
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

test('a client that hangs up mid-upload or mid-download leaves no partial artifact and a healthy server', async () => {
  const artifacts = tempDir('mlflow-ts-cut-');
  const store = tempDir('mlflow-ts-cut-store-');
  const server = await startServerProcess({
    storeUri: `sqlite:///${store.dir}/m.db`,
    artifactsDir: artifacts.dir,
    port: await freePort(),
  });
  try {
    const r = await clientDisconnects(server, artifacts.dir);
    assert.deepEqual(r, {
      uploadListed: false,
      leftoverTempFiles: 0,
      downloadAfter: 16 * 1024 * 1024,
      serverHealthy: true,
    });
  } finally {
    await stopServer(server.child);
    artifacts.cleanup();
    store.cleanup();
  }
});
