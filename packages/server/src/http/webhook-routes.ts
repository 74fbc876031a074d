import {
  WEBHOOK_ACTIONS,
  WEBHOOK_ENTITIES,
  WEBHOOK_STATUSES,
  type WebhookAction,
  type WebhookEntity,
  type WebhookEvent,
  webhookEvent,
  webhookToWire,
} from '../entities/webhooks.js';
import type { WebhookService } from '../services/webhook-service.js';
import type { Endpoint } from './endpoint.js';
import { missing, RequestFields, wrongType } from './request-fields.js';

// MLflow 3's webhook API (/api/2.0/mlflow/webhooks...). Entities, actions and statuses travel as the
// proto enum names (or numbers); the secret is write-only.

const ENTITY_NAMES = WEBHOOK_ENTITIES.map((e) => e.toUpperCase());
const ACTION_NAMES = WEBHOOK_ACTIONS.map((a) => a.toUpperCase());

function readEvent(item: unknown, path: string): WebhookEvent {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) throw wrongType(path, item);
  const f = new RequestFields(item as Record<string, unknown>, false);
  const entity = f.optionalEnum('entity', ENTITY_NAMES);
  const action = f.optionalEnum('action', ACTION_NAMES);
  if (entity === undefined) throw missing(`${path}.entity`);
  if (action === undefined) throw missing(`${path}.action`);
  return webhookEvent(entity.toLowerCase() as WebhookEntity, action.toLowerCase() as WebhookAction);
}

function readEvents(f: RequestFields): WebhookEvent[] {
  return f.objects('events').map((item, i) => readEvent(item, `events[${i}]`));
}

const wrapped = (webhook: Parameters<typeof webhookToWire>[0]) => ({ webhook: webhookToWire(webhook) });

export function webhookEndpoints(): Endpoint<WebhookService>[] {
  return [
    {
      method: 'POST',
      path: 'webhooks',
      handle: async (webhooks, f) => {
        const name = f.requiredString('name');
        const url = f.requiredString('url');
        if (!f.has('events')) throw missing('events');
        return wrapped(
          await webhooks.createWebhook({
            name,
            url,
            events: readEvents(f),
            description: f.optionalString('description'),
            secret: f.optionalString('secret'),
            status: f.optionalEnum('status', WEBHOOK_STATUSES),
          }),
        );
      },
    },
    {
      method: 'GET',
      path: 'webhooks',
      handle: async (webhooks, f) => {
        const page = await webhooks.listWebhooks(
          f.optionalInt('max_results'),
          f.optionalString('page_token'),
        );
        return { webhooks: page.items.map(webhookToWire), next_page_token: page.nextPageToken };
      },
    },
    {
      method: 'GET',
      path: 'webhooks/:webhook_id',
      handle: async (webhooks, _f, p) => wrapped(await webhooks.getWebhook(p.webhook_id)),
    },
    {
      method: 'PATCH',
      path: 'webhooks/:webhook_id',
      handle: async (webhooks, f, p) => {
        // As in MLflow, an empty value (or an empty event list) leaves the field as it is.
        const events = readEvents(f);
        return wrapped(
          await webhooks.updateWebhook(p.webhook_id, {
            name: f.optionalString('name') || undefined,
            url: f.optionalString('url') || undefined,
            description: f.optionalString('description') || undefined,
            secret: f.optionalString('secret') || undefined,
            status: f.optionalEnum('status', WEBHOOK_STATUSES),
            events: events.length > 0 ? events : undefined,
          }),
        );
      },
    },
    {
      method: 'DELETE',
      path: 'webhooks/:webhook_id',
      handle: async (webhooks, _f, p) => {
        await webhooks.deleteWebhook(p.webhook_id);
        return {};
      },
    },
    {
      method: 'POST',
      path: 'webhooks/:webhook_id/test',
      handle: async (webhooks, f, p) => {
        const given = f.optionalObject('event');
        const event = given ? readEvent(given, 'event') : undefined;
        return { result: await webhooks.testWebhook(p.webhook_id, event) };
      },
    },
  ];
}
