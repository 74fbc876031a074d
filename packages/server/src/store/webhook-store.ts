import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import type {
  Webhook,
  WebhookAction,
  WebhookEntity,
  WebhookEvent,
  WebhookStatus,
} from '../entities/webhooks.js';
import type { StoreDatabase } from './database.js';
import type { Database, WebhooksTable } from './schema.js';
import type { Page, PageStart } from './tracking-store.js';

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

type Row = Selectable<WebhooksTable>;

function notFound(webhookId: string): MlflowError {
  return MlflowError.notFound(`Webhook with ID ${webhookId} not found.`);
}

export class SqlWebhookStore implements WebhookStore {
  private readonly db: Kysely<Database>;

  constructor(private readonly database: StoreDatabase) {
    this.db = database.reader;
  }

  private async withEvents(rows: Row[], db: Kysely<Database> = this.db): Promise<Webhook[]> {
    if (rows.length === 0) return [];
    const events = await db
      .selectFrom('webhook_events')
      .select(['webhook_id', 'entity', 'action'])
      .where(
        'webhook_id',
        'in',
        rows.map((r) => r.webhook_id),
      )
      .orderBy('webhook_id')
      .orderBy('entity')
      .orderBy('action')
      .execute();
    const byId = new Map<string, WebhookEvent[]>();
    for (const e of events) {
      const list = byId.get(e.webhook_id) ?? [];
      list.push({ entity: e.entity as WebhookEntity, action: e.action as WebhookAction });
      byId.set(e.webhook_id, list);
    }
    return rows.map((r) => ({
      webhook_id: r.webhook_id,
      name: r.name,
      description: r.description ?? undefined,
      url: r.url,
      events: byId.get(r.webhook_id) ?? [],
      status: r.status as WebhookStatus,
      secret: r.secret ?? undefined,
      creation_timestamp: Number(r.creation_timestamp),
      last_updated_timestamp: Number(r.last_updated_timestamp),
    }));
  }

  private async liveRow(webhookId: string, db: Kysely<Database> = this.db): Promise<Row> {
    const row = await db
      .selectFrom('webhooks')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .where('deleted_timestamp', 'is', null)
      .executeTakeFirst();
    if (!row) throw notFound(webhookId);
    return row;
  }

  async createWebhook(input: CreateWebhookInput): Promise<Webhook> {
    const webhookId = randomUUID();
    const now = Date.now();
    await this.database.writer.run(async (trx) => {
      await trx
        .insertInto('webhooks')
        .values({
          webhook_id: webhookId,
          name: input.name,
          description: input.description ?? null,
          url: input.url,
          status: input.status,
          secret: input.secret ?? null,
          creation_timestamp: now,
          last_updated_timestamp: now,
          deleted_timestamp: null,
        })
        .execute();
      await insertEvents(trx, webhookId, input.events);
    });
    return this.getWebhook(webhookId);
  }

  async getWebhook(webhookId: string): Promise<Webhook> {
    const [webhook] = await this.withEvents([await this.liveRow(webhookId)]);
    return webhook;
  }

  async listWebhooks(maxResults: number, start?: PageStart): Promise<Page<Webhook>> {
    let query = this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('deleted_timestamp', 'is', null)
      .orderBy('creation_timestamp', 'desc')
      .orderBy('webhook_id', 'desc')
      .limit(maxResults + 1);
    if (start && 'offset' in start) query = query.offset(start.offset);
    if (start && 'after' in start) {
      const [ts, id] = afterPosition(start.after);
      query = query.where((eb) =>
        eb.or([
          eb('creation_timestamp', '<', ts),
          eb.and([eb('creation_timestamp', '=', ts), eb('webhook_id', '<', id)]),
        ]),
      );
    }
    const rows = await query.execute();
    const items = await this.withEvents(rows.slice(0, maxResults));
    if (rows.length <= maxResults) return { items };
    const last = items[items.length - 1];
    return { items, next: { webhook: [last.creation_timestamp, last.webhook_id] } };
  }

  async listWebhooksForEvent(event: WebhookEvent): Promise<Webhook[]> {
    const rows = await this.db
      .selectFrom('webhooks')
      .innerJoin('webhook_events', 'webhook_events.webhook_id', 'webhooks.webhook_id')
      .selectAll('webhooks')
      .where('webhook_events.entity', '=', event.entity)
      .where('webhook_events.action', '=', event.action)
      .where('webhooks.deleted_timestamp', 'is', null)
      .orderBy('webhooks.creation_timestamp', 'desc')
      .execute();
    return this.withEvents(rows);
  }

  async updateWebhook(webhookId: string, changes: UpdateWebhookInput): Promise<Webhook> {
    await this.database.writer.run(async (trx) => {
      await this.liveRow(webhookId, trx);
      await trx
        .updateTable('webhooks')
        .set({
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.url !== undefined ? { url: changes.url } : {}),
          ...(changes.description !== undefined ? { description: changes.description } : {}),
          ...(changes.secret !== undefined ? { secret: changes.secret } : {}),
          ...(changes.status !== undefined ? { status: changes.status } : {}),
          last_updated_timestamp: Date.now(),
        })
        .where('webhook_id', '=', webhookId)
        .execute();
      if (changes.events !== undefined) {
        await trx.deleteFrom('webhook_events').where('webhook_id', '=', webhookId).execute();
        await insertEvents(trx, webhookId, changes.events);
      }
    });
    return this.getWebhook(webhookId);
  }

  async deleteWebhook(webhookId: string): Promise<void> {
    await this.database.writer.run(async (trx) => {
      await this.liveRow(webhookId, trx);
      const now = Date.now();
      await trx
        .updateTable('webhooks')
        .set({ deleted_timestamp: now, last_updated_timestamp: now })
        .where('webhook_id', '=', webhookId)
        .execute();
    });
  }
}

async function insertEvents(trx: Kysely<Database>, webhookId: string, events: WebhookEvent[]): Promise<void> {
  // A subscription listed twice is one subscription (the pair is the table's key).
  const unique = new Map(events.map((e) => [`${e.entity}.${e.action}`, e]));
  await trx
    .insertInto('webhook_events')
    .values([...unique.values()].map((e) => ({ webhook_id: webhookId, entity: e.entity, action: e.action })))
    .execute();
}

function afterPosition(after: unknown): [number, string] {
  const position = (after as { webhook?: unknown }).webhook;
  if (
    Array.isArray(position) &&
    position.length === 2 &&
    typeof position[0] === 'number' &&
    typeof position[1] === 'string'
  ) {
    return [position[0], position[1]];
  }
  throw MlflowError.invalidParameter(`Invalid page token, parsed value=${JSON.stringify(after)}`);
}
