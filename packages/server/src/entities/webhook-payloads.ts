import type { WebhookEvent } from './webhooks.js';

// The `data` of each event MLflow delivers, with the sample that a webhook test sends.

export interface RegisteredModelCreated {
  name: string;
  tags: Record<string, string>;
  description: string | null;
}
export interface ModelVersionCreated {
  name: string;
  version: string;
  source: string;
  run_id: string | null;
  tags: Record<string, string>;
  description: string | null;
}
export interface VersionTagSet {
  name: string;
  version: string;
  key: string;
  value: string;
}
export interface VersionTagDeleted {
  name: string;
  version: string;
  key: string;
}
export interface AliasCreated {
  name: string;
  alias: string;
  version: string;
}
export interface AliasDeleted {
  name: string;
  alias: string;
}
export interface PromptVersionCreated {
  name: string;
  version: string;
  template: string | null;
  tags: Record<string, string>;
  description: string | null;
}
export interface PromptTagSet {
  name: string;
  key: string;
  value: string;
}
export interface PromptTagDeleted {
  name: string;
  key: string;
}

/** Each event with the type of its data. */
export interface WebhookPayloads {
  'registered_model.created': RegisteredModelCreated;
  'model_version.created': ModelVersionCreated;
  'model_version_tag.set': VersionTagSet;
  'model_version_tag.deleted': VersionTagDeleted;
  'model_version_alias.created': AliasCreated;
  'model_version_alias.deleted': AliasDeleted;
  'prompt.created': RegisteredModelCreated;
  'prompt_version.created': PromptVersionCreated;
  'prompt_tag.set': PromptTagSet;
  'prompt_tag.deleted': PromptTagDeleted;
  'prompt_version_tag.set': VersionTagSet;
  'prompt_version_tag.deleted': VersionTagDeleted;
  'prompt_alias.created': AliasCreated;
  'prompt_alias.deleted': AliasDeleted;
}
export type WebhookEventName = keyof WebhookPayloads;

/** Where the registry announces its changes (the webhook service). Publishing never throws. */
export interface RegistryEventSink {
  publish<E extends WebhookEventName>(name: E, data: WebhookPayloads[E]): void;
}

const tags = { example_key: 'example_value' };

const EXAMPLES: { [E in WebhookEventName]: WebhookPayloads[E] } = {
  'registered_model.created': { name: 'example_model', tags, description: 'An example registered model' },
  'model_version.created': {
    name: 'example_model',
    version: '1',
    source: 'models:/123',
    run_id: 'abcd1234abcd5678',
    tags,
    description: 'An example model version',
  },
  'model_version_tag.set': {
    name: 'example_model',
    version: '1',
    key: 'example_key',
    value: 'example_value',
  },
  'model_version_tag.deleted': { name: 'example_model', version: '1', key: 'example_key' },
  'model_version_alias.created': { name: 'example_model', alias: 'example_alias', version: '1' },
  'model_version_alias.deleted': { name: 'example_model', alias: 'example_alias' },
  'prompt.created': { name: 'example_prompt', tags, description: 'An example prompt' },
  'prompt_version.created': {
    name: 'example_prompt',
    version: '1',
    template: 'Hello {{name}}!',
    tags,
    description: 'An example prompt version',
  },
  'prompt_tag.set': { name: 'example_prompt', key: 'example_key', value: 'example_value' },
  'prompt_tag.deleted': { name: 'example_prompt', key: 'example_key' },
  'prompt_version_tag.set': {
    name: 'example_prompt',
    version: '1',
    key: 'example_key',
    value: 'example_value',
  },
  'prompt_version_tag.deleted': { name: 'example_prompt', version: '1', key: 'example_key' },
  'prompt_alias.created': { name: 'example_prompt', alias: 'example_alias', version: '1' },
  'prompt_alias.deleted': { name: 'example_prompt', alias: 'example_alias' },
};

/** The sample data a webhook test delivers for `event`. */
export function examplePayload(event: WebhookEvent): unknown {
  return EXAMPLES[`${event.entity}.${event.action}` as WebhookEventName];
}
