import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JobHandle } from '../src/projects/backends/project-backend.js';
import { PROJECT_BACKENDS, projectBackend, spokenList } from '../src/projects/backends/registry.js';
import { ExecutionError } from '../src/projects/execution-error.js';
import { superviseJob } from '../src/projects/job-lifecycle.js';
import { localizeParameters, resolveParameters } from '../src/projects/parameters.js';
import type { RunStatusName, RunTracking, TerminalStatus, TrackedRun } from '../src/projects/run-tracking.js';

// The one job lifecycle every backend's job goes through, the backend registry, and parameters
// resolved once then localized, with fakes for tracking and the job.

/** Tracking that records what the lifecycle did to one run. */
class FakeTracking implements RunTracking {
  readonly trackingUri = 'http://tracking.invalid';
  status: RunStatusName = 'RUNNING';
  terminated: TerminalStatus[] = [];
  closed = 0;
  failGetRun = false;

  async experimentIdForName(): Promise<string> {
    return '0';
  }
  async createRun(): Promise<TrackedRun> {
    return this.getRun('r1');
  }
  async getRun(runId: string): Promise<TrackedRun> {
    if (this.failGetRun) throw new Error('tracking server went away');
    return { runId, experimentId: '0', status: this.status, artifactUri: '', tags: {} };
  }
  async logParams(): Promise<void> {}
  async setTags(): Promise<void> {}
  async setTerminated(_runId: string, status: TerminalStatus): Promise<void> {
    this.terminated.push(status);
    this.status = status;
  }
  async setStatus(_runId: string, status: 'RUNNING' | 'SCHEDULED'): Promise<void> {
    this.status = status;
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

/** A job that ends when `end` is called (or KILLED once cancelled). */
function fakeJob(options: { followAtOnce?: boolean } = {}) {
  let end!: (status: TerminalStatus) => void;
  const ended = new Promise<TerminalStatus>((resolve) => {
    end = resolve;
  });
  const calls = { wait: 0, cancel: 0, cleanup: 0 };
  let current: RunStatusName = 'RUNNING';
  const job: JobHandle = {
    command: 'python train.py',
    jobId: 'job-7',
    followAtOnce: options.followAtOnce,
    async wait() {
      calls.wait++;
      current = await ended;
      return current;
    },
    status: () => current,
    async cancel() {
      calls.cancel++;
      end('KILLED');
    },
    cleanup() {
      calls.cleanup++;
    },
  };
  return { job, calls, end };
}

const run: TrackedRun = { runId: 'r1', experimentId: '0', status: 'RUNNING', artifactUri: '', tags: {} };

describe('superviseJob', () => {
  test('records the outcome once, cleans up and closes tracking once, however often it is waited for', async () => {
    const tracking = new FakeTracking();
    const lines: string[] = [];
    const { job, calls, end } = fakeJob();
    const submitted = superviseJob(job, { tracking, run, log: (l) => lines.push(l) });
    assert.equal(submitted.runId, 'r1');
    assert.equal(submitted.jobId, 'job-7');
    assert.equal(submitted.command, 'python train.py');
    // A remote job is not followed until someone waits.
    assert.equal(calls.wait, 0);
    const first = submitted.wait();
    const second = submitted.wait();
    end('FAILED');
    assert.deepEqual(await Promise.all([first, second]), [false, false]);
    assert.equal(await submitted.wait(), false);
    assert.equal(calls.wait, 1);
    assert.deepEqual(tracking.terminated, ['FAILED']);
    assert.equal(tracking.closed, 1);
    assert.equal(calls.cleanup, 1);
    assert.deepEqual(lines, ["=== Run (ID 'r1') failed ==="]);
  });

  test('a local process is followed at once, so its end is recorded without anyone waiting', async () => {
    const tracking = new FakeTracking();
    const { job, calls, end } = fakeJob({ followAtOnce: true });
    const submitted = superviseJob(job, { tracking, run, log: () => {} });
    assert.equal(calls.wait, 1);
    end('FINISHED');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(tracking.terminated, ['FINISHED']);
    assert.equal(await submitted.wait(), true);
    assert.equal(tracking.closed, 1);
  });

  test("keeps the status the run's own code recorded", async () => {
    const tracking = new FakeTracking();
    const { job, end } = fakeJob();
    const submitted = superviseJob(job, { tracking, run, log: () => {} });
    tracking.status = 'FAILED'; // the code called mlflow.end_run('FAILED') itself
    end('FINISHED');
    assert.equal(await submitted.wait(), true);
    assert.deepEqual(tracking.terminated, []);
    assert.equal(tracking.status, 'FAILED');
  });

  test('cancel stops the job, then records KILLED and closes tracking', async () => {
    const tracking = new FakeTracking();
    const lines: string[] = [];
    const { job, calls } = fakeJob();
    const submitted = superviseJob(job, { tracking, run, log: (l) => lines.push(l) });
    await submitted.cancel();
    assert.equal(calls.cancel, 1);
    assert.deepEqual(tracking.terminated, ['KILLED']);
    assert.equal(submitted.status(), 'KILLED');
    assert.equal(tracking.closed, 1);
    assert.deepEqual(lines, ["=== Run (ID 'r1') was killed ==="]);
  });

  test('tracking failing at the end still cleans up and closes, and wait() rejects', async () => {
    const tracking = new FakeTracking();
    const { job, calls, end } = fakeJob();
    const submitted = superviseJob(job, { tracking, run, log: () => {} });
    tracking.failGetRun = true;
    end('FINISHED');
    await assert.rejects(submitted.wait(), /tracking server went away/);
    assert.equal(calls.cleanup, 1);
    assert.equal(tracking.closed, 1);
  });
});

describe('the backend registry', () => {
  test('one list of backends, found by name', () => {
    assert.deepEqual(
      PROJECT_BACKENDS.map((b) => b.name),
      ['local', 'slurm', 'databricks', 'kubernetes'],
    );
    assert.equal(projectBackend('slurm').name, 'slurm');
    assert.deepEqual(
      PROJECT_BACKENDS.filter((b) => b.detached).map((b) => b.name),
      ['slurm', 'databricks', 'kubernetes'],
    );
    assert.deepEqual(
      PROJECT_BACKENDS.filter((b) => b.runsSparkJobs).map((b) => b.name),
      ['databricks'],
    );
  });

  test("an unknown backend gets MLflow's message", () => {
    assert.throws(
      () => projectBackend('yarn'),
      (error: unknown) =>
        error instanceof ExecutionError &&
        error.message ===
          "Got unsupported execution mode yarn. Supported values: 'local', 'slurm', 'databricks', 'kubernetes'",
    );
  });

  test('spokenList', () => {
    assert.equal(spokenList([], 'or'), '');
    assert.equal(spokenList(['a'], 'or'), 'a');
    assert.equal(spokenList(['a', 'b'], 'and'), 'a and b');
    assert.equal(spokenList(['a', 'b', 'c'], 'or'), 'a, b or c');
  });
});

describe('localizeParameters', () => {
  const entryPoint = {
    name: 'main',
    command: 'python train.py {data} {out} {rate}',
    parameters: [
      { name: 'data', type: 'path' as const, default: undefined },
      { name: 'out', type: 'uri' as const, default: 'relative/out' },
      { name: 'rate', type: 'float' as const, default: '0.1' },
    ],
  };

  test('turns checked values into local ones: existing paths and uris made absolute', async () => {
    const resolved = await resolveParameters(entryPoint, { data: '.', extra: 'x y' });
    assert.deepEqual([...resolved.declared.values()], ['.', 'relative/out', '0.1']);
    const local = await localizeParameters(entryPoint, resolved, { storageDir: '/tmp', cwd: '/work' });
    assert.deepEqual(
      [...local.declared],
      [
        ['data', '/work'],
        ['out', '/work/relative/out'],
        ['rate', '0.1'],
      ],
    );
    assert.deepEqual([...local.extra], [['extra', 'x y']]);
  });

  test('a local path that does not exist is refused', async () => {
    const resolved = await resolveParameters(entryPoint, { data: 'no/such/file' });
    await assert.rejects(
      localizeParameters(entryPoint, resolved, { storageDir: '/tmp', cwd: '/work' }),
      /Got value no\/such\/file for parameter data, but no such file or directory was found\./,
    );
  });
});
