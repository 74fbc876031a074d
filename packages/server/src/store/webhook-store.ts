// The webhook store the services see: WebhookStore as one facade over the webhook repository
// (webhook-repository.ts), whose reads and writes are split by type (repository.ts).
import type { Webhook, WebhookEvent, WebhookStatus } from '../entities/webhooks.js';
import type { StoreDatabase } from './database.js';
import { type Repository, readView, writeView } from './repository.js';
import type { Page, PageStart } from './tracking-store.js';
import { WebhookReads, WebhookWrites } from './webhook-repository.js';

export interface CreateWebhookInput {
  name: string;
  url: string;
  events: WebhookEvent[];
  description?: string;
  /** Already sealed (services/webhook-secrets.ts). */
  secret?: string;
  status: WebhookStatus;
}

/** Fields left undefined keep their value. */
export interface UpdateWebhookInput {
  name?: string;
  url?: string;
  events?: WebhookEvent[];
  description?: string;
  secret?: string;
  status?: WebhookStatus;
}

/** Registry webhooks and the events each subscribes to. */
export interface WebhookStore {
  createWebhook(input: CreateWebhookInput): Promise<Webhook>;
  getWebhook(webhookId: string): Promise<Webhook>;
  /** Live webhooks, newest first. */
  listWebhooks(maxResults: number, start?: PageStart): Promise<Page<Webhook>>;
  /** Every live webhook subscribed to `event`, whatever its status. */
  listWebhooksForEvent(event: WebhookEvent): Promise<Webhook[]>;
  updateWebhook(webhookId: string, changes: UpdateWebhookInput): Promise<Webhook>;
  deleteWebhook(webhookId: string): Promise<void>;
}

export type WebhookRepositories = { webhooks: Repository<WebhookReads, WebhookWrites> };

export function webhookRepositories(database: StoreDatabase): WebhookRepositories {
  return {
    webhooks: { reads: new WebhookReads(readView(database)), writes: new WebhookWrites(writeView(database)) },
  };
}

export class SqlWebhookStore implements WebhookStore {
  private readonly reads: WebhookReads;
  private readonly writes: WebhookWrites;

  /** `repositories` are by default over `database`; the SQLite writer-thread set-up passes its own. */
  constructor(database: StoreDatabase, repositories: WebhookRepositories = webhookRepositories(database)) {
    this.reads = repositories.webhooks.reads;
    this.writes = repositories.webhooks.writes;
  }

  createWebhook(input: CreateWebhookInput): Promise<Webhook> {
    return this.writes.createWebhook(input);
  }
  getWebhook(webhookId: string): Promise<Webhook> {
    return this.reads.getWebhook(webhookId);
  }
  listWebhooks(maxResults: number, start?: PageStart): Promise<Page<Webhook>> {
    return this.reads.listWebhooks(maxResults, start);
  }
  listWebhooksForEvent(event: WebhookEvent): Promise<Webhook[]> {
    return this.reads.listWebhooksForEvent(event);
  }
  updateWebhook(webhookId: string, changes: UpdateWebhookInput): Promise<Webhook> {
    return this.writes.updateWebhook(webhookId, changes);
  }
  deleteWebhook(webhookId: string): Promise<void> {
    return this.writes.deleteWebhook(webhookId);
  }
}
