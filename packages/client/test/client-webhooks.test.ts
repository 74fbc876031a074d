import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { MlflowClient, MlflowError, webhookEvent } from '@mlflow-ts/client';
import { DIALECTS } from '../../server/test/helpers.js';
import { type ServerProcess, startServerProcess } from '../../server/test/server-process.js';

// MlflowClient's webhook methods against the built server running as its own process, on both
// dialects, with a real receiver on loopback that records what the server sends it.

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP receiver that records every request and answers 200 (or `status`). */
class Receiver {
  readonly deliveries: Delivery[] = [];
  status = 200;
  url = '';
  private server?: Server;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(this.status, { 'Content-Type': 'text/plain' });
        res.end(this.status < 400 ? 'received' : 'refused');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** The deliveries of `event` ("entity.action"), once there are `count` of them (10 s at most). */
  async received(event: string, count: number): Promise<Delivery[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = this.deliveries.filter((d) => {
        const body = JSON.parse(d.body) as { entity?: string; action?: string };
        return `${body.entity}.${body.action}` === event;
      });
      if (found.length >= count) return found;
      if (Date.now() > deadline)
        throw new Error(`expected ${count} '${event}' deliveries, got ${found.length}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

async function rejectsWithCode(promise: Promise<unknown>, code: string, status: number, message?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof MlflowError, `expected MlflowError, got ${error}`);
    assert.equal(error.errorCode, code, error.message);
    assert.equal(error.status, status, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

test('webhookEvent reads the wire form, lower case and "entity.action" text', () => {
  assert.deepEqual(webhookEvent('model_version.created'), { entity: 'MODEL_VERSION', action: 'CREATED' });
  assert.deepEqual(webhookEvent({ entity: 'model_version_alias', action: 'deleted' }), {
    entity: 'MODEL_VERSION_ALIAS',
    action: 'DELETED',
  });
  assert.deepEqual(webhookEvent({ entity: 'PROMPT', action: 'CREATED' }), {
    entity: 'PROMPT',
    action: 'CREATED',
  });
  for (const bad of ['model_version', '.created', 'model_version.']) {
    assert.throws(
      () => webhookEvent(bad as never),
      (error: unknown) =>
        error instanceof MlflowError && error.errorCode === 'INVALID_PARAMETER_VALUE' && error.status === 0,
    );
  }
});

for (const dialect of DIALECTS) {
  describe(`MlflowClient webhook methods on ${dialect}`, () => {
    let srv: ServerProcess;
    let client: MlflowClient;
    const receiver = new Receiver();
    // Read by the server process when it starts: http receivers on loopback, no retries.
    const env = { MLFLOW_WEBHOOK_ALLOWED_SCHEMES: 'http,https', MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES: '0' };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));

    before(async () => {
      await receiver.start();
      Object.assign(process.env, env);
      try {
        srv = await startServerProcess(dialect);
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      client = new MlflowClient({ trackingUri: srv.url, maxRetries: 0 });
    });
    after(async () => {
      await srv.close();
      await receiver.close();
    });

    test('create, get, list with pages, update, delete; the secret is never returned', async () => {
      const hook = await client.createWebhook(
        'sdk-hook',
        `${receiver.url}/hook`,
        ['model_version.created', { entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' }],
        { description: 'tell CI', secret: 's3cret' },
      );
      assert.match(hook.webhook_id, /^[0-9a-f-]{36}$/);
      assert.equal(hook.name, 'sdk-hook');
      assert.equal(hook.url, `${receiver.url}/hook`);
      assert.equal(hook.description, 'tell CI');
      assert.equal(hook.status, 'ACTIVE');
      assert.equal((hook as unknown as Record<string, unknown>).secret, undefined);
      assert.deepEqual(
        [...hook.events].sort((a, b) => a.entity.localeCompare(b.entity)),
        [
          { entity: 'MODEL_VERSION', action: 'CREATED' },
          { entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' },
        ],
      );
      assert.deepEqual(await client.getWebhook(hook.webhook_id), hook);

      const others: string[] = [];
      for (const name of ['sdk-page-1', 'sdk-page-2']) {
        const w = await client.createWebhook(name, receiver.url, ['prompt.created'], { status: 'DISABLED' });
        assert.equal(w.status, 'DISABLED');
        others.push(w.webhook_id);
      }
      const first = await client.listWebhooks({ maxResults: 2 });
      assert.equal(first.items.length, 2);
      assert.ok(first.nextPageToken);
      const second = await client.listWebhooks({ maxResults: 2, pageToken: first.nextPageToken });
      assert.deepEqual(
        [...first.items, ...second.items].map((w) => w.webhook_id),
        [...others].reverse().concat(hook.webhook_id),
        'newest first',
      );
      assert.equal(second.nextPageToken, undefined);
      assert.deepEqual(
        (await client.listAllWebhooks({ maxResults: 1 })).map((w) => w.webhook_id),
        [...others].reverse().concat(hook.webhook_id),
      );

      const updated = await client.updateWebhook(hook.webhook_id, {
        status: 'DISABLED',
        events: ['registered_model.created'],
        description: 'changed',
      });
      assert.equal(updated.status, 'DISABLED');
      assert.equal(updated.name, 'sdk-hook', 'fields not given stay as they are');
      assert.equal(updated.description, 'changed');
      assert.deepEqual(updated.events, [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }]);
      assert.ok(updated.last_updated_timestamp >= hook.last_updated_timestamp);

      for (const id of [hook.webhook_id, ...others]) await client.deleteWebhook(id);
      await rejectsWithCode(client.getWebhook(hook.webhook_id), 'RESOURCE_DOES_NOT_EXIST', 404, /not found/);
      await rejectsWithCode(client.deleteWebhook(hook.webhook_id), 'RESOURCE_DOES_NOT_EXIST', 404);
      await rejectsWithCode(
        client.updateWebhook(hook.webhook_id, { name: 'x' }),
        'RESOURCE_DOES_NOT_EXIST',
        404,
      );
      assert.deepEqual((await client.listWebhooks()).items, []);
    });

    test('test sends a signed sample payload and reports the answer', async () => {
      const hook = await client.createWebhook('sdk-test', `${receiver.url}/t`, ['model_version_tag.set'], {
        secret: 'k',
      });
      const ok = await client.testWebhook(hook.webhook_id);
      assert.deepEqual(ok, { success: true, response_status: 200, response_body: 'received' });
      const [sent] = await receiver.received('model_version_tag.set', 1);
      const id = sent?.headers['x-mlflow-delivery-id'] as string;
      const ts = sent?.headers['x-mlflow-timestamp'] as string;
      const mac = createHmac('sha256', 'k').update(`${id}.${ts}.${sent?.body}`).digest('base64');
      assert.equal(sent?.headers['x-mlflow-signature'], `v1,${mac}`);
      assert.equal(JSON.parse(sent?.body as string).entity, 'model_version_tag');

      // Another event than the webhook's, named as Python names it.
      const alias = await client.testWebhook(hook.webhook_id, 'model_version_alias.created');
      assert.equal(alias.success, true);
      await receiver.received('model_version_alias.created', 1);

      receiver.status = 500;
      try {
        const refused = await client.testWebhook(hook.webhook_id);
        assert.equal(refused.success, false);
        assert.equal(refused.response_status, 500);
      } finally {
        receiver.status = 200;
      }
      const nowhere = await client.createWebhook('sdk-nowhere', 'http://127.0.0.1:1/x', ['prompt.created']);
      const unreachable = await client.testWebhook(nowhere.webhook_id);
      assert.equal(unreachable.success, false);
      assert.match(unreachable.error_message ?? '', /^Failed to test webhook/);
      await rejectsWithCode(client.testWebhook('no-such-hook'), 'RESOURCE_DOES_NOT_EXIST', 404);
      await client.deleteWebhook(hook.webhook_id);
      await client.deleteWebhook(nowhere.webhook_id);
    });

    test('an active webhook receives the registry events it subscribed to', async () => {
      const hook = await client.createWebhook('sdk-live', `${receiver.url}/live`, [
        'registered_model.created',
      ]);
      await client.createRegisteredModel('hooked-model', { tags: { team: 'a' } });
      const [delivery] = await receiver.received('registered_model.created', 1);
      const payload = JSON.parse(delivery?.body as string);
      assert.equal(payload.action, 'created');
      assert.deepEqual(payload.data, { name: 'hooked-model', tags: { team: 'a' }, description: '' });
      await client.deleteWebhook(hook.webhook_id);
    });

    test('bad inputs answer MLflow errors', async () => {
      await rejectsWithCode(
        client.createWebhook('bad-action', receiver.url, ['registered_model.deleted' as never]),
        'INVALID_PARAMETER_VALUE',
        400,
        /Invalid action 'deleted' for entity 'registered_model'/,
      );
      await rejectsWithCode(
        client.createWebhook('bad-entity', receiver.url, ['experiment.created' as never]),
        'INVALID_PARAMETER_VALUE',
        400,
      );
      await rejectsWithCode(
        client.createWebhook('no-events', receiver.url, []),
        'INVALID_PARAMETER_VALUE',
        400,
        /non-empty list/,
      );
      await rejectsWithCode(
        client.createWebhook('-bad name-', receiver.url, ['prompt.created']),
        'INVALID_PARAMETER_VALUE',
        400,
        /Webhook name '-bad name-' is invalid/,
      );
      await rejectsWithCode(
        client.createWebhook('ftp-hook', 'ftp://example.com/x', ['prompt.created']),
        'INVALID_PARAMETER_VALUE',
        400,
      );
      await rejectsWithCode(client.listWebhooks({ maxResults: -1 }), 'INVALID_PARAMETER_VALUE', 400);
      await rejectsWithCode(client.listWebhooks({ maxResults: 1001 }), 'INVALID_PARAMETER_VALUE', 400);
      await rejectsWithCode(client.listWebhooks({ pageToken: 'garbage' }), 'INVALID_PARAMETER_VALUE', 400);
      // Malformed event text fails before any request is sent.
      await rejectsWithCode(
        client.createWebhook('x', receiver.url, ['nonsense' as never]),
        'INVALID_PARAMETER_VALUE',
        0,
      );
      assert.deepEqual((await client.listWebhooks()).items, []);
    });
  });
}
