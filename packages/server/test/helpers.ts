import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import pg from 'pg';
import { createS3Client, type S3ClientSettings } from '../src/artifacts/s3-artifact-repository.js';
import { MlflowError } from '../src/entities/errors.js';
import { type RunningServer, type ServerConfig, startServer } from '../src/server.js';
import { TrackingService } from '../src/services/tracking-service.js';
import { ArtifactLocations } from '../src/store/artifact-locations.js';
import { openDatabase } from '../src/store/database.js';
import { SqlTrackingStore } from '../src/store/sql-tracking-store.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export type DialectName = 'sqlite' | 'postgres';
export const DIALECTS: DialectName[] = ['sqlite', 'postgres'];

let adminUri: string | undefined;

/**
 * The URI of the test PostgreSQL server, started on loopback by scripts/services/postgres.sh (which
 * installs PostgreSQL from Debian's packages if needed). Fails rather than skips: the suite is
 * meant to run on both dialects everywhere.
 */
export function postgresAdminUri(): string {
  if (adminUri) return adminUri;
  if (process.env.MLFLOW_TS_TEST_POSTGRES_URI) {
    adminUri = process.env.MLFLOW_TS_TEST_POSTGRES_URI;
    return adminUri;
  }
  try {
    adminUri = execFileSync('bash', [path.join(REPO_ROOT, 'scripts/services/postgres.sh'), 'start'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch (error) {
    throw new Error(
      `PostgreSQL for the tests could not be started (scripts/services/postgres.sh start): ${error}`,
    );
  }
  return adminUri;
}

/** Creates an empty PostgreSQL database for one test and returns its URI. */
export async function freshPostgresUri(): Promise<string> {
  const admin = postgresAdminUri();
  const name = `mlflow_ts_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(prefix = 'mlflow-ts-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A backend store URI for a fresh, empty store of the given dialect. */
export async function freshStoreUri(dialect: DialectName): Promise<{ uri: string; cleanup: () => void }> {
  if (dialect === 'postgres') return { uri: await freshPostgresUri(), cleanup: () => {} };
  const { dir, cleanup } = tempDir();
  return { uri: `sqlite:///${path.join(dir, 'mlflow.db')}`, cleanup };
}

/**
 * A tracking service over a fresh, initialised store of `dialect`, for the tests of the enclosing suite:
 * registers a `before` hook that opens the store and an `after` hook that closes and removes it. The
 * returned service forwards to the one opened in `before`, so it is usable only inside the tests.
 */
export function useTestTracking(dialect: DialectName): TrackingService {
  let opened: { svc: TrackingService; close(): Promise<void> } | undefined;
  before(async () => {
    const fresh = await freshStoreUri(dialect);
    const store = new SqlTrackingStore(
      await openDatabase(fresh.uri),
      new ArtifactLocations('mlflow-artifacts:'),
    );
    await store.init();
    const close = async () => {
      await store.close();
      fresh.cleanup();
    };
    opened = { svc: new TrackingService(store), close };
  });
  after(() => opened?.close());
  return new Proxy({} as TrackingService, {
    get(_target, key) {
      if (!opened) throw new Error('the test tracking store is opened in before(): use it inside a test');
      const value: unknown = Reflect.get(opened.svc, key);
      return typeof value === 'function' ? value.bind(opened.svc) : value;
    },
  });
}

/** Asserts that `promise` rejects with an MlflowError of `code` (and a message matching `message`). */
export async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof MlflowError, `expected MlflowError, got ${error}`);
    assert.equal(error.errorCode, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

export interface TestServer {
  url: string;
  api: string;
  /** The artifact proxy's destination: a temporary directory removed on close. */
  artifactsDir: string;
  server: RunningServer;
  close(): Promise<void>;
}

/**
 * Starts an in-process server on a free loopback port over a fresh store, serving artifacts from a
 * fresh temporary destination; `overrides` change the server's configuration.
 */
export async function startTestServer(
  dialect: DialectName,
  overrides: Partial<ServerConfig> = {},
): Promise<TestServer> {
  const store = await freshStoreUri(dialect);
  const artifacts = tempDir('mlflow-ts-artifacts-');
  const server = await startServer({
    backendStoreUri: store.uri,
    serveArtifacts: true,
    artifactsDestination: artifacts.dir,
    host: '127.0.0.1',
    port: 0,
    ...overrides,
  });
  return {
    url: server.url,
    api: `${server.url}/api/2.0/mlflow`,
    artifactsDir: artifacts.dir,
    server,
    async close() {
      await server.close();
      store.cleanup();
      artifacts.cleanup();
    },
  };
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** Calls an endpoint: GET bodies become query strings (lists as repeated keys), others JSON. */
export async function call<T = Record<string, any>>(
  base: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  endpoint: string,
  body?: Record<string, unknown>,
): Promise<ApiResponse<T>> {
  let url = `${base}/${endpoint}`;
  const init: RequestInit = { method };
  if (method === 'GET' && body) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(body))
      for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
    url += `?${q}`;
  } else if (body) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
}

/**
 * Asserts that an API call answered MLflow's error JSON with `status` and `code`; `message` is matched
 * (a RegExp) or compared exactly (a string).
 */
export async function expectError(
  promise: Promise<ApiResponse<Record<string, any>>>,
  status: number,
  code: string,
  message?: RegExp | string,
): Promise<void> {
  const res = await promise;
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error_code, code, JSON.stringify(res.body));
  assert.equal(typeof res.body.message, 'string');
  if (typeof message === 'string') assert.equal(res.body.message, message);
  else if (message) assert.match(res.body.message, message);
}

/**
 * One S3 server the S3 tests run against: moto (a light emulator) or Ceph's radosgw (a real S3
 * implementation). `url` is set when the server is available; otherwise `reason` says why not.
 * `required` is true under CI (CI=true), where the tests must then fail rather than be skipped.
 */
export interface S3TestTarget {
  name: 'moto' | 'radosgw';
  url?: string;
  reason?: string;
  required: boolean;
  accessKeyId: string;
  secretAccessKey: string;
}

/** How each target is found: its variable, its start script and its credentials. */
const S3_TARGETS = {
  // moto accepts any credentials.
  moto: { variable: 'MLFLOW_TS_TEST_S3_ENDPOINT', script: 'moto.sh', keys: ['testing', 'testing'] },
  // The user scripts/services/radosgw.sh creates (MLFLOW_TS_TEST_RGW_ACCESS_KEY/_SECRET_KEY override).
  radosgw: {
    variable: 'MLFLOW_TS_TEST_RGW_ENDPOINT',
    script: 'radosgw.sh',
    keys: [
      process.env.MLFLOW_TS_TEST_RGW_ACCESS_KEY || 'mlflow-ts-test',
      process.env.MLFLOW_TS_TEST_RGW_SECRET_KEY || 'mlflow-ts-test-secret',
    ],
  },
} as const;

const s3Targets = new Map<S3TestTarget['name'], S3TestTarget>();

/**
 * A test S3 server: its endpoint from its variable (MLFLOW_TS_TEST_S3_ENDPOINT for moto,
 * MLFLOW_TS_TEST_RGW_ENDPOINT for radosgw), or started by its script in scripts/services.
 */
export function s3TestTarget(name: S3TestTarget['name']): S3TestTarget {
  const known = s3Targets.get(name);
  if (known) return known;
  const { variable, script, keys } = S3_TARGETS[name];
  const base = { name, required: process.env.CI === 'true', accessKeyId: keys[0], secretAccessKey: keys[1] };
  let target: S3TestTarget;
  if (process.env[variable]) {
    target = { ...base, url: process.env[variable] };
  } else {
    try {
      const url = execFileSync('bash', [path.join(REPO_ROOT, 'scripts/services', script), 'start'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }).trim();
      target = { ...base, url };
    } catch (error) {
      target = {
        ...base,
        reason: `the ${name} S3 server could not be started (scripts/services/${script} start): ${error}`,
      };
    }
  }
  s3Targets.set(name, target);
  return target;
}

/** Every S3 server the S3 tests run against. */
export function s3TestTargets(): S3TestTarget[] {
  return [s3TestTarget('moto'), s3TestTarget('radosgw')];
}

/** The moto target (kept for tests that need just one S3 server). */
export function s3TestEndpoint(): S3TestTarget {
  return s3TestTarget('moto');
}

/** Client settings for a test S3 server. */
export function s3TestSettings(target: S3TestTarget): S3ClientSettings {
  return {
    endpoint: target.url,
    region: 'us-east-1',
    accessKeyId: target.accessKeyId,
    secretAccessKey: target.secretAccessKey,
  };
}

/** MLflow's environment variables for a test S3 server, as a server process would get them. */
export function s3TestEnv(target: S3TestTarget): Record<string, string> {
  return {
    MLFLOW_S3_ENDPOINT_URL: target.url as string,
    AWS_ACCESS_KEY_ID: target.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
  };
}

/** Creates an empty bucket on the test S3 server; the cleanup empties and removes it. */
export async function freshS3Bucket(
  target: S3TestTarget,
): Promise<{ bucket: string; cleanup: () => Promise<void> }> {
  const client = createS3Client(s3TestSettings(target));
  const bucket = `mlflow-ts-test-${randomBytes(6).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    bucket,
    async cleanup() {
      for (;;) {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key as string }));
        if (keys.length === 0) break;
        await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
      }
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      client.destroy();
    },
  };
}

let azureConnection: { connectionString?: string; reason?: string; required: boolean } | undefined;

/**
 * The connection string of the test Azure Blob service (Azurite), from
 * MLFLOW_TS_TEST_AZURE_CONNECTION_STRING or started by scripts/services/azurite.sh. Without one, the
 * reason; `required` is true under CI (CI=true), where the Azure tests must then fail, not be skipped.
 */
export function azureTestConnection(): { connectionString?: string; reason?: string; required: boolean } {
  if (azureConnection) return azureConnection;
  const required = process.env.CI === 'true';
  if (process.env.MLFLOW_TS_TEST_AZURE_CONNECTION_STRING) {
    azureConnection = { connectionString: process.env.MLFLOW_TS_TEST_AZURE_CONNECTION_STRING, required };
    return azureConnection;
  }
  try {
    const connectionString = execFileSync(
      'bash',
      [path.join(REPO_ROOT, 'scripts/services/azurite.sh'), 'start'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    ).trim();
    azureConnection = { connectionString, required };
  } catch (error) {
    const reason = `the test Azure Blob service could not be started (scripts/services/azurite.sh start): ${error}`;
    azureConnection = { reason, required };
  }
  return azureConnection;
}

/** The account a connection string names (Azurite's is devstoreaccount1). */
export function azureAccountOf(connectionString: string): string {
  const m = /(?:^|;)AccountName=([^;]+)/i.exec(connectionString);
  if (!m) throw new Error('the test connection string names no AccountName');
  return m[1];
}

/** Creates an empty container on the test Azure Blob service; the cleanup deletes it with its blobs. */
export async function freshAzureContainer(
  connectionString: string,
): Promise<{ container: string; account: string; cleanup: () => Promise<void> }> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const container = `mlflow-ts-test-${randomBytes(6).toString('hex')}`;
  await service.getContainerClient(container).create();
  return {
    container,
    account: azureAccountOf(connectionString),
    async cleanup() {
      await service.getContainerClient(container).deleteIfExists();
    },
  };
}
