// ArtifactQuota's counting when uploads land while another upload lists the run's folder: never too
// few bytes (no overshoot), and no double count refusing an upload that fits.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import type { FileInfo } from '../src/artifacts/artifact-repository.js';
import { LocalArtifactRepository } from '../src/artifacts/local-artifact-repository.js';
import { ArtifactQuota, MemoryReservationLedger } from '../src/services/artifact-quota.js';
import { tempDir } from './helpers.js';

const RUN = `1/${'cd'.repeat(16)}`;
const dir = tempDir('mlflow-ts-quota-');
after(() => dir.cleanup());

/** A local repository that runs `beforeList` (once) when a listing starts. */
class HookedRepository extends LocalArtifactRepository {
  beforeList?: () => Promise<void>;
  override async list(path: string): Promise<FileInfo[]> {
    const hook = this.beforeList;
    this.beforeList = undefined;
    await hook?.();
    return super.list(path);
  }
}

test('an upload that lands during another upload’s listing is counted once', async () => {
  const repo = new HookedRepository(`${dir.dir}/a`);
  const quota = new ArtifactQuota(100, repo, new MemoryReservationLedger(), 60_000);
  const first = await quota.admit(`${RUN}/artifacts/first.bin`, 60);
  // The first upload is stored and released while the second lists: the listing sees its 60 bytes
  // and the landed counter has them too.
  repo.beforeList = async () => {
    await repo.write(`${RUN}/artifacts/first.bin`, Readable.from([Buffer.alloc(60)]));
    await first.release(60);
  };
  const second = await quota.admit(`${RUN}/artifacts/second.bin`, 40);
  assert.deepEqual(second.cap, { runId: 'cd'.repeat(16), has: 60, base: 60, allowed: 40 });
  await second.release();
});

test('an upload in flight elsewhere is counted, and one byte more than the room is refused', async () => {
  const repo = new HookedRepository(`${dir.dir}/b`);
  const quota = new ArtifactQuota(100, repo, new MemoryReservationLedger(), 60_000);
  const first = await quota.admit(`${RUN}/artifacts/first.bin`, 60);
  await assert.rejects(quota.admit(`${RUN}/artifacts/second.bin`, 41), {
    errorCode: 'RESOURCE_LIMIT_EXCEEDED',
    message: /run (cd){16} has 60 artifact bytes and this request would make it 101\./,
  });
  // Released without landing (refused or failed): its room is free again.
  await first.release();
  const third = await quota.admit(`${RUN}/artifacts/third.bin`, 100);
  assert.equal(third.cap?.allowed, 100);
  await third.release();
});

test('a reservation that is not renewed expires', async () => {
  const repo = new HookedRepository(`${dir.dir}/c`);
  const ledger = new MemoryReservationLedger();
  const quota = new ArtifactQuota(100, repo, ledger, 60_000);
  // As a crashed process leaves it: reserved, never renewed nor released, and already past its time.
  await ledger.reserveArtifactBytes({
    runId: 'cd'.repeat(16),
    reservationId: 'crashed',
    listed: 0,
    replaced: 0,
    landedBefore: 0,
    declared: 100,
    limit: 100,
    expiresAt: Date.now() - 1,
    relistIfLanded: false,
  });
  const next = await quota.admit(`${RUN}/artifacts/next.bin`, 100);
  assert.equal(next.cap?.has, 0);
  await next.release();
});
