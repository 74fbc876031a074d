/**
 * Tracing benchmark: starts an mlflow-ts server (the built dist/) on a fresh store and measures
 *
 * 1. ingest: spans per second over OTLP/HTTP protobuf (`POST /v1/traces`), batches of 100 and 1,000
 *    spans (traces of 10 spans), from 1 and 8 concurrent clients, with the server's CPU time per
 *    1,000 spans (from /proc/<pid>/stat);
 * 2. search: SearchTracesV3 p50/p95 at --traces traces (one span each, seeded over OTLP) for a few
 *    filter shapes, ordered by timestamp, and a deep page;
 * 3. big: one trace of --big-spans spans stored over OTLP and one whose spans are only in its
 *    traces.json artifact; for each, GetTrace, BatchGetTraces and get-trace-artifact, each answered by
 *    a fresh server process, whose peak RSS (VmHWM) before and after shows what the read holds.
 *
 *   npx tsx bench/tracing.ts [--traces 100000] [--big-spans 100000] [--phases ingest,search,big]
 *                            [--backend-store-uri URI] [--server-script path/to/cli/main.js]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ExportTraceServiceRequest } from '../packages/server/src/tracing/otlp-schema.js';
import { commandLine, encodeJson, fmt, markdownTable, percentile, send } from './common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `usage: npx tsx bench/tracing.ts [--traces N] [--big-spans N] [--ingest-spans N] [--reps N]
       [--phases ingest,search,big] [--backend-store-uri URI] [--server-script FILE] [--port N]`;
const cli = commandLine('bench/tracing.ts', USAGE);

const options = {
  traces: 100_000,
  bigSpans: 100_000,
  ingestSpans: 20_000,
  reps: 30,
  phases: new Set(['ingest', 'search', 'big']),
  storeUri: '',
  script: path.join(ROOT, 'packages/server/dist/cli/main.js'),
  port: 5391,
};
cli.parse(
  process.argv.slice(2),
  {
    traces: 'string',
    'big-spans': 'string',
    'ingest-spans': 'string',
    reps: 'string',
    phases: 'string',
    'backend-store-uri': 'string',
    'server-script': 'string',
    port: 'string',
  },
  (name, value, flag) => {
    if (name === 'traces') options.traces = cli.count(flag, value);
    else if (name === 'big-spans') options.bigSpans = cli.count(flag, value);
    else if (name === 'ingest-spans') options.ingestSpans = cli.count(flag, value);
    else if (name === 'reps') options.reps = cli.count(flag, value);
    else if (name === 'port') options.port = cli.count(flag, value);
    else if (name === 'phases') options.phases = new Set(value.split(','));
    else if (name === 'backend-store-uri') options.storeUri = value;
    else if (name === 'server-script') options.script = path.resolve(value);
  },
);

const work = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-bench-tracing-'));
const storeUri = options.storeUri || `sqlite:///${path.join(work, 'mlflow.db')}`;
const base = `http://127.0.0.1:${options.port}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

// ---------------------------------------------------------------------------------------------------------
// The server process

function startServer(): ChildProcess {
  if (!existsSync(options.script))
    cli.fail(`${options.script} is missing: build first with npx tsc -b packages/client packages/server`);
  return spawn(
    process.execPath,
    [
      options.script,
      'server',
      '--backend-store-uri',
      storeUri,
      '--artifacts-destination',
      path.join(work, 'artifacts'),
      '--host',
      '127.0.0.1',
      '--port',
      String(options.port),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

async function waitUntilUp(child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the server did not come up');
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** CPU time (user + system) the process has used so far, in ms (/proc counts ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Peak and current resident memory of the process, in MB. */
function memoryOf(pid: number): { hwmMb: number; rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { hwmMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

async function api(method: string, endpoint: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await send(new URL(`${base}/api/${endpoint}`), method, encodeJson(body), agent);
  if (res.status !== 200) throw new Error(`${endpoint}: ${res.status} ${res.body.toString().slice(0, 300)}`);
  return JSON.parse(res.body.toString()) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------
// OTLP bodies

const MODELS = ['gpt-4', 'claude-3', 'llama-3', 'mistral'];
let nextTrace = 1;

function hexId(n: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  b.writeUInt32BE(n >>> 0, bytes - 4);
  b.writeUInt32BE(Math.floor(n / 2 ** 32) >>> 0, bytes - 8);
  return b;
}

const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** One ExportTraceServiceRequest of `spans` spans: traces of `perTrace` spans (a root and children). */
function otlpBody(spans: number, perTrace: number): Buffer {
  const list: Record<string, unknown>[] = [];
  let traceNo = 0;
  for (let i = 0; i < spans; i++) {
    if (i % perTrace === 0) traceNo = nextTrace++;
    const root = i % perTrace === 0;
    const start = 1_700_000_000_000 + traceNo * 10 + (i % perTrace);
    list.push({
      traceId: hexId(traceNo, 16),
      spanId: hexId(traceNo * 1000 + (i % perTrace) + 1, 8),
      parentSpanId: root ? undefined : hexId(traceNo * 1000 + 1, 8),
      name: root ? `agent-${traceNo % 10}` : `step-${i % perTrace}`,
      kind: 1,
      startTimeUnixNano: `${start}000000`,
      endTimeUnixNano: `${start + 5}000000`,
      attributes: [
        attr('mlflow.spanType', traceNo % 3 === 0 ? 'LLM' : root ? 'AGENT' : 'TOOL'),
        attr('model', MODELS[traceNo % MODELS.length]),
        attr('mlflow.spanInputs', `{"question": "q${traceNo}"}`),
      ],
      status: { code: traceNo % 17 === 0 ? 2 : 1 },
    });
  }
  const message = ExportTraceServiceRequest.fromObject({
    resourceSpans: [{ scopeSpans: [{ spans: list }] }],
  });
  return Buffer.from(ExportTraceServiceRequest.encode(message).finish());
}

async function postSpans(experimentId: string, body: Buffer): Promise<void> {
  const res = await send(
    new URL(`${base}/v1/traces`),
    'POST',
    {
      headers: {
        'content-type': 'application/x-protobuf',
        'content-length': body.length,
        'x-mlflow-experiment-id': experimentId,
      },
      payload: body,
    },
    agent,
  );
  if (res.status !== 200) throw new Error(`/v1/traces: ${res.status} ${res.body.toString().slice(0, 300)}`);
}

/** Sends `bodies` from `clients` concurrent clients; answers the wall time in ms. */
async function sendAll(experimentId: string, bodies: Buffer[], clients: number): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) await postSpans(experimentId, bodies[next++]);
    }),
  );
  return performance.now() - start;
}

async function experiment(name: string): Promise<string> {
  return String((await api('POST', '2.0/mlflow/experiments/create', { name })).experiment_id);
}

// ---------------------------------------------------------------------------------------------------------
// Phases

async function ingest(pid: number): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const batch of [100, 1000]) {
    for (const clients of [1, 8]) {
      const experimentId = await experiment(`ingest-${batch}-${clients}`);
      const bodies = Array.from({ length: Math.ceil(options.ingestSpans / batch) }, () =>
        otlpBody(batch, 10),
      );
      const cpu0 = cpuMsOf(pid);
      const ms = await sendAll(experimentId, bodies, clients);
      const cpu = cpuMsOf(pid) - cpu0;
      const spans = bodies.length * batch;
      rows.push([
        batch,
        clients,
        spans,
        fmt(ms / 1000, 2),
        Math.round(spans / (ms / 1000)),
        fmt(cpu / (spans / 1000), 1),
      ]);
    }
  }
  console.log('\n## OTLP ingestion (protobuf, traces of 10 spans)\n');
  console.log(
    markdownTable(
      ['spans/request:', 'clients:', 'spans:', 'seconds:', 'spans/s:', 'server CPU ms / 1,000 spans:'],
      rows,
    ),
  );
}

async function search(pid: number): Promise<void> {
  const experimentId = await experiment('search');
  const seedStart = performance.now();
  const bodies: Buffer[] = [];
  for (let left = options.traces; left > 0; left -= 1000) bodies.push(otlpBody(Math.min(1000, left), 1));
  await sendAll(experimentId, bodies, 4);
  console.log(`\nseeded ${options.traces} traces in ${fmt((performance.now() - seedStart) / 1000, 1)} s`);
  const locations = [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }];
  const mid = 1_700_000_000_000 + (nextTrace - options.traces / 2) * 10;
  const shapes: [string, Record<string, unknown>][] = [
    ['no filter, newest first', {}],
    ["trace.status = 'ERROR'", { filter: "trace.status = 'ERROR'" }],
    ["trace.name = 'agent-3' (a tag)", { filter: "trace.name = 'agent-3'" }],
    [
      `timestamp_ms > mid, oldest first`,
      { filter: `trace.timestamp_ms > ${mid}`, order_by: ['timestamp_ms ASC'] },
    ],
    ["span.type = 'LLM'", { filter: "span.type = 'LLM'" }],
    ["span.attributes.model = 'gpt-4'", { filter: "span.attributes.model = 'gpt-4'" }],
    ["metadata.`mlflow.user` = 'x' (no match)", { filter: "metadata.`mlflow.user` = 'x'" }],
  ];
  const rows: (string | number)[][] = [];
  const measure = async (label: string, body: Record<string, unknown>) => {
    const encoded = encodeJson({ locations, max_results: 100, ...body });
    const url = new URL(`${base}/api/3.0/mlflow/traces/search`);
    const ms: number[] = [];
    let found = 0;
    const cpu0 = cpuMsOf(pid);
    for (let i = 0; i < options.reps; i++) {
      const res = await send(url, 'POST', encoded, agent);
      if (res.status !== 200) throw new Error(`${label}: ${res.status} ${res.body.toString().slice(0, 300)}`);
      found = ((JSON.parse(res.body.toString()) as { traces?: unknown[] }).traces ?? []).length;
      ms.push(res.ms);
    }
    const cpu = (cpuMsOf(pid) - cpu0) / options.reps;
    ms.sort((a, b) => a - b);
    rows.push([label, found, fmt(percentile(ms, 50)), fmt(percentile(ms, 95)), fmt(cpu)]);
  };
  for (const [label, body] of shapes) await measure(label, body);
  // A deep page: MLflow's tokens are offsets, so page 50 skips 4,900 rows.
  let token: string | undefined;
  for (let page = 0; page < 49; page++) {
    token = (
      await api('POST', '3.0/mlflow/traces/search', { locations, max_results: 100, page_token: token })
    ).next_page_token as string | undefined;
  }
  await measure('no filter, page 50 (offset 4,900)', { page_token: token });
  console.log(
    `\n## SearchTracesV3 at ${options.traces} traces (max_results 100, ${options.reps} runs each)\n`,
  );
  console.log(markdownTable(['filter', 'traces on page:', 'p50 ms:', 'p95 ms:', 'server CPU ms:'], rows));
}

/** MLflow 3's Span.to_dict() of span `k` of a traces.json, times as exact numbers. */
function fileSpan(traceHex: string, k: number): string {
  const b64 = (b: Buffer) => b.toString('base64');
  return JSON.stringify({
    trace_id: b64(Buffer.from(traceHex, 'hex')),
    span_id: b64(hexId(k + 1, 8)),
    parent_span_id: k === 0 ? null : b64(hexId(1, 8)),
    name: `span-${k}`,
    start_time_unix_nano: '__S__',
    end_time_unix_nano: '__E__',
    events: [],
    status: { code: 'STATUS_CODE_OK', message: '' },
    attributes: {
      'mlflow.spanType': '"TOOL"',
      'mlflow.spanInputs': JSON.stringify(`{"step": ${k}, "text": "${'x'.repeat(200)}"}`),
    },
  })
    .replace('"__S__"', `${1_700_000_000_000 + k}000000`)
    .replace('"__E__"', `${1_700_000_000_000 + k + 1}000000`);
}

/** A trace whose --big-spans spans are only in its traces.json, uploaded as MLflow's TypeScript package does. */
async function bigFileTrace(experimentId: string): Promise<string> {
  const traceHex = hexId(nextTrace++, 16).toString('hex');
  const traceId = `tr-file-${traceHex}`;
  const started = await api('POST', '3.0/mlflow/traces', {
    trace: {
      trace_info: {
        trace_id: traceId,
        trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
        request_time: '2026-12-08T00:00:00Z',
        execution_duration: '1s',
        state: 'OK',
      },
    },
  });
  const info = (started.trace as { trace_info: { tags: Record<string, string> } }).trace_info;
  const rel = info.tags['mlflow.artifactLocation'].replace(/^mlflow-artifacts:\//, '');
  const parts: string[] = [];
  for (let k = 0; k < options.bigSpans; k++) parts.push(fileSpan(traceHex, k));
  const payload = Buffer.from(`{"spans": [${parts.join(', ')}]}`);
  const res = await send(
    new URL(`${base}/api/2.0/mlflow-artifacts/artifacts/${rel}/traces.json`),
    'PUT',
    { headers: { 'content-length': payload.length }, payload },
    agent,
  );
  if (res.status !== 200) throw new Error(`upload: ${res.status} ${res.body.toString().slice(0, 300)}`);
  return traceId;
}

async function bigTrace(): Promise<void> {
  let child = startServer();
  await waitUntilUp(child);
  const experimentId = await experiment('big');
  const traceNo = nextTrace;
  const bodies: Buffer[] = [];
  for (let offset = 0; offset < options.bigSpans; offset += 1000) {
    const spans = Array.from({ length: Math.min(1000, options.bigSpans - offset) }, (_, j) => {
      const k = offset + j;
      return {
        traceId: hexId(traceNo, 16),
        spanId: hexId(k + 1, 8),
        parentSpanId: k === 0 ? undefined : hexId(1, 8),
        name: `span-${k}`,
        kind: 1,
        startTimeUnixNano: `${1_700_000_000_000 + k}000000`,
        endTimeUnixNano: `${1_700_000_000_000 + k + 1}000000`,
        attributes: [
          attr('mlflow.spanType', 'TOOL'),
          attr('mlflow.spanInputs', `{"step": ${k}, "text": "${'x'.repeat(200)}"}`),
        ],
        status: { code: 1 },
      };
    });
    const message = ExportTraceServiceRequest.fromObject({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
    bodies.push(Buffer.from(ExportTraceServiceRequest.encode(message).finish()));
  }
  nextTrace = traceNo + 1;
  await sendAll(experimentId, bodies, 1);
  const fileTraceId = await bigFileTrace(experimentId);
  await stopServer(child);
  const traceId = `tr-${hexId(traceNo, 16).toString('hex')}`;

  // Each request in a fresh process, so that its peak memory is that request's alone.
  const requests: [string, string][] = [
    ['stored: GET traces/get', `${base}/api/3.0/mlflow/traces/get?trace_id=${traceId}`],
    ['stored: GET traces/batchGet', `${base}/api/3.0/mlflow/traces/batchGet?trace_ids=${traceId}`],
    [
      'stored: GET get-trace-artifact',
      `${base}/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${traceId}`,
    ],
    ['traces.json: GET traces/get', `${base}/api/3.0/mlflow/traces/get?trace_id=${fileTraceId}`],
    ['traces.json: GET traces/batchGet', `${base}/api/3.0/mlflow/traces/batchGet?trace_ids=${fileTraceId}`],
    [
      'traces.json: GET get-trace-artifact',
      `${base}/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${fileTraceId}`,
    ],
  ];
  const rows: (string | number)[][] = [];
  for (const [label, url] of requests) {
    child = startServer();
    await waitUntilUp(child);
    const pid = child.pid ?? 0;
    const idle = memoryOf(pid);
    const cpu = cpuMsOf(pid);
    const res = await send(new URL(url), 'GET', encodeJson(), agent);
    if (res.status !== 200) throw new Error(`${label}: ${res.status} ${res.body.toString().slice(0, 300)}`);
    const mem = memoryOf(pid);
    rows.push([
      label,
      fmt(res.body.length / 2 ** 20),
      fmt(res.ms),
      cpuMsOf(pid) - cpu,
      fmt(idle.hwmMb),
      fmt(mem.hwmMb),
      fmt(mem.hwmMb - idle.hwmMb),
    ]);
    await stopServer(child);
  }
  console.log(`\n## One trace of ${options.bigSpans} spans, each request to a fresh server process\n`);
  console.log(
    markdownTable(
      ['request', 'answer MB:', 'ms:', 'server CPU ms:', 'idle peak RSS MB:', 'peak RSS MB:', 'growth MB:'],
      rows,
    ),
  );
}

async function main(): Promise<void> {
  console.log(`store ${storeUri}; server ${path.relative(ROOT, options.script)}`);
  try {
    if (options.phases.has('ingest') || options.phases.has('search')) {
      const child = startServer();
      try {
        await waitUntilUp(child);
        const pid = child.pid ?? 0;
        if (options.phases.has('ingest')) await ingest(pid);
        if (options.phases.has('search')) await search(pid);
      } finally {
        await stopServer(child);
      }
    }
    if (options.phases.has('big')) await bigTrace();
  } finally {
    agent.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
