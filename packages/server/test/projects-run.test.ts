import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExecutionError } from '../src/projects/execution-error.js';
import { runProject } from '../src/projects/run-project.js';
import { call, DIALECTS, REPO_ROOT, startTestServer, type TestServer, tempDir } from './helpers.js';

// `mlflow-ts run` on the local backend against a real tracking server: what is recorded, what the
// command receives, and how the run ends (finished, failed, killed by a signal).

const CLI = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');

/** Writes a project; `report.py` records its argv, the run variables and the run as seen from inside. */
function makeProject(
  mlproject: string,
  extra: Record<string, string> = {},
): { dir: string; cleanup: () => void } {
  const tmp = tempDir('mlflow-ts-project-');
  writeFileSync(path.join(tmp.dir, 'MLproject'), mlproject);
  writeFileSync(
    path.join(tmp.dir, 'report.py'),
    `import json, os, sys, urllib.request
uri = os.environ["MLFLOW_TRACKING_URI"]
run_id = os.environ["MLFLOW_RUN_ID"]
with urllib.request.urlopen(f"{uri}/api/2.0/mlflow/runs/get?run_id={run_id}") as r:
    run = json.load(r)["run"]
out = {"argv": sys.argv[1:], "run_id": run_id, "experiment_id": os.environ["MLFLOW_EXPERIMENT_ID"],
       "tracking_uri": uri, "status_seen": run["info"]["status"],
       "params_seen": {p["key"]: p["value"] for p in run["data"].get("params", [])}}
for name in sys.argv[1:]:
    if name.startswith("@"):
        with open(name[1:]) as f: out.setdefault("files", []).append(f.read())
    elif os.path.isdir(name):
        tree = {}
        for d, _, fs in os.walk(name):
            for fn in fs:
                with open(os.path.join(d, fn)) as f: tree[os.path.relpath(os.path.join(d, fn), name)] = f.read()
        out.setdefault("dirs", []).append(tree)
with open(os.environ.get("REPORT_TO", "report.json"), "w") as f:
    json.dump(out, f)
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
`,
  );
  for (const [name, text] of Object.entries(extra)) {
    mkdirSync(path.dirname(path.join(tmp.dir, name)), { recursive: true });
    writeFileSync(path.join(tmp.dir, name), text);
  }
  return tmp;
}

function report(dir: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
}

async function getRun(server: TestServer, runId: string) {
  const res = await call(server.api, 'GET', 'runs/get', { run_id: runId });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const run = res.body.run;
  const tags = Object.fromEntries((run.data.tags ?? []).map((t: any) => [t.key, t.value]));
  const params = Object.fromEntries((run.data.params ?? []).map((t: any) => [t.key, t.value]));
  return { info: run.info, tags, params };
}

const quiet = () => {};

const ECHO_PROJECT = `name: echo
entry_points:
  main:
    parameters:
      text: string
      alpha: {type: float, default: 0.5}
    command: "python3 report.py {text} --alpha={alpha}"
`;

for (const dialect of DIALECTS) {
  describe(`project runs recorded in tracking (${dialect})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(dialect);
    });
    after(() => server.close());

    test('the run exists with its params and tags before the command starts, and ends FINISHED', async (t) => {
      const p = makeProject(ECHO_PROJECT);
      t.after(p.cleanup);
      const submitted = await runProject({
        uri: p.dir,
        parameters: { text: 'hello' },
        envManager: 'local',
        trackingUri: server.url,
        log: quiet,
      });
      assert.equal(await submitted.wait(), true);
      assert.equal(submitted.status(), 'FINISHED');
      const seen = report(p.dir);
      assert.equal(seen.run_id, submitted.runId);
      assert.equal(seen.experiment_id, '0');
      assert.equal(seen.tracking_uri, server.url);
      assert.equal(seen.status_seen, 'RUNNING');
      assert.deepEqual(seen.params_seen, { text: 'hello', alpha: '0.5' });
      assert.deepEqual(seen.argv, ['hello', '--alpha=0.5']);

      const run = await getRun(server, submitted.runId);
      assert.equal(run.info.status, 'FINISHED');
      assert.ok(run.info.end_time >= run.info.start_time);
      assert.equal(run.tags['mlflow.source.type'], 'PROJECT');
      assert.equal(run.tags['mlflow.source.name'], p.dir);
      assert.equal(run.tags['mlflow.project.entryPoint'], 'main');
      assert.equal(run.tags['mlflow.project.backend'], 'local');
      assert.ok(run.tags['mlflow.user']);
      assert.equal(run.info.user_id, run.tags['mlflow.user']);
      // --env-manager local sets no mlflow.project.env, as in MLflow; no Git checkout, no git tags.
      assert.equal(run.tags['mlflow.project.env'], undefined);
      assert.equal(run.tags['mlflow.source.git.commit'], undefined);
    });

    test('values with spaces, quotes, ;, $(), backticks and newlines reach the program unchanged', async (t) => {
      const p = makeProject(ECHO_PROJECT);
      t.after(p.cleanup);
      const marker = path.join(p.dir, 'INJECTED');
      const nasty = [
        `two words`,
        `it's "quoted"`,
        `a; touch ${marker}`,
        `$(touch ${marker})`,
        `\`touch ${marker}\``,
        `line1\nline2`,
        `' ; touch ${marker} ; '`,
        '',
      ];
      for (const value of nasty) {
        const submitted = await runProject({
          uri: p.dir,
          parameters: { text: value, 'extra-key': value, 'key with spaces': 'v' },
          envManager: 'local',
          trackingUri: server.url,
          log: quiet,
        });
        assert.equal(await submitted.wait(), true, `run with ${JSON.stringify(value)} failed`);
        assert.deepEqual(report(p.dir).argv, [
          value,
          '--alpha=0.5',
          '--extra-key',
          value,
          '--key with spaces',
          'v',
        ]);
        assert.equal(existsSync(marker), false, `value ${JSON.stringify(value)} ran a command`);
      }
    });

    test('params are logged as MLflow logs them: shell-quoted as in the command', async (t) => {
      const p = makeProject(ECHO_PROJECT);
      t.after(p.cleanup);
      const submitted = await runProject({
        uri: p.dir,
        parameters: { text: 'a b', extra: 'x' },
        envManager: 'local',
        trackingUri: server.url,
        log: quiet,
      });
      await submitted.wait();
      assert.deepEqual((await getRun(server, submitted.runId)).params, {
        text: "'a b'",
        alpha: '0.5',
        extra: 'x',
      });
    });

    test('a failing command ends the run FAILED', async (t) => {
      const p = makeProject(ECHO_PROJECT);
      t.after(p.cleanup);
      process.env.EXIT_WITH = '3';
      t.after(() => delete process.env.EXIT_WITH);
      const submitted = await runProject({
        uri: p.dir,
        parameters: { text: 'x' },
        envManager: 'local',
        trackingUri: server.url,
        log: quiet,
      });
      assert.equal(await submitted.wait(), false);
      assert.equal(submitted.status(), 'FAILED');
      assert.equal((await getRun(server, submitted.runId)).info.status, 'FAILED');
    });

    test('a run the code ended itself keeps the status the code gave it', async (t) => {
      const p = makeProject(
        `name: self
entry_points:
  main:
    command: "python3 end.py"
`,
        {
          'end.py': `import json, os, urllib.request
body = json.dumps({"run_id": os.environ["MLFLOW_RUN_ID"], "status": "FINISHED", "end_time": 1}).encode()
req = urllib.request.Request(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/update", data=body, headers={"Content-Type": "application/json"})
urllib.request.urlopen(req).read()
raise SystemExit(1)
`,
        },
      );
      t.after(p.cleanup);
      const submitted = await runProject({
        uri: p.dir,
        envManager: 'local',
        trackingUri: server.url,
        log: quiet,
      });
      assert.equal(await submitted.wait(), false);
      const run = await getRun(server, submitted.runId);
      assert.equal(run.info.status, 'FINISHED');
      assert.equal(run.info.end_time, 1);
    });

    test('bad parameters fail before any run is created', async (t) => {
      const p = makeProject(ECHO_PROJECT);
      t.after(p.cleanup);
      const experiment = await call(server.api, 'POST', 'experiments/create', {
        name: `bad-params-${Date.now()}`,
      });
      const experimentId = experiment.body.experiment_id as string;
      for (const [parameters, message] of [
        [{}, /^No value given for missing parameters: 'text'$/],
        [
          { text: 'x', alpha: 'fast' },
          /^Parameter 'alpha' is of type float, but the value 'fast' is not a number\.$/,
        ],
      ] as const) {
        await assert.rejects(
          runProject({
            uri: p.dir,
            parameters,
            experimentId,
            envManager: 'local',
            trackingUri: server.url,
            log: quiet,
          }),
          (error: unknown) => error instanceof ExecutionError && message.test(error.message),
        );
      }
      const runs = await call(server.api, 'POST', 'runs/search', { experiment_ids: [experimentId] });
      assert.deepEqual(runs.body.runs ?? [], []);
      assert.equal(existsSync(path.join(p.dir, 'report.json')), false);
    });

    test('--experiment-name creates the experiment once; --run-name names the run; --run-id reuses a run', async (t) => {
      const p = makeProject(ECHO_PROJECT);
      t.after(p.cleanup);
      const name = `projects-${dialect}-${Date.now()}`;
      const first = await runProject({
        uri: p.dir,
        parameters: { text: 'a' },
        experimentName: name,
        runName: 'first-run',
        envManager: 'local',
        trackingUri: server.url,
        log: quiet,
      });
      await first.wait();
      const second = await runProject({
        uri: p.dir,
        parameters: { text: 'b' },
        experimentName: name,
        envManager: 'local',
        trackingUri: server.url,
        log: quiet,
      });
      await second.wait();
      const experiment = await call(server.api, 'GET', 'experiments/get-by-name', { experiment_name: name });
      const experimentId = experiment.body.experiment.experiment_id;
      assert.equal(first.experimentId, experimentId);
      assert.equal(second.experimentId, experimentId);
      const firstRun = await getRun(server, first.runId);
      assert.equal(firstRun.info.run_name, 'first-run');
      assert.equal(firstRun.tags['mlflow.runName'], 'first-run');

      const created = await call(server.api, 'POST', 'runs/create', { experiment_id: experimentId });
      const existing = created.body.run.info.run_id;
      const reused = await runProject({
        uri: p.dir,
        parameters: { text: 'c' },
        runId: existing,
        envManager: 'local',
        trackingUri: server.url,
        log: quiet,
      });
      assert.equal(reused.runId, existing);
      assert.equal(await reused.wait(), true);
      assert.equal(report(p.dir).run_id, existing);
      const run = await getRun(server, existing);
      assert.equal(run.info.status, 'FINISHED');
      assert.equal(run.tags['mlflow.project.backend'], 'local');
    });

    test('path parameters given as runs:/ and mlflow-artifacts: URIs are downloaded first', async (t) => {
      const p = makeProject(`name: paths
entry_points:
  main:
    parameters:
      data: path
      folder: path
    command: "python3 report.py @{data} {folder}"
`);
      t.after(p.cleanup);
      const created = await call(server.api, 'POST', 'runs/create', { experiment_id: '0' });
      const source = created.body.run.info;
      const artifactRoot = (source.artifact_uri as string).replace(/^mlflow-artifacts:\//, '');
      for (const [name, body] of [
        ['data.csv', 'a,b\n1,2\n'],
        ['dir/one.txt', 'one'],
        ['dir/sub/two.txt', 'two'],
      ]) {
        const put = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${artifactRoot}/${name}`, {
          method: 'PUT',
          body,
        });
        assert.equal(put.status, 200);
      }
      const storage = tempDir('mlflow-ts-storage-');
      t.after(storage.cleanup);
      const submitted = await runProject({
        uri: p.dir,
        parameters: { data: `runs:/${source.run_id}/data.csv`, folder: `${source.artifact_uri}/dir` },
        storageDir: storage.dir,
        envManager: 'local',
        trackingUri: server.url,
        log: quiet,
      });
      assert.equal(await submitted.wait(), true);
      const seen = report(p.dir);
      assert.deepEqual(seen.files, ['a,b\n1,2\n']);
      const [dataArg, folder] = seen.argv as string[];
      assert.ok(dataArg.startsWith(`@${storage.dir}/`), dataArg);
      assert.match(dataArg, /\/param_0\/data\.csv$/);
      assert.match(folder, /\/param_1\/dir$/);
      assert.deepEqual(seen.dirs, [{ 'one.txt': 'one', 'sub/two.txt': 'two' }]);
      // The downloads lived as long as the command: the run's folder is gone, the storage dir kept.
      assert.deepEqual(readdirSync(storage.dir), []);
      // What is logged is the URI as given, not the local copy.
      assert.equal((await getRun(server, submitted.runId)).params.data, `runs:/${source.run_id}/data.csv`);
    });

    test('a missing remote path fails the run before the command runs', async (t) => {
      const p = makeProject(`name: paths
entry_points:
  main:
    parameters:
      data: path
    command: "python3 report.py {data}"
`);
      t.after(p.cleanup);
      const storage = tempDir('mlflow-ts-storage-');
      t.after(storage.cleanup);
      await assert.rejects(
        runProject({
          uri: p.dir,
          parameters: { data: 'mlflow-artifacts:/nope/missing.csv' },
          experimentId: '0',
          envManager: 'local',
          storageDir: storage.dir,
          trackingUri: server.url,
          log: quiet,
        }),
        (error: unknown) =>
          error instanceof ExecutionError &&
          /Could not download mlflow-artifacts:\/nope\/missing\.csv for parameter data/.test(error.message),
      );
      assert.equal(existsSync(path.join(p.dir, 'report.json')), false);
      // The half-made download folder goes with the failed run.
      assert.deepEqual(readdirSync(storage.dir), []);
    });

    test('a command ended by SIGTERM from outside (kill, scancel) is KILLED, not FAILED', async (t) => {
      const p = makeProject(`name: self-kill
entry_points:
  main:
    command: "kill -TERM $$"
`);
      t.after(p.cleanup);
      const submitted = await runProject({
        uri: p.dir,
        envManager: 'local',
        trackingUri: server.url,
        log: quiet,
      });
      assert.equal(await submitted.wait(), false);
      assert.equal(submitted.status(), 'KILLED');
      assert.equal((await getRun(server, submitted.runId)).info.status, 'KILLED');
    });

    test('cancel() stops the whole process tree and records KILLED', async (t) => {
      const p = makeProject(`name: sleeper
entry_points:
  main:
    command: "sleep 300 & echo $! > grandchild.pid; wait"
`);
      t.after(p.cleanup);
      const submitted = await runProject({
        uri: p.dir,
        envManager: 'local',
        trackingUri: server.url,
        log: quiet,
      });
      const pidFile = path.join(p.dir, 'grandchild.pid');
      while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') await sleep(20);
      const grandchild = Number(readFileSync(pidFile, 'utf8'));
      assert.equal(submitted.status(), 'RUNNING');
      await submitted.cancel();
      assert.equal(submitted.status(), 'KILLED');
      assert.equal(await submitted.wait(), false);
      assert.equal((await getRun(server, submitted.runId)).info.status, 'KILLED');
      assert.equal(await processAlive(grandchild), false, 'the background sleep survived');
    });
  });
}

/** Whether `pid` still runs, waiting up to 3 s for it to go (a zombie awaiting its reaper counts as gone). */
async function processAlive(pid: number): Promise<boolean> {
  for (let i = 0; i < 150; i++) {
    let state: string;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    } catch {
      return false;
    }
    if (state === 'Z' || state === 'X') return false;
    await sleep(20);
  }
  return true;
}

describe('mlflow-ts run (the CLI)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('sqlite');
  });
  after(() => server.close());

  function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, [CLI, 'run', ...args], {
      env: { ...process.env, MLFLOW_TRACKING_URI: server.url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on('close', (code) => resolve({ code, stdout, stderr })),
    );
    return { child, done };
  }

  test('-P, -e, --experiment-name and MLFLOW_TRACKING_URI as in MLflow; exit 0 on success', async (t) => {
    const p = makeProject(`${ECHO_PROJECT}  other:
    command: "python3 report.py other"
`);
    t.after(p.cleanup);
    const name = `cli-${Date.now()}`;
    const ok = await cli([
      p.dir,
      '-P',
      'text=hi there',
      '-P',
      'alpha=2',
      '--env-manager',
      'local',
      '--experiment-name',
      name,
    ]).done;
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(report(p.dir).argv, ['hi there', '--alpha=2']);
    assert.match(ok.stderr, /=== Run \(ID '[0-9a-f]{32}'\) succeeded ===/);
    const other = await cli([p.dir, '-e', 'other', '--env-manager', 'local', '--experiment-name', name]).done;
    assert.equal(other.code, 0, other.stderr);
    assert.deepEqual(report(p.dir).argv, ['other']);
  });

  test('usage errors are one clear line and exit 1, with no run created', async (t) => {
    const p = makeProject(ECHO_PROJECT);
    t.after(p.cleanup);
    const cases: Array<[string[], RegExp]> = [
      [[p.dir, '--env-manager', 'local'], /^Error: No value given for missing parameters: 'text'$/],
      [
        [p.dir, '-P', 'text', '--env-manager', 'local'],
        /^Error: Invalid format for -P parameter: 'text'\. Use -P name=value\.$/,
      ],
      [[p.dir, '-P', 'text=a', '-P', 'text=b'], /^Error: Repeated parameter: 'text'$/],
      [
        [p.dir, '-P', 'text=a', '--env-manager', 'pip'],
        /^Error: Invalid value for `env_manager`: pip\. Must be one of 'local', 'virtualenv', 'uv', 'conda'\.$/,
      ],
      [[p.dir, '-P', 'text=a', '-b', 'nowhere'], /^Error: Got unsupported execution mode nowhere\./],
      [[p.dir, '-P', 'text=a', '-c', '{not json'], /^Error: Invalid backend config JSON\. Parse error: /],
      [
        [p.dir, '-P', 'text=a', '--experiment-id', '0', '--experiment-name', 'x'],
        /^Error: Specify only one of 'experiment-name' or 'experiment-id' options\.$/,
      ],
      [
        [path.join(p.dir, 'nope')],
        /^Error: Project URI .*nope is neither an existing local directory nor a Git URI/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args).done;
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr.trim(), message);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
    assert.equal(existsSync(path.join(p.dir, 'report.json')), false);
  });

  test('a failed command exits 1 naming the run', async (t) => {
    const p = makeProject(ECHO_PROJECT);
    t.after(p.cleanup);
    const result = await cli([p.dir, '-P', 'text=x', '--env-manager', 'local'], { EXIT_WITH: '2' }).done;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Error: Run \(ID '[0-9a-f]{32}'\) failed/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} kills the process tree and marks the run KILLED`, async (t) => {
      const p = makeProject(`name: sleeper
entry_points:
  main:
    command: "sleep 300 & echo $! > grandchild.pid; wait"
`);
      t.after(p.cleanup);
      const { child, done } = cli([p.dir, '--env-manager', 'local']);
      const pidFile = path.join(p.dir, 'grandchild.pid');
      while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') await sleep(20);
      const grandchild = Number(readFileSync(pidFile, 'utf8'));
      child.kill(signal);
      const result = await done;
      assert.equal(result.code, signal === 'SIGTERM' ? 143 : 130, result.stderr);
      const runId = /run with ID '([0-9a-f]{32})'/.exec(result.stderr)?.[1];
      assert.ok(runId, result.stderr);
      assert.equal((await getRun(server, runId)).info.status, 'KILLED');
      assert.equal(await processAlive(grandchild), false, 'the background sleep survived');
    });
  }
});
