// Registry webhooks and the events each subscribes to: getting and listing them (reads); creating,
// updating and deleting them, each returning what it wrote as read in its own transaction (writes).
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
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import type { Database, WebhooksTable } from './schema.js';
import type { Page, PageStart } from './tracking-store.js';
import type { CreateWebhookInput, UpdateWebhookInput } from './webhook-store.js';

type Row = Selectable<WebhooksTable>;

function notFound(webhookId: string): MlflowError {
  return MlflowError.notFound(`Webhook with ID ${webhookId} not found.`);
}

async function withEvents(db: Kysely<Database>, rows: Row[]): Promise<Webhook[]> {
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

async function liveRow(db: Kysely<Database>, webhookId: string): Promise<Row> {
  const row = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('webhook_id', '=', webhookId)
    .where('deleted_timestamp', 'is', null)
    .executeTakeFirst();
  if (!row) throw notFound(webhookId);
  return row;
}

async function webhook(db: Kysely<Database>, webhookId: string): Promise<Webhook> {
  const [found] = await withEvents(db, [await liveRow(db, webhookId)]);
  return found;
}

export class WebhookReads {
  private readonly db: Kysely<Database>;

  constructor(database: ReadOnlyDatabase) {
    this.db = database.reader;
  }

  getWebhook(webhookId: string): Promise<Webhook> {
    return webhook(this.db, webhookId);
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
    const items = await withEvents(this.db, rows.slice(0, maxResults));
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
    return withEvents(this.db, rows);
  }
}

export class WebhookWrites {
  constructor(private readonly database: WriteOnlyDatabase) {}

  createWebhook(input: CreateWebhookInput): Promise<Webhook> {
    const webhookId = randomUUID();
    const now = Date.now();
    return this.database.writer.run(async (trx) => {
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
      return webhook(trx, webhookId);
    });
  }

  updateWebhook(webhookId: string, changes: UpdateWebhookInput): Promise<Webhook> {
    return this.database.writer.run(async (trx) => {
      await liveRow(trx, webhookId);
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
      return webhook(trx, webhookId);
    });
  }

  deleteWebhook(webhookId: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      await liveRow(trx, webhookId);
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
