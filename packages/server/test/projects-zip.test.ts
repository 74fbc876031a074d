import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ExecutionError } from '../src/projects/execution-error.js';
import { fetchProject, isZipUri } from '../src/projects/project-source.js';
import { runProject } from '../src/projects/run-project.js';
import { call, REPO_ROOT, startTestServer, type TestServer, tempDir } from './helpers.js';

const CLI = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');

// Zip archives as project sources: a local path, a file:// URI or an http(s) URL (served here from
// loopback), unpacked into a fresh directory. The archives are written by Python's zipfile, which can
// write what no careful tool would (names with `..`, absolute names, links leading out), so the
// refusals are tested against real hostile archives.

interface ZipEntry {
  name: string;
  data?: string;
  /** Unix mode bits, e.g. 0o100755 for an executable file or 0o120777 for a symbolic link. */
  mode?: number;
  /** Stored without compression (else deflated). */
  stored?: boolean;
  /** This many random (incompressible) bytes instead of `data`. */
  randomBytes?: number;
}

function writeZip(file: string, entries: ZipEntry[]): void {
  const script = `
import json, os, sys, zipfile
entries = json.load(sys.stdin)
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    for e in entries:
        info = zipfile.ZipInfo(e['name'])
        info.create_system = 3
        info.compress_type = zipfile.ZIP_STORED if e.get('stored') else zipfile.ZIP_DEFLATED
        if 'mode' in e:
            info.external_attr = e['mode'] << 16
        z.writestr(info, os.urandom(e['randomBytes']) if 'randomBytes' in e else e.get('data', ''))
`;
  execFileSync('python3', ['-c', script, file], { input: JSON.stringify(entries) });
}

const MLPROJECT = `name: zipped
entry_points:
  main:
    parameters:
      greeting: {type: string, default: hello}
    command: "./say.sh {greeting} > \\"$OUT\\" && pwd > \\"$OUT.cwd\\""
`;

/** A project at the root and the same project in sub/proj, with an executable entry script. */
function projectEntries(marker: string): ZipEntry[] {
  const script = `#!/bin/sh\necho "$1 from ${marker}"\n`;
  return [
    { name: 'MLproject', data: MLPROJECT },
    { name: 'say.sh', data: script, mode: 0o100755 },
    { name: 'sub/' },
    { name: 'sub/proj/MLproject', data: MLPROJECT },
    { name: 'sub/proj/say.sh', data: script.replace(marker, `${marker}/sub`), mode: 0o100755 },
    { name: 'sub/proj/data/', mode: 0o040755 },
    { name: 'sub/proj/data/rows.csv', data: 'a,b\n1,2\n' },
    { name: 'sub/proj/rows-link.csv', data: 'data/rows.csv', mode: 0o120777 },
  ];
}

const isExecution = (message: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ExecutionError, String(error));
  assert.match(error.message, message);
  return true;
};

/** Entries of the fresh temporary directories made by fetchProject, to check nothing is left behind. */
function projectTempDirs(): Set<string> {
  return new Set(readdirSync(tmpdir()).filter((name) => /^mlflow-ts-(project|zip)-/.test(name)));
}

describe('zip archives as project sources', () => {
  const tmp = tempDir('mlflow-ts-zip-test-');
  after(tmp.cleanup);
  const archive = path.join(tmp.dir, 'project.zip');
  writeZip(archive, projectEntries('local'));
  // The canary must never be written by a hostile archive.
  const canary = path.join(tmp.dir, 'canary');

  test('URIs ending in .zip (after the #sub/dir is split off) are archives', () => {
    for (const uri of ['p.zip', '/a/p.zip', 'file:///a/p.zip', 'https://h/x/p.ZIP'])
      assert.equal(isZipUri(uri), true, uri);
    for (const uri of ['.zip', 'p.zip/x', 'p.zipx', 'https://h/p.zip?x=1'])
      assert.equal(isZipUri(uri), false, uri);
  });

  test('a local archive is unpacked into a fresh directory; modes and inner links survive', async () => {
    const lines: string[] = [];
    const fetched = await fetchProject(archive, undefined, (line) => lines.push(line));
    assert.equal(fetched.cloned, true);
    assert.match(path.basename(fetched.workDir), /^mlflow-ts-project-/);
    assert.equal(path.dirname(fetched.workDir), tmpdir());
    assert.deepEqual(lines, [`=== Fetching project from ${archive} into ${fetched.workDir} ===`]);
    assert.equal(readFileSync(path.join(fetched.workDir, 'MLproject'), 'utf8'), MLPROJECT);
    assert.equal(statSync(path.join(fetched.workDir, 'say.sh')).mode & 0o111, 0o111);
    assert.equal(statSync(path.join(fetched.workDir, 'MLproject')).mode & 0o111, 0);
    const link = path.join(fetched.workDir, 'sub/proj/rows-link.csv');
    assert.equal(lstatSync(link).isSymbolicLink(), true);
    assert.equal(readlinkSync(link), 'data/rows.csv');
    assert.equal(readFileSync(link, 'utf8'), 'a,b\n1,2\n');
    assert.equal(fetched.sourceName, archive);
    assert.equal(fetched.commit, undefined);
    assert.equal(fetched.repoUrl, undefined);
  });

  test('a relative path, a file:// URI and #sub/dir', async () => {
    const relative = path.relative(process.cwd(), archive);
    const viaRelative = await fetchProject(`${relative}#sub/proj`, undefined);
    assert.equal(path.basename(viaRelative.workDir), 'proj');
    assert.equal(viaRelative.sourceName, `${archive}#sub/proj`);
    assert.equal(readFileSync(path.join(viaRelative.workDir, 'say.sh'), 'utf8').includes('local/sub'), true);

    const spaced = path.join(tmp.dir, 'with space.zip');
    writeZip(spaced, projectEntries('spaced'));
    const uri = `file://${spaced.replaceAll(' ', '%20')}#sub/proj`;
    const viaFile = await fetchProject(uri, undefined);
    assert.match(readFileSync(path.join(viaFile.workDir, 'say.sh'), 'utf8'), /spaced\/sub/);
    assert.equal(viaFile.sourceName, uri);
  });

  test('--version, a missing archive, a missing sub-directory and other schemes are clear errors', async () => {
    const before = projectTempDirs();
    await assert.rejects(
      fetchProject(archive, 'v1'),
      isExecution(/^Setting a version is only supported for Git project URIs$/),
    );
    await assert.rejects(
      fetchProject(path.join(tmp.dir, 'missing.zip'), undefined),
      isExecution(/^Could not find the ZIP archive .*missing\.zip \(project URI .*missing\.zip\)\.$/),
    );
    await assert.rejects(
      fetchProject(`${archive}#no/such/dir`, undefined),
      isExecution(/^Could not find subdirectory no\/such\/dir of .*mlflow-ts-project-/),
    );
    await assert.rejects(
      fetchProject('s3://bucket/project.zip', undefined),
      isExecution(
        /^Cannot fetch the ZIP archive s3:\/\/bucket\/project\.zip: only local paths, file:\/\/ URIs and http\(s\) URLs/,
      ),
    );
    // Failed fetches leave no directory behind, except the one holding the missing sub-directory's
    // archive contents (as MLflow, which names it in the error).
    const left = [...projectTempDirs()].filter((name) => !before.has(name));
    assert.equal(left.length, 1, left.join(', '));
  });

  test('a corrupt archive is refused with a message, and nothing is left behind', async () => {
    const before = projectTempDirs();
    const corrupt = path.join(tmp.dir, 'corrupt.zip');
    writeFileSync(corrupt, 'this is not a zip archive at all, just text');
    await assert.rejects(
      fetchProject(corrupt, undefined),
      isExecution(
        /^.*corrupt\.zip is not a valid ZIP archive: End of central directory record signature not found\. Either not a zip file, or file is truncated\.$/,
      ),
    );
    // A valid directory with a damaged entry: stored data fails its CRC check; deflated data may
    // instead fail to inflate.
    for (const [stored, message] of [
      [
        true,
        /^Refusing to unpack the ZIP archive .*damaged\.zip: the entry MLproject is damaged \(bad CRC-32\)$/,
      ],
      [false, /^(Could not read|Refusing to unpack) the ZIP archive .*damaged\.zip: /],
    ] as const) {
      const damaged = path.join(tmp.dir, 'damaged.zip');
      writeZip(damaged, [{ name: 'MLproject', data: MLPROJECT.repeat(50), stored }]);
      const bytes = readFileSync(damaged);
      const dataStart = 30 + 'MLproject'.length;
      bytes[dataStart + 5] ^= 0xff;
      writeFileSync(damaged, bytes);
      await assert.rejects(fetchProject(damaged, undefined), isExecution(message));
    }
    // Cut short: the central directory is gone.
    writeFileSync(path.join(tmp.dir, 'short.zip'), readFileSync(archive).subarray(0, 200));
    await assert.rejects(
      fetchProject(path.join(tmp.dir, 'short.zip'), undefined),
      isExecution(/short\.zip is not a valid ZIP archive: /),
    );
    assert.deepEqual(
      [...projectTempDirs()].filter((name) => !before.has(name)),
      [],
    );
  });

  test('entries that would land outside the project are refused (zip-slip)', async () => {
    const cases: Array<[string, ZipEntry[], RegExp]> = [
      ['dotdot.zip', [{ name: '../canary', data: 'x' }], /invalid relative path: \.\.\/canary/],
      [
        'nested-dotdot.zip',
        [{ name: 'a/../../canary', data: 'x' }],
        /invalid relative path: a\/\.\.\/\.\.\/canary/,
      ],
      ['absolute.zip', [{ name: `${canary}`, data: 'x' }], /absolute path: /],
      ['backslash.zip', [{ name: '..\\canary', data: 'x' }], /invalid relative path: \.\.\/canary/],
      [
        'link-out.zip',
        [{ name: 'escape', data: '../canary-dir', mode: 0o120777 }],
        /the symbolic link escape points outside the project \(\.\.\/canary-dir\)/,
      ],
      [
        'link-absolute.zip',
        [{ name: 'escape', data: '/etc', mode: 0o120777 }],
        /the symbolic link escape points to \/etc/,
      ],
      [
        // A link to the project root, then one that climbs from inside it: lexically inside, really out.
        'link-chain.zip',
        [
          { name: 'sub/' },
          { name: 'sub/up', data: '..', mode: 0o120777 },
          { name: 'sub/up2', data: 'up/..', mode: 0o120777 },
        ],
        /the symbolic link sub\/up2 points outside the project \(up\/\.\.\)/,
      ],
      [
        // A file written "through" a link to outside: files are written before any link exists.
        'file-through-link.zip',
        [
          { name: 'out', data: '..', mode: 0o120777 },
          { name: 'out/canary', data: 'x' },
        ],
        /the symbolic link out has the name of another entry/,
      ],
      [
        'dangling.zip',
        [{ name: 'nowhere', data: 'no/such/file', mode: 0o120777 }],
        /the symbolic link nowhere points to no\/such\/file, which is not in the archive/,
      ],
      [
        'fifo.zip',
        [{ name: 'pipe', data: '', mode: 0o010644 }],
        /the entry pipe is not a file, directory or link/,
      ],
    ];
    for (const [name, entries, message] of cases) {
      const file = path.join(tmp.dir, name);
      writeZip(file, entries);
      await assert.rejects(fetchProject(file, undefined), isExecution(message), name);
      assert.equal(existsSync(canary), false, name);
      assert.equal(existsSync(path.join(tmp.dir, 'canary-dir')), false, name);
    }
  });

  describe('http(s) archives', () => {
    let server: http.Server;
    let base: string;
    const requests: string[] = [];
    const big = path.join(tmp.dir, 'big.zip');
    before(async () => {
      // Incompressible content, so the download is large enough to report progress in steps.
      writeZip(big, [...projectEntries('http'), { name: 'blob.bin', randomBytes: 600_000 }]);
      server = http.createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        if (req.url === '/archives/project.zip') {
          const body = readFileSync(big);
          res.writeHead(200, { 'content-type': 'application/zip', 'content-length': body.length });
          // In pieces, as a real download arrives.
          let offset = 0;
          const next = () => {
            if (offset >= body.length) return void res.end();
            res.write(body.subarray(offset, offset + 65536), next);
            offset += 65536;
          };
          next();
        } else if (req.url === '/moved/project.zip') {
          res.writeHead(302, { location: '/archives/project.zip' }).end();
        } else if (req.url === '/chunked/project.zip') {
          res.writeHead(200, { 'content-type': 'application/zip' });
          res.end(readFileSync(archive));
        } else if (req.url === '/broken/project.zip') {
          res.writeHead(200, { 'content-length': 1000 });
          res.flushHeaders();
          res.write('PK partial', () => setTimeout(() => res.destroy(), 50));
        } else if (req.url === '/down/project.zip') {
          res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance');
        } else {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('no such archive');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    });
    after(() => server.close());

    test('downloaded with progress on the log, unpacked, and the download removed', async () => {
      const before = projectTempDirs();
      const lines: string[] = [];
      const uri = `${base}/archives/project.zip#sub/proj`;
      const fetched = await fetchProject(uri, undefined, (line) => lines.push(line));
      assert.equal(fetched.sourceName, uri);
      assert.match(readFileSync(path.join(fetched.workDir, 'say.sh'), 'utf8'), /http\/sub/);
      assert.equal(
        lines[0],
        `=== Fetching project from ${uri} into ${path.dirname(path.dirname(fetched.workDir))} ===`,
      );
      const size = statSync(big).size;
      assert.equal(lines[1], `  download: ${base}/archives/project.zip (${(size / 1048576).toFixed(1)} MiB)`);
      const steps = lines.filter((line) => /^ {2}download: [\d.]+ MiB of [\d.]+ MiB \(\d+%\)$/.test(line));
      assert.ok(steps.length >= 5 && steps.length <= 10, lines.join('\n'));
      assert.equal(lines.at(-1), `  download: done, ${(size / 1048576).toFixed(1)} MiB`);
      // Only the unpacked project stays; the downloaded archive is gone.
      assert.deepEqual(
        [...projectTempDirs()].filter((name) => !before.has(name)),
        [path.basename(path.dirname(path.dirname(fetched.workDir)))],
      );
    });

    test('redirects are followed; a body without a length still arrives', async () => {
      requests.length = 0;
      const moved = await fetchProject(`${base}/moved/project.zip`, undefined);
      assert.deepEqual(requests, ['GET /moved/project.zip', 'GET /archives/project.zip']);
      assert.equal(existsSync(path.join(moved.workDir, 'blob.bin')), true);
      const lines: string[] = [];
      const chunked = await fetchProject(`${base}/chunked/project.zip`, undefined, (line) =>
        lines.push(line),
      );
      assert.match(readFileSync(path.join(chunked.workDir, 'say.sh'), 'utf8'), /local/);
      assert.equal(lines[1], `  download: ${base}/chunked/project.zip`);
    });

    test('404, 503, a broken download and a refused connection are MLflow-style errors', async () => {
      const before = projectTempDirs();
      await assert.rejects(
        fetchProject(`${base}/missing/project.zip`, undefined),
        isExecution(
          new RegExp(
            `^Unable to retrieve ZIP file\\. Reason: 404 Client Error: Not Found for url: ${base}/missing/project\\.zip\\. Response text: no such archive$`,
          ),
        ),
      );
      await assert.rejects(
        fetchProject(`${base}/down/project.zip`, undefined),
        isExecution(
          /^Unable to retrieve ZIP file\. Reason: 503 Server Error: Service Unavailable for url: .*\. Response text: maintenance$/,
        ),
      );
      await assert.rejects(
        fetchProject(`${base}/broken/project.zip`, undefined),
        isExecution(/^Unable to retrieve ZIP file\. Reason: the download broke off \(.*\) for url: /),
      );
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as net.AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      await assert.rejects(
        fetchProject(`http://127.0.0.1:${port}/project.zip`, undefined),
        isExecution(/^Unable to retrieve ZIP file\. Reason: connect ECONNREFUSED 127\.0\.0\.1:\d+ for url: /),
      );
      assert.deepEqual(
        [...projectTempDirs()].filter((name) => !before.has(name)),
        [],
      );
    });

    describe('runs of zip projects', () => {
      let tracking: TestServer;
      before(async () => {
        tracking = await startTestServer('sqlite');
      });
      after(() => tracking.close());

      test('runProject runs the unpacked project and records the URI as its source', async (t) => {
        const out = path.join(tmp.dir, 'run-out');
        process.env.OUT = out;
        t.after(() => delete process.env.OUT);
        const uri = `${base}/archives/project.zip#sub/proj`;
        const submitted = await runProject({
          uri,
          envManager: 'local',
          parameters: { greeting: 'hi there' },
          trackingUri: tracking.url,
          log: () => {},
        });
        assert.equal(await submitted.wait(), true);
        assert.equal(readFileSync(out, 'utf8'), 'hi there from http/sub\n');
        assert.match(readFileSync(`${out}.cwd`, 'utf8').trim(), /\/mlflow-ts-project-[^/]+\/sub\/proj$/);
        const res = await call(tracking.api, 'GET', 'runs/get', { run_id: submitted.runId });
        const tags = Object.fromEntries(res.body.run.data.tags.map((x: any) => [x.key, x.value]));
        assert.equal(tags['mlflow.source.name'], uri);
        assert.equal(tags['mlflow.source.type'], 'PROJECT');
        assert.equal(tags['mlflow.source.git.commit'], undefined);
      });

      test('mlflow-ts run with a 404 archive exits non-zero with the message and creates no run', async (t) => {
        const store = tempDir('mlflow-ts-zip-cli-');
        t.after(store.cleanup);
        const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
          execFile(
            process.execPath,
            [CLI, 'run', `${base}/missing/project.zip`, '--env-manager', 'local'],
            { env: { ...process.env, MLFLOW_TRACKING_URI: `sqlite:///${store.dir}/mlflow.db` } },
            (error, _stdout, stderr) =>
              resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
          ),
        );
        assert.notEqual(result.code, 0);
        assert.match(
          result.stderr,
          /Unable to retrieve ZIP file\. Reason: 404 Client Error: Not Found for url: /,
        );
        assert.doesNotMatch(result.stderr, /\n\s+at /);
      });
    });
  });
});
