// The long forms of the fault and limit campaigns for `npm run reliability`: each scenario once, at full
// size, its figures printed as JSON; returns the number of failed checks.

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { UPLOAD_TEMP_DIR } from '../src/artifacts/safe-path.js';
import { tempDir } from '../test/helpers.js';
import { clientDisconnects } from './client-disconnects.js';
import { diskFull, mountTmpfs, PrivateCluster, postgresRestart } from './faults.js';
import { historyMemory, oversizedBody, slowloris, uploadMemory } from './limits.js';
import { freePort, type LiveServer, startServerProcess, stopServer } from './server-process.js';

function report(name: string, figures: unknown, ok: boolean): number {
  console.log(JSON.stringify({ scenario: name, ok, ...(figures as object) }, null, 2));
  return ok ? 0 : 1;
}

async function withServer<T>(
  extraArgs: string[],
  body: (server: LiveServer, artifacts: string) => Promise<T>,
) {
  const store = tempDir('mlflow-ts-long-');
  const artifacts = tempDir('mlflow-ts-long-artifacts-');
  const server = await startServerProcess({
    storeUri: `sqlite:///${store.dir}/m.db`,
    artifactsDir: artifacts.dir,
    port: await freePort(),
    extraArgs,
  });
  try {
    return await body(server, artifacts.dir);
  } finally {
    await stopServer(server.child);
    store.cleanup();
    artifacts.cleanup();
  }
}

export async function runFaultsAndLimits(
  campaigns: string[],
  sizes: { uploadMb: number; points: number; slowConnections: number },
): Promise<number> {
  let failed = 0;
  if (campaigns.includes('faults')) {
    const tmpfs = mountTmpfs(16);
    if ('reason' in tmpfs) console.log(`disk full: skipped (${tmpfs.reason})`);
    else {
      try {
        const r = await diskFull(tmpfs.dir);
        const ok =
          Object.keys(r.whileFull).every((k) => k === '200' || k.startsWith('503')) &&
          r.uploadWhileFull === 503 &&
          !r.halfWrittenListed &&
          r.leftoverTempFiles === 0 &&
          r.afterRecovery.metrics === 20 &&
          r.afterRecovery.upload === 200 &&
          r.integrity.length === 0 &&
          r.acknowledgedLost === 0;
        failed += report('disk full (SQLite store and artifacts on a 16 MB tmpfs)', r, ok);
      } finally {
        tmpfs.unmount();
      }
    }
    const cluster = await PrivateCluster.create();
    try {
      for (const gapMs of [2000, 10_000]) {
        const r = await postgresRestart(cluster, gapMs);
        const ok = r.unexpected.length === 0 && r.sdkFailures.length === 0 && r.acknowledgedLost === 0;
        failed += report(`PostgreSQL stopped for ${gapMs / 1000} s under load`, r, ok);
      }
    } finally {
      cluster.destroy();
    }
    failed += await withServer([], async (server, artifacts) => {
      const target = {
        name: 'local',
        leftovers: async () => readdirSync(path.join(artifacts, UPLOAD_TEMP_DIR), { recursive: true }).length,
      };
      const r = await clientDisconnects(server, target, 50);
      const { before, after } = r.descriptors;
      const ok =
        !r.uploadListed &&
        r.leftovers === 0 &&
        r.serverHealthy &&
        after.files <= before.files &&
        after.sockets <= before.sockets;
      return report('clients hanging up mid-upload and mid-download, 50 times each', r, ok);
    });
  }
  if (campaigns.includes('limits')) {
    failed += await withServer([], async (server) => {
      const r = await slowloris(server, sizes.slowConnections, 3000, 30_000);
      const ok = r.stillOpen === 0 && r.legitimate.ok > 0 && r.healthyAfter;
      return report(`slowloris, ${sizes.slowConnections} connections, default limits, 30 s`, r, ok);
    });
    failed += await withServer([], async (server) => {
      const body = await oversizedBody(server);
      failed += report('a 33 MB JSON body', body, body.status === 400);
      const upload = await uploadMemory(server, sizes.uploadMb);
      failed += report(`a ${sizes.uploadMb} MB upload through the proxy`, upload, upload.status === 200);
      const history = await historyMemory(server, sizes.points);
      return report(`a ${sizes.points}-point metric history read`, history, history.bytes > 0);
    });
  }
  return failed;
}
