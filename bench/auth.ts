/**
 * The cost of authentication per request with a warm cache: the credential check alone (Basic and
 * Bearer), and whole requests through Fastify's inject (no sockets) to a server with and without
 * --app-name basic-auth, whose difference is what the auth hook adds to a request; as the admin and
 * as a user without grants (whose check looks up the experiment's permission). Last, the same once a
 * non-admin's search has entered an AsyncLocalStorage scope: from then on Node 20 tracks every
 * promise of the process, a cost every later request pays, with auth or without.
 *
 *   npx tsx bench/auth.ts [--checks N] [--requests N] [--users-db URI]
 *
 * --users-db: the users store (default: an SQLite file of its own). A PostgreSQL URI measures the path
 * of a store shared by several servers, where each check reads the user's row (auth-service.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AuthService } from '../packages/server/src/auth/auth-service.js';
import { type RunningServer, startServer } from '../packages/server/src/server.js';
import { commandLine, markdownTable } from './common.js';

const cli = commandLine(
  'bench/auth.ts',
  'usage: npx tsx bench/auth.ts [--checks N] [--requests N] [--users-db URI]',
);
let checks = 20_000;
let requests = 5_000;
let usersDb: string | undefined;
cli.parse(
  process.argv.slice(2),
  { checks: 'string', requests: 'string', 'users-db': 'string' },
  (name, value, flag) => {
    if (name === 'checks') checks = cli.count(flag, value);
    else if (name === 'users-db') usersDb = value;
    else requests = cli.count(flag, value);
  },
);

const dir = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-bench-auth-'));
const usersUri = usersDb ?? `sqlite:///${path.join(dir, 'users.db')}`;
const ADMIN = { username: 'admin', password: 'bench-password-1' };
const READER = { username: 'reader', password: 'bench-password-2' };
const basicOf = (user: { username: string; password: string }) =>
  `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
const basic = basicOf(ADMIN);
const readerBasic = basicOf(READER);

/** Microseconds per call of `fn`, after a warm-up of a tenth of the calls. */
async function perCall(n: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.ceil(n / 10); i++) await fn();
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - start) * 1000) / n;
}

/** This process's CPU microseconds per call of `fn` (what a shared machine distorts least). */
async function cpuPerCall(n: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.ceil(n / 10); i++) await fn();
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const ROUNDS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function server(withAuth: boolean): Promise<RunningServer> {
  return startServer({
    backendStoreUri: `sqlite:///${path.join(dir, `${withAuth ? 'auth' : 'open'}.db`)}`,
    serveArtifacts: false,
    host: '127.0.0.1',
    port: 0,
    auth: withAuth
      ? {
          defaultPermission: 'READ',
          databaseUri: usersUri,
          adminUsername: ADMIN.username,
          adminPassword: ADMIN.password,
        }
      : undefined,
  });
}

try {
  const auth = await AuthService.start({
    defaultPermission: 'READ',
    databaseUri: usersUri,
    adminUsername: ADMIN.username,
    adminPassword: ADMIN.password,
  });
  const { token } = await auth.createToken(ADMIN.username, 'bench');
  await auth.createUser(READER.username, READER.password);
  const bearer = `Bearer ${token}`;
  const basicUs = await perCall(checks, () => auth.authenticate(basic));
  const bearerUs = await perCall(checks, () => auth.authenticate(bearer));
  const basicCpuUs = await cpuPerCall(checks, () => auth.authenticate(basic));
  const bearerCpuUs = await cpuPerCall(checks, () => auth.authenticate(bearer));
  await auth.close();

  const open = await server(false);
  const guarded = await server(true);
  const get = (srv: RunningServer, authorization?: string) => () =>
    srv.app.inject({
      method: 'GET',
      url: '/api/2.0/mlflow/experiments/get?experiment_id=0',
      headers: authorization ? { authorization } : {},
    });
  // Request timings drift on a shared machine, so the kinds take turns over ROUNDS rounds and each
  // figure is the median of its rounds.
  const kinds = [get(open), get(guarded, basic), get(guarded, bearer), get(guarded, readerBasic)];
  const measure = async () => {
    const rounds: number[][] = kinds.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, kind] of kinds.entries()) {
        rounds[i].push(await perCall(Math.ceil(requests / ROUNDS), kind));
      }
    }
    return rounds.map(median);
  };
  const [openUs, basicReqUs, bearerReqUs, readerReqUs] = await measure();
  const search = await guarded.app.inject({
    method: 'GET',
    url: '/api/2.0/mlflow/experiments/search?max_results=10',
    headers: { authorization: readerBasic },
  });
  if (search.statusCode !== 200) throw new Error(`search as reader: ${search.statusCode} ${search.body}`);
  const [openAlsUs, basicAlsUs] = await measure();
  await Promise.all([open.close(), guarded.close()]);

  const ms = (us: number) => (us / 1000).toFixed(4);
  console.log(
    `${checks} credential checks, ${requests} requests of each kind (experiments/get, in-process inject), users store ${usersDb ? usersDb.replace(/\/\/[^@/]*@/, '//') : 'SQLite'}\n`,
  );
  console.log(
    markdownTable(
      ['measure', 'ms per call'],
      [
        ['Basic check, warm cache (AuthService.authenticate)', ms(basicUs)],
        ['Bearer token check, warm cache', ms(bearerUs)],
        ['Basic check, warm cache: CPU of this process', ms(basicCpuUs)],
        ['Bearer token check, warm cache: CPU of this process', ms(bearerCpuUs)],
        ['request without auth', ms(openUs)],
        ['request with Basic auth (admin)', ms(basicReqUs)],
        ['request with a Bearer token (admin)', ms(bearerReqUs)],
        ['auth overhead per request, Basic', ms(basicReqUs - openUs)],
        ['auth overhead per request, Bearer', ms(bearerReqUs - openUs)],
        ['request with Basic auth (user without grants, default READ)', ms(readerReqUs)],
        ['auth overhead per request, Basic, user without grants', ms(readerReqUs - openUs)],
        ['after a non-admin search: request without auth', ms(openAlsUs)],
        ['after a non-admin search: request with Basic auth (admin)', ms(basicAlsUs)],
        ['after a non-admin search: auth overhead, Basic', ms(basicAlsUs - openAlsUs)],
      ],
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
