import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import {
  call,
  DIALECTS,
  REPO_ROOT,
  startTestServer,
  type TestServer,
  tempDir,
} from '../../server/test/helpers.js';
import { launchChromium, skipWithoutChromium } from '../../ui/test/browser.js';

// The client in a browser: @mlflow-ts/client bundled for the browser by esbuild (as a web app would
// ship it), loaded in headless Chromium from a page of a real server (same origin, so no CORS), logs a
// run through the fluent API; the test then reads the run back from the server. Outside CI a missing
// Chromium skips these tests with the reason; under CI=true they fail.

const BUNDLE = 'mlflow-ts-client.js';

/** Bundles the package's browser entry into one ES module, resolving it as a browser bundler does. */
async function bundleClient(outDir: string): Promise<string> {
  const result = await build({
    stdin: { contents: "export * from '@mlflow-ts/client';", resolveDir: REPO_ROOT, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].text;
  writeFileSync(path.join(outDir, BUNDLE), code);
  return code;
}

interface BrowserResult {
  runId: string;
  experimentId: string;
  trackingUri: string;
  missingRunError?: { code: string; status: number };
  localUriError?: string;
}

for (const dialect of DIALECTS) {
  describe(`the client bundle in Chromium against a server on ${dialect}`, {
    skip: skipWithoutChromium(),
  }, () => {
    const site = tempDir('mlflow-ts-browser-site-');
    let srv: TestServer;
    let browser: Browser;
    let bundle: string;

    before(async () => {
      mkdirSync(site.dir, { recursive: true });
      writeFileSync(
        path.join(site.dir, 'index.html'),
        '<!doctype html><meta charset="utf-8"><title>client test</title><p>mlflow-ts client test page</p>\n',
      );
      bundle = await bundleClient(site.dir);
      // The server's UI folder mechanism serves the page and the bundle at its own origin.
      srv = await startTestServer(dialect, { uiDir: site.dir });
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await srv?.close();
      site.cleanup();
    });

    test('the bundle is the browser entry: no Node built-ins, no server code', () => {
      assert.doesNotMatch(bundle, /from\s*["']node:|require\(["'](fs|path|os)["']\)/);
      assert.doesNotMatch(bundle, /startInProcessServer|fastify/i);
      assert.match(bundle, /function withRun/);
    });

    test('logs a run with params, metrics and tags through the fluent API', async () => {
      const page = await browser.newPage();
      const consoleErrors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => consoleErrors.push(e.message));
      await page.goto(`${srv.url}/`);
      const result = (await page.evaluate(async (bundleUrl: string) => {
        const mlflow = await import(bundleUrl);
        // No setTrackingUri: in a browser the client defaults to the page's origin.
        const experiment = await mlflow.setExperiment('from-chromium');
        const runId = await mlflow.withRun(
          async (run: {
            runId: string;
            logParams(p: Record<string, unknown>): Promise<void>;
            setTags(t: Record<string, unknown>): Promise<void>;
            logMetric(k: string, v: number, o: { step: number }): Promise<void>;
            logText(text: string, file: string): Promise<void>;
          }) => {
            await run.logParams({ lr: '0.05', layers: 3 });
            await run.setTags({ runtime: 'chromium', 'mlflow.source.type': 'LOCAL' });
            // Buffered and sent in background batches; endRun (withRun) flushes the rest.
            for (let i = 0; i < 1500; i++) run.logMetric('loss', 1 / (i + 1), { step: i });
            await run.logText('written by a browser', 'notes/browser.txt');
            return run.runId;
          },
          { runName: 'browser-run' },
        );
        let missingRunError: { code: string; status: number } | undefined;
        try {
          await mlflow.getClient().getRun('f'.repeat(32));
        } catch (e) {
          const err = e as { errorCode: string; status: number };
          missingRunError = { code: err.errorCode, status: err.status };
        }
        // A local store cannot be opened in a browser: refused at once, with what to do instead.
        let localUriError: string | undefined;
        try {
          mlflow.setTrackingUri('sqlite:///mlflow.db');
        } catch (e) {
          localUriError = (e as Error).message;
        }
        return {
          localUriError,
          runId,
          experimentId: experiment.experiment_id,
          trackingUri: mlflow.getTrackingUri(),
          missingRunError,
        };
      }, `/${BUNDLE}`)) as BrowserResult;
      await page.close();
      assert.deepEqual(
        consoleErrors.filter((e) => !/404/.test(e)),
        [],
      );
      assert.equal(result.trackingUri, srv.url);
      assert.deepEqual(result.missingRunError, { code: 'RESOURCE_DOES_NOT_EXIST', status: 404 });
      assert.match(result.localUriError ?? '', /only in Node .*mlflow-ts server --backend-store-uri sqlite/);

      const { status, body } = await call(srv.api, 'GET', 'runs/get', { run_id: result.runId });
      assert.equal(status, 200);
      const run = body.run;
      assert.equal(run.info.status, 'FINISHED');
      assert.equal(run.info.run_name, 'browser-run');
      assert.equal(run.info.experiment_id, result.experimentId);
      const params = Object.fromEntries(
        run.data.params.map((p: { key: string; value: string }) => [p.key, p.value]),
      );
      assert.deepEqual(params, { lr: '0.05', layers: '3' });
      const tags = Object.fromEntries(
        run.data.tags.map((t: { key: string; value: string }) => [t.key, t.value]),
      );
      assert.equal(tags.runtime, 'chromium');
      assert.deepEqual(
        run.data.metrics.map((m: { key: string; value: number; step: number }) => [m.key, m.value, m.step]),
        [['loss', 1 / 1500, 1499]],
      );
      const history = await call(srv.api, 'GET', 'metrics/get-history', {
        run_id: result.runId,
        metric_key: 'loss',
        max_results: 25000,
      });
      assert.equal(history.body.metrics.length, 1500);
      const steps = history.body.metrics
        .map((m: { step: number }) => m.step)
        .sort((a: number, b: number) => a - b);
      assert.deepEqual(
        steps,
        Array.from({ length: 1500 }, (_, i) => i),
      );
      const artifact = await fetch(
        `${srv.url}/api/2.0/mlflow-artifacts/artifacts/${run.info.artifact_uri.slice('mlflow-artifacts:/'.length)}/notes/browser.txt`,
      );
      assert.equal(artifact.status, 200);
      assert.equal(await artifact.text(), 'written by a browser');
    });
  });
}
