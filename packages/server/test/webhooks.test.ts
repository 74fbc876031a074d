import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { WebhookSender } from '../src/services/webhook-delivery.js';
import { WebhookSecrets } from '../src/services/webhook-secrets.js';
import { call, DIALECTS, expectError, startTestServer, type TestServer } from './helpers.js';

// MLflow 3's webhook API over real HTTP, with a real receiver on loopback that checks what arrives:
// MLflow's headers, its HMAC-SHA256 signature, its payload shape, and retries on 429 and 5xx.

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
}

/** An HTTP server that records every request and answers from a script (then 200). */
class Receiver {
  readonly deliveries: Delivery[] = [];
  /** Status (and headers) for the next requests, in order. */
  script: { status: number; headers?: Record<string, string> }[] = [];
  /** How long every answer is held back. */
  delayMs = 0;
  private server?: Server;
  private waiters: (() => void)[] = [];
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.deliveries.push({
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          path: req.url ?? '',
        });
        const next = this.script.shift() ?? { status: 200 };
        for (const w of this.waiters.splice(0)) w();
        setTimeout(() => {
          res.writeHead(next.status, { 'Content-Type': 'text/plain', ...next.headers });
          res.end(next.status < 400 ? 'received' : 'try again');
        }, this.delayMs);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${address.port}`;
  }

  /** Resolves once `count` requests in all have arrived (fails the test after 10 s). */
  async received(count: number): Promise<Delivery[]> {
    const deadline = Date.now() + 10_000;
    while (this.deliveries.length < count) {
      if (Date.now() > deadline)
        throw new Error(`expected ${count} deliveries, got ${this.deliveries.length}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.deliveries;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function verifySignature(delivery: Delivery, secret: string): void {
  const id = delivery.headers['x-mlflow-delivery-id'] as string;
  const ts = delivery.headers['x-mlflow-timestamp'] as string;
  const expected = createHmac('sha256', secret).update(`${id}.${ts}.${delivery.body}`).digest('base64');
  assert.equal(delivery.headers['x-mlflow-signature'], `v1,${expected}`);
}

describe('webhook delivery (WebhookSender)', () => {
  const receiver = new Receiver();
  const sender = new WebhookSender({
    maxRetries: 3,
    timeoutMs: 2000,
    maxConcurrent: 2,
    backoffBaseMs: 10,
    backoffMaxMs: 200,
    jitterMs: 0,
  });
  before(() => receiver.start());
  after(() => receiver.close());

  test('signs the body as MLflow does and sends its headers and payload shape', async () => {
    receiver.deliveries.length = 0;
    const result = await sender.send(
      { url: `${receiver.url}/hook`, secret: 's3cret' },
      { entity: 'model_version_tag', action: 'set' },
      { name: 'm', version: '1', key: 'k', value: 'v' },
    );
    assert.deepEqual(result, { status: 200, body: 'received', attempts: 1 });
    const [d] = receiver.deliveries;
    assert.equal(d.path, '/hook');
    assert.equal(d.headers['content-type'], 'application/json');
    assert.match(d.headers['x-mlflow-delivery-id'] as string, /^[0-9a-f-]{36}$/);
    assert.ok(Math.abs(Number(d.headers['x-mlflow-timestamp']) - Date.now() / 1000) < 5);
    verifySignature(d, 's3cret');
    const payload = JSON.parse(d.body);
    assert.equal(payload.entity, 'model_version_tag');
    assert.equal(payload.action, 'set');
    assert.match(payload.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    assert.deepEqual(payload.data, { name: 'm', version: '1', key: 'k', value: 'v' });
  });

  test('without a secret there is no signature header', async () => {
    receiver.deliveries.length = 0;
    await sender.send({ url: receiver.url }, { entity: 'registered_model', action: 'created' }, {});
    assert.equal(receiver.deliveries[0].headers['x-mlflow-signature'], undefined);
  });

  test('retries 429 and 5xx answers with the same delivery id, then succeeds', async () => {
    receiver.deliveries.length = 0;
    receiver.script = [{ status: 503 }, { status: 429, headers: { 'Retry-After': '0' } }, { status: 502 }];
    const result = await sender.send(
      { url: receiver.url, secret: 'x' },
      { entity: 'prompt', action: 'created' },
      {},
    );
    assert.equal(result.status, 200);
    assert.equal(result.attempts, 4);
    const ids = new Set(receiver.deliveries.map((d) => d.headers['x-mlflow-delivery-id']));
    assert.equal(ids.size, 1, 'a retry is the same delivery');
    for (const d of receiver.deliveries) verifySignature(d, 'x');
  });

  test('gives up after the configured retries and reports the last answer', async () => {
    receiver.deliveries.length = 0;
    receiver.script = Array.from({ length: 4 }, () => ({ status: 500 }));
    const result = await sender.send({ url: receiver.url }, { entity: 'prompt', action: 'created' }, {});
    assert.deepEqual([result.status, result.attempts], [500, 4]);
    assert.equal(receiver.deliveries.length, 4);
  });

  test('does not retry other client errors', async () => {
    receiver.deliveries.length = 0;
    receiver.script = [{ status: 404 }];
    const result = await sender.send({ url: receiver.url }, { entity: 'prompt', action: 'created' }, {});
    assert.deepEqual([result.status, result.attempts], [404, 1]);
  });

  test('a receiver that is not there fails after the retries with the reason', async () => {
    const closed = new Receiver();
    await closed.start();
    const url = closed.url;
    await closed.close();
    await assert.rejects(
      sender.send({ url }, { entity: 'prompt', action: 'created' }, {}),
      /failed after 4 attempt\(s\)/,
    );
  });

  test('enqueue runs in the background with bounded concurrency and reports failures', async () => {
    receiver.deliveries.length = 0;
    const errors: Error[] = [];
    receiver.script = [{ status: 400 }];
    for (let i = 0; i < 6; i++) {
      sender.enqueue({ url: receiver.url }, { entity: 'prompt', action: 'created' }, { i }, (e) =>
        errors.push(e),
      );
    }
    await sender.idle();
    assert.equal(receiver.deliveries.length, 6);
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /answered 400/);
  });
});

describe('webhook secrets at rest', () => {
  const key = Buffer.alloc(32, 7).toString('base64url');

  test('round-trips through the Fernet format and refuses another key', () => {
    const secrets = new WebhookSecrets(key);
    const sealed = secrets.seal('my secret');
    assert.match(sealed, /^gAAAAA/);
    assert.notEqual(sealed, 'my secret');
    assert.equal(secrets.open(sealed), 'my secret');
    const other = new WebhookSecrets(Buffer.alloc(32, 9).toString('base64url'));
    assert.throws(() => other.open(sealed), /not the key it was stored with/);
    assert.throws(
      () => new WebhookSecrets(undefined, () => {}).open(sealed),
      /set MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY/,
    );
  });

  test('reads a token made by Python cryptography.fernet (fixed key, IV and time)', () => {
    // Made with cryptography's Fernet._encrypt_from_parts(b"hook-secret", 1700000000, bytes(range(16)))
    // under the key base64url(bytes(range(32))).
    const fixedKey = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64url');
    const token = FERNET_FIXTURE;
    assert.equal(new WebhookSecrets(fixedKey).open(token), 'hook-secret');
  });

  test('without a key secrets are kept as given, with one warning', () => {
    const warnings: string[] = [];
    const secrets = new WebhookSecrets(undefined, (m) => warnings.push(m));
    assert.equal(secrets.seal('a'), 'a');
    assert.equal(secrets.seal('b'), 'b');
    assert.equal(secrets.open('a'), 'a');
    assert.equal(warnings.length, 1);
  });

  test('a malformed key is refused with what to do', () => {
    assert.throws(() => new WebhookSecrets('short'), /32 bytes in URL-safe base64/);
  });
});

const FERNET_FIXTURE =
  'gAAAAABlU_EAAAECAwQFBgcICQoLDA0ODzhgS3EDIuE41kF0GgOiQM-XmCNLLNC6CB-re-PEndDGMFksQGcYCb3o8k7f7cBHVg==';

for (const dialect of DIALECTS) {
  describe(`webhook REST API on ${dialect}`, () => {
    let srv: TestServer;
    const receiver = new Receiver();
    const api = (
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      endpoint: string,
      body?: Record<string, unknown>,
    ) => call(srv.api, method, endpoint, body);
    // Read when the server starts. Retries are tested on WebhookSender above, with short waits; here
    // they would cost seconds each.
    const env = { MLFLOW_WEBHOOK_ALLOWED_SCHEMES: 'http,https', MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES: '0' };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));

    before(async () => {
      await receiver.start();
      Object.assign(process.env, env);
      srv = await startTestServer(dialect);
    });
    after(async () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await srv.close();
      await receiver.close();
    });

    test('create, get, update, list and delete, with the secret never shown', async () => {
      const created = await api('POST', 'webhooks', {
        name: 'ci-hook',
        url: `${receiver.url}/a`,
        description: 'tell CI',
        secret: 'top',
        events: [
          { entity: 'MODEL_VERSION', action: 'CREATED' },
          { entity: 'MODEL_VERSION_ALIAS', action: 'DELETED' },
        ],
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const hook = created.body.webhook;
      assert.match(hook.webhook_id, /^[0-9a-f-]{36}$/);
      assert.equal(hook.name, 'ci-hook');
      assert.equal(hook.status, 'ACTIVE');
      assert.equal(hook.description, 'tell CI');
      assert.equal(hook.secret, undefined);
      assert.deepEqual(
        [...hook.events].sort((a: any, b: any) => a.entity.localeCompare(b.entity)),
        [
          { entity: 'MODEL_VERSION', action: 'CREATED' },
          { entity: 'MODEL_VERSION_ALIAS', action: 'DELETED' },
        ],
      );
      assert.equal(hook.creation_timestamp, hook.last_updated_timestamp);

      const got = await api('GET', `webhooks/${hook.webhook_id}`);
      assert.deepEqual(got.body.webhook, hook);

      const updated = await api('PATCH', `webhooks/${hook.webhook_id}`, {
        status: 'DISABLED',
        events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }],
        name: '',
      });
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      assert.equal(updated.body.webhook.status, 'DISABLED');
      assert.equal(updated.body.webhook.name, 'ci-hook', 'an empty name leaves it as it is');
      assert.deepEqual(updated.body.webhook.events, [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }]);
      assert.ok(updated.body.webhook.last_updated_timestamp >= hook.last_updated_timestamp);

      const listed = await api('GET', 'webhooks');
      assert.ok(listed.body.webhooks.some((w: any) => w.webhook_id === hook.webhook_id));

      assert.deepEqual((await api('DELETE', `webhooks/${hook.webhook_id}`)).body, {});
      await expectError(
        api('GET', `webhooks/${hook.webhook_id}`),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /not found/,
      );
      await expectError(api('DELETE', `webhooks/${hook.webhook_id}`), 404, 'RESOURCE_DOES_NOT_EXIST');
      await expectError(
        api('PATCH', `webhooks/${hook.webhook_id}`, { name: 'x' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      const after = await api('GET', 'webhooks');
      assert.ok(!after.body.webhooks?.some((w: any) => w.webhook_id === hook.webhook_id));
    });

    test('listing pages newest first with page tokens', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await api('POST', 'webhooks', {
          name: `page-${i}`,
          url: receiver.url,
          events: [{ entity: 'PROMPT', action: 'CREATED' }],
        });
        ids.push(r.body.webhook.webhook_id);
      }
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await api('GET', 'webhooks', {
          max_results: 2,
          ...(token ? { page_token: token } : {}),
        });
        assert.equal(page.status, 200, JSON.stringify(page.body));
        assert.ok(page.body.webhooks.length <= 2);
        seen.push(...page.body.webhooks.map((w: any) => w.webhook_id));
        token = page.body.next_page_token;
      } while (token);
      assert.deepEqual(
        seen.filter((id) => ids.includes(id)),
        [...ids].reverse(),
      );
      await expectError(
        api('GET', 'webhooks', { max_results: -1 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /between 1 and 1000/,
      );
      await expectError(api('GET', 'webhooks', { max_results: 1001 }), 400, 'INVALID_PARAMETER_VALUE');
      await expectError(
        api('GET', 'webhooks', { page_token: 'not base64!' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      for (const id of ids) await api('DELETE', `webhooks/${id}`);
    });

    test('bad input gets MLflow errors', async () => {
      const good = { name: 'ok', url: receiver.url, events: [{ entity: 'PROMPT', action: 'CREATED' }] };
      await expectError(
        api('POST', 'webhooks', { ...good, name: undefined }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'name'/,
      );
      await expectError(
        api('POST', 'webhooks', { ...good, url: undefined }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'url'/,
      );
      await expectError(
        api('POST', 'webhooks', { ...good, events: undefined }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'events'/,
      );
      await expectError(
        api('POST', 'webhooks', { ...good, events: [] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /non-empty/,
      );
      await expectError(
        api('POST', 'webhooks', { ...good, name: '-bad' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Webhook name '-bad' is invalid/,
      );
      await expectError(
        api('POST', 'webhooks', { ...good, name: 'a'.repeat(64) }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api('POST', 'webhooks', { ...good, url: 'ftp://x/y' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /scheme: 'ftp'\. Allowed schemes are: http, https/,
      );
      await expectError(
        api('POST', 'webhooks', { ...good, url: '   ' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /empty/,
      );
      await expectError(
        api('POST', 'webhooks', { ...good, events: [{ entity: 'REGISTERED_MODEL', action: 'DELETED' }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid action 'deleted' for entity 'registered_model'. Valid actions are: \['created'\]/,
      );
      await expectError(
        api('POST', 'webhooks', { ...good, events: [{ entity: 'NOPE', action: 'CREATED' }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /entity/,
      );
      await expectError(
        api('POST', 'webhooks', { ...good, events: [{ action: 'CREATED' }] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /events\[0\]\.entity/,
      );
      await expectError(
        api('POST', 'webhooks', { ...good, events: 'PROMPT' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      await expectError(
        api('POST', 'webhooks', { ...good, status: 'PAUSED' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /status/,
      );
      await expectError(
        api('GET', 'webhooks/does-not-exist'),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /Webhook with ID does-not-exist not found/,
      );
      await expectError(api('POST', 'webhooks/does-not-exist/test', {}), 404, 'RESOURCE_DOES_NOT_EXIST');
      // Enums may also come as proto numbers.
      const numeric = await api('POST', 'webhooks', {
        ...good,
        events: [{ entity: 4, action: 1 }],
        status: 2,
      });
      assert.equal(numeric.status, 200, JSON.stringify(numeric.body));
      assert.deepEqual(numeric.body.webhook.events, [{ entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' }]);
      assert.equal(numeric.body.webhook.status, 'DISABLED');
      await api('DELETE', `webhooks/${numeric.body.webhook.webhook_id}`);
    });

    test('registry changes are delivered to the webhooks subscribed to them, signed, without waiting', async () => {
      const hook = async (name: string, events: [string, string][], extra: Record<string, unknown> = {}) => {
        const r = await api('POST', 'webhooks', {
          name,
          url: `${receiver.url}/${name}`,
          secret: `${name}-secret`,
          events: events.map(([entity, action]) => ({ entity, action })),
          ...extra,
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.webhook.webhook_id as string;
      };
      const ids = [
        await hook('models', [
          ['REGISTERED_MODEL', 'CREATED'],
          ['MODEL_VERSION', 'CREATED'],
          ['MODEL_VERSION_TAG', 'SET'],
          ['MODEL_VERSION_TAG', 'DELETED'],
          ['MODEL_VERSION_ALIAS', 'CREATED'],
          ['MODEL_VERSION_ALIAS', 'DELETED'],
        ]),
        await hook('prompts', [
          ['PROMPT', 'CREATED'],
          ['PROMPT_TAG', 'SET'],
          ['PROMPT_VERSION', 'CREATED'],
        ]),
        await hook('sleeping', [['REGISTERED_MODEL', 'CREATED']], { status: 'DISABLED' }),
      ];
      receiver.deliveries.length = 0;
      // A slow receiver must not slow the registry down.
      receiver.delayMs = 1500;
      const started = Date.now();
      const ok = async (
        method: 'POST' | 'PATCH' | 'DELETE',
        endpoint: string,
        body: Record<string, unknown>,
      ) => {
        const r = await api(method, endpoint, body);
        assert.equal(r.status, 200, `${endpoint}: ${JSON.stringify(r.body)}`);
      };
      await ok('POST', 'registered-models/create', { name: 'churn', tags: [{ key: 'team', value: 'ml' }] });
      await ok('POST', 'model-versions/create', {
        name: 'churn',
        source: 's3://bucket/churn/1',
        description: 'first',
      });
      await ok('POST', 'model-versions/set-tag', {
        name: 'churn',
        version: '1',
        key: 'validated',
        value: 'yes',
      });
      await ok('DELETE', 'model-versions/delete-tag', { name: 'churn', version: '1', key: 'validated' });
      await ok('POST', 'registered-models/alias', { name: 'churn', alias: 'champion', version: '1' });
      await ok('DELETE', 'registered-models/alias', { name: 'churn', alias: 'champion' });
      await ok('POST', 'registered-models/set-tag', { name: 'churn', key: 'no-event', value: 'x' });
      const promptTags = [
        { key: 'mlflow.prompt.is_prompt', value: 'true' },
        { key: 'lang', value: 'en' },
      ];
      await ok('POST', 'registered-models/create', { name: 'greeting', tags: promptTags });
      await ok('POST', 'registered-models/set-tag', { name: 'greeting', key: 'owner', value: 'ana' });
      await ok('POST', 'model-versions/create', {
        name: 'greeting',
        source: 'prompt-text',
        tags: [...promptTags, { key: 'mlflow.prompt.text', value: 'Hello {{name}}!' }],
      });
      assert.ok(Date.now() - started < 1500, 'the registry requests waited for the receiver');

      const got = await receiver.received(9);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        receiver.deliveries.length,
        9,
        'no delivery to the disabled webhook or for unsubscribed events',
      );
      receiver.delayMs = 0;
      const events = got.map((d) => {
        const hookName = d.path.slice(1);
        verifySignature(d, `${hookName}-secret`);
        const body = JSON.parse(d.body);
        return { hook: hookName, event: `${body.entity}.${body.action}`, data: body.data };
      });
      const find = (event: string) => events.find((e) => e.event === event);
      assert.deepEqual(find('registered_model.created'), {
        hook: 'models',
        event: 'registered_model.created',
        data: { name: 'churn', tags: { team: 'ml' }, description: '' },
      });
      assert.deepEqual(find('model_version.created')?.data, {
        name: 'churn',
        version: '1',
        source: 's3://bucket/churn/1',
        run_id: null,
        tags: {},
        description: 'first',
      });
      assert.deepEqual(find('model_version_tag.set')?.data, {
        name: 'churn',
        version: '1',
        key: 'validated',
        value: 'yes',
      });
      assert.deepEqual(find('model_version_tag.deleted')?.data, {
        name: 'churn',
        version: '1',
        key: 'validated',
      });
      assert.deepEqual(find('model_version_alias.created')?.data, {
        name: 'churn',
        alias: 'champion',
        version: '1',
      });
      assert.deepEqual(find('model_version_alias.deleted')?.data, { name: 'churn', alias: 'champion' });
      assert.deepEqual(find('prompt.created'), {
        hook: 'prompts',
        event: 'prompt.created',
        data: { name: 'greeting', tags: { lang: 'en' }, description: '' },
      });
      assert.deepEqual(find('prompt_tag.set')?.data, { name: 'greeting', key: 'owner', value: 'ana' });
      assert.deepEqual(find('prompt_version.created')?.data, {
        name: 'greeting',
        version: '1',
        template: 'Hello {{name}}!',
        tags: { lang: 'en' },
        description: null,
      });
      for (const id of ids) await api('DELETE', `webhooks/${id}`);
    });

    test('test delivers a signed sample of the chosen event and reports the answer', async () => {
      const created = await api('POST', 'webhooks', {
        name: 'tester',
        url: `${receiver.url}/test`,
        secret: 'shh',
        events: [{ entity: 'MODEL_VERSION_TAG', action: 'SET' }],
      });
      const id = created.body.webhook.webhook_id;
      receiver.deliveries.length = 0;
      const first = await api('POST', `webhooks/${id}/test`, {});
      assert.deepEqual(first.body, {
        result: { success: true, response_status: 200, response_body: 'received' },
      });
      const [d] = receiver.deliveries;
      verifySignature(d, 'shh');
      const payload = JSON.parse(d.body);
      assert.deepEqual([payload.entity, payload.action], ['model_version_tag', 'set']);
      assert.deepEqual(payload.data, {
        name: 'example_model',
        version: '1',
        key: 'example_key',
        value: 'example_value',
      });

      receiver.script = [{ status: 404 }];
      const chosen = await api('POST', `webhooks/${id}/test`, {
        event: { entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' },
      });
      assert.deepEqual(chosen.body.result, {
        success: false,
        response_status: 404,
        response_body: 'try again',
      });
      assert.equal(JSON.parse(receiver.deliveries[1].body).entity, 'model_version_alias');

      await api('PATCH', `webhooks/${id}`, { url: 'http://127.0.0.1:9/nothing-listens' });
      const unreachable = await api('POST', `webhooks/${id}/test`, {});
      assert.equal(unreachable.body.result.success, false);
      assert.match(unreachable.body.result.error_message, /^Failed to test webhook: /);
      await api('DELETE', `webhooks/${id}`);
    });
  });
}
