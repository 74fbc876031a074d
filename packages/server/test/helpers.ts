import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type RunningServer, type ServerConfig, startServer } from '../src/server.js';

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
