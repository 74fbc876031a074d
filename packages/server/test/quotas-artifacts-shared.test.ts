// The artifact_bytes_per_run quota across server processes: two servers over one store and one
// artifact destination share their reservations, and a crashed one's reservation expires.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase } from '../src/store/database.js';
import { call, DIALECTS, freshStoreUri, REPO_ROOT, tempDir } from './helpers.js';

const LIMIT = 100;
const CLI = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts `mlflow-ts server` as a process of its own and waits until it answers. */
async function startProcess(uri: string, artifacts: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, 'server', '--backend-store-uri', uri, '--artifacts-destination', artifacts, '--port', String(port)],
    {
      stdio: 'ignore',
      env: {
        ...process.env,
        MLFLOW_TS_LIMIT_ARTIFACT_BYTES_PER_RUN: String(LIMIT),
        MLFLOW_TS_ARTIFACT_RESERVATION_SECONDS: '1',
      },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`the server on port ${port} did not start`);
}

/** The sizes of the files under `dir` (empty when it does not exist). */
function filesUnder(dir: string): Map<string, number> {
  const found = new Map<string, number>();
  if (!existsSync(dir)) return found;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const full = path.join(dir, name);
    if (statSync(full).isFile()) found.set(name, statSync(full).size);
  }
  return found;
}

for (const dialect of DIALECTS) {
  describe(`artifact bytes per run across two server processes (${dialect})`, { timeout: 120_000 }, () => {
    let store: { uri: string; cleanup: () => void };
    const artifacts = tempDir('mlflow-ts-artifacts-');
    let a: { url: string; child: ChildProcess };
    let b: { url: string; child: ChildProcess };
    let experimentId: string;
    const newRun = async (): Promise<string> => {
      const res = await call(`${a.url}/api/2.0/mlflow`, 'POST', 'runs/create', {
        experiment_id: experimentId,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.run.info.run_id as string;
    };
    const runDir = (runId: string) => path.join(artifacts.dir, experimentId, runId);
    const put = async (
      server: string,
      runId: string,
      file: string,
      body: Buffer | ReadableStream<Uint8Array>,
    ) => {
      const res = await fetch(
        `${server}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${file}`,
        { method: 'PUT', body, ...(Buffer.isBuffer(body) ? {} : { duplex: 'half' }) } as RequestInit,
      );
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, string>) : {} };
    };

    before(async () => {
      store = await freshStoreUri(dialect);
      // One after the other, so the first has created the schema when the second opens the store.
      a = await startProcess(store.uri, artifacts.dir);
      b = await startProcess(store.uri, artifacts.dir);
      const res = await call(`${a.url}/api/2.0/mlflow`, 'POST', 'experiments/create', { name: 'shared' });
      experimentId = res.body.experiment_id as string;
    });
    after(() => {
      a?.child.kill('SIGKILL');
      b?.child.kill('SIGKILL');
      store?.cleanup();
      artifacts.cleanup();
    });

    test('many concurrent uploads to one run through both processes never store more than the limit', async () => {
      const runId = await newRun();
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          put(i % 2 ? b.url : a.url, runId, `f${i}.bin`, Buffer.alloc(10, i)),
        ),
      );
      const accepted = answers.flatMap((r, i) => (r.status === 200 ? [`f${i}.bin`] : []));
      for (const r of answers) {
        if (r.status !== 200)
          assert.equal(r.body.error_code, 'RESOURCE_LIMIT_EXCEEDED', JSON.stringify(r.body));
      }
      const files = filesUnder(path.join(runDir(runId), 'artifacts'));
      // Exactly the accepted uploads are stored, whole; the refused ones left nothing.
      assert.deepEqual([...files.keys()].sort(), accepted.sort());
      const total = [...files.values()].reduce((x, y) => x + y, 0);
      assert.equal(total, accepted.length * 10);
      assert.ok(total <= LIMIT, `stored ${total} bytes, over the limit of ${LIMIT}`);
      assert.ok(accepted.length > 0);
      // No reservation was left behind: the rest of the room can be filled, and not one byte more.
      if (total < LIMIT)
        assert.equal((await put(b.url, runId, 'rest.bin', Buffer.alloc(LIMIT - total))).status, 200);
      const over = await put(a.url, runId, 'over.bin', Buffer.alloc(1));
      assert.equal(over.status, 400);
      assert.match(over.body.message, new RegExp(`run ${runId} has ${LIMIT} artifact bytes`));
    });

    test("an upload in flight in one process holds its room in the other; a crash's reservation expires", async () => {
      const runId = await newRun();
      // A body of unknown length that sends ten bytes and then stalls: it reserves all the room left.
      const stalled = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(10));
        },
      });
      const inFlight = put(a.url, runId, 'stalled.bin', stalled).catch(() => undefined);
      const database = await openDatabase(store.uri);
      try {
        const reserved = async () =>
          Number(
            (
              await database.reader
                .selectFrom('artifact_reservations')
                .select((eb) => eb.fn.countAll<number | string>().as('n'))
                .where('run_uuid', '=', runId)
                .executeTakeFirstOrThrow()
            ).n,
          );
        for (let i = 0; i < 100 && (await reserved()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
        assert.equal(await reserved(), 1);
        const refused = await put(b.url, runId, 'other.bin', Buffer.alloc(1));
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        assert.equal(refused.body.error_code, 'RESOURCE_LIMIT_EXCEEDED');
        assert.match(refused.body.message, new RegExp(`run ${runId} has ${LIMIT} artifact bytes`));
        // Still held after more than a reservation's lifetime: process A renews it while it streams.
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal((await put(b.url, runId, 'other.bin', Buffer.alloc(1))).status, 400);

        a.child.kill('SIGKILL');
        await inFlight;
        await new Promise((r) => setTimeout(r, 1500));
        // The crashed process's reservation has expired: the whole room is free again.
        assert.equal((await put(b.url, runId, 'after.bin', Buffer.alloc(LIMIT))).status, 200);
        assert.equal(await reserved(), 0);
        assert.deepEqual([...filesUnder(runDir(runId)).keys()], ['artifacts/after.bin']);
      } finally {
        await database.close();
      }
    });
  });
}
