import { MlflowError } from '../entities/errors.js';
import { examplePayload, type WebhookEventName, type WebhookPayloads } from '../entities/webhook-payloads.js';
import {
  eventName,
  type Webhook,
  type WebhookAction,
  type WebhookEntity,
  type WebhookEvent,
  type WebhookStatus,
  type WebhookTestResult,
} from '../entities/webhooks.js';
import type { Page } from '../store/tracking-store.js';
import type { UpdateWebhookInput, WebhookStore } from '../store/webhook-store.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import type { WebhookSender } from './webhook-delivery.js';
import type { WebhookSecrets } from './webhook-secrets.js';

// The rules of MLflow's registry webhooks (validation, listing, tests) and the publishing of registry
// events to the webhooks subscribed to them. Publishing never fails or delays the request that
// caused the event: delivery happens in the background and its failures are only logged.

const NAME_PATTERN = /^(?=.{1,63}$)[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/i;

export interface WebhookServiceOptions {
  store: WebhookStore;
  secrets: WebhookSecrets;
  sender: WebhookSender;
  /** URL schemes a webhook may use (MLFLOW_WEBHOOK_ALLOWED_SCHEMES; MLflow allows only https). */
  allowedSchemes: string[];
  /** How long the webhooks of an event are cached between deliveries (MLFLOW_WEBHOOK_CACHE_TTL). */
  cacheTtlMs: number;
  log: (message: string) => void;
}

export interface CreateWebhookRequest {
  name: string;
  url: string;
  events: WebhookEvent[];
  description?: string;
  secret?: string;
  status?: WebhookStatus;
}

/** MLFLOW_WEBHOOK_ALLOWED_SCHEMES: a comma-separated list, https when unset. */
export function allowedSchemesFromEnv(): string[] {
  const raw = process.env.MLFLOW_WEBHOOK_ALLOWED_SCHEMES;
  const schemes = (raw ?? 'https')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return schemes.length > 0 ? schemes : ['https'];
}

function validateName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw MlflowError.invalidParameter(
      `Webhook name '${name}' is invalid. It must start and end with a letter or digit, be less than 63 characters long, and contain only letters, digits, dots (.), underscores (_), and hyphens (-).`,
    );
  }
}

function validateEvents(events: WebhookEvent[]): void {
  if (events.length === 0) {
    throw MlflowError.invalidParameter(
      'Webhook events must be a non-empty list of WebhookEvent objects: [].',
    );
  }
}

export class WebhookService {
  private readonly cache = new Map<string, { at: number; webhooks: Promise<Webhook[]> }>();
  /** Publications still looking up their webhooks. */
  private readonly lookups = new Set<Promise<void>>();

  constructor(private readonly options: WebhookServiceOptions) {}

  private validateUrl(url: string): void {
    if (url.trim() === '') {
      throw MlflowError.invalidParameter(`Webhook URL cannot be empty or just whitespace: '${url}'`);
    }
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? '';
    if (scheme !== '' && !URL.canParse(url)) {
      throw MlflowError.invalidParameter(`Invalid webhook URL '${url}': it is not a URL.`);
    }
    const allowed = this.options.allowedSchemes;
    if (!allowed.includes(scheme)) {
      throw MlflowError.invalidParameter(
        `Invalid webhook URL scheme: '${scheme}'. Allowed schemes are: ${allowed.join(', ')}.`,
      );
    }
  }

  async createWebhook(request: CreateWebhookRequest): Promise<Webhook> {
    validateName(request.name);
    this.validateUrl(request.url);
    validateEvents(request.events);
    const webhook = await this.options.store.createWebhook({
      name: request.name,
      url: request.url,
      events: request.events,
      description: request.description || undefined,
      secret: request.secret ? this.options.secrets.seal(request.secret) : undefined,
      status: request.status ?? 'ACTIVE',
    });
    this.cache.clear();
    return webhook;
  }

  getWebhook(webhookId: string): Promise<Webhook> {
    return this.options.store.getWebhook(webhookId);
  }

  async listWebhooks(
    maxResults: number | undefined,
    pageToken: string | undefined,
  ): Promise<{ items: Webhook[]; nextPageToken?: string }> {
    const max = maxResults || 100;
    if (max < 1 || max > 1000) throw MlflowError.invalidParameter('max_results must be between 1 and 1000.');
    const page: Page<Webhook> = await this.options.store.listWebhooks(max, decodePageToken(pageToken));
    return { items: page.items, nextPageToken: page.next && encodePageToken(page.next) };
  }

  async updateWebhook(webhookId: string, changes: UpdateWebhookInput): Promise<Webhook> {
    if (changes.name !== undefined) validateName(changes.name);
    if (changes.url !== undefined) this.validateUrl(changes.url);
    if (changes.events !== undefined) validateEvents(changes.events);
    const webhook = await this.options.store.updateWebhook(webhookId, {
      ...changes,
      secret: changes.secret === undefined ? undefined : this.options.secrets.seal(changes.secret),
    });
    this.cache.clear();
    return webhook;
  }

  async deleteWebhook(webhookId: string): Promise<void> {
    await this.options.store.deleteWebhook(webhookId);
    this.cache.clear();
  }

  /** Delivers a sample of `event` (default: the webhook's first event) and reports the answer. */
  async testWebhook(webhookId: string, event?: WebhookEvent): Promise<WebhookTestResult> {
    const webhook = await this.getWebhook(webhookId);
    const chosen = event ?? webhook.events[0];
    try {
      const secret = webhook.secret && this.options.secrets.open(webhook.secret);
      const answer = await this.options.sender.send(
        { url: webhook.url, secret: secret || undefined },
        chosen,
        examplePayload(chosen),
      );
      return { success: answer.status < 400, response_status: answer.status, response_body: answer.body };
    } catch (error) {
      return { success: false, error_message: `Failed to test webhook: ${(error as Error).message}` };
    }
  }

  /**
   * Sends `data` to every active webhook subscribed to the event, in the background. Never throws:
   * a registry change has already happened when its event is published.
   */
  publish<E extends WebhookEventName>(name: E, data: WebhookPayloads[E]): void {
    const [entity, action] = name.split('.') as [WebhookEntity, WebhookAction];
    const event: WebhookEvent = { entity, action };
    const lookup = this.subscribers(event).then(
      (webhooks) => {
        for (const webhook of webhooks) {
          if (webhook.status !== 'ACTIVE') continue;
          let secret: string | undefined;
          try {
            secret = webhook.secret ? this.options.secrets.open(webhook.secret) : undefined;
          } catch (error) {
            this.options.log(`webhook ${webhook.webhook_id} not sent: ${(error as Error).message}`);
            continue;
          }
          this.options.sender.enqueue({ url: webhook.url, secret }, event, data, (error) =>
            this.options.log(`webhook ${webhook.webhook_id} (${eventName(event)}): ${error.message}`),
          );
        }
      },
      (error: Error) => this.options.log(`webhooks for ${eventName(event)} not looked up: ${error.message}`),
    );
    this.lookups.add(lookup);
    void lookup.finally(() => this.lookups.delete(lookup));
  }

  private subscribers(event: WebhookEvent): Promise<Webhook[]> {
    const key = eventName(event);
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < this.options.cacheTtlMs) return hit.webhooks;
    const webhooks = this.options.store.listWebhooksForEvent(event);
    this.cache.set(key, { at: Date.now(), webhooks });
    // A failed look-up is not remembered.
    webhooks.catch(() => this.cache.delete(key));
    return webhooks;
  }

  /** Resolves once every delivery started so far has finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.lookups]);
    await this.options.sender.idle();
  }
}
