// The artifact_bytes_per_run quota: proxied uploads (and the UI's upload-artifact) at and over the
// limit, replaced files, bodies of unknown length, runs counted apart, and concurrent uploads.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, startTestServer, type TestServer } from './helpers.js';

const LIMIT = 100;

describe('artifact bytes per run', () => {
  let srv: TestServer;
  let experimentId: string;
  const newRun = async (): Promise<string> => {
    const res = await call(srv.api, 'POST', 'runs/create', { experiment_id: experimentId });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.run.info.run_id as string;
  };
  const url = (runId: string, file: string) =>
    `${srv.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${file}`;
  const put = async (target: string, bytes: number | ReadableStream<Uint8Array>) => {
    const res = await fetch(target, {
      method: 'PUT',
      body: typeof bytes === 'number' ? Buffer.alloc(bytes, 7) : bytes,
      ...(typeof bytes === 'number' ? {} : { duplex: 'half' }),
    } as RequestInit);
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, string>) : {} };
  };
  const stored = (runId: string, file: string) =>
    path.join(srv.artifactsDir, experimentId, runId, 'artifacts', file);
  const refusedWith = (
    res: { status: number; body: Record<string, string> },
    runId: string,
    current: number,
  ) => {
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error_code, 'RESOURCE_LIMIT_EXCEEDED');
    assert.match(
      res.body.message,
      new RegExp(
        `^The limit of ${LIMIT} artifact bytes per run \\(artifact_bytes_per_run\\) would be exceeded: run ${runId} has ${current} artifact bytes and this request would make it \\d+\\. Nothing was written\\.$`,
      ),
    );
  };

  before(async () => {
    srv = await startTestServer('sqlite', { limits: { artifact_bytes_per_run: LIMIT } });
    const res = await call(srv.api, 'POST', 'experiments/create', { name: 'artifact-quota' });
    experimentId = res.body.experiment_id as string;
  });
  after(() => srv.close());

  test('the limit is shown with the others', async () => {
    const res = await call(srv.api, 'GET', 'server-limits');
    assert.deepEqual(res.body, { limits: { artifact_bytes_per_run: LIMIT } });
  });

  test('uploads up to the limit are stored; one byte more is refused and not written', async () => {
    const runId = await newRun();
    assert.equal((await put(url(runId, 'a.bin'), 60)).status, 200);
    assert.equal((await put(url(runId, 'dir/b.bin'), 40)).status, 200);
    const over = await put(url(runId, 'c.bin'), 1);
    refusedWith(over, runId, 100);
    assert.match(over.body.message, /would make it 101\./);
    assert.equal(existsSync(stored(runId, 'c.bin')), false);
    // Another run has its own allowance.
    const other = await newRun();
    assert.equal((await put(url(other, 'a.bin'), 100)).status, 200);
  });

  test('replacing a file counts only the difference', async () => {
    const runId = await newRun();
    assert.equal((await put(url(runId, 'model.bin'), 90)).status, 200);
    assert.equal((await put(url(runId, 'model.bin'), 100)).status, 200);
    const replaced = await put(url(runId, 'model.bin'), 101);
    refusedWith(replaced, runId, 100);
    assert.match(replaced.body.message, /would make it 101\./);
    assert.equal((await fetch(url(runId, 'model.bin')).then((r) => r.arrayBuffer())).byteLength, 100);
  });

  test('a body of unknown length is cut off once it passes the room left, leaving nothing', async () => {
    const runId = await newRun();
    assert.equal((await put(url(runId, 'first.bin'), 50)).status, 200);
    const chunks = (n: number, size: number) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < n; i++) controller.enqueue(new Uint8Array(size));
          controller.close();
        },
      });
    refusedWith(await put(url(runId, 'streamed.bin'), chunks(8, 10)), runId, 50);
    assert.equal(existsSync(stored(runId, 'streamed.bin')), false);
    // Within the room, a chunked body is fine.
    assert.equal((await put(url(runId, 'streamed.bin'), chunks(5, 10))).status, 200);
    refusedWith(await put(url(runId, 'more.bin'), 1), runId, 100);
  });

  test('concurrent uploads to one run cannot overshoot the limit', async () => {
    const runId = await newRun();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => put(url(runId, `f${i}.bin`), 30)));
    assert.equal(answers.filter((a) => a.status === 200).length, 3);
    for (const a of answers) if (a.status !== 200) assert.equal(a.body.error_code, 'RESOURCE_LIMIT_EXCEEDED');
    const stored10 = Array.from({ length: 10 }, (_, i) => existsSync(stored(runId, `f${i}.bin`)));
    assert.equal(stored10.filter(Boolean).length, 3);
  });

  test("the web UI's upload-artifact counts against the same limit", async () => {
    const runId = await newRun();
    assert.equal((await put(url(runId, 'a.bin'), 95)).status, 200);
    const res = await fetch(
      `${srv.url}/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${runId}&path=note.txt`,
      {
        method: 'POST',
        body: Buffer.alloc(10, 1),
      },
    );
    const body = (await res.json()) as Record<string, string>;
    refusedWith({ status: res.status, body }, runId, 95);
    assert.equal(existsSync(stored(runId, 'note.txt')), false);
  });

  test('paths outside a run folder are not counted', async () => {
    const res = await put(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/shared/big.bin`, 500);
    assert.equal(res.status, 200);
  });
});

describe('artifact bytes per run on an --artifacts-only server (no store: reservations in memory)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer('sqlite', { artifactsOnly: true, limits: { artifact_bytes_per_run: LIMIT } });
  });
  after(() => srv.close());

  test('concurrent uploads to one run store at most the limit, and the refused leave nothing', async () => {
    const folder = `7/${'ab'.repeat(16)}/artifacts`;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/${folder}/f${i}.bin`, {
          method: 'PUT',
          body: Buffer.alloc(30, i),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> })),
      ),
    );
    const accepted = answers.flatMap((a, i) => (a.status === 200 ? [i] : []));
    assert.equal(accepted.length, 3);
    for (const a of answers) if (a.status !== 200) assert.equal(a.body.error_code, 'RESOURCE_LIMIT_EXCEEDED');
    for (let i = 0; i < 10; i++) {
      assert.equal(existsSync(path.join(srv.artifactsDir, folder, `f${i}.bin`)), accepted.includes(i));
    }
  });
});
