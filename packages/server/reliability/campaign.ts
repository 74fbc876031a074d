// Runs a fuzzing campaign against a real server's app over a fresh store: batches of generated requests,
// each answer checked (2xx, or MLflow's error JSON with a 4xx, within the timeout), and after each batch
// the data no request named (the sentinels, files outside the artifact root) compared with a snapshot.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { type DialectName, startTestServer, tempDir } from '../test/helpers.js';
import { endpointRequestArb, type FuzzRequest, type Pools, requestArb } from './generators.js';
import { describeAuthRoutes, describeRoutes } from './route-table.js';

export interface CampaignOptions {
  dialect: DialectName;
  requests: number;
  seed: number;
  batchSize?: number;
  /** A request answered later than this is a hang. */
  timeoutMs?: number;
  progress?: (line: string) => void;
  /**
   * Run the server as --app-name basic-auth and fuzz its users and permissions endpoints (instead of
   * the others): nine requests in ten carry the admin's credentials, the rest none.
   */
  auth?: boolean;
}

export interface Failure {
  problem: string;
  request: FuzzRequest;
  status?: number;
  body?: string;
}

export interface CampaignResult {
  dialect: DialectName;
  seed: number;
  requests: number;
  /** Dropped before sending because they named the sentinel experiment's id. */
  skipped: number;
  batches: number;
  byStatus: Record<string, number>;
  byKind: Record<string, number>;
  /** Requests per route of the route table (`METHOD path`) and per artifact route. */
  byRoute: Record<string, number>;
  failures: Failure[];
  elapsedMs: number;
  slowestMs: number;
  /** The slowest request, for looking into it. */
  slowest: string;
}

interface Answer {
  status: number;
  body: string;
  contentType: string;
}

const clip = (text: string, n = 300) =>
  text.length > n ? `${text.slice(0, n)}… (${text.length} chars)` : text;

async function send(app: FastifyInstance, req: FuzzRequest, timeoutMs: number): Promise<Answer | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const answer = app
    .inject({
      method: req.method as 'GET',
      url: req.url,
      headers: req.headers,
      ...(req.payload !== undefined ? { payload: req.payload } : {}),
    })
    .then((r) => ({
      status: r.statusCode,
      body: r.body,
      contentType: String(r.headers['content-type'] ?? ''),
    }));
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What is wrong with an answer, or undefined when it is a 2xx or MLflow's error JSON with a 4xx. */
export function judge(answer: Answer): string | undefined {
  if (answer.status >= 200 && answer.status < 300) return undefined;
  // MLflow's basic-auth app answers a request without valid credentials in plain text, not JSON.
  if (answer.status === 401 && answer.body.startsWith('You are not authenticated.')) return undefined;
  // 501 NOT_IMPLEMENTED is MLflow's own answer for what a store cannot do (multipart uploads on a
  // local destination); it is checked for the error JSON below like a 4xx.
  if (answer.status < 400 || (answer.status >= 500 && answer.status !== 501))
    return `status ${answer.status}`;
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return `status ${answer.status} without a JSON body`;
  }
  const error = body as { error_code?: unknown; message?: unknown };
  if (typeof error?.error_code !== 'string' || typeof error.message !== 'string') {
    return `status ${answer.status} without error_code and message`;
  }
  if (answer.status === 501 && error.error_code !== 'NOT_IMPLEMENTED')
    return 'status 501 other than NOT_IMPLEMENTED';
  return undefined;
}

/** The admin's credentials on an auth run (set by runCampaign), sent by the set-up and the checks. */
let adminHeaders: Record<string, string> = {};
const ADMIN = { username: 'admin', password: 'fuzz-admin-password' };

async function json(app: FastifyInstance, method: 'GET' | 'POST', url: string, body?: unknown) {
  const r = await app.inject({
    method,
    // Below /api/2.0/mlflow unless it names its own prefix.
    url: url.startsWith('/') ? url : `/api/2.0/mlflow/${url}`,
    headers: { ...adminHeaders, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { payload: JSON.stringify(body) } : {}),
  });
  if (r.statusCode !== 200) throw new Error(`setup ${url} answered ${r.statusCode}: ${r.body}`);
  return JSON.parse(r.body || '{}') as unknown;
}

/** The string at `keys` in a parsed answer (a setup step's id). */
function dig(value: unknown, ...keys: string[]): string {
  let v = value;
  for (const key of keys) v = (v as Record<string, unknown> | undefined)?.[key];
  if (typeof v !== 'string') throw new Error(`setup answer has no ${keys.join('.')}`);
  return v;
}

/** Files below `dir` (symlinks not followed) with a hash of each one's bytes. */
function treeDigest(dir: string): string {
  const hash = createHash('sha256');
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }).sort((a, b) =>
    path.join(a.parentPath, a.name).localeCompare(path.join(b.parentPath, b.name)),
  )) {
    const full = path.join(entry.parentPath, entry.name);
    hash.update(full);
    if (entry.isFile()) hash.update(readFileSync(full));
  }
  return hash.digest('hex');
}

/** A target experiment with a run, a registered model with a version, a logged model and a webhook. */
async function createTargets(app: FastifyInstance, batch: number, pools: Pools, artifactsDir: string) {
  const tag = `${batch}-${randomBytes(3).toString('hex')}`;
  const experimentId = dig(
    await json(app, 'POST', 'experiments/create', { name: `fuzz-${tag}` }),
    'experiment_id',
  );
  const runAnswer = await json(app, 'POST', 'runs/create', { experiment_id: experimentId, start_time: 1 });
  const run = { run_id: dig(runAnswer, 'run', 'info', 'run_id') };
  await json(app, 'POST', 'runs/log-batch', {
    run_id: run.run_id,
    metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
    params: [{ key: 'p', value: 'v' }],
    tags: [{ key: 't', value: 'v' }],
  });
  const modelName = `fuzz-model-${tag}`;
  await json(app, 'POST', 'registered-models/create', { name: modelName });
  const runDir = `${experimentId}/${run.run_id}/artifacts`;
  await json(app, 'POST', 'model-versions/create', {
    name: modelName,
    source: `mlflow-artifacts:/${runDir}/model`,
    run_id: run.run_id,
  });
  mkdirSync(path.join(artifactsDir, runDir, 'model'), { recursive: true });
  writeFileSync(path.join(artifactsDir, runDir, 'model', 'MLmodel'), 'flavors: {}\n');
  const model = dig(
    await json(app, 'POST', 'logged-models', { experiment_id: experimentId, source_run_id: run.run_id }),
    'model',
    'info',
    'model_id',
  );
  const hook = await json(app, 'POST', 'webhooks', {
    name: `hook-${tag}`,
    url: 'https://127.0.0.1:9/hook',
    events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }],
    // Disabled, so the targets' own registry events are not delivered (and logged) in the background.
    status: 'DISABLED',
  });
  pools.experimentIds.push(experimentId);
  pools.runIds.push(run.run_id);
  pools.modelNames.push(modelName);
  pools.loggedModelIds.push(model);
  pools.webhookIds.push(dig(hook, 'webhook', 'webhook_id'));
  pools.runArtifactDirs.push(runDir);
  const trace = await json(app, 'POST', 'traces', {
    experiment_id: experimentId,
    timestamp_ms: 1,
    request_metadata: [],
    tags: [{ key: 't', value: 'v' }],
  });
  pools.traceIds.push(dig(trace, 'trace_info', 'request_id'));
  const dataset = await json(app, 'POST', '/api/3.0/mlflow/datasets/create', {
    name: `dataset-${tag}`,
    experiment_ids: [experimentId],
  });
  pools.datasetIds.push(dig(dataset, 'dataset', 'dataset_id'));
}

/**
 * Whether a request that may write holds a number equal to `id` standing alone (so it may name that
 * experiment). GETs are never skipped: a read that changed the sentinel would be a bug to catch.
 */
function mayNameNumber(req: FuzzRequest, id: number): boolean {
  if (req.method === 'GET') return false;
  const text = `${req.url} ${req.payload ?? ''}`;
  for (const m of text.matchAll(/(?<![\w.%])[-+]?\d[\d.eE+-]*(?!\w)/g)) if (Number(m[0]) === id) return true;
  return false;
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const batchSize = options.batchSize ?? 200;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const outside = tempDir('mlflow-ts-outside-');
  const users = tempDir('mlflow-ts-fuzz-users-');
  adminHeaders = options.auth
    ? { authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}` }
    : {};
  const srv = await startTestServer(
    options.dialect,
    options.auth
      ? {
          auth: {
            defaultPermission: 'READ',
            databaseUri: `sqlite:///${path.join(users.dir, 'basic_auth.db')}`,
            adminUsername: ADMIN.username,
            adminPassword: ADMIN.password,
          },
        }
      : {},
  );
  const started = Date.now();
  try {
    const app = srv.server.app;
    const secret = `secret-${randomBytes(8).toString('hex')}`;
    writeFileSync(path.join(outside.dir, 'secret.txt'), secret);
    // A symlink inside the artifact root that leads out of it: nothing may be read or written through it.
    symlinkSync(outside.dir, path.join(srv.artifactsDir, 'escape'));

    // The sentinels: data no generated request names, compared after every batch.
    const sentinel = `sentinel-${randomBytes(6).toString('hex')}`;
    const sentinelExp = dig(
      await json(app, 'POST', 'experiments/create', { name: sentinel, tags: [{ key: 'k', value: 'v' }] }),
      'experiment_id',
    );
    const sentinelRun = dig(
      await json(app, 'POST', 'runs/create', { experiment_id: sentinelExp, start_time: 5 }),
      'run',
      'info',
      'run_id',
    );
    await json(app, 'POST', 'runs/log-batch', {
      run_id: sentinelRun,
      metrics: [{ key: 'm', value: 2, timestamp: 3, step: 4 }],
      params: [{ key: 'p', value: 'v' }],
      tags: [{ key: 't', value: 'v' }],
    });
    await json(app, 'POST', 'registered-models/create', { name: sentinel, tags: [{ key: 'k', value: 'v' }] });
    await json(app, 'POST', 'model-versions/create', {
      name: sentinel,
      source: 'mlflow-artifacts:/sentinel/model',
    });
    const sentinelDir = path.join(srv.artifactsDir, sentinelExp, sentinelRun, 'artifacts');
    mkdirSync(sentinelDir, { recursive: true });
    writeFileSync(path.join(sentinelDir, 'file.txt'), sentinel);

    const snapshot = async () => {
      const get = async (url: string) =>
        (await app.inject({ method: 'GET', url: `/api/2.0/mlflow/${url}`, headers: adminHeaders })).body;
      const q = encodeURIComponent(sentinel);
      return [
        await get(`experiments/get?experiment_id=${sentinelExp}`),
        await get(`runs/get?run_id=${sentinelRun}`),
        await get(`metrics/get-history?run_id=${sentinelRun}&metric_key=m`),
        await get(`registered-models/get?name=${q}`),
        await get(`model-versions/get?name=${q}&version=1`),
        treeDigest(sentinelDir),
        treeDigest(outside.dir),
      ];
    };
    const before = await snapshot();

    const routes = options.auth ? await describeAuthRoutes() : await describeRoutes();
    const pools: Pools = {
      experimentIds: [],
      runIds: [],
      modelNames: [],
      loggedModelIds: [],
      webhookIds: [],
      runArtifactDirs: [],
      traceIds: [],
      datasetIds: [],
      usernames: [],
    };
    if (options.auth) {
      await json(app, 'POST', 'users/create', { username: 'fuzz-user', password: 'fuzz-user-password' });
      pools.usernames.push('fuzz-user');
    }
    const result: CampaignResult = {
      dialect: options.dialect,
      seed: options.seed,
      requests: 0,
      skipped: 0,
      batches: 0,
      byStatus: {},
      byKind: {},
      byRoute: {},
      failures: [],
      elapsedMs: 0,
      slowestMs: 0,
      slowest: '',
    };
    const fail = (f: Failure) => {
      if (result.failures.length < 200) result.failures.push(f);
    };
    for (let batch = 0; result.requests < options.requests; batch++) {
      await createTargets(app, batch, pools, srv.artifactsDir);
      const count = Math.min(batchSize, options.requests - result.requests);
      const seed = options.seed * 10_000 + batch;
      // The first batch opens with two requests per route, so that a short run reaches every route
      // whatever the draw; the rest are drawn from all routes at once.
      const everyRoute =
        batch === 0
          ? routes.flatMap((route, i) =>
              fc.sample(endpointRequestArb(route, pools), { seed: seed + i, numRuns: 2 }),
            )
          : [];
      const covered = everyRoute.slice(0, count);
      const requests = [
        ...covered,
        ...fc.sample(requestArb(routes, pools), { seed, numRuns: count - covered.length }),
      ];
      for (const [i, generated] of requests.entries()) {
        // On an auth run, one request in ten goes without credentials (it must get 401, not reach a handler).
        const req =
          options.auth && i % 10 !== 0
            ? { ...generated, headers: { ...generated.headers, ...adminHeaders } }
            : generated;
        result.requests++;
        if (mayNameNumber(req, Number(sentinelExp))) {
          result.skipped++;
          continue;
        }
        result.byKind[req.kind] = (result.byKind[req.kind] ?? 0) + 1;
        const route = req.route ?? req.kind;
        result.byRoute[route] = (result.byRoute[route] ?? 0) + 1;
        const t0 = performance.now();
        const answer = await send(app, req, timeoutMs);
        const ms = performance.now() - t0;
        if (ms > result.slowestMs) {
          result.slowestMs = ms;
          result.slowest = `${req.method} ${clip(req.url, 120)} [${req.kind}] ${clip(req.payload ?? '', 120)}`;
        }
        if (answer === 'timeout') {
          result.byStatus.timeout = (result.byStatus.timeout ?? 0) + 1;
          fail({ problem: `no answer within ${timeoutMs} ms`, request: req });
          continue;
        }
        result.byStatus[answer.status] = (result.byStatus[answer.status] ?? 0) + 1;
        const problem =
          judge(answer) ??
          (answer.body.includes(secret) ? 'leaked a file outside the artifact root' : undefined);
        if (problem) fail({ problem, request: req, status: answer.status, body: clip(answer.body) });
      }
      result.batches++;
      const after = await snapshot();
      const changed = after.map((v, i) => (v === before[i] ? -1 : i)).filter((i) => i >= 0);
      if (changed.length) {
        fail({
          problem: `batch ${batch} changed data no request named (snapshot parts ${changed.join(', ')})`,
          request: { method: '-', url: '-', headers: {}, kind: 'snapshot' },
          body: clip(changed.map((i) => `${before[i]} -> ${after[i]}`).join('\n'), 2000),
        });
        before.splice(0, before.length, ...after);
      }
      options.progress?.(
        `${options.dialect}: ${result.requests} requests, ${result.failures.length} failures`,
      );
    }
    result.elapsedMs = Date.now() - started;
    return result;
  } finally {
    await srv.close();
    outside.cleanup();
    users.cleanup();
  }
}

/** A failure as text, with what it takes to send the request again. */
export function describeFailure(f: Failure): string {
  const r = f.request;
  return `${f.problem}: ${r.method} ${clip(r.url, 200)} [${r.kind}] ${JSON.stringify(r.headers)} ${clip(r.payload ?? '', 300)}${f.status ? ` -> ${f.status} ${f.body}` : f.body ? `\n${f.body}` : ''}`;
}
