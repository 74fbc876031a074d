import type { Page } from './entities.js';
import { MlflowError } from './errors.js';
import { ServingEndpointMethods } from './serving-endpoints.js';
import type {
  Webhook,
  WebhookAction,
  WebhookEntity,
  WebhookEvent,
  WebhookStatus,
  WebhookTestResult,
} from './wire.js';

// MLflow 3's registry webhooks (the webhooks endpoints) in the JSON shape of MLflow's REST API:
// entities, actions and statuses are the proto enum names.

/**
 * An event as callers may write it: the wire form, the same in lower case (MLflow's Python values), or
 * Python's "entity.action" text such as "model_version.created".
 */
export type WebhookEventInput =
  | WebhookEvent
  | { entity: Lowercase<WebhookEntity>; action: Lowercase<WebhookAction> }
  | `${Lowercase<WebhookEntity>}.${Lowercase<WebhookAction>}`;

export interface CreateWebhookOptions {
  description?: string;
  /** Signs every delivery (HMAC-SHA256, MLflow's X-MLflow-Signature header). */
  secret?: string;
  /** ACTIVE (the server's default) or DISABLED. */
  status?: WebhookStatus;
}

/** Fields to change; an omitted field (or an empty events list) is left as it is. */
export interface UpdateWebhookOptions extends CreateWebhookOptions {
  name?: string;
  url?: string;
  events?: WebhookEventInput[];
}

/** The wire form of an event; the server checks that the pair is one MLflow allows. */
export function webhookEvent(input: WebhookEventInput): WebhookEvent {
  if (typeof input === 'string') {
    const dot = input.indexOf('.');
    if (dot <= 0 || dot === input.length - 1) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `Invalid webhook event '${input}': write it as '<entity>.<action>', e.g. 'model_version.created'.`,
        0,
      );
    }
    return {
      entity: input.slice(0, dot).toUpperCase() as WebhookEntity,
      action: input.slice(dot + 1).toUpperCase() as WebhookAction,
    };
  }
  return {
    entity: String(input.entity).toUpperCase() as WebhookEntity,
    action: String(input.action).toUpperCase() as WebhookAction,
  };
}

function normalizeWebhook(webhook: Webhook): Webhook {
  return { ...webhook, events: webhook.events ?? [] };
}

function webhookPath(webhookId: string, ...rest: string[]): string {
  return ['webhooks', encodeURIComponent(webhookId), ...rest].join('/');
}

/**
 * The webhook endpoints as methods MlflowClient inherits (named as Python's MlflowClient names them).
 * Every method throws MlflowError with the server's code and status.
 */
export abstract class WebhookMethods extends ServingEndpointMethods {
  /** Creates a webhook that the server calls (POST, JSON) when one of `events` happens. */
  async createWebhook(
    name: string,
    url: string,
    events: WebhookEventInput[],
    options: CreateWebhookOptions = {},
  ): Promise<Webhook> {
    const r = await this.transport.call<{ webhook: Webhook }>('POST', 'webhooks', {
      name,
      url,
      events: events.map(webhookEvent),
      description: options.description,
      secret: options.secret,
      status: options.status,
    });
    return normalizeWebhook(r.webhook);
  }

  async getWebhook(webhookId: string): Promise<Webhook> {
    const r = await this.transport.call<{ webhook: Webhook }>('GET', webhookPath(webhookId));
    return normalizeWebhook(r.webhook);
  }

  /** One page of webhooks, newest first (the server's default page size is 100, at most 1000). */
  async listWebhooks(options: { maxResults?: number; pageToken?: string } = {}): Promise<Page<Webhook>> {
    const r = await this.transport.call<{ webhooks?: Webhook[]; next_page_token?: string }>(
      'GET',
      'webhooks',
      { max_results: options.maxResults, page_token: options.pageToken },
    );
    return {
      items: (r.webhooks ?? []).map(normalizeWebhook),
      nextPageToken: r.next_page_token || undefined,
    };
  }

  /** Every webhook, following page tokens. */
  async listAllWebhooks(options: { maxResults?: number } = {}): Promise<Webhook[]> {
    const all: Webhook[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.listWebhooks({ ...options, pageToken });
      all.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }

  async updateWebhook(webhookId: string, changes: UpdateWebhookOptions): Promise<Webhook> {
    const r = await this.transport.call<{ webhook: Webhook }>('PATCH', webhookPath(webhookId), {
      name: changes.name,
      url: changes.url,
      events: changes.events?.map(webhookEvent),
      description: changes.description,
      secret: changes.secret,
      status: changes.status,
    });
    return normalizeWebhook(r.webhook);
  }

  async deleteWebhook(webhookId: string): Promise<void> {
    await this.transport.call('DELETE', webhookPath(webhookId));
  }

  /**
   * Sends a sample payload of `event` (the webhook's first event by default) to the webhook now and
   * reports what the receiver answered. A receiver's failure is a result, not an error.
   */
  async testWebhook(webhookId: string, event?: WebhookEventInput): Promise<WebhookTestResult> {
    const r = await this.transport.call<{ result: WebhookTestResult }>(
      'POST',
      webhookPath(webhookId, 'test'),
      { event: event === undefined ? undefined : webhookEvent(event) },
    );
    return r.result;
  }
}
