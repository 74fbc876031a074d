import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExecutionError } from '../src/projects/execution-error.js';
import { fetchProject, isGitUri, splitSubdirectory } from '../src/projects/project-source.js';
import { runProject } from '../src/projects/run-project.js';
import { call, REPO_ROOT, startTestServer, type TestServer, tempDir } from './helpers.js';

const CLI = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');

// Project sources: local directories (recording their Git commit) and Git repositories cloned fresh
// over file://, git:// (git daemon on loopback) and http:// with MLFLOW_GIT_USERNAME/PASSWORD.

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

const MLPROJECT = `name: versioned
entry_points:
  main:
    command: "cp VERSION \\"$OUT\\" && pwd > \\"$OUT.cwd\\""
`;

/** A repository: v1 (tagged v1) and v2 on main, v3 on branch feature; the project lives in sub/proj. */
function makeRepository(root: string) {
  const repo = path.join(root, 'repo');
  mkdirSync(path.join(repo, 'sub/proj'), { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  const commit = (version: string) => {
    writeFileSync(path.join(repo, 'sub/proj/MLproject'), MLPROJECT);
    writeFileSync(path.join(repo, 'sub/proj/VERSION'), version);
    writeFileSync(path.join(repo, 'MLproject'), MLPROJECT);
    writeFileSync(path.join(repo, 'VERSION'), `root-${version}`);
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', version);
    return git(repo, 'rev-parse', 'HEAD');
  };
  const v1 = commit('v1');
  git(repo, 'tag', 'v1');
  const v2 = commit('v2');
  git(repo, 'checkout', '-q', '-b', 'feature');
  const v3 = commit('v3');
  git(repo, 'checkout', '-q', 'main');
  return { repo, v1, v2, v3 };
}

function versionIn(dir: string): string {
  return readFileSync(path.join(dir, 'VERSION'), 'utf8');
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

describe('project sources', () => {
  const tmp = tempDir('mlflow-ts-sources-');
  const { repo, v1, v2, v3 } = makeRepository(tmp.dir);
  after(tmp.cleanup);

  test('#sub/dir is split off; a dot in it is refused', () => {
    assert.deepEqual(splitSubdirectory('https://h/r.git#a/b'), {
      uri: 'https://h/r.git',
      subdirectory: 'a/b',
    });
    assert.deepEqual(splitSubdirectory('"/x/y"'), { uri: '/x/y', subdirectory: '' });
    assert.throws(
      () => splitSubdirectory('https://h/r.git#../etc'),
      /'\.' is not allowed in project subdirectory paths\./,
    );
  });

  test('Git URI forms', () => {
    for (const uri of [
      'https://github.com/mlflow/mlflow-example',
      'http://h/r',
      'ssh://git@h/r.git',
      'git://h/r',
      'file:///srv/r',
      'git@github.com:mlflow/mlflow-example.git',
    ]) {
      assert.equal(isGitUri(uri), true, uri);
    }
    for (const uri of ['/a/b', 'relative/dir', 's3://bucket/x']) assert.equal(isGitUri(uri), false, uri);
  });

  test('a local checkout runs in place and records its commit, remote and file://root#sub source', async () => {
    git(repo, 'remote', 'add', 'origin', 'https://example.com/team/repo.git');
    try {
      const root = await fetchProject(repo, undefined);
      assert.equal(root.workDir, repo);
      assert.equal(root.cloned, false);
      assert.equal(root.commit, v2);
      assert.equal(root.repoUrl, 'https://example.com/team/repo.git');
      assert.equal(root.sourceName, `file://${repo}`);
      const sub = await fetchProject(`${repo}#sub/proj`, undefined);
      assert.equal(sub.workDir, path.join(repo, 'sub/proj'));
      assert.equal(sub.sourceName, `file://${repo}#sub/proj`);
      assert.equal(sub.commit, v2);
    } finally {
      git(repo, 'remote', 'remove', 'origin');
    }
  });

  test('a plain directory has no Git metadata', async (t) => {
    const plain = tempDir('mlflow-ts-plain-');
    t.after(plain.cleanup);
    const fetched = await fetchProject(plain.dir, undefined);
    assert.deepEqual(fetched, {
      workDir: plain.dir,
      sourceName: plain.dir,
      commit: undefined,
      repoUrl: undefined,
      cloned: false,
    });
    await assert.rejects(
      fetchProject(plain.dir, 'main'),
      /^ExecutionError: Setting a version is only supported for Git project URIs$/,
    );
  });

  test('file:// URIs are cloned fresh at the default branch, a tag, a branch or a commit', async () => {
    const head = await fetchProject(`file://${repo}#sub/proj`, undefined);
    assert.equal(head.cloned, true);
    assert.notEqual(path.dirname(path.dirname(head.workDir)), repo);
    assert.equal(head.commit, v2);
    assert.equal(versionIn(head.workDir), 'v2');
    assert.equal(head.sourceName, `file://${repo}#sub/proj`);
    assert.equal(head.repoUrl, `file://${repo}`);
    assert.equal(head.branch, undefined);

    const tag = await fetchProject(`file://${repo}#sub/proj`, 'v1');
    assert.equal(tag.commit, v1);
    assert.equal(versionIn(tag.workDir), 'v1');
    assert.equal(tag.branch, undefined);

    const branch = await fetchProject(`file://${repo}`, 'feature');
    assert.equal(branch.commit, v3);
    assert.equal(branch.branch, 'feature');
    assert.equal(versionIn(branch.workDir), 'root-v3');

    const sha = await fetchProject(`file://${repo}#sub/proj`, v1);
    assert.equal(sha.commit, v1);
    assert.equal(sha.branch, undefined);
  });

  test('a local checkout with --version is cloned; the user checkout is left alone', async () => {
    const fetched = await fetchProject(`${repo}#sub/proj`, 'v1');
    assert.equal(fetched.cloned, true);
    assert.equal(fetched.commit, v1);
    assert.equal(fetched.sourceName, `file://${repo}#sub/proj`);
    assert.equal(git(repo, 'rev-parse', 'HEAD'), v2);
    assert.equal(git(repo, 'status', '--porcelain'), '');
  });

  test('unknown versions, missing sub-directories and unreachable repositories are clear errors', async () => {
    const isExecution = (message: RegExp) => (error: unknown) =>
      error instanceof ExecutionError && message.test(error.message);
    await assert.rejects(
      fetchProject(`file://${repo}`, 'no-such-ref'),
      isExecution(
        /^Unable to checkout version 'no-such-ref' of git repo file:\/\/.* - please ensure that the version exists in the repo\./,
      ),
    );
    await assert.rejects(
      fetchProject(`file://${repo}#missing/dir`, undefined),
      isExecution(/^Could not find subdirectory missing\/dir of /),
    );
    await assert.rejects(
      fetchProject(`file://${tmp.dir}/nothing-here`, undefined),
      isExecution(/^Could not clone the Git repository file:\/\//),
    );
  });

  describe('git daemon on loopback', () => {
    let daemon: ChildProcess;
    let port: number;
    before(async () => {
      port = await freePort();
      daemon = spawn(
        'git',
        [
          'daemon',
          '--reuseaddr',
          '--export-all',
          `--base-path=${tmp.dir}`,
          '--listen=127.0.0.1',
          `--port=${port}`,
          tmp.dir,
        ],
        {
          stdio: 'ignore',
        },
      );
      await waitForPort(port);
    });
    after(() => daemon.kill());

    test('git:// URIs clone at a version, with a sub-directory', async () => {
      const fetched = await fetchProject(`git://127.0.0.1:${port}/repo#sub/proj`, 'feature');
      assert.equal(fetched.commit, v3);
      assert.equal(fetched.branch, 'feature');
      assert.equal(versionIn(fetched.workDir), 'v3');
      assert.equal(fetched.repoUrl, `git://127.0.0.1:${port}/repo`);
    });
  });

  describe('HTTP with MLFLOW_GIT_USERNAME / MLFLOW_GIT_PASSWORD', () => {
    let server: http.Server;
    let url: string;
    const seenAuth: string[] = [];
    before(async () => {
      // git's smart HTTP protocol through `git http-backend` (CGI), behind Basic authentication.
      server = http.createServer((req, res) => {
        const auth = req.headers.authorization ?? '';
        seenAuth.push(auth);
        if (auth !== `Basic ${Buffer.from('alice:s3cret pass').toString('base64')}`) {
          res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
          return;
        }
        const [pathInfo, query = ''] = (req.url ?? '').split('?');
        const cgi = spawn('git', ['http-backend'], {
          env: {
            ...process.env,
            GIT_PROJECT_ROOT: tmp.dir,
            GIT_HTTP_EXPORT_ALL: '1',
            PATH_INFO: pathInfo,
            QUERY_STRING: query,
            REQUEST_METHOD: req.method,
            CONTENT_TYPE: req.headers['content-type'] ?? '',
            REMOTE_USER: 'alice',
            GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
          },
        });
        req.pipe(cgi.stdin);
        const chunks: Buffer[] = [];
        cgi.stdout.on('data', (c: Buffer) => chunks.push(c));
        cgi.on('close', () => {
          const out = Buffer.concat(chunks);
          const split = out.indexOf('\r\n\r\n');
          const head = out.subarray(0, split).toString();
          const headers: Record<string, string> = {};
          let status = 200;
          for (const line of head.split('\r\n')) {
            const [k, ...v] = line.split(':');
            if (k.toLowerCase() === 'status') status = Number.parseInt(v.join(':'), 10);
            else headers[k] = v.join(':').trim();
          }
          res.writeHead(status, headers).end(out.subarray(split + 4));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/repo`;
    });
    after(() => server.close());

    test('credentials come from the environment, never from the URL', async (t) => {
      const saved = { u: process.env.MLFLOW_GIT_USERNAME, p: process.env.MLFLOW_GIT_PASSWORD };
      t.after(() => {
        for (const [k, v] of [
          ['MLFLOW_GIT_USERNAME', saved.u],
          ['MLFLOW_GIT_PASSWORD', saved.p],
        ] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      });
      delete process.env.MLFLOW_GIT_USERNAME;
      delete process.env.MLFLOW_GIT_PASSWORD;
      await assert.rejects(fetchProject(`${url}#sub/proj`, undefined), /Could not clone the Git repository/);
      process.env.MLFLOW_GIT_USERNAME = 'alice';
      process.env.MLFLOW_GIT_PASSWORD = 's3cret pass';
      const fetched = await fetchProject(`${url}#sub/proj`, 'v1');
      assert.equal(fetched.commit, v1);
      assert.equal(fetched.repoUrl, url);
      // The clone's config keeps the URL without credentials.
      assert.doesNotMatch(readFileSync(path.join(fetched.workDir, '../../.git/config'), 'utf8'), /s3cret/);
      assert.ok(seenAuth.some((a) => a.startsWith('Basic ')));
    });
  });

  test('mlflow-ts run -v / --version pick the Git version (not the program version)', async (t) => {
    const out = path.join(tmp.dir, 'cli-out');
    const store = tempDir('mlflow-ts-cli-store-');
    t.after(store.cleanup);
    for (const [flag, version, expected] of [
      ['-v', 'v1', 'v1'],
      ['--version', 'feature', 'v3'],
    ]) {
      const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [CLI, 'run', `file://${repo}#sub/proj`, flag, version, '--env-manager', 'local'],
          { env: { ...process.env, OUT: out, MLFLOW_TRACKING_URI: `sqlite:///${store.dir}/mlflow.db` } },
          (error, _stdout, stderr) =>
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
        ),
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(readFileSync(out, 'utf8'), expected);
    }
  });

  describe('runs of Git projects in tracking', () => {
    let tracking: TestServer;
    before(async () => {
      tracking = await startTestServer('sqlite');
    });
    after(() => tracking.close());

    test('tags: commit, branch, repo URL (also the legacy mlflow.gitRepoURL) and the URI as source name', async (t) => {
      const out = path.join(tmp.dir, 'out.json');
      process.env.OUT = out;
      t.after(() => delete process.env.OUT);
      const uri = `file://${repo}#sub/proj`;
      const submitted = await runProject({
        uri,
        version: 'feature',
        envManager: 'local',
        trackingUri: tracking.url,
        log: () => {},
      });
      assert.equal(await submitted.wait(), true);
      assert.equal(readFileSync(out, 'utf8'), 'v3');
      assert.match(readFileSync(`${out}.cwd`, 'utf8').trim(), /mlflow-ts-project-.*\/repo\/sub\/proj$/);
      const res = await call(tracking.api, 'GET', 'runs/get', { run_id: submitted.runId });
      const tags = Object.fromEntries(res.body.run.data.tags.map((x: any) => [x.key, x.value]));
      assert.equal(tags['mlflow.source.name'], uri);
      assert.equal(tags['mlflow.source.type'], 'PROJECT');
      assert.equal(tags['mlflow.source.git.commit'], v3);
      assert.equal(tags['mlflow.source.git.branch'], 'feature');
      assert.equal(tags['mlflow.source.git.repoURL'], `file://${repo}`);
      assert.equal(tags['mlflow.gitRepoURL'], `file://${repo}`);
    });
  });
});
