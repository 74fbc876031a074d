import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ExecutionError } from '../src/projects/execution-error.js';
import { runSweep, sweepTrials } from '../src/projects/sweep.js';
import { call, REPO_ROOT, startTestServer, type TestServer, tempDir } from './helpers.js';

// --sweep: grid and random searches as child runs of one parent, with a parallelism limit.

describe('sweep trial sets', () => {
  test('a grid is the cartesian product, in order, capped by maxTrials', () => {
    assert.deepEqual(sweepTrials({ a: '1,2', b: 'x,y,z' }, 'grid'), [
      { a: '1', b: 'x' },
      { a: '1', b: 'y' },
      { a: '1', b: 'z' },
      { a: '2', b: 'x' },
      { a: '2', b: 'y' },
      { a: '2', b: 'z' },
    ]);
    assert.equal(sweepTrials({ a: '1,2', b: 'x,y,z' }, 'grid', { maxTrials: 4 }).length, 4);
    assert.throws(() => sweepTrials({ a: '0..1' }, 'grid'), /--sweep grid needs a list of values for 'a'/);
    assert.throws(() => sweepTrials({ a: '1,,2' }, 'grid'), /Empty value in the sweep list of 'a'/);
  });

  test('random draws from lists and ranges, reproducibly with a seed', () => {
    const spec = { lr: '0.001..0.1:log', depth: '2..5', act: 'relu,tanh', frac: '0.2..0.8' };
    const a = sweepTrials(spec, 'random', { maxTrials: 50, seed: 42 });
    const b = sweepTrials(spec, 'random', { maxTrials: 50, seed: 42 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, sweepTrials(spec, 'random', { maxTrials: 50, seed: 43 }));
    for (const t of a) {
      assert.ok(Number(t.lr) >= 0.001 && Number(t.lr) <= 0.1, t.lr);
      assert.ok(['2', '3', '4', '5'].includes(t.depth), t.depth);
      assert.ok(['relu', 'tanh'].includes(t.act));
      assert.ok(Number(t.frac) >= 0.2 && Number(t.frac) <= 0.8);
    }
    assert.deepEqual(new Set(a.map((t) => t.depth)), new Set(['2', '3', '4', '5']));
    assert.throws(() => sweepTrials(spec, 'random'), /--sweep random needs --max-trials N/);
    assert.throws(() => sweepTrials({ x: '5..1' }, 'random', { maxTrials: 1 }), /Invalid range for 'x'/);
  });
});

describe('sweeps against a tracking server', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('sqlite');
  });
  after(() => server.close());

  /** Each trial records how many trials were running when it started (through a shared directory). */
  function makeProject() {
    const p = tempDir('mlflow-ts-sweep-');
    writeFileSync(
      path.join(p.dir, 'MLproject'),
      `name: sweep
entry_points:
  main:
    parameters:
      a: float
      b: string
    command: "python3 trial.py {a} {b}"
`,
    );
    writeFileSync(
      path.join(p.dir, 'trial.py'),
      `import os, sys, time
os.makedirs("running", exist_ok=True)
me = os.path.join("running", os.environ["MLFLOW_RUN_ID"])
open(me, "w").close()
with open("concurrency.txt", "a") as f: f.write(str(len(os.listdir("running"))) + "\\n")
time.sleep(0.4)
os.remove(me)
sys.exit(1 if sys.argv[2] == "bad" else 0)
`,
    );
    return p;
  }

  async function childrenOf(parentRunId: string) {
    const res = await call(server.api, 'POST', 'runs/search', {
      experiment_ids: ['0'],
      filter: `tags.mlflow.parentRunId = '${parentRunId}'`,
    });
    return (res.body.runs ?? []).map((r: any) => ({
      status: r.info.status,
      params: Object.fromEntries((r.data.params ?? []).map((p: any) => [p.key, p.value])),
    }));
  }

  test('a grid of 2 x 3 runs six child runs, never more than --max-parallel at once', async (t) => {
    const p = makeProject();
    t.after(p.cleanup);
    const result = await runSweep({
      uri: p.dir,
      sweep: 'grid',
      parameters: { a: '0.1,0.2', b: 'x,y,z' },
      maxParallel: 2,
      envManager: 'local',
      trackingUri: server.url,
      log: () => {},
    });
    assert.equal(result.ok, true);
    const children = await childrenOf(result.parentRunId);
    assert.equal(children.length, 6);
    assert.deepEqual(children.map((c: any) => `${c.params.a}/${c.params.b}`).sort(), [
      '0.1/x',
      '0.1/y',
      '0.1/z',
      '0.2/x',
      '0.2/y',
      '0.2/z',
    ]);
    for (const c of children) assert.equal(c.status, 'FINISHED');
    const seen = readFileSync(path.join(p.dir, 'concurrency.txt'), 'utf8').trim().split('\n').map(Number);
    assert.equal(seen.length, 6);
    assert.ok(Math.max(...seen) <= 2, `more than 2 trials ran at once: ${seen}`);
    assert.ok(Math.max(...seen) === 2, `the trials never overlapped: ${seen}`);
    const parent = await call(server.api, 'GET', 'runs/get', { run_id: result.parentRunId });
    assert.equal(parent.body.run.info.status, 'FINISHED');
    const params = Object.fromEntries(parent.body.run.data.params.map((x: any) => [x.key, x.value]));
    assert.deepEqual(params, { sweep: 'grid', trials: '6', max_parallel: '2' });
  });

  test('a failing trial fails the sweep; an invalid trial is reported without stopping the others', async (t) => {
    const p = makeProject();
    t.after(p.cleanup);
    const result = await runSweep({
      uri: p.dir,
      sweep: 'grid',
      parameters: { a: '1,oops', b: 'ok,bad' },
      maxParallel: 3,
      envManager: 'local',
      trackingUri: server.url,
      log: () => {},
    });
    assert.equal(result.ok, false);
    const byKey = Object.fromEntries(result.trials.map((x) => [`${x.parameters.a}/${x.parameters.b}`, x]));
    assert.equal(byKey['1/ok'].ok, true);
    assert.equal(byKey['1/bad'].ok, false);
    assert.ok(byKey['1/bad'].runId);
    // A non-numeric float never becomes a run.
    assert.equal(byKey['oops/ok'].runId, undefined);
    assert.match(byKey['oops/ok'].error ?? '', /is of type float, but the value 'oops' is not a number/);
    const parent = await call(server.api, 'GET', 'runs/get', { run_id: result.parentRunId });
    assert.equal(parent.body.run.info.status, 'FAILED');
  });

  test('mlflow-ts run --sweep random from the CLI', async (t) => {
    const p = makeProject();
    t.after(p.cleanup);
    const out = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          path.join(REPO_ROOT, 'packages/server/dist/cli/main.js'),
          'run',
          p.dir,
          '--sweep',
          'random',
          '--max-trials',
          '3',
          '--seed',
          '7',
          '--max-parallel',
          '3',
          '-P',
          'a=0..1',
          '-P',
          'b=u,v',
          '--env-manager',
          'local',
        ],
        { env: { ...process.env, MLFLOW_TRACKING_URI: server.url } },
        (error, _stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
      ),
    );
    assert.equal(out.code, 0, out.stderr);
    const parentId = /=== Sweep '([0-9a-f]{32})': 3 trial\(s\), at most 3 at a time ===/.exec(
      out.stderr,
    )?.[1];
    assert.ok(parentId, out.stderr);
    assert.equal((await childrenOf(parentId)).length, 3);
    const bad = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          path.join(REPO_ROOT, 'packages/server/dist/cli/main.js'),
          'run',
          p.dir,
          '--sweep',
          'random',
          '-P',
          'a=0..1',
        ],
        { env: { ...process.env, MLFLOW_TRACKING_URI: server.url } },
        (error, _stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
      ),
    );
    assert.equal(bad.code, 1);
    assert.equal(
      bad.stderr.trim(),
      'Error: --sweep random needs --max-trials N (how many parameter sets to draw).',
    );
  });

  test('bad sweep options are refused before any run', async () => {
    await assert.rejects(
      runSweep({
        uri: '/nonexistent',
        sweep: 'grid',
        parameters: { a: '1' },
        maxParallel: 0,
        trackingUri: server.url,
      }),
      (error: unknown) =>
        error instanceof ExecutionError && /--max-parallel must be a positive integer/.test(error.message),
    );
  });
});
