import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { ArtifactRepository } from '../src/artifacts/artifact-repository.js';
import { RangeNotSatisfiableError } from '../src/artifacts/artifact-repository.js';
import { proxiedArtifactPath } from '../src/artifacts/artifact-uri.js';
import {
  AzureBlobArtifactRepository,
  azureSettingsFromEnv,
  createBlobServiceClient,
  parseWasbsUri,
} from '../src/artifacts/azure-blob-artifact-repository.js';
import { DeferredArtifactRepository } from '../src/artifacts/deferred-artifact-repository.js';
import { LocalArtifactRepository } from '../src/artifacts/local-artifact-repository.js';
import { openArtifactRepository } from '../src/artifacts/open-artifact-repository.js';
import {
  createS3Client,
  parseS3Uri,
  parseUploadExtraArgs,
  S3ArtifactRepository,
  s3ClientSettingsFromEnv,
} from '../src/artifacts/s3-artifact-repository.js';
import { safeArtifactPath } from '../src/artifacts/safe-path.js';
import { MlflowError } from '../src/entities/errors.js';
import { artifactMimeType } from '../src/http/mime-type.js';
import {
  azureTestConnection,
  call,
  DIALECTS,
  freshAzureContainer,
  freshS3Bucket,
  REPO_ROOT,
  type S3TestTarget,
  s3TestEnv,
  s3TestSettings,
  s3TestTargets,
  startTestServer,
  type TestServer,
  tempDir,
} from './helpers.js';

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function isInvalidPath(error: unknown): boolean {
  return (
    error instanceof MlflowError &&
    error.errorCode === 'INVALID_PARAMETER_VALUE' &&
    error.message === 'Invalid path'
  );
}

/** Every file and folder below `dir`, relative, sorted. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${entry.name}` : entry.name;
      out.push(entry.isDirectory() ? `${p}/` : p);
      if (entry.isDirectory() && !entry.isSymbolicLink()) walk(p);
    }
  };
  walk('');
  return out.sort();
}

// ---------------------------------------------------------------------------------------------------
// Path safety

describe('safeArtifactPath', () => {
  const refused = [
    '..',
    '../x',
    'a/../../x',
    'a/..',
    '/etc/passwd',
    '//etc/passwd',
    'a//b',
    'a\\b',
    '..\\x',
    'C:\\x',
    'C:/x',
    'a\u0000b',
    'a\nb',
    'a#b',
    '%2e%2e/x',
    '..%2fx',
    '%2e%2e%2fx',
    '%252e%252e%252fx',
    'a%5cb',
    '%2fetc%2fpasswd',
    'a%2f%2fb',
    'a%00b',
    'file:///etc/passwd',
    '.mlflow-ts-uploads/x',
  ];
  for (const p of refused) {
    test(`refuses ${JSON.stringify(p)}`, () => {
      assert.throws(() => safeArtifactPath(p), isInvalidPath);
    });
  }

  test('accepts and normalises ordinary paths', () => {
    assert.equal(safeArtifactPath('a/b.txt'), 'a/b.txt');
    assert.equal(safeArtifactPath('./a/./b/'), 'a/b');
    assert.equal(safeArtifactPath('..hidden/x..y'), '..hidden/x..y');
    assert.equal(safeArtifactPath('100%.txt'), '100%.txt');
    assert.equal(safeArtifactPath('naïve résumé.txt'), 'naïve résumé.txt');
    assert.equal(safeArtifactPath('', { allowRoot: true }), '');
    assert.throws(() => safeArtifactPath(''), isInvalidPath);
  });

  test('reads proxied artifact URIs without resolving their dot segments', () => {
    assert.equal(proxiedArtifactPath('mlflow-artifacts:/1/abc/artifacts'), '1/abc/artifacts');
    assert.equal(proxiedArtifactPath('mlflow-artifacts://host:5000/1/abc/artifacts'), '1/abc/artifacts');
    assert.equal(proxiedArtifactPath('mlflow-artifacts:/'), '');
    assert.equal(
      proxiedArtifactPath('http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts'),
      '1/r/artifacts',
    );
    assert.equal(proxiedArtifactPath('mlflow-artifacts:/../../etc'), '../../etc');
    assert.equal(proxiedArtifactPath('s3://bucket/x'), undefined);
    assert.equal(proxiedArtifactPath('/tmp/x'), undefined);
  });

  test('content types follow MLflow: text formats are text/plain', () => {
    assert.equal(artifactMimeType('a/b.txt'), 'text/plain');
    assert.equal(artifactMimeType('m.json'), 'text/plain');
    assert.equal(artifactMimeType('conda.yaml'), 'text/plain');
    assert.equal(artifactMimeType('model/MLmodel'), 'text/plain');
    assert.equal(artifactMimeType('MLproject'), 'text/plain');
    assert.equal(artifactMimeType('plot.png'), 'image/png');
    assert.equal(artifactMimeType('page.html'), 'text/html');
    assert.equal(artifactMimeType('model.pkl'), 'application/octet-stream');
    assert.equal(artifactMimeType('noextension'), 'application/octet-stream');
  });
});

// ---------------------------------------------------------------------------------------------------
// The repository contract: the same cases for every ArtifactRepository implementation.

interface RepositoryFixture {
  repo: ArtifactRepository;
  cleanup(): Promise<void> | void;
}

function repositoryContract(name: string, make: () => Promise<RepositoryFixture>): void {
  describe(`${name}: ArtifactRepository contract`, () => {
    let fx: RepositoryFixture;
    before(async () => {
      fx = await make();
    });
    after(() => fx.cleanup());

    test('a missing root or folder lists as empty', async () => {
      assert.deepEqual(await fx.repo.list(''), []);
      assert.deepEqual(await fx.repo.list('nope/deeper'), []);
    });

    test('write then read back, nested folders created on demand', async () => {
      await fx.repo.write('c/d/hello.txt', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
      const read = await fx.repo.openRead('c/d/hello.txt');
      assert.equal(read.size, 11);
      assert.equal(await text(read.stream), 'hello world');
    });

    test('list gives direct children sorted by path, sizes for files only', async () => {
      await fx.repo.write('c/b.bin', Readable.from([Buffer.alloc(3)]));
      await fx.repo.write('c/a.txt', Readable.from([Buffer.from('a')]));
      assert.deepEqual(await fx.repo.list('c'), [
        { path: 'c/a.txt', is_dir: false, file_size: 1 },
        { path: 'c/b.bin', is_dir: false, file_size: 3 },
        { path: 'c/d', is_dir: true },
      ]);
      assert.deepEqual(await fx.repo.list(''), [{ path: 'c', is_dir: true }]);
      // Listing a file lists nothing, as MLflow's repositories do.
      assert.deepEqual(await fx.repo.list('c/a.txt'), []);
    });

    test('overwrite replaces the content', async () => {
      await fx.repo.write('c/a.txt', Readable.from([Buffer.from('second version')]));
      assert.equal(await text((await fx.repo.openRead('c/a.txt')).stream), 'second version');
    });

    test('ranges: from, bounded, suffix, clamped end, unsatisfiable', async () => {
      await fx.repo.write('r.txt', Readable.from([Buffer.from('0123456789')]));
      const r1 = await fx.repo.openRead('r.txt', { kind: 'from', start: 2, end: 4 });
      assert.deepEqual([r1.start, r1.end, r1.size, await text(r1.stream)], [2, 4, 10, '234']);
      const r2 = await fx.repo.openRead('r.txt', { kind: 'from', start: 7 });
      assert.equal(await text(r2.stream), '789');
      const r3 = await fx.repo.openRead('r.txt', { kind: 'suffix', length: 3 });
      assert.deepEqual([r3.start, await text(r3.stream)], [7, '789']);
      const r4 = await fx.repo.openRead('r.txt', { kind: 'from', start: 8, end: 100 });
      assert.deepEqual([r4.end, await text(r4.stream)], [9, '89']);
      await assert.rejects(
        fx.repo.openRead('r.txt', { kind: 'from', start: 10 }),
        (e: unknown) => e instanceof RangeNotSatisfiableError && e.size === 10,
      );
    });

    test('an empty file reads as empty', async () => {
      await fx.repo.write('empty', Readable.from([]));
      const read = await fx.repo.openRead('empty');
      assert.deepEqual([read.size, await text(read.stream)], [0, '']);
    });

    test('reading a missing file is RESOURCE_DOES_NOT_EXIST', async () => {
      await assert.rejects(
        fx.repo.openRead('c/missing.txt'),
        (e: unknown) => e instanceof MlflowError && e.errorCode === 'RESOURCE_DOES_NOT_EXIST',
      );
    });

    test('a failed upload leaves nothing visible and keeps the old file', async () => {
      const failing = new Readable({
        read() {
          this.push(Buffer.from('partial data'));
          this.destroy(new Error('client went away'));
        },
      });
      await assert.rejects(fx.repo.write('c/a.txt', failing), /client went away/);
      assert.equal(await text((await fx.repo.openRead('c/a.txt')).stream), 'second version');
      const failing2 = new Readable({
        read() {
          this.destroy(new Error('client went away'));
        },
      });
      await assert.rejects(fx.repo.write('new/dir/x.txt', failing2), /client went away/);
      assert.deepEqual(await fx.repo.list('new'), []);
      assert.deepEqual(
        (await fx.repo.list('')).map((f) => f.path),
        ['c', 'empty', 'r.txt'],
      );
    });

    test('unsafe paths are refused by every operation', async () => {
      for (const p of ['../x', 'a/../../x', '/abs', 'a\\b', 'a//b', 'a\u0000b', '%2e%2e%2fx']) {
        await assert.rejects(fx.repo.write(p, Readable.from([Buffer.from('x')])), isInvalidPath);
        await assert.rejects(fx.repo.openRead(p), isInvalidPath);
        await assert.rejects(fx.repo.list(p), isInvalidPath);
        await assert.rejects(fx.repo.delete(p), isInvalidPath);
      }
      await assert.rejects(fx.repo.delete(''), isInvalidPath);
    });

    test('delete removes a file, a folder, and ignores a missing path', async () => {
      await fx.repo.delete('c/a.txt');
      assert.deepEqual(
        (await fx.repo.list('c')).map((f) => f.path),
        ['c/b.bin', 'c/d'],
      );
      await fx.repo.delete('c');
      assert.deepEqual(await fx.repo.list('c'), []);
      await fx.repo.delete('c/never/was');
    });
  });
}

repositoryContract('local', async () => {
  const tmp = tempDir('mlflow-ts-repo-');
  return { repo: new LocalArtifactRepository(path.join(tmp.dir, 'root')), cleanup: tmp.cleanup };
});

/** Under CI without the server: a failing test in place of the suite's own. */
function requireS3(s3: S3TestTarget): boolean {
  if (s3.url) return true;
  test(`the test S3 server (${s3.name}) is available`, () => {
    throw new Error(s3.reason);
  });
  return false;
}

// S3 on each test server, moto (scripts/services/moto.sh) and Ceph's radosgw (scripts/services/radosgw.sh):
// a fresh bucket per suite. Without a server its S3 suites are skipped, except under CI=true, where each
// of them fails instead.
for (const s3 of s3TestTargets()) {
  const s3Skip = s3.url || s3.required ? false : s3.reason;

  async function s3Fixture(
    prefix: string,
    options: { pageSize?: number; partSize?: number } = {},
  ): Promise<RepositoryFixture & { bucket: string }> {
    const { bucket, cleanup } = await freshS3Bucket(s3);
    const repo = new S3ArtifactRepository(`s3://${bucket}${prefix}`, {
      settings: s3TestSettings(s3),
      ...options,
    });
    return { repo, bucket, cleanup };
  }

  if (s3.url) {
    repositoryContract(`s3 on ${s3.name} (bucket root)`, () => s3Fixture(''));
    repositoryContract(`s3 on ${s3.name} (key prefix, small list pages)`, () =>
      s3Fixture('/some/root/', { pageSize: 2 }),
    );
  } else {
    describe(`s3 on ${s3.name}: ArtifactRepository contract`, { skip: s3Skip }, () => {
      requireS3(s3);
    });
  }

  describe(`s3 repository specifics on ${s3.name}`, { skip: s3Skip }, () => {
    if (!requireS3(s3)) return;
    let fx: RepositoryFixture & { bucket: string };
    let outside: S3ArtifactRepository;
    before(async () => {
      fx = await s3Fixture('/root', { pageSize: 3, partSize: 5 * 1024 * 1024 });
      outside = new S3ArtifactRepository(`s3://${fx.bucket}`, { settings: s3TestSettings(s3) });
    });
    after(() => fx.cleanup());

    test('URIs: bucket and prefix, refused forms', async () => {
      assert.deepEqual(parseS3Uri('s3://b'), { bucket: 'b', prefix: '' });
      assert.deepEqual(parseS3Uri('s3://b/'), { bucket: 'b', prefix: '' });
      assert.deepEqual(parseS3Uri('s3://b/x/y/'), { bucket: 'b', prefix: 'x/y' });
      assert.throws(() => parseS3Uri('s3://b/x/../y'));
      assert.throws(() => parseS3Uri('s3:///x'));
      // The SDK loads on first use: the factory hands out a deferred repository that opens the real one.
      const deferred = openArtifactRepository('s3://b/p');
      assert.ok(deferred instanceof DeferredArtifactRepository);
      assert.ok((await deferred.open()) instanceof S3ArtifactRepository);
      assert.ok(openArtifactRepository('/tmp/x') instanceof LocalArtifactRepository);
      assert.equal(openArtifactRepository('gs://b/p'), undefined);
    });

    test('everything stays below the prefix; siblings sharing a name prefix survive a delete', async () => {
      await fx.repo.write('c/x.txt', Readable.from([Buffer.from('x')]));
      await fx.repo.write('c.txt', Readable.from([Buffer.from('sibling')]));
      await fx.repo.write('cc/y.txt', Readable.from([Buffer.from('y')]));
      await outside.write('elsewhere.txt', Readable.from([Buffer.from('outside')]));
      await outside.write('rootless/z.txt', Readable.from([Buffer.from('z')]));
      assert.deepEqual(
        (await outside.list('')).map((f) => f.path),
        ['elsewhere.txt', 'root', 'rootless'],
      );
      assert.deepEqual(
        (await outside.list('root')).map((f) => f.path),
        ['root/c', 'root/c.txt', 'root/cc'],
      );
      assert.deepEqual(
        (await fx.repo.list('')).map((f) => f.path),
        ['c', 'c.txt', 'cc'],
      );
      await fx.repo.delete('c');
      assert.deepEqual(
        (await fx.repo.list('')).map((f) => f.path),
        ['c.txt', 'cc'],
      );
      assert.equal(await text((await outside.openRead('rootless/z.txt')).stream), 'z');
    });

    test('listings and deletes page through many keys', async () => {
      for (let i = 0; i < 8; i++) {
        await fx.repo.write(`many/f${i}.txt`, Readable.from([Buffer.from(String(i))]));
        await fx.repo.write(`many/d${i}/inner.txt`, Readable.from([Buffer.from(String(i))]));
      }
      const listed = await fx.repo.list('many');
      assert.equal(listed.length, 16);
      assert.equal(listed.filter((f) => f.is_dir).length, 8);
      assert.deepEqual(listed[0], { path: 'many/d0', is_dir: true });
      assert.deepEqual(listed[8], { path: 'many/f0.txt', is_dir: false, file_size: 1 });
      await fx.repo.delete('many');
      assert.deepEqual(await fx.repo.list('many'), []);
    });

    test('a body larger than a part goes up as a multipart upload, intact; a failed one leaves nothing', async () => {
      const size = 12 * 1024 * 1024 + 7;
      const data = Buffer.alloc(size);
      for (let i = 0; i + 4 <= size; i += 4) data.writeUInt32LE(i, i);
      const chunks = [];
      for (let i = 0; i < size; i += 1 << 20) chunks.push(data.subarray(i, i + (1 << 20)));
      await fx.repo.write('big/blob.bin', Readable.from(chunks));
      const whole = await fx.repo.openRead('big/blob.bin');
      const got: Buffer[] = [];
      for await (const c of whole.stream) got.push(c as Buffer);
      assert.equal(whole.size, size);
      assert.ok(Buffer.concat(got).equals(data));
      const tail = await fx.repo.openRead('big/blob.bin', { kind: 'suffix', length: 11 });
      assert.deepEqual([tail.start, tail.end], [size - 11, size - 1]);

      let sent = 0;
      const failing = new Readable({
        read() {
          if (sent >= 11 * 1024 * 1024) return this.destroy(new Error('client went away'));
          sent += 1 << 20;
          this.push(Buffer.alloc(1 << 20, 7));
        },
      });
      await assert.rejects(fx.repo.write('big/failed.bin', failing), /client went away/);
      assert.deepEqual(
        (await fx.repo.list('big')).map((f) => f.path),
        ['big/blob.bin'],
      );
    });

    test('MLFLOW_S3_UPLOAD_EXTRA_ARGS reach the stored objects, single and multipart', async () => {
      const settings = {
        ...s3TestSettings(s3),
        uploadExtraArgs: parseUploadExtraArgs(
          '{"Metadata": {"origin": "mlflow-ts"}, "ContentType": "application/x-mlflow-test"}',
        ),
      };
      const repo = new S3ArtifactRepository(`s3://${fx.bucket}/extra`, {
        settings,
        partSize: 5 * 1024 * 1024,
      });
      await repo.write('small.txt', Readable.from([Buffer.from('small')]));
      await repo.write('large.bin', Readable.from([Buffer.alloc(6 * 1024 * 1024, 3)]));
      const client = createS3Client(s3TestSettings(s3));
      try {
        for (const key of ['extra/small.txt', 'extra/large.bin']) {
          const head = await client.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: key }));
          assert.deepEqual(
            [head.Metadata, head.ContentType],
            [{ origin: 'mlflow-ts' }, 'application/x-mlflow-test'],
            key,
          );
        }
        assert.equal(
          (await client.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: 'extra/large.bin' })))
            .ContentLength,
          6 * 1024 * 1024,
        );
      } finally {
        client.destroy();
      }
      await repo.delete('small.txt');
      await repo.delete('large.bin');
    });

    test('MLFLOW_S3_EXPECTED_BUCKET_OWNER is sent with every request', async () => {
      const client = createS3Client(s3TestSettings(s3));
      const sent: string[] = [];
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const headers = (args.request as { headers: Record<string, string> }).headers;
          sent.push(`${context.commandName}:${headers['x-amz-expected-bucket-owner'] ?? '-'}`);
          return next(args);
        },
        { step: 'build', name: 'recordOwner' },
      );
      const owner = '123456789012';
      const repo = new S3ArtifactRepository(`s3://${fx.bucket}/owned`, {
        client,
        settings: { ...s3TestSettings(s3), expectedBucketOwner: owner },
      });
      try {
        await repo.write('f.txt', Readable.from([Buffer.from('x')]));
        await repo.list('');
        assert.equal(await text((await repo.openRead('f.txt')).stream), 'x');
        await repo.delete('f.txt');
      } finally {
        client.destroy();
      }
      assert.deepEqual(sent, [
        `PutObjectCommand:${owner}`,
        `ListObjectsV2Command:${owner}`,
        `GetObjectCommand:${owner}`,
        `ListObjectsV2Command:${owner}`,
        `DeleteObjectCommand:${owner}`,
      ]);
    });
  });
}

test('MLFLOW_S3_UPLOAD_EXTRA_ARGS and MLFLOW_S3_EXPECTED_BUCKET_OWNER from the environment', () => {
  const settings = s3ClientSettingsFromEnv({
    MLFLOW_S3_UPLOAD_EXTRA_ARGS: '{"ServerSideEncryption": "AES256"}',
    MLFLOW_S3_EXPECTED_BUCKET_OWNER: '111122223333',
  });
  assert.deepEqual(settings.uploadExtraArgs, { ServerSideEncryption: 'AES256' });
  assert.equal(settings.expectedBucketOwner, '111122223333');
  assert.equal(s3ClientSettingsFromEnv({}).uploadExtraArgs, undefined);
  assert.throws(() => s3ClientSettingsFromEnv({ MLFLOW_S3_UPLOAD_EXTRA_ARGS: '{nope' }), /is not valid JSON/);
  assert.throws(() => parseUploadExtraArgs('["ACL"]'), /must be a JSON object/);
  assert.throws(() => parseUploadExtraArgs('null'), /must be a JSON object/);
  assert.throws(() => parseUploadExtraArgs('{"Key": "elsewhere"}'), /must not set Key/);
});

describe('abandoned upload files in a local destination', () => {
  const HOUR = 3_600_000;
  /** A destination holding one artifact and, in the upload folder, files of several ages and kinds. */
  async function destinationWithLeftovers(dir: string): Promise<Record<string, string>> {
    const repo = new LocalArtifactRepository(dir);
    await repo.write('kept/model.bin', Readable.from([Buffer.from('model')]));
    const uploads = path.join(dir, '.mlflow-ts-uploads');
    const files = {
      abandoned: path.join(uploads, `${'a'.repeat(24)}.part`),
      inFlight: path.join(uploads, `${'b'.repeat(24)}.part`),
      foreign: path.join(uploads, 'notes.txt'),
    };
    for (const f of Object.values(files)) writeFileSync(f, 'partial');
    const old = new Date(Date.now() - 2 * HOUR);
    utimesSync(files.abandoned, old, old);
    utimesSync(files.foreign, old, old);
    return files;
  }

  test('the sweep removes only upload files untouched for longer than the limit', async () => {
    const tmp = tempDir('mlflow-ts-sweep-');
    try {
      const files = await destinationWithLeftovers(tmp.dir);
      const repo = new LocalArtifactRepository(tmp.dir);
      assert.equal(await repo.sweepAbandonedUploads(HOUR), 1);
      assert.equal(existsSync(files.abandoned), false);
      assert.equal(existsSync(files.inFlight), true);
      assert.equal(existsSync(files.foreign), true, 'files not named like ours are left alone');
      assert.equal(await text((await repo.openRead('kept/model.bin')).stream), 'model');
      assert.equal(await repo.sweepAbandonedUploads(HOUR), 0);
      assert.equal(
        await new LocalArtifactRepository(path.join(tmp.dir, 'missing')).sweepAbandonedUploads(0),
        0,
      );
    } finally {
      tmp.cleanup();
    }
  });

  test('server start-up sweeps its local destination', async () => {
    const tmp = tempDir('mlflow-ts-sweep-');
    let server: TestServer | undefined;
    try {
      const files = await destinationWithLeftovers(tmp.dir);
      server = await startTestServer('sqlite', { artifactsDestination: tmp.dir });
      assert.equal(existsSync(files.abandoned), false);
      assert.equal(existsSync(files.inFlight), true);
      const got = await rawRequest(server.url, 'GET', `${PROXY}/kept/model.bin`);
      assert.equal(got.body.toString(), 'model');
    } finally {
      await server?.close();
      tmp.cleanup();
    }
  });
});

describe('local repository: symlinks never lead outside the root', () => {
  let tmp: { dir: string; cleanup: () => void };
  let repo: LocalArtifactRepository;
  let outside: string;
  before(() => {
    tmp = tempDir('mlflow-ts-symlink-');
    const root = path.join(tmp.dir, 'root');
    outside = path.join(tmp.dir, 'outside');
    mkdirSync(path.join(root, 'inner'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    writeFileSync(path.join(root, 'inner', 'ok.txt'), 'ok');
    symlinkSync(outside, path.join(root, 'escape'));
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'secret-link.txt'));
    symlinkSync(path.join(root, 'inner'), path.join(root, 'inner-link'));
    repo = new LocalArtifactRepository(root);
  });
  after(() => tmp.cleanup());

  test('reads, writes and lists through an escaping link are refused', async () => {
    await assert.rejects(repo.openRead('escape/secret.txt'), isInvalidPath);
    await assert.rejects(repo.openRead('secret-link.txt'), isInvalidPath);
    await assert.rejects(repo.list('escape'), isInvalidPath);
    await assert.rejects(repo.write('escape/new.txt', Readable.from([Buffer.from('x')])), isInvalidPath);
    await assert.rejects(repo.write('escape/sub/new.txt', Readable.from([Buffer.from('x')])), isInvalidPath);
    await assert.rejects(repo.write('secret-link.txt', Readable.from([Buffer.from('x')])), isInvalidPath);
    await assert.rejects(repo.delete('escape/secret.txt'), isInvalidPath);
    assert.deepEqual(tree(outside), ['secret.txt']);
    assert.equal(readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'secret');
  });

  test('a listing leaves out links to the outside and follows links inside', async () => {
    assert.deepEqual(await repo.list(''), [
      { path: 'inner', is_dir: true },
      { path: 'inner-link', is_dir: true },
    ]);
    assert.equal(await text((await repo.openRead('inner-link/ok.txt')).stream), 'ok');
  });

  test('deleting an escaping link removes the link, never its target', async () => {
    await repo.delete('escape');
    assert.deepEqual(tree(outside), ['secret.txt']);
  });
});

// Azure Blob Storage through Azurite (scripts/services/azurite.sh): a fresh container per suite. Without
// Azurite the Azure suites are skipped, except under CI=true, where each of them fails instead.
const azure = azureTestConnection();
const azureSkip = azure.connectionString || azure.required ? false : azure.reason;

/** Under CI without Azurite: a failing test in place of the suite's own. */
function requireAzure(): boolean {
  if (azure.connectionString) return true;
  test('the test Azure Blob service is available', () => {
    throw new Error(azure.reason);
  });
  return false;
}

async function azureFixture(
  prefix: string,
  options: { pageSize?: number; blockSize?: number } = {},
): Promise<RepositoryFixture & { container: string; uri: (prefix: string) => string }> {
  const connectionString = azure.connectionString as string;
  const { container, account, cleanup } = await freshAzureContainer(connectionString);
  const uri = (p: string) => `wasbs://${container}@${account}.blob.core.windows.net${p}`;
  const repo = new AzureBlobArtifactRepository(uri(prefix), { settings: { connectionString }, ...options });
  return { repo, container, uri, cleanup };
}

if (azure.connectionString) {
  repositoryContract('azure (container root)', () => azureFixture(''));
  repositoryContract('azure (name prefix, small list pages)', () =>
    azureFixture('/some/root/', { pageSize: 2 }),
  );
} else {
  describe('azure: ArtifactRepository contract', { skip: azureSkip }, () => {
    requireAzure();
  });
}

describe('azure URIs and credentials', () => {
  test('container, account, cloud suffix and prefix; refused forms', () => {
    assert.deepEqual(parseWasbsUri('wasbs://c@acct.blob.core.windows.net'), {
      container: 'c',
      account: 'acct',
      suffix: 'blob.core.windows.net',
      prefix: '',
    });
    assert.deepEqual(parseWasbsUri('wasbs://c@acct.blob.core.chinacloudapi.cn/x/y/'), {
      container: 'c',
      account: 'acct',
      suffix: 'blob.core.chinacloudapi.cn',
      prefix: 'x/y',
    });
    assert.throws(() => parseWasbsUri('wasbs://c@acct.dfs.core.windows.net/x'), /blob endpoint/);
    assert.throws(() => parseWasbsUri('wasbs://acct.blob.core.windows.net/x'), /Not a WASBS URI/);
    assert.throws(() => parseWasbsUri('wasbs://c@acct.blob.core.windows.net/x/../y'));
    assert.throws(() => parseWasbsUri('wasb://c@acct.blob.core.windows.net/x'), /Not a WASBS URI/);
  });

  test('connection string first, else the access key with the account of the URI', () => {
    assert.deepEqual(azureSettingsFromEnv({ AZURE_STORAGE_ACCESS_KEY: 'a2V5' }), {
      connectionString: undefined,
      accessKey: 'a2V5',
    });
    const target = { account: 'acct', suffix: 'blob.core.windows.net' };
    const byKey = createBlobServiceClient(target, { accessKey: Buffer.from('key').toString('base64') });
    assert.equal(byKey.accountName, 'acct');
    assert.match(byKey.url, /^https:\/\/acct\.blob\.core\.windows\.net\/?$/);
    const byString = createBlobServiceClient(target, {
      connectionString:
        'DefaultEndpointsProtocol=http;AccountName=other;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/other;',
      accessKey: 'a2V5',
    });
    assert.equal(byString.accountName, 'other');
    assert.throws(() => createBlobServiceClient(target, {}), /AZURE_STORAGE_CONNECTION_STRING/);
  });

  test('the factory opens wasbs:// URIs', async () => {
    const saved = process.env.AZURE_STORAGE_ACCESS_KEY;
    process.env.AZURE_STORAGE_ACCESS_KEY = Buffer.from('key').toString('base64');
    try {
      const deferred = openArtifactRepository('wasbs://c@acct.blob.core.windows.net/p/');
      assert.ok(deferred instanceof DeferredArtifactRepository);
      const repo = await deferred.open();
      assert.ok(repo instanceof AzureBlobArtifactRepository);
      assert.equal(repo.root, 'wasbs://c@acct.blob.core.windows.net/p');
      assert.equal(deferred.root, 'wasbs://c@acct.blob.core.windows.net/p');
    } finally {
      if (saved === undefined) delete process.env.AZURE_STORAGE_ACCESS_KEY;
      else process.env.AZURE_STORAGE_ACCESS_KEY = saved;
    }
  });
});

describe('azure repository specifics', { skip: azureSkip }, () => {
  if (!requireAzure()) return;
  let fx: RepositoryFixture & { container: string; uri: (prefix: string) => string };
  let outside: AzureBlobArtifactRepository;
  before(async () => {
    fx = await azureFixture('/root', { pageSize: 3, blockSize: 256 * 1024 });
    outside = new AzureBlobArtifactRepository(fx.uri(''), {
      settings: { connectionString: azure.connectionString as string },
    });
  });
  after(() => fx.cleanup());

  test('everything stays below the prefix; siblings sharing a name prefix survive a delete', async () => {
    await fx.repo.write('c/x.txt', Readable.from([Buffer.from('x')]));
    await fx.repo.write('c/deeper/y.txt', Readable.from([Buffer.from('y')]));
    await fx.repo.write('c.txt', Readable.from([Buffer.from('sibling')]));
    await fx.repo.write('cc/y.txt', Readable.from([Buffer.from('y')]));
    await outside.write('elsewhere.txt', Readable.from([Buffer.from('outside')]));
    await outside.write('rootless/z.txt', Readable.from([Buffer.from('z')]));
    assert.deepEqual(
      (await outside.list('')).map((f) => f.path),
      ['elsewhere.txt', 'root', 'rootless'],
    );
    assert.deepEqual(
      (await fx.repo.list('')).map((f) => f.path),
      ['c', 'c.txt', 'cc'],
    );
    await fx.repo.delete('c');
    assert.deepEqual(
      (await fx.repo.list('')).map((f) => f.path),
      ['c.txt', 'cc'],
    );
    assert.equal(await text((await outside.openRead('rootless/z.txt')).stream), 'z');
  });

  test('listings and deletes page through many blobs', async () => {
    for (let i = 0; i < 8; i++) {
      await fx.repo.write(`many/f${i}.txt`, Readable.from([Buffer.from(String(i))]));
      await fx.repo.write(`many/d${i}/inner.txt`, Readable.from([Buffer.from(String(i))]));
    }
    const listed = await fx.repo.list('many');
    assert.equal(listed.length, 16);
    assert.equal(listed.filter((f) => f.is_dir).length, 8);
    assert.deepEqual(listed[0], { path: 'many/d0', is_dir: true });
    assert.deepEqual(listed[8], { path: 'many/f0.txt', is_dir: false, file_size: 1 });
    await fx.repo.delete('many');
    assert.deepEqual(await fx.repo.list('many'), []);
  });

  test('a body of many blocks goes up intact and reads back by range; a failed one leaves nothing', async () => {
    const size = 3 * 1024 * 1024 + 7;
    const data = Buffer.alloc(size);
    for (let i = 0; i + 4 <= size; i += 4) data.writeUInt32LE(i, i);
    const chunks = [];
    for (let i = 0; i < size; i += 100_000) chunks.push(data.subarray(i, i + 100_000));
    await fx.repo.write('big/blob.bin', Readable.from(chunks));
    const bytes = async (stream: Readable) => {
      const got: Buffer[] = [];
      for await (const c of stream) got.push(c as Buffer);
      return Buffer.concat(got);
    };
    const whole = await fx.repo.openRead('big/blob.bin');
    assert.equal(whole.size, size);
    assert.ok((await bytes(whole.stream)).equals(data));
    const tail = await fx.repo.openRead('big/blob.bin', { kind: 'suffix', length: 11 });
    assert.deepEqual([tail.start, tail.end, tail.size], [size - 11, size - 1, size]);
    assert.ok((await bytes(tail.stream)).equals(data.subarray(size - 11)));
    const mid = await fx.repo.openRead('big/blob.bin', { kind: 'from', start: 1_000_000, end: 1_000_003 });
    assert.ok((await bytes(mid.stream)).equals(data.subarray(1_000_000, 1_000_004)));

    let sent = 0;
    const failing = new Readable({
      read() {
        if (sent >= 2 * 1024 * 1024) return this.destroy(new Error('client went away'));
        sent += 1 << 18;
        this.push(Buffer.alloc(1 << 18, 7));
      },
    });
    await assert.rejects(fx.repo.write('big/failed.bin', failing), /client went away/);
    assert.deepEqual(
      (await fx.repo.list('big')).map((f) => f.path),
      ['big/blob.bin'],
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Over HTTP

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request sent with its path exactly as given (fetch would resolve '..' and '//'). */
function rawRequest(
  base: string,
  method: string,
  rawPath: string,
  options: {
    body?: Buffer | Readable;
    headers?: Record<string, string>;
    sink?: (chunk: Buffer) => void;
  } = {},
): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: rawPath, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => (options.sink ? options.sink(chunk) : chunks.push(chunk)));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body instanceof Readable) options.body.pipe(req);
    else req.end(options.body);
  });
}

const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

function json(r: RawResponse): Record<string, any> {
  return JSON.parse(r.body.toString('utf8'));
}

const MPU = '/api/2.0/mlflow-artifacts/mpu';

describe('artifact proxy over HTTP', () => {
  let server: TestServer;
  let dest: string;
  let outside: string;
  before(async () => {
    server = await startTestServer('sqlite');
    // The destination sits beside a folder that must never be touched.
    dest = server.artifactsDir;
    outside = path.join(path.dirname(dest), `${path.basename(dest)}-outside`);
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    mkdirSync(path.join(dest, 'linked'), { recursive: true });
    symlinkSync(outside, path.join(dest, 'escape'));
  });
  after(async () => {
    await server.close();
    rmSync(outside, { recursive: true, force: true });
  });

  test('upload, list, download, overwrite, delete', async () => {
    const put = await rawRequest(server.url, 'PUT', `${PROXY}/exp/run/artifacts/notes.txt`, {
      body: Buffer.from('first'),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(put.status, 200);
    assert.deepEqual(json(put), {});
    // Any Content-Type (or none) is taken as raw bytes.
    for (const [name, type] of [
      ['model/MLmodel', 'text/plain'],
      ['data.json', 'application/json'],
    ]) {
      const r = await rawRequest(server.url, 'PUT', `${PROXY}/exp/run/artifacts/${name}`, {
        body: Buffer.from(`{"name": "${name}"}`),
        headers: { 'Content-Type': type },
      });
      assert.equal(r.status, 200, r.body.toString());
    }
    const list = await rawRequest(server.url, 'GET', `${PROXY}?path=exp/run/artifacts`);
    assert.equal(list.status, 200);
    assert.deepEqual(json(list), {
      files: [
        { path: 'data.json', is_dir: false, file_size: 21 },
        { path: 'model', is_dir: true },
        { path: 'notes.txt', is_dir: false, file_size: 5 },
      ],
    });
    const root = await rawRequest(server.url, 'GET', PROXY);
    assert.deepEqual(json(root), {
      files: [
        { path: 'exp', is_dir: true },
        { path: 'linked', is_dir: true },
      ],
    });
    assert.deepEqual(json(await rawRequest(server.url, 'GET', `${PROXY}?path=nothing/here`)), {});

    const get = await rawRequest(server.url, 'GET', `${PROXY}/exp/run/artifacts/notes.txt`);
    assert.equal(get.status, 200);
    assert.equal(get.body.toString(), 'first');
    assert.equal(get.headers['content-type'], 'text/plain');
    assert.equal(get.headers['content-disposition'], 'attachment; filename=notes.txt');
    assert.equal(get.headers['x-content-type-options'], 'nosniff');
    assert.equal(get.headers['content-length'], '5');

    const ajax = await rawRequest(
      server.url,
      'GET',
      `/ajax-api/2.0/mlflow-artifacts/artifacts/exp/run/artifacts/model/MLmodel`,
    );
    assert.equal(ajax.status, 200);
    assert.equal(ajax.headers['content-type'], 'text/plain');

    await rawRequest(server.url, 'PUT', `${PROXY}/exp/run/artifacts/notes.txt`, {
      body: Buffer.from('second!'),
    });
    assert.equal(
      (await rawRequest(server.url, 'GET', `${PROXY}/exp/run/artifacts/notes.txt`)).body.toString(),
      'second!',
    );

    const del = await rawRequest(server.url, 'DELETE', `${PROXY}/exp/run/artifacts/notes.txt`);
    assert.equal(del.status, 200);
    assert.deepEqual(json(del), {});
    const gone = await rawRequest(server.url, 'GET', `${PROXY}/exp/run/artifacts/notes.txt`);
    assert.equal(gone.status, 404);
    assert.equal(json(gone).error_code, 'RESOURCE_DOES_NOT_EXIST');
    assert.equal((await rawRequest(server.url, 'DELETE', `${PROXY}/exp/run/artifacts/model`)).status, 200);
    assert.deepEqual(
      json(await rawRequest(server.url, 'GET', `${PROXY}?path=exp/run/artifacts`)).files.map(
        (f: any) => f.path,
      ),
      ['data.json'],
    );
  });

  test('multipart uploads: a local destination does not support them, as in MLflow', async () => {
    const features = json(await rawRequest(server.url, 'GET', '/api/2.0/mlflow/server-features'));
    assert.equal(features.multipart_uploads_enabled, false);
    for (const [action, body] of [
      ['create', { path: 'f.bin', num_parts: 2 }],
      ['complete', { path: 'f.bin', upload_id: 'u', parts: [{ part_number: 1, etag: 'e' }] }],
      ['abort', { path: 'f.bin', upload_id: 'u' }],
    ] as const) {
      for (const prefix of [MPU, '/ajax-api/2.0/mlflow-artifacts/mpu']) {
        const r = await rawRequest(server.url, 'POST', `${prefix}/${action}/dir`, {
          body: Buffer.from(JSON.stringify(body)),
          headers: { 'Content-Type': 'application/json' },
        });
        assert.deepEqual(
          [r.status, json(r)],
          [
            501,
            {
              error_code: 'NOT_IMPLEMENTED',
              message: 'Multipart upload is not supported for the current artifact repository',
            },
          ],
        );
      }
    }
    // The path is checked before anything else.
    const traversal = await rawRequest(server.url, 'POST', `${MPU}/create/..%2fx`, {
      body: Buffer.from(JSON.stringify({ path: 'f.bin', num_parts: 1 })),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.deepEqual([traversal.status, json(traversal).message], [400, 'Invalid path']);
    assert.deepEqual(
      tree(dest).filter((p) => p.includes('dir') || p.includes('f.bin')),
      [],
    );
  });

  test('file names with spaces and non-ASCII characters round-trip', async () => {
    const name = encodeURIComponent('my résumé 100%.txt');
    assert.equal(
      (await rawRequest(server.url, 'PUT', `${PROXY}/names/${name}`, { body: Buffer.from('x') })).status,
      200,
    );
    const list = json(await rawRequest(server.url, 'GET', `${PROXY}?path=names`));
    assert.deepEqual(list.files, [{ path: 'my résumé 100%.txt', is_dir: false, file_size: 1 }]);
    const get = await rawRequest(server.url, 'GET', `${PROXY}/names/${name}`);
    assert.equal(get.status, 200);
    assert.match(
      String(get.headers['content-disposition']),
      /filename\*=UTF-8''my%20r%C3%A9sum%C3%A9%20100%25\.txt/,
    );
  });

  test('Range requests: 206 with Content-Range, suffix ranges, 416 when unsatisfiable', async () => {
    await rawRequest(server.url, 'PUT', `${PROXY}/range/digits.bin`, { body: Buffer.from('0123456789') });
    const url = `${PROXY}/range/digits.bin`;
    const part = await rawRequest(server.url, 'GET', url, { headers: { Range: 'bytes=2-5' } });
    assert.equal(part.status, 206);
    assert.equal(part.body.toString(), '2345');
    assert.equal(part.headers['content-range'], 'bytes 2-5/10');
    assert.equal(part.headers['content-length'], '4');
    assert.equal(part.headers['content-type'], 'application/octet-stream');
    const suffix = await rawRequest(server.url, 'GET', url, { headers: { Range: 'bytes=-3' } });
    assert.deepEqual([suffix.status, suffix.body.toString()], [206, '789']);
    const open = await rawRequest(server.url, 'GET', url, { headers: { Range: 'bytes=6-' } });
    assert.deepEqual(
      [open.status, open.body.toString(), open.headers['content-range']],
      [206, '6789', 'bytes 6-9/10'],
    );
    const beyond = await rawRequest(server.url, 'GET', url, { headers: { Range: 'bytes=10-20' } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers['content-range'], 'bytes */10');
    // A header that does not parse, or asks for several ranges, is ignored: the whole file is sent.
    for (const header of ['bytes=5-2', 'lines=1-2', 'bytes=0-1,4-5', 'bytes=x-']) {
      const whole = await rawRequest(server.url, 'GET', url, { headers: { Range: header } });
      assert.deepEqual([whole.status, whole.body.toString()], [200, '0123456789'], header);
    }
    assert.equal((await rawRequest(server.url, 'GET', url)).headers['accept-ranges'], 'bytes');
  });

  test('a 50 MB upload and download are streamed with their content intact', async () => {
    const size = 50 * 1024 * 1024;
    const chunk = 1024 * 1024;
    const sent = createHash('sha256');
    let produced = 0;
    const source = new Readable({
      read() {
        if (produced >= size) return this.push(null);
        const buf = Buffer.alloc(chunk);
        for (let i = 0; i < chunk; i += 4) buf.writeUInt32LE((produced + i) >>> 0, i);
        produced += chunk;
        sent.update(buf);
        this.push(buf);
      },
    });
    const put = await rawRequest(server.url, 'PUT', `${PROXY}/big/blob.bin`, {
      body: source,
      headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' },
    });
    assert.equal(put.status, 200, put.body.toString());
    const expected = sent.digest('hex');
    const got = createHash('sha256');
    let received = 0;
    const get = await rawRequest(server.url, 'GET', `${PROXY}/big/blob.bin`, {
      sink: (c) => {
        received += c.length;
        got.update(c);
      },
    });
    assert.equal(get.status, 200);
    assert.equal(get.headers['content-length'], String(size));
    assert.equal(received, size);
    assert.equal(got.digest('hex'), expected);
    const tail = await rawRequest(server.url, 'GET', `${PROXY}/big/blob.bin`, {
      headers: { Range: `bytes=${size - 8}-` },
    });
    assert.equal(tail.status, 206);
    assert.equal(tail.body.readUInt32LE(0), (size - 8) >>> 0);
  });

  test('an upload cut off mid-stream leaves nothing behind', async () => {
    await new Promise<void>((resolve, reject) => {
      const url = new URL(server.url);
      const req = http.request({
        host: url.hostname,
        port: url.port,
        method: 'PUT',
        path: `${PROXY}/cut/partial.bin`,
        headers: { 'Content-Length': '1000000' },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(1000, 1), () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100),
      );
      req.on('response', () => reject(new Error('the server answered an incomplete upload')));
    });
    // The server notices the dropped connection and removes its temporary file.
    const temp = path.join(dest, '.mlflow-ts-uploads');
    for (let i = 0; i < 50 && readdirSync(temp).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(readdirSync(temp), []);
    assert.deepEqual(json(await rawRequest(server.url, 'GET', `${PROXY}?path=cut`)), {});
    assert.ok(!tree(dest).some((p) => p.startsWith('cut')));
    assert.ok(
      !json(await rawRequest(server.url, 'GET', PROXY)).files.some(
        (f: any) => f.path === '.mlflow-ts-uploads',
      ),
    );
  });

  describe('every traversal attempt is refused and nothing outside the destination changes', () => {
    const outsideName = () => path.basename(outside);
    const attempts = (): string[] => [
      '../evil.txt',
      '../../evil.txt',
      'a/../../evil.txt',
      `../${outsideName()}/evil.txt`,
      '..%2fevil.txt',
      '..%2F..%2Fevil.txt',
      '%2e%2e/evil.txt',
      '%2e%2e%2fevil.txt',
      'a/%2e%2e/%2e%2e/evil.txt',
      '%252e%252e%252fevil.txt',
      '%25252e%25252e%25252fevil.txt',
      'a%5c..%5c..%5cevil.txt',
      '..%5cevil.txt',
      `%2f${encodeURIComponent(outside.slice(1))}%2fevil.txt`,
      `/${outside.slice(1)}/evil.txt`,
      'a//evil.txt',
      'a%2f%2fevil.txt',
      'evil%00.txt',
      'a/evil%00/../x.txt',
      'C:%5cevil.txt',
      `file:%2f%2f${encodeURIComponent(outside)}%2fevil.txt`,
      'a%23/evil.txt',
      'escape/evil.txt',
      'escape/sub/evil.txt',
      '.mlflow-ts-uploads/evil.txt',
    ];

    test('PUT', async () => {
      for (const attempt of attempts()) {
        const r = await rawRequest(server.url, 'PUT', `${PROXY}/${attempt}`, { body: Buffer.from('evil') });
        assert.equal(r.status, 400, `[${attempt}]: ${r.status} ${r.body}`);
        assert.deepEqual(
          json(r),
          { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path' },
          attempt,
        );
      }
      assert.deepEqual(tree(outside), ['secret.txt']);
      // Escapes land in the destination's parent (the shared temporary folder, which other tests change
      // at the same time, so it is not walked) or at the file system's root.
      assert.ok(!readdirSync(path.dirname(dest)).some((p) => p.includes('evil')));
      assert.ok(!existsSync('/evil.txt'));
    });

    test('GET download', async () => {
      for (const attempt of [...attempts(), 'escape/secret.txt', `../${outsideName()}/secret.txt`]) {
        const r = await rawRequest(server.url, 'GET', `${PROXY}/${attempt}`);
        assert.equal(r.status, 400, `[${attempt}]: ${r.status} ${r.body}`);
        assert.equal(json(r).message, 'Invalid path', attempt);
      }
    });

    test('GET list', async () => {
      for (const attempt of [
        '..',
        '../',
        `../${outsideName()}`,
        '%2e%2e',
        '/etc',
        '%2fetc',
        'escape',
        'a//b',
        'a%5cb',
      ]) {
        const r = await rawRequest(server.url, 'GET', `${PROXY}?path=${attempt}`);
        assert.equal(r.status, 400, `[${attempt}]: ${r.status} ${r.body}`);
        assert.equal(json(r).message, 'Invalid path', attempt);
      }
    });

    test('DELETE, including the destination root itself', async () => {
      for (const attempt of [
        ...attempts(),
        `../${outsideName()}/secret.txt`,
        `../${outsideName()}`,
        '.',
        '%2e',
      ]) {
        const r = await rawRequest(server.url, 'DELETE', `${PROXY}/${attempt}`);
        assert.equal(r.status, 400, `[${attempt}]: ${r.status} ${r.body}`);
        assert.equal(json(r).message, 'Invalid path', attempt);
      }
      // With no path at all there is no DELETE route (as in MLflow): the destination stays.
      const bare = await rawRequest(server.url, 'DELETE', `${PROXY}/`);
      assert.equal(json(bare).error_code, 'ENDPOINT_NOT_FOUND');
      assert.deepEqual(tree(outside), ['secret.txt']);
      assert.ok(tree(dest).includes('linked/'));
    });
  });
});

for (const dialect of DIALECTS) {
  describe(`run artifacts (${dialect})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(dialect);
    });
    after(() => server.close());

    test('a run gets mlflow-artifacts:/<exp>/<run>/artifacts; proxied uploads list via artifacts/list', async () => {
      const exp = (await call(server.api, 'POST', 'experiments/create', { name: 'artifacts' })).body
        .experiment_id;
      const run = (await call(server.api, 'POST', 'runs/create', { experiment_id: exp })).body.run.info;
      assert.equal(run.artifact_uri, `mlflow-artifacts:/${exp}/${run.run_id}/artifacts`);
      // What MLflow's client does for mlflow.log_artifact: PUT below the run's proxied root.
      const base = `${PROXY}/${exp}/${run.run_id}/artifacts`;
      for (const [name, body] of [
        ['metrics.json', '{"a": 1}'],
        ['model/MLmodel', 'flavors: {}'],
        ['model/data/weights.bin', 'WEIGHTS'],
      ]) {
        const r = await rawRequest(server.url, 'PUT', `${base}/${name}`, { body: Buffer.from(body) });
        assert.equal(r.status, 200);
      }
      const root = await call(server.api, 'GET', 'artifacts/list', { run_id: run.run_id });
      assert.equal(root.status, 200);
      assert.deepEqual(root.body, {
        root_uri: run.artifact_uri,
        files: [
          { path: 'metrics.json', is_dir: false, file_size: 8 },
          { path: 'model', is_dir: true },
        ],
      });
      const model = await call(server.api, 'GET', 'artifacts/list', { run_uuid: run.run_id, path: 'model' });
      assert.deepEqual(model.body.files, [
        { path: 'model/MLmodel', is_dir: false, file_size: 11 },
        { path: 'model/data', is_dir: true },
      ]);
      const empty = await call(server.api, 'GET', 'artifacts/list', { run_id: run.run_id, path: 'none' });
      assert.deepEqual(empty.body, { root_uri: run.artifact_uri });
      const ajax = await call(`${server.url}/ajax-api/2.0/mlflow`, 'GET', 'artifacts/list', {
        run_id: run.run_id,
        path: 'model/data',
      });
      assert.deepEqual(ajax.body.files, [{ path: 'model/data/weights.bin', is_dir: false, file_size: 7 }]);

      const file = await rawRequest(
        server.url,
        'GET',
        `/get-artifact?run_id=${run.run_id}&path=${encodeURIComponent('model/MLmodel')}`,
      );
      assert.equal(file.status, 200);
      assert.equal(file.body.toString(), 'flavors: {}');
      assert.equal(file.headers['content-type'], 'text/plain');
      assert.equal(file.headers['content-disposition'], 'attachment; filename=MLmodel');
      const ranged = await rawRequest(
        server.url,
        'GET',
        `/get-artifact?run_id=${run.run_id}&path=model/data/weights.bin`,
        {
          headers: { Range: 'bytes=0-2' },
        },
      );
      assert.deepEqual([ranged.status, ranged.body.toString()], [206, 'WEI']);
    });

    test('errors: unknown run, missing run_id, traversal in path', async () => {
      const unknown = await call(server.api, 'GET', 'artifacts/list', { run_id: 'f'.repeat(32) });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
      const missing = await call(server.api, 'GET', 'artifacts/list', {});
      assert.equal(missing.body.error_code, 'INVALID_PARAMETER_VALUE');
      const file = await rawRequest(server.url, 'GET', `/get-artifact?run_id=${'f'.repeat(32)}&path=x.txt`);
      assert.equal(file.status, 404);
      assert.equal(json(file).error_code, 'RESOURCE_DOES_NOT_EXIST');

      const exp = (await call(server.api, 'POST', 'experiments/create', { name: 'traversal' })).body
        .experiment_id;
      const run = (await call(server.api, 'POST', 'runs/create', { experiment_id: exp })).body.run.info;
      for (const p of ['..', '../..', '../../other', '/etc', '%2e%2e', 'a//b']) {
        const r = await call(server.api, 'GET', 'artifacts/list', { run_id: run.run_id, path: p });
        assert.deepEqual(r.body, { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path' }, p);
        const g = await rawRequest(
          server.url,
          'GET',
          `/get-artifact?run_id=${run.run_id}&path=${encodeURIComponent(p)}`,
        );
        assert.equal(json(g).message, 'Invalid path', p);
      }
    });
  });
}

describe('run artifacts in a local artifact root (--no-serve-artifacts)', () => {
  let server: TestServer;
  let root: { dir: string; cleanup: () => void };
  before(async () => {
    root = tempDir('mlflow-ts-local-root-');
    server = await startTestServer('sqlite', { serveArtifacts: false, defaultArtifactRoot: root.dir });
  });
  after(async () => {
    await server.close();
    root.cleanup();
  });

  test('artifacts/list and get-artifact read the run folder directly', async () => {
    const exp = (await call(server.api, 'POST', 'experiments/create', { name: 'local' })).body.experiment_id;
    const run = (await call(server.api, 'POST', 'runs/create', { experiment_id: exp })).body.run.info;
    assert.equal(run.artifact_uri, path.join(root.dir, exp, run.run_id, 'artifacts'));
    mkdirSync(path.join(run.artifact_uri, 'plots'), { recursive: true });
    writeFileSync(path.join(run.artifact_uri, 'plots', 'loss.png'), 'PNG');
    const list = await call(server.api, 'GET', 'artifacts/list', { run_id: run.run_id, path: 'plots' });
    assert.deepEqual(list.body, {
      root_uri: run.artifact_uri,
      files: [{ path: 'plots/loss.png', is_dir: false, file_size: 3 }],
    });
    const file = await rawRequest(
      server.url,
      'GET',
      `/get-artifact?run_id=${run.run_id}&path=plots/loss.png`,
    );
    assert.equal(file.headers['content-type'], 'image/png');
    assert.equal(file.body.toString(), 'PNG');
    // A file: URI root works the same way.
    const exp2 = (
      await call(server.api, 'POST', 'experiments/create', {
        name: 'file-uri',
        artifact_location: `file://${path.join(root.dir, 'via-uri')}`,
      })
    ).body.experiment_id;
    const run2 = (await call(server.api, 'POST', 'runs/create', { experiment_id: exp2 })).body.run.info;
    mkdirSync(path.join(root.dir, 'via-uri', run2.run_id, 'artifacts'), { recursive: true });
    writeFileSync(path.join(root.dir, 'via-uri', run2.run_id, 'artifacts', 'a.txt'), 'A');
    const list2 = await call(server.api, 'GET', 'artifacts/list', { run_id: run2.run_id });
    assert.deepEqual(list2.body.files, [{ path: 'a.txt', is_dir: false, file_size: 1 }]);
  });

  test('the proxy answers 503 in plain text, as MLflow does', async () => {
    const r = await rawRequest(server.url, 'PUT', `${PROXY}/x.txt`, { body: Buffer.from('x') });
    assert.equal(r.status, 503);
    assert.match(r.body.toString(), /disabled due to the mlflow server running with `--no-serve-artifacts`/);
    const l = await rawRequest(server.url, 'GET', PROXY);
    assert.equal(l.status, 503);
    const m = await rawRequest(server.url, 'POST', `${MPU}/create/x`, {
      body: Buffer.from('{"path":"f","num_parts":1}'),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(m.status, 503);
    assert.match(m.body.toString(), /mpu\/create\/<path:artifact_path> disabled due to/);
    const features = json(await rawRequest(server.url, 'GET', '/api/2.0/mlflow/server-features'));
    assert.equal(features.multipart_uploads_enabled, false);
  });
});

describe('--artifacts-only', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('sqlite', { artifactsOnly: true });
  });
  after(() => server.close());

  test('tracking endpoints answer 503 and the proxy works', async () => {
    const r = await rawRequest(server.url, 'POST', '/api/2.0/mlflow/experiments/create', {
      body: Buffer.from('{"name":"x"}'),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(r.status, 503);
    assert.equal(
      r.body.toString(),
      'Endpoint: /api/2.0/mlflow/experiments/create disabled due to the mlflow server running in `--artifacts-only` mode. To enable tracking server functionality, run `mlflow server` without `--artifacts-only`',
    );
    assert.equal(
      (await rawRequest(server.url, 'GET', '/api/2.0/mlflow/artifacts/list?run_id=x')).status,
      503,
    );
    assert.equal((await rawRequest(server.url, 'GET', '/get-artifact?run_id=x&path=y')).status, 503);
    const put = await rawRequest(server.url, 'PUT', `${PROXY}/only.txt`, { body: Buffer.from('ok') });
    assert.equal(put.status, 200);
    assert.equal((await rawRequest(server.url, 'GET', `${PROXY}/only.txt`)).body.toString(), 'ok');
  });

  test('the CLI refuses --artifacts-only with a backend store, as MLflow does', () => {
    const cli = path.join(REPO_ROOT, 'packages/server/dist/cli/main.js');
    const result = spawnSync(
      process.execPath,
      [cli, 'server', '--artifacts-only', '--backend-store-uri', 'sqlite:///elsewhere.db', '--port', '0'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^Error: You are starting a tracking server in `--artifacts-only` mode/);
  });
});

for (const s3 of s3TestTargets()) {
  const s3Skip = s3.url || s3.required ? false : s3.reason;
  describe(`artifact proxy over HTTP with an s3:// destination on ${s3.name}`, { skip: s3Skip }, () => {
    if (!requireS3(s3)) return;
    let server: TestServer;
    let bucket: { bucket: string; cleanup: () => Promise<void> };
    let direct: S3ArtifactRepository;
    const saved: Record<string, string | undefined> = {};
    const mpu = (action: string, path: string, body: unknown) =>
      rawRequest(server.url, 'POST', `${MPU}/${action}/${path}`, {
        body: Buffer.from(JSON.stringify(body)),
        headers: { 'Content-Type': 'application/json' },
      });
    before(async () => {
      bucket = await freshS3Bucket(s3);
      // The server configures its client from MLflow's environment variables, as in production.
      const env = s3TestEnv(s3);
      for (const [k, v] of Object.entries(env)) {
        saved[k] = process.env[k];
        process.env[k] = v;
      }
      server = await startTestServer('sqlite', { artifactsDestination: `s3://${bucket.bucket}/root` });
      direct = new S3ArtifactRepository(`s3://${bucket.bucket}`, { settings: s3TestSettings(s3) });
    });
    after(async () => {
      await server?.close();
      await bucket?.cleanup();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });

    test("with an artifact-bytes quota, multipart uploads into a run's folder are refused as MLflow's clients fall back from", async () => {
      const limited = await startTestServer('sqlite', {
        artifactsDestination: `s3://${bucket.bucket}/limited`,
        limits: { artifact_bytes_per_run: 100 },
      });
      try {
        const post = (action: string, folder: string, body: unknown) =>
          rawRequest(limited.url, 'POST', `${MPU}/${action}/${folder}`, {
            body: Buffer.from(JSON.stringify(body)),
            headers: { 'Content-Type': 'application/json' },
          });
        const runFolder = `0/${'a'.repeat(32)}/artifacts`;
        for (const action of ['create', 'complete']) {
          const refused = await post(action, runFolder, {
            path: 'big.bin',
            num_parts: 2,
            upload_id: 'u',
            parts: [{ part_number: 1, etag: 'e' }],
          });
          assert.equal(refused.status, 501, refused.body.toString());
          assert.equal(json(refused).error_code, 'NOT_IMPLEMENTED');
          // The prefix MLflow's HttpArtifactRepository tests for before falling back to a single upload.
          assert.ok(
            json(refused).message.startsWith(
              'Multipart upload is not supported for the current artifact repository',
            ),
          );
        }
        // The fallback: a single upload, counted by the quota.
        const put = await rawRequest(limited.url, 'PUT', `${PROXY}/${runFolder}/small.bin`, {
          body: Buffer.alloc(60),
        });
        assert.equal(put.status, 200, put.body.toString());
        const over = await rawRequest(limited.url, 'PUT', `${PROXY}/${runFolder}/more.bin`, {
          body: Buffer.alloc(60),
        });
        assert.equal(json(over).error_code, 'RESOURCE_LIMIT_EXCEEDED');
        // Outside any run's folder nothing is counted, so multipart stays available there.
        const elsewhere = await post('create', 'shared/files', { path: 'x.bin', num_parts: 1 });
        assert.equal(elsewhere.status, 200, elsewhere.body.toString());
        const { upload_id } = json(elsewhere);
        assert.equal((await post('abort', 'shared/files', { path: 'x.bin', upload_id })).status, 200);
      } finally {
        await limited.close();
        // The bucket is shared with the next tests, which expect it empty at the end.
        await direct.delete('limited');
      }
    });

    test('upload, list, ranged download, delete', async () => {
      const base = `${PROXY}/1/run/artifacts`;
      for (const [name, body] of [
        ['notes.txt', '0123456789'],
        ['model/MLmodel', 'flavors: {}'],
      ]) {
        const put = await rawRequest(server.url, 'PUT', `${base}/${name}`, { body: Buffer.from(body) });
        assert.equal(put.status, 200, put.body.toString());
        assert.deepEqual(json(put), {});
      }
      // The objects sit below the destination's key prefix.
      assert.deepEqual(
        (await direct.list('root/1/run/artifacts')).map((f) => f.path),
        ['root/1/run/artifacts/model', 'root/1/run/artifacts/notes.txt'],
      );
      assert.deepEqual(json(await rawRequest(server.url, 'GET', `${PROXY}?path=1/run/artifacts`)), {
        files: [
          { path: 'model', is_dir: true },
          { path: 'notes.txt', is_dir: false, file_size: 10 },
        ],
      });
      assert.deepEqual(json(await rawRequest(server.url, 'GET', PROXY)), {
        files: [{ path: '1', is_dir: true }],
      });
      assert.deepEqual(json(await rawRequest(server.url, 'GET', `${PROXY}?path=nothing`)), {});

      const whole = await rawRequest(server.url, 'GET', `${base}/notes.txt`);
      assert.deepEqual(
        [whole.status, whole.body.toString(), whole.headers['content-type']],
        [200, '0123456789', 'text/plain'],
      );
      assert.equal(whole.headers['content-length'], '10');
      const part = await rawRequest(server.url, 'GET', `${base}/notes.txt`, {
        headers: { Range: 'bytes=2-5' },
      });
      assert.deepEqual(
        [part.status, part.body.toString(), part.headers['content-range']],
        [206, '2345', 'bytes 2-5/10'],
      );
      const suffix = await rawRequest(server.url, 'GET', `${base}/notes.txt`, {
        headers: { Range: 'bytes=-3' },
      });
      assert.deepEqual([suffix.status, suffix.body.toString()], [206, '789']);
      const beyond = await rawRequest(server.url, 'GET', `${base}/notes.txt`, {
        headers: { Range: 'bytes=10-' },
      });
      assert.deepEqual([beyond.status, beyond.headers['content-range']], [416, 'bytes */10']);
      const missing = await rawRequest(server.url, 'GET', `${base}/missing.txt`);
      assert.deepEqual([missing.status, json(missing).error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);
      const traversal = await rawRequest(server.url, 'PUT', `${PROXY}/..%2f..%2fevil.txt`, {
        body: Buffer.from('x'),
      });
      assert.deepEqual([traversal.status, json(traversal).message], [400, 'Invalid path']);

      assert.equal((await rawRequest(server.url, 'DELETE', `${base}/model`)).status, 200);
      assert.deepEqual(
        json(await rawRequest(server.url, 'GET', `${PROXY}?path=1/run/artifacts`)).files.map(
          (f: any) => f.path,
        ),
        ['notes.txt'],
      );
      assert.equal((await rawRequest(server.url, 'DELETE', `${base}/notes.txt`)).status, 200);
      assert.equal((await rawRequest(server.url, 'GET', `${base}/notes.txt`)).status, 404);
      assert.deepEqual(await direct.list(''), []);
    });

    test('multipart upload: parts go straight to S3 at presigned URLs, then complete', async () => {
      const features = json(await rawRequest(server.url, 'GET', '/api/2.0/mlflow/server-features'));
      assert.equal(features.multipart_uploads_enabled, true);

      const MiB = 1024 * 1024;
      const sizes = [5 * MiB, 5 * MiB, MiB + 7];
      const data = Buffer.alloc(sizes.reduce((a, b) => a + b));
      for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 12)) & 0xff;

      // `path` names the client's file; its base name goes below the folder in the URL.
      const created = await mpu('create', 'mpu/run/artifacts', { path: '/tmp/local/big.bin', num_parts: 3 });
      assert.equal(created.status, 200, created.body.toString());
      const { upload_id, credentials } = json(created);
      assert.equal(typeof upload_id, 'string');
      assert.deepEqual(
        credentials.map((c: any) => [c.part_number, Object.keys(c).sort()]),
        [1, 2, 3].map((n) => [n, ['part_number', 'url']]),
      );

      const parts = [];
      let offset = 0;
      for (const [i, cred] of credentials.entries()) {
        assert.ok(
          cred.url.startsWith(`${s3.url}/${bucket.bucket}/root/mpu/run/artifacts/big.bin?`),
          cred.url,
        );
        const body = data.subarray(offset, offset + sizes[i]);
        offset += sizes[i];
        const put = await fetch(cred.url, { method: 'PUT', body });
        assert.equal(put.status, 200, await put.text());
        const etag = put.headers.get('etag');
        assert.ok(etag);
        parts.push({ part_number: cred.part_number, etag, url: cred.url });
      }
      // Nothing is visible before completion.
      const early = await rawRequest(server.url, 'GET', `${PROXY}/mpu/run/artifacts/big.bin`);
      assert.equal(early.status, 404);

      const done = await mpu('complete', 'mpu/run/artifacts', {
        path: '/tmp/local/big.bin',
        upload_id,
        parts,
      });
      assert.equal(done.status, 200, done.body.toString());
      assert.deepEqual(json(done), {});

      const got = await rawRequest(server.url, 'GET', `${PROXY}/mpu/run/artifacts/big.bin`);
      assert.equal(got.status, 200);
      assert.equal(got.body.length, data.length);
      assert.ok(got.body.equals(data));
      assert.equal((await rawRequest(server.url, 'DELETE', `${PROXY}/mpu`)).status, 200);
    });

    test('multipart upload: abort discards the parts and leaves nothing', async () => {
      const created = json(await mpu('create', 'aborted', { path: 'x.bin', num_parts: 2 }));
      const put = await fetch(created.credentials[0].url, {
        method: 'PUT',
        body: Buffer.alloc(5 * 1024 * 1024, 1),
      });
      assert.equal(put.status, 200);
      const abort = await mpu('abort', 'aborted', { path: 'x.bin', upload_id: created.upload_id });
      assert.equal(abort.status, 200, abort.body.toString());
      assert.deepEqual(json(abort), {});
      assert.deepEqual(await direct.list('root/aborted'), []);
      assert.equal((await rawRequest(server.url, 'GET', `${PROXY}/aborted/x.bin`)).status, 404);
      // The part URLs are dead, and the upload cannot be completed or aborted again.
      const late = await fetch(created.credentials[1].url, { method: 'PUT', body: Buffer.from('late') });
      // (S3 answers 404 NoSuchUpload; moto fails with a 500.)
      assert.ok(late.status >= 400, String(late.status));
      const parts = [{ part_number: 1, etag: put.headers.get('etag') }];
      const complete = await mpu('complete', 'aborted', {
        path: 'x.bin',
        upload_id: created.upload_id,
        parts,
      });
      assert.deepEqual([complete.status, json(complete).error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);
      const twice = await mpu('abort', 'aborted', { path: 'x.bin', upload_id: created.upload_id });
      assert.deepEqual([twice.status, json(twice).error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);
      assert.deepEqual(await direct.list('root/aborted'), []);
    });

    test('multipart upload: bad requests are MLflow errors', async () => {
      const bad = async (action: string, path: string, body: unknown, status = 400) => {
        const r = await mpu(action, path, body);
        assert.equal(r.status, status, `${action} ${path} ${JSON.stringify(body)}: ${r.body.toString()}`);
        const answer = json(r);
        assert.equal(
          answer.error_code,
          status === 404 ? 'RESOURCE_DOES_NOT_EXIST' : 'INVALID_PARAMETER_VALUE',
        );
        return answer.message as string;
      };
      for (const num_parts of [0, -1, 10001, 'abc', 1.5]) {
        await bad('create', 'dir', { path: 'f.bin', num_parts });
      }
      assert.match(
        await bad('create', 'dir', { path: 'f.bin' }),
        /Missing value for required parameter 'num_parts'/,
      );
      assert.match(
        await bad('create', 'dir', { num_parts: 1 }),
        /Missing value for required parameter 'path'/,
      );
      // Traversal in the URL or in the file's name, and a name that names no file.
      assert.equal(await bad('create', '..%2f..%2fevil', { path: 'f.bin', num_parts: 1 }), 'Invalid path');
      assert.equal(await bad('create', 'a/..%2f..%2fevil', { path: 'f.bin', num_parts: 1 }), 'Invalid path');
      await bad('create', 'dir', { path: '..', num_parts: 1 });
      await bad('create', 'dir', { path: 'folder/', num_parts: 1 });
      assert.equal(await bad('abort', '%2e%2e', { path: 'f.bin', upload_id: 'x' }), 'Invalid path');
      // Unknown upload ids; a complete without parts or with a wrong ETag.
      await bad('abort', 'dir', { path: 'f.bin', upload_id: 'no-such-upload' }, 404);
      const parts = [{ part_number: 1, etag: '"0"' }];
      await bad('complete', 'dir', { path: 'f.bin', upload_id: 'no-such-upload', parts }, 404);
      await bad('abort', 'dir', { path: 'f.bin' });
      const created = json(await mpu('create', 'dir', { path: 'f.bin', num_parts: 1 }));
      const upload_id = created.upload_id;
      assert.match(await bad('complete', 'dir', { path: 'f.bin', upload_id }), /'parts'/);
      await bad('complete', 'dir', { path: 'f.bin', upload_id, parts: [{ part_number: 1 }] });
      await bad('complete', 'dir', { path: 'f.bin', upload_id, parts: [{ part_number: 1, etag: '"nope"' }] });
      // Still abortable after the failed completions; nothing was written.
      assert.equal((await mpu('abort', 'dir', { path: 'f.bin', upload_id })).status, 200);
      assert.deepEqual(await direct.list('root/dir'), []);
      // The JSON Content-Type is required, as on MLflow's other POST endpoints.
      const untyped = await rawRequest(server.url, 'POST', `${MPU}/create/dir`, {
        body: Buffer.from(JSON.stringify({ path: 'f.bin', num_parts: 1 })),
      });
      assert.equal(untyped.status, 400);
    });

    test('a run with a proxied artifact URI is listed and read from S3', async () => {
      const exp = (await call(server.api, 'POST', 'experiments/create', { name: 's3' })).body.experiment_id;
      const run = (await call(server.api, 'POST', 'runs/create', { experiment_id: exp })).body.run.info;
      const base = `${PROXY}/${exp}/${run.run_id}/artifacts`;
      assert.equal(
        (await rawRequest(server.url, 'PUT', `${base}/m.json`, { body: Buffer.from('{}') })).status,
        200,
      );
      const list = await call(server.api, 'GET', 'artifacts/list', { run_id: run.run_id });
      assert.deepEqual(list.body.files, [{ path: 'm.json', is_dir: false, file_size: 2 }]);
      const file = await rawRequest(server.url, 'GET', `/get-artifact?run_id=${run.run_id}&path=m.json`);
      assert.equal(file.body.toString(), '{}');
    });
  });
}

describe('artifact proxy over HTTP with a wasbs:// destination', { skip: azureSkip }, () => {
  if (!requireAzure()) return;
  let server: TestServer;
  let container: { container: string; account: string; cleanup: () => Promise<void> };
  let direct: AzureBlobArtifactRepository;
  let saved: string | undefined;
  before(async () => {
    const connectionString = azure.connectionString as string;
    container = await freshAzureContainer(connectionString);
    // The server takes its credentials from MLflow's environment variable, as in production.
    saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
    process.env.AZURE_STORAGE_CONNECTION_STRING = connectionString;
    const uri = `wasbs://${container.container}@${container.account}.blob.core.windows.net`;
    server = await startTestServer('sqlite', { artifactsDestination: `${uri}/root` });
    direct = new AzureBlobArtifactRepository(uri, { settings: { connectionString } });
  });
  after(async () => {
    await server?.close();
    await container?.cleanup();
    if (saved === undefined) delete process.env.AZURE_STORAGE_CONNECTION_STRING;
    else process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
  });

  test('upload, list, ranged download, delete', async () => {
    const base = `${PROXY}/1/run/artifacts`;
    for (const [name, body] of [
      ['notes.txt', '0123456789'],
      ['model/MLmodel', 'flavors: {}'],
    ]) {
      const put = await rawRequest(server.url, 'PUT', `${base}/${name}`, { body: Buffer.from(body) });
      assert.equal(put.status, 200, put.body.toString());
      assert.deepEqual(json(put), {});
    }
    // The blobs sit below the destination's name prefix.
    assert.deepEqual(
      (await direct.list('root/1/run/artifacts')).map((f) => f.path),
      ['root/1/run/artifacts/model', 'root/1/run/artifacts/notes.txt'],
    );
    assert.deepEqual(json(await rawRequest(server.url, 'GET', `${PROXY}?path=1/run/artifacts`)), {
      files: [
        { path: 'model', is_dir: true },
        { path: 'notes.txt', is_dir: false, file_size: 10 },
      ],
    });
    assert.deepEqual(json(await rawRequest(server.url, 'GET', `${PROXY}?path=nothing`)), {});

    const whole = await rawRequest(server.url, 'GET', `${base}/notes.txt`);
    assert.deepEqual(
      [whole.status, whole.body.toString(), whole.headers['content-length']],
      [200, '0123456789', '10'],
    );
    const part = await rawRequest(server.url, 'GET', `${base}/notes.txt`, {
      headers: { Range: 'bytes=2-5' },
    });
    assert.deepEqual(
      [part.status, part.body.toString(), part.headers['content-range']],
      [206, '2345', 'bytes 2-5/10'],
    );
    const suffix = await rawRequest(server.url, 'GET', `${base}/notes.txt`, {
      headers: { Range: 'bytes=-3' },
    });
    assert.deepEqual([suffix.status, suffix.body.toString()], [206, '789']);
    const beyond = await rawRequest(server.url, 'GET', `${base}/notes.txt`, {
      headers: { Range: 'bytes=10-' },
    });
    assert.deepEqual([beyond.status, beyond.headers['content-range']], [416, 'bytes */10']);
    const missing = await rawRequest(server.url, 'GET', `${base}/missing.txt`);
    assert.deepEqual([missing.status, json(missing).error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    const traversal = await rawRequest(server.url, 'PUT', `${PROXY}/..%2f..%2fevil.txt`, {
      body: Buffer.from('x'),
    });
    assert.deepEqual([traversal.status, json(traversal).message], [400, 'Invalid path']);

    assert.equal((await rawRequest(server.url, 'DELETE', `${base}/model`)).status, 200);
    assert.deepEqual(
      json(await rawRequest(server.url, 'GET', `${PROXY}?path=1/run/artifacts`)).files.map(
        (f: any) => f.path,
      ),
      ['notes.txt'],
    );
    assert.equal((await rawRequest(server.url, 'DELETE', `${base}/notes.txt`)).status, 200);
    assert.equal((await rawRequest(server.url, 'GET', `${base}/notes.txt`)).status, 404);
    assert.deepEqual(await direct.list(''), []);
  });

  const mpu = (action: string, path: string, body: unknown) =>
    rawRequest(server.url, 'POST', `${MPU}/${action}/${path}`, {
      body: Buffer.from(JSON.stringify(body)),
      headers: { 'Content-Type': 'application/json' },
    });

  /** Stages each part at its URL as MLflow's client does (Azure gives no ETag: it sends ''). */
  async function putParts(credentials: { url: string; part_number: number }[], chunks: Buffer[]) {
    const parts = [];
    for (const [i, cred] of credentials.entries()) {
      const put = await fetch(cred.url, { method: 'PUT', body: new Uint8Array(chunks[i]) });
      assert.equal(put.status, 201, await put.text());
      parts.push({ part_number: cred.part_number, etag: put.headers.get('etag') ?? '', url: cred.url });
    }
    return parts;
  }

  test('multipart upload: blocks staged at SAS URLs, committed on complete', async () => {
    const features = json(await rawRequest(server.url, 'GET', '/api/2.0/mlflow/server-features'));
    assert.equal(features.multipart_uploads_enabled, true);
    const chunks = [Buffer.alloc(300_000, 1), Buffer.alloc(300_000, 2), Buffer.from('tail')];
    const created = await mpu('create', 'mpu/run/artifacts', { path: '/tmp/local/big.bin', num_parts: 3 });
    assert.equal(created.status, 200, created.body.toString());
    const { upload_id, credentials } = json(created);
    assert.equal(typeof upload_id, 'string');
    const blobUrl = `${container.container}/root/mpu/run/artifacts/big.bin?comp=block&blockid=`;
    for (const cred of credentials) assert.ok(cred.url.includes(blobUrl), cred.url);
    // Block ids are all of one length (Azure's rule), different per part.
    const ids = credentials.map((c: any) => new URL(c.url).searchParams.get('blockid'));
    assert.equal(new Set(ids).size, 3);
    assert.equal(new Set(ids.map((id: string) => id.length)).size, 1);

    const parts = await putParts(credentials, chunks);
    assert.equal((await rawRequest(server.url, 'GET', `${PROXY}/mpu/run/artifacts/big.bin`)).status, 404);
    // As MLflow's client completes an Azure upload: the parts' URLs, no upload id.
    const done = await mpu('complete', 'mpu/run/artifacts', { path: '/tmp/local/big.bin', parts });
    assert.deepEqual([done.status, json(done)], [200, {}]);
    const got = await rawRequest(server.url, 'GET', `${PROXY}/mpu/run/artifacts/big.bin`);
    assert.ok(got.body.equals(Buffer.concat(chunks)));
    assert.equal((await rawRequest(server.url, 'DELETE', `${PROXY}/mpu`)).status, 200);
  });

  test('multipart upload: completing by upload id alone, and the errors', async () => {
    const created = json(await mpu('create', 'byid', { path: 'f.bin', num_parts: 2 }));
    const chunks = [Buffer.from('first-'), Buffer.from('second')];
    await putParts(created.credentials, chunks);
    // Parts in any order, without URLs: the upload id names the blocks.
    const byId = await mpu('complete', 'byid', {
      path: 'f.bin',
      upload_id: created.upload_id,
      parts: [
        { part_number: 2, etag: '' },
        { part_number: 1, etag: '' },
      ],
    });
    assert.equal(byId.status, 200, byId.body.toString());
    assert.equal(
      (await rawRequest(server.url, 'GET', `${PROXY}/byid/f.bin`)).body.toString(),
      'first-second',
    );

    // A part that was never staged cannot be committed, and the old blob stays as it was.
    const again = json(await mpu('create', 'byid', { path: 'f.bin', num_parts: 2 }));
    await putParts(again.credentials.slice(0, 1), [Buffer.from('only one')]);
    const partial = await mpu('complete', 'byid', {
      path: 'f.bin',
      parts: again.credentials.map((c: any) => ({ part_number: c.part_number, etag: '', url: c.url })),
    });
    assert.deepEqual([partial.status, json(partial).error_code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.equal(
      (await rawRequest(server.url, 'GET', `${PROXY}/byid/f.bin`)).body.toString(),
      'first-second',
    );
    // Neither a URL nor an upload id: nothing names the blocks.
    const unnamed = await mpu('complete', 'byid', { path: 'f.bin', parts: [{ part_number: 1, etag: '' }] });
    assert.deepEqual([unnamed.status, json(unnamed).error_code], [400, 'INVALID_PARAMETER_VALUE']);
    // Abort has nothing to undo on Azure (as in MLflow) and succeeds, with or without an id.
    assert.deepEqual(json(await mpu('abort', 'byid', { path: 'f.bin', upload_id: again.upload_id })), {});
    assert.equal((await mpu('abort', 'byid', { path: 'f.bin' })).status, 200);
    assert.equal((await mpu('abort', '%2e%2e', { path: 'f.bin' })).status, 400);
    assert.equal((await rawRequest(server.url, 'DELETE', `${PROXY}/byid`)).status, 200);
  });
});
