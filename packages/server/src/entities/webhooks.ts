import { MlflowError } from './errors.js';

// MLflow 3's registry webhooks. On the wire (the REST API) entities, actions and statuses are the
// proto enum names (REGISTERED_MODEL, CREATED, ACTIVE); in the store and in delivered payloads they are
// MLflow's lower-case values (registered_model, created).

export const WEBHOOK_ENTITIES = [
  'registered_model',
  'model_version',
  'model_version_tag',
  'model_version_alias',
  'prompt',
  'prompt_version',
  'prompt_tag',
  'prompt_version_tag',
  'prompt_alias',
] as const;
export type WebhookEntity = (typeof WEBHOOK_ENTITIES)[number];

export const WEBHOOK_ACTIONS = ['created', 'updated', 'deleted', 'set'] as const;
export type WebhookAction = (typeof WEBHOOK_ACTIONS)[number];

export const WEBHOOK_STATUSES = ['ACTIVE', 'DISABLED'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

/** The actions MLflow allows per entity; other pairs are refused when a webhook subscribes to them. */
const VALID_ACTIONS: Record<WebhookEntity, readonly WebhookAction[]> = {
  registered_model: ['created'],
  model_version: ['created'],
  model_version_tag: ['set', 'deleted'],
  model_version_alias: ['created', 'deleted'],
  prompt: ['created'],
  prompt_version: ['created'],
  prompt_tag: ['set', 'deleted'],
  prompt_version_tag: ['set', 'deleted'],
  prompt_alias: ['created', 'deleted'],
};

export interface WebhookEvent {
  entity: WebhookEntity;
  action: WebhookAction;
}

/** A webhook as the store keeps it; `secret` never leaves the server. */
export interface Webhook {
  webhook_id: string;
  name: string;
  description?: string;
  url: string;
  events: WebhookEvent[];
  status: WebhookStatus;
  secret?: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
}

/** "model_version_tag.set": the event's name in MLflow's Python API and in our logs. */
export function eventName(event: WebhookEvent): string {
  return `${event.entity}.${event.action}`;
}

/** Checks an entity/action pair with MLflow's rule and message. */
export function webhookEvent(entity: WebhookEntity, action: WebhookAction): WebhookEvent {
  const valid = VALID_ACTIONS[entity];
  if (!valid.includes(action)) {
    const listed = [...valid]
      .sort()
      .map((a) => `'${a}'`)
      .join(', ');
    throw MlflowError.invalidParameter(
      `Invalid action '${action}' for entity '${entity}'. Valid actions are: [${listed}]`,
    );
  }
  return { entity, action };
}

/** The webhook as the REST API shows it: enum names, no secret, no empty description. */
export function webhookToWire(webhook: Webhook): Record<string, unknown> {
  return {
    webhook_id: webhook.webhook_id,
    name: webhook.name,
    ...(webhook.description ? { description: webhook.description } : {}),
    url: webhook.url,
    events: webhook.events.map((e) => ({ entity: e.entity.toUpperCase(), action: e.action.toUpperCase() })),
    status: webhook.status,
    creation_timestamp: webhook.creation_timestamp,
    last_updated_timestamp: webhook.last_updated_timestamp,
  };
}

export interface WebhookTestResult {
  success: boolean;
  response_status?: number;
  response_body?: string;
  error_message?: string;
}
