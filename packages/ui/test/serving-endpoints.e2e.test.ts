// End-to-end test of the serving endpoints card on a registered model's page: Chromium against a real
// server hosting a real ONNX endpoint (READY) and one whose model cannot load (FAILED), and the card
// following an alias move to another version.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MlflowClient } from '@mlflow-ts/client';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer, tempDir } from '../../server/test/helpers.js';
import { makeModels, servingPython } from '../../server/test/serving-env.js';
import { launchChromium, screenshot, skipWithoutChromium } from './browser.js';

const python = servingPython();
const skip = skipWithoutChromium() || (python === undefined ? 'no Python environment with onnx' : false);

describe('serving endpoints on the model page', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  const models = tempDir('mlflow-ts-ui-endpoint-models-');

  before(async () => {
    makeModels(python as string, models.dir);
    server = await startTestServer('sqlite', {
      serving: { recheckMs: 0, python: python as string, timeoutMs: 20_000 },
    });
    const client = new MlflowClient({ trackingUri: server.url });
    const run = await client.createRun(await client.createExperiment('ui-serving'));
    const runId = run.info.run_id;
    await client.logArtifacts(runId, path.join(models.dir, 'onnx'), 'onnx');
    await client.createRegisteredModel('scorer');
    await client.createModelVersion('scorer', `runs:/${runId}/onnx`, { runId });
    await client.createModelVersion('scorer', `runs:/${runId}/onnx`, { runId });
    // Version 3 is not a model at all (no MLmodel): an endpoint on it fails to load.
    await client.createModelVersion('scorer', `runs:/${runId}/nothing`, { runId });
    await client.setRegisteredModelAlias('scorer', 'champion', '1');
    await client.createServingEndpoint('scorer-live', 'models:/scorer@champion');
    await client.createServingEndpoint('scorer-broken', 'models:/scorer/3');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    models.cleanup();
  });

  test('lists the endpoints with their state and version, and follows an alias move', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/models/scorer`);
    const table = page.getByRole('table', { name: 'Serving endpoints' });
    const live = table.getByRole('row').filter({ hasText: 'scorer-live' });
    const broken = table.getByRole('row').filter({ hasText: 'scorer-broken' });
    await live.filter({ hasText: 'READY' }).waitFor({ timeout: 30_000 });
    assert.match(await live.innerText(), /models:\/scorer@champion/);
    assert.match(await live.innerText(), /Version 1/);
    await broken.filter({ hasText: 'FAILED' }).waitFor({ timeout: 30_000 });
    assert.match(
      await broken.innerText(),
      /Version 3 of 'scorer' failed to load: No MLmodel file in the files of version 3/,
    );
    await screenshot(page, 'model-serving-endpoints');

    // The alias moves: the endpoint switches to version 2, and the card shows it after a refresh.
    await new MlflowClient({ trackingUri: server.url }).setRegisteredModelAlias('scorer', 'champion', '2');
    const deadline = Date.now() + 30_000;
    while (!/Version 2/.test(await live.innerText()) && Date.now() < deadline) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(200);
    }
    assert.match(await live.innerText(), /READY/);
    assert.match(await live.innerText(), /Version 2/);
    // The serving version links to its page.
    await live.getByRole('link', { name: 'Version 2' }).click();
    await page.waitForURL(/\/models\/scorer\/versions\/2$/);

    // A model nobody serves says so.
    await client().createRegisteredModel('idle');
    await page.goto(`${server.url}/models/idle`);
    await page.getByText('No endpoints serve this model.').waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });

  function client(): MlflowClient {
    return new MlflowClient({ trackingUri: server.url });
  }
});
