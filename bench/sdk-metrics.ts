/**
 * Buffered metrics through the SDK's fluent API: a training loop logs `--values` metric values for each
 * of `--keys` keys as fast as it can, then ends the run; the SDK sends them in background log-batch
 * calls. Reports how long logging took in the loop (the cost a training loop sees), how long the final
 * flush took, and end-to-end values per second; then checks every value arrived, in order.
 *
 *   npx tsc -b packages/client packages/server        # the bench starts the built server
 *   npx tsx bench/sdk-metrics.ts [--values 100000] [--keys 5] [--port 5094] [--dir DIR]
 *
 * The server is the built CLI on a fresh SQLite store in --dir, in its own process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as mlflow from '@mlflow-ts/client';
import { commandLine, fmt, markdownTable } from './common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'packages/server/dist/cli/main.js');
const USAGE = 'usage: tsx bench/sdk-metrics.ts [--values 100000] [--keys 5] [--port 5094] [--dir DIR]';
const cli = commandLine('sdk-metrics', USAGE);

const o = {
  values: 100_000,
  keys: 5,
  port: 5094,
  dir: path.join(tmpdir(), `mlflow-ts-sdk-metrics-${process.pid}`),
};
cli.parse(
  process.argv.slice(2),
  { values: 'string', keys: 'string', port: 'string', dir: 'string' },
  (name, value, flag) => {
    if (name === 'values') o.values = cli.count(flag, value);
    else if (name === 'keys') o.keys = cli.count(flag, value);
    else if (name === 'port') o.port = cli.count(flag, value);
    else o.dir = path.resolve(value);
  },
);

async function startServer(): Promise<ChildProcess> {
  mkdirSync(o.dir, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      CLI,
      'server',
      '--backend-store-uri',
      `sqlite:///${path.join(o.dir, 'mlflow.db')}`,
      '--port',
      String(o.port),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server exited (code ${code}) before it listened`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
  });
  return child;
}

const server = await startServer();
try {
  mlflow.setTrackingUri(`http://127.0.0.1:${o.port}`);
  await mlflow.setExperiment('sdk-metrics-bench');
  const run = await mlflow.startRun();
  const keys = Array.from({ length: o.keys }, (_, i) => `metric_${i}`);
  const t0 = performance.now();
  for (let step = 0; step < o.values; step++) {
    for (const key of keys) await mlflow.logMetric(key, step * 0.001, { step });
  }
  const t1 = performance.now();
  await mlflow.endRun();
  const t2 = performance.now();
  const total = o.values * o.keys;
  let stored = 0;
  for (const key of keys) {
    const history = await mlflow.getClient().getMetricHistory(run.runId, key);
    if (history.some((m, i) => m.step !== i)) throw new Error(`${key}: values out of order`);
    stored += history.length;
  }
  if (stored !== total) throw new Error(`only ${stored} of ${total} values were stored`);
  console.log(
    markdownTable(
      ['values:', 'logging loop (s):', 'final flush (s):', 'end to end (s):', 'values/s:'],
      [
        [
          total,
          fmt((t1 - t0) / 1000),
          fmt((t2 - t1) / 1000),
          fmt((t2 - t0) / 1000),
          Math.round(total / ((t2 - t0) / 1000)),
        ],
      ],
    ),
  );
  console.log(`\nall ${total} values stored, in order per key`);
} finally {
  server.kill('SIGTERM');
  rmSync(o.dir, { recursive: true, force: true });
}
