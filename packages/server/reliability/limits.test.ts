// The limits campaign's short form inside `npm test`: slowloris against the header timeout and the
// connection cap, the JSON body limit, and bounded memory for a streamed upload and a long history read.
// The long form (`npm run reliability -- --campaign limits`) uses 1 GB and more points.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tempDir } from '../test/helpers.js';
import { historyMemory, oversizedBody, refusedBodyThenReuse, slowloris, uploadMemory } from './limits.js';
import { freePort, type LiveServer, startServerProcess, stopServer } from './server-process.js';

let server: LiveServer;
const dirs = [tempDir('mlflow-ts-limits-'), tempDir('mlflow-ts-limits-artifacts-')];
before(async () => {
  server = await startServerProcess({
    storeUri: `sqlite:///${dirs[0].dir}/m.db`,
    artifactsDir: dirs[1].dir,
    port: await freePort(),
    extraArgs: ['--max-connections', '40', '--headers-timeout', '2'],
  });
});
after(async () => {
  await stopServer(server.child);
  for (const d of dirs) d.cleanup();
});

test('slowloris: slow connections are cut after the header timeout, the cap refuses the rest, real clients get through', async () => {
  const r = await slowloris(server, 100, 1000, 6000);
  assert.equal(r.stillOpen, 0, JSON.stringify(r));
  // 100 slow connections against a cap of 40: the surplus is refused on arrival.
  assert.ok(r.droppedAtOnce >= 50, JSON.stringify(r));
  // 2 s of header timeout, checked every second, plus slack for a busy machine.
  assert.ok(r.longestHeldMs < 5000, JSON.stringify(r));
  assert.ok(r.legitimate.ok > 0, JSON.stringify(r));
  assert.equal(r.healthyAfter, true);
});

test('--max-connections-per-address: one address holding its share cannot keep another client out', async () => {
  const dir = tempDir('mlflow-ts-per-address-');
  const capped = await startServerProcess({
    storeUri: `sqlite:///${dir.dir}/m.db`,
    artifactsDir: `${dir.dir}/artifacts`,
    port: await freePort(),
    extraArgs: ['--max-connections', '40', '--max-connections-per-address', '10', '--headers-timeout', '2'],
  });
  try {
    // 100 slow connections from 127.0.0.1; the well-behaved client comes from 127.0.0.2.
    const r = await slowloris(capped, 100, 1000, 4000, '127.0.0.2');
    assert.ok(r.droppedAtOnce >= 85, JSON.stringify(r));
    assert.equal(r.stillOpen, 0, JSON.stringify(r));
    assert.ok(r.legitimate.ok > 5, JSON.stringify(r));
    assert.equal(r.legitimate.failed, 0, JSON.stringify(r));
    assert.equal(r.healthyAfter, true);
  } finally {
    await stopServer(capped.child);
    dir.cleanup();
  }
});

test('a JSON body over 32 MB: 400 INVALID_PARAMETER_VALUE', async () => {
  assert.deepEqual(await oversizedBody(server), { status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
});

test('a refused body is read and dropped: the client writing it whole gets its 400, and the connection serves the next request', async () => {
  const r = await refusedBodyThenReuse(server);
  assert.deepEqual(r, {
    written: true,
    answers: ['HTTP/1.1 400 Bad Request', 'HTTP/1.1 200 OK'],
    error: undefined,
  });
});

test('a refused body of a client that asked to close: it still gets its 400 after writing the whole body', async () => {
  const r = await refusedBodyThenReuse(server, { close: true });
  assert.deepEqual(r, { written: true, answers: ['HTTP/1.1 400 Bad Request'], error: undefined });
});

test('a 200 MB upload streams through the proxy in bounded memory', async () => {
  const r = await uploadMemory(server, 200);
  assert.equal(r.status, 200);
  assert.ok(r.peakMb - r.before < 120, JSON.stringify(r));
});

test('a 100,000-point history is read back in bounded memory', async () => {
  const r = await historyMemory(server, 100_000);
  assert.ok(r.bytes > 100_000 * 40, JSON.stringify(r));
  assert.ok(r.peakMb - r.before < 100, JSON.stringify(r));
});
