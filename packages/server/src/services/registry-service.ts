import { MlflowError } from '../entities/errors.js';
import {
  ACTIVE_STAGES,
  MODEL_VERSION_STAGES,
  type ModelVersion,
  type ModelVersionStage,
  type RegisteredModel,
  type RegistryTag,
} from '../entities/registry.js';
import type { RegistryEventSink } from '../entities/webhook-payloads.js';
import {
  checkModelVersionSearch,
  checkRegisteredModelSearch,
  IS_PROMPT_TAG,
} from '../search/search-rules.js';
import type { RegistryStore } from '../store/registry-store.js';
import { currentReadAccess } from './access-scope.js';
import { isModelsUri, type ModelUri, parseModelUri } from './model-uri.js';
import { checkModelVersionSource } from './model-version-source.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { exceedsMaximumLength, validateName } from './validation.js';

// The Model Registry's rules (MLflow's registry handlers and SQL store): names, version numbers,
// stages, aliases, tag limits, version sources, search limits and models:/ URIs. The store persists;
// this layer decides what is allowed, with MLflow's messages.

export const REGISTRY_LIMITS = {
  tagKeyLength: 250,
  tagValueLength: 100_000,
  aliasLength: 255,
  // The widths of MLflow's columns: longer values would fail inside PostgreSQL.
  nameLength: 256,
  descriptionLength: 5000,
  sourceLength: 500,
  runLinkLength: 500,
  runIdLength: 32,
  searchModelsDefault: 100,
  searchModelsMax: 1000,
  /** MLflow's proto default for a REST request is its maximum. */
  searchVersionsDefault: 200_000,
  searchVersionsMax: 200_000,
} as const;

const ALIAS_PATTERN = /^[\p{L}\p{N}_-]*$/u;
const VERSION_ALIAS_PATTERN = /^[vV]\d+$/;
const DOCS_HINT = ' See the API docs for more information about request parameters.';

export interface PagedResult<T> {
  items: T[];
  nextPageToken?: string;
}

/** MLflow's int(version): surrounding spaces and a sign are allowed. */
export function parseVersion(version: string): number {
  if (!/^\s*[-+]?\d+\s*$/.test(version)) {
    throw MlflowError.invalidParameter(`Parameter 'version' must be an integer, got '${version}'.`);
  }
  const n = Number(version);
  // The version column is a 32-bit integer: a larger number names no version, and PostgreSQL would
  // refuse it in a query as a 500.
  if (n < -MAX_VERSION - 1 || n > MAX_VERSION) {
    throw MlflowError.invalidParameter(
      `Parameter 'version' must be an integer from ${-MAX_VERSION - 1} to ${MAX_VERSION}, got '${version}'.`,
    );
  }
  return n;
}

const MAX_VERSION = 2 ** 31 - 1;

/** The stage as MLflow spells it; input is matched without regard to case. */
export function canonicalStage(stage: string): ModelVersionStage {
  const found = MODEL_VERSION_STAGES.find((s) => s.toLowerCase() === stage.toLowerCase());
  if (!found) {
    throw MlflowError.invalidParameter(
      `Invalid Model Version stage: ${stage}. Value must be one of ${MODEL_VERSION_STAGES.join(', ')}.`,
    );
  }
  return found;
}

function checkLength(field: string, value: string | undefined, limit: number): void {
  if (value !== undefined && value.length > limit) throw exceedsMaximumLength(field, limit);
}

function validateModelName(name: string): void {
  checkLength('name', name, REGISTRY_LIMITS.nameLength);
}

function validateTag(tag: RegistryTag): void {
  validateName(tag.key, 'key');
  if (tag.key.length > REGISTRY_LIMITS.tagKeyLength)
    throw exceedsMaximumLength('key', REGISTRY_LIMITS.tagKeyLength);
  if (tag.value.length > REGISTRY_LIMITS.tagValueLength) {
    throw exceedsMaximumLength('value', REGISTRY_LIMITS.tagValueLength);
  }
}

/** A model version's tag; MLflow words an over-long prompt template apart from other tag values. */
function validateVersionTag(tag: RegistryTag): void {
  if (tag.key === PROMPT_TEXT_TAG && tag.value.length > REGISTRY_LIMITS.tagValueLength) {
    throw MlflowError.invalidParameter(
      `Prompt text exceeds max length of ${REGISTRY_LIMITS.tagValueLength} characters.`,
    );
  }
  validateTag(tag);
}

export function validateAliasName(alias: string): void {
  if (alias === '') throw MlflowError.invalidParameter('Registered model alias name cannot be empty.');
  if (!ALIAS_PATTERN.test(alias)) {
    throw MlflowError.invalidParameter(
      `Invalid alias name: '${alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`,
    );
  }
  if (alias.length > REGISTRY_LIMITS.aliasLength) {
    throw exceedsMaximumLength('Registered model alias name', REGISTRY_LIMITS.aliasLength);
  }
}

/** Names an alias cannot take because models:/ URIs already give them a meaning. */
function validateAliasNotReserved(alias: string): void {
  if (alias.toLowerCase() === 'latest') {
    throw MlflowError.invalidParameter("'latest' alias name (case insensitive) is reserved.");
  }
  if (VERSION_ALIAS_PATTERN.test(alias)) {
    throw MlflowError.invalidParameter(`Version alias name '${alias}' is reserved.`);
  }
}

function checkMaxResults(maxResults: number, limit: number): void {
  if (maxResults > limit) {
    throw MlflowError.invalidParameter(
      `Invalid value ${maxResults} for parameter 'max_results' supplied. Hint: Value was of type 'int'.${DOCS_HINT}`,
    );
  }
  // MLflow answers 0 or less with an empty page (models) or this message (versions); both get it here.
  if (maxResults < 1) {
    throw MlflowError.invalidParameter(
      `Invalid value for max_results. It must be a positive integer, but got ${maxResults}`,
    );
  }
}

export interface CreateModelVersionRequest {
  name: string;
  source: string;
  runId?: string;
  runLink?: string;
  description?: string;
  tags: RegistryTag[];
  /** MLflow 3: the logged model the version is made from. */
  modelId?: string;
}

/** What the registry needs to know of an MLflow 3 logged model. */
export interface LoggedModelLocation {
  artifactLocation: string;
  sourceRunId?: string;
}

export interface RegistryServiceOptions {
  /** The artifact URI of a run (tracking service), for checking local sources; throws if unknown. */
  runArtifactUri(runId: string): Promise<string>;
  /**
   * Looks up an MLflow 3 logged model (throws MLflow's not-found error for an unknown id). Without it
   * (a registry without logged models), models:/<model_id> sources are refused and model_id is not used.
   */
  loggedModel?(modelId: string): Promise<LoggedModelLocation>;
  /**
   * Records on a logged model that a version was made from it (MLflow's mlflow.modelVersions tag);
   * called after the version is created from a request with a model_id.
   */
  recordModelVersion?(modelId: string, name: string, version: number): Promise<void>;
  /** Told of each change that MLflow announces to webhooks (creations, version tags, aliases). */
  events?: RegistryEventSink;
}

const PROMPT_TEXT_TAG = 'mlflow.prompt.text';
const PROMPT_TYPE_TAG = '_mlflow_prompt_type';

/** Tags as the webhook payloads carry them, without `omit`. */
function tagObject(tags: RegistryTag[], ...omit: string[]): Record<string, string> {
  return Object.fromEntries(tags.filter((t) => !omit.includes(t.key)).map((t) => [t.key, t.value]));
}

/** MLflow's test for a request that creates a prompt (or a prompt version): the prompt tag is there. */
const isPromptRequest = (tags: RegistryTag[]) => tags.some((t) => t.key === IS_PROMPT_TAG);

/** The Model Registry: registered models, their versions, stages, tags and aliases. */
export class RegistryService {
  constructor(
    private readonly store: RegistryStore,
    private readonly options: RegistryServiceOptions,
  ) {}

  // ---------------------------------------------------------------- registered models

  async createRegisteredModel(
    name: string,
    tags: RegistryTag[],
    description?: string,
  ): Promise<RegisteredModel> {
    validateModelName(name);
    checkLength('description', description, REGISTRY_LIMITS.descriptionLength);
    for (const tag of tags) validateTag(tag);
    const model = await this.store.createRegisteredModel(name, tags, description);
    if (isPromptRequest(tags)) {
      this.options.events?.publish('prompt.created', {
        name,
        tags: tagObject(tags, IS_PROMPT_TAG, PROMPT_TYPE_TAG),
        description: description ?? '',
      });
    } else {
      this.options.events?.publish('registered_model.created', {
        name,
        tags: tagObject(tags),
        description: description ?? '',
      });
    }
    return model;
  }

  /** MLflow's test for an existing model: its prompt tag says "true". */
  private async isPrompt(name: string): Promise<boolean> {
    const model = await this.store.getRegisteredModel(name);
    return (model.tags ?? []).some((t) => t.key === IS_PROMPT_TAG && t.value.toLowerCase() === 'true');
  }

  getRegisteredModel(name: string): Promise<RegisteredModel> {
    return this.store.getRegisteredModel(name);
  }

  updateRegisteredModel(name: string, description: string | undefined): Promise<RegisteredModel> {
    checkLength('description', description, REGISTRY_LIMITS.descriptionLength);
    return this.store.updateRegisteredModel(name, description);
  }

  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    checkLength('new_name', newName, REGISTRY_LIMITS.nameLength);
    return this.store.renameRegisteredModel(name, newName);
  }

  deleteRegisteredModel(name: string): Promise<void> {
    return this.store.deleteRegisteredModel(name);
  }

  async searchRegisteredModels(q: {
    filter?: string;
    orderBy: string[];
    maxResults?: number;
    pageToken?: string;
  }): Promise<PagedResult<RegisteredModel>> {
    const maxResults = q.maxResults ?? REGISTRY_LIMITS.searchModelsDefault;
    checkMaxResults(maxResults, REGISTRY_LIMITS.searchModelsMax);
    const checked = checkRegisteredModelSearch(q.filter, q.orderBy);
    const page = await this.store.searchRegisteredModels({
      ...checked,
      access: currentReadAccess()?.registeredModels,
      maxResults,
      start: decodePageToken(q.pageToken),
    });
    return { items: page.items, nextPageToken: page.next && encodePageToken(page.next) };
  }

  getLatestVersions(name: string, stages: string[]): Promise<ModelVersion[]> {
    return this.store.getLatestVersions(name, stages.map(canonicalStage));
  }

  async setRegisteredModelTag(name: string, tag: RegistryTag): Promise<void> {
    validateTag(tag);
    await this.store.setRegisteredModelTag(name, tag);
    // Only prompts have a tag event; a registered model's tags have none in MLflow.
    if (this.options.events && (await this.isPrompt(name))) {
      this.options.events.publish('prompt_tag.set', { name, key: tag.key, value: tag.value });
    }
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    validateName(key, 'key');
    await this.store.deleteRegisteredModelTag(name, key);
    if (this.options.events && (await this.isPrompt(name))) {
      this.options.events.publish('prompt_tag.deleted', { name, key });
    }
  }

  // ---------------------------------------------------------------- model versions

  async createModelVersion(request: CreateModelVersionRequest): Promise<ModelVersion> {
    checkLength('source', request.source, REGISTRY_LIMITS.sourceLength);
    checkLength('run_id', request.runId, REGISTRY_LIMITS.runIdLength);
    checkLength('run_link', request.runLink, REGISTRY_LIMITS.runLinkLength);
    checkLength('description', request.description, REGISTRY_LIMITS.descriptionLength);
    for (const tag of request.tags) validateVersionTag(tag);
    const loggedModel = this.options.loggedModel;
    const modelId = loggedModel ? request.modelId || undefined : undefined;
    // Prompt versions (MLflow's prompt registry) carry text, not files; MLflow skips the source check.
    if (!request.tags.some((t) => t.key === IS_PROMPT_TAG)) {
      await checkModelVersionSource(
        request.source,
        modelId && loggedModel
          ? {
              field: 'model_id',
              id: modelId,
              artifactUri: async (id) => (await loggedModel(id)).artifactLocation,
            }
          : { field: 'run_id', id: request.runId, artifactUri: this.options.runArtifactUri },
      );
    }
    const storageLocation = isModelsUri(request.source)
      ? await this.storageLocationOfSource(request.source)
      : request.source;
    // Looked up before the version is made, so an unknown model fails the request with nothing written.
    const owner = modelId && loggedModel ? await loggedModel(modelId) : undefined;
    // A version of a logged model belongs to the run that logged it, unless the caller said otherwise.
    const runId = request.runId || owner?.sourceRunId || request.runId;
    const version = await this.store.createModelVersion({ ...request, runId, storageLocation });
    if (modelId && !isPromptRequest(request.tags)) {
      await this.options.recordModelVersion?.(modelId, version.name, Number(version.version));
    }
    this.announceVersion(request, version.version);
    return version;
  }

  private announceVersion(request: CreateModelVersionRequest, version: string): void {
    const events = this.options.events;
    if (!events) return;
    if (isPromptRequest(request.tags)) {
      events.publish('prompt_version.created', {
        name: request.name,
        version,
        template: request.tags.find((t) => t.key === PROMPT_TEXT_TAG)?.value ?? null,
        tags: tagObject(request.tags, PROMPT_TEXT_TAG, IS_PROMPT_TAG, PROMPT_TYPE_TAG),
        description: request.description || null,
      });
    } else {
      events.publish('model_version.created', {
        name: request.name,
        version,
        source: request.source,
        run_id: request.runId || null,
        tags: tagObject(request.tags),
        description: request.description || null,
      });
    }
  }

  /** A version made from another (source models:/...) shares that version's files. */
  private async storageLocationOfSource(source: string): Promise<string> {
    try {
      return await this.resolveModelUri(source);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw MlflowError.invalidParameter(
        `Unable to fetch model from model URI source artifact location '${source}'.Error: ${reason}`,
      );
    }
  }

  getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return this.store.getModelVersion(name, parseVersion(version));
  }

  updateModelVersion(name: string, version: string, description: string | undefined): Promise<ModelVersion> {
    checkLength('description', description, REGISTRY_LIMITS.descriptionLength);
    return this.store.updateModelVersion(name, parseVersion(version), description);
  }

  transitionModelVersionStage(
    name: string,
    version: string,
    stage: string,
    archiveExistingVersions: boolean,
  ): Promise<ModelVersion> {
    const canonical = canonicalStage(stage);
    if (archiveExistingVersions && !ACTIVE_STAGES.includes(canonical)) {
      throw MlflowError.invalidParameter(
        `Model version transition cannot archive existing model versions because '${stage}' is not an Active stage. Valid stages are ['Staging', 'Production']`,
      );
    }
    return this.store.transitionModelVersionStage(
      name,
      parseVersion(version),
      canonical,
      archiveExistingVersions,
    );
  }

  deleteModelVersion(name: string, version: string): Promise<void> {
    return this.store.deleteModelVersion(name, parseVersion(version));
  }

  getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    return this.store.getModelVersionDownloadUri(name, parseVersion(version));
  }

  async searchModelVersions(q: {
    filter?: string;
    orderBy: string[];
    maxResults?: number;
    pageToken?: string;
  }): Promise<PagedResult<ModelVersion>> {
    const maxResults = q.maxResults ?? REGISTRY_LIMITS.searchVersionsDefault;
    checkMaxResults(maxResults, REGISTRY_LIMITS.searchVersionsMax);
    const checked = checkModelVersionSearch(q.filter, q.orderBy);
    const page = await this.store.searchModelVersions({
      filter: checked.filter,
      access: currentReadAccess()?.registeredModels,
      // MLflow's default order: most recently changed first.
      orderBy: checked.orderBy.length
        ? checked.orderBy
        : [
            { entity: 'attribute', key: 'last_updated_timestamp', ascending: false },
            { entity: 'attribute', key: 'name', ascending: true },
            { entity: 'attribute', key: 'version_number', ascending: false },
          ],
      maxResults,
      start: decodePageToken(q.pageToken),
    });
    return { items: page.items, nextPageToken: page.next && encodePageToken(page.next) };
  }

  async setModelVersionTag(name: string, version: string, tag: RegistryTag): Promise<void> {
    const number = parseVersion(version);
    validateVersionTag(tag);
    await this.store.setModelVersionTag(name, number, tag);
    if (this.options.events) {
      const event = (await this.isPrompt(name)) ? 'prompt_version_tag.set' : 'model_version_tag.set';
      this.options.events.publish(event, { name, version, key: tag.key, value: tag.value });
    }
  }

  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    const number = parseVersion(version);
    validateName(key, 'key');
    await this.store.deleteModelVersionTag(name, number, key);
    if (this.options.events) {
      const event = (await this.isPrompt(name)) ? 'prompt_version_tag.deleted' : 'model_version_tag.deleted';
      this.options.events.publish(event, { name, version, key });
    }
  }

  // ---------------------------------------------------------------- aliases

  async setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    validateAliasName(alias);
    validateAliasNotReserved(alias);
    await this.store.setRegisteredModelAlias(name, alias, parseVersion(version));
    if (this.options.events) {
      const event = (await this.isPrompt(name)) ? 'prompt_alias.created' : 'model_version_alias.created';
      this.options.events.publish(event, { name, alias, version });
    }
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    validateAliasName(alias);
    await this.store.deleteRegisteredModelAlias(name, alias);
    if (this.options.events) {
      const event = (await this.isPrompt(name)) ? 'prompt_alias.deleted' : 'model_version_alias.deleted';
      this.options.events.publish(event, { name, alias });
    }
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    validateAliasName(alias);
    if (alias.toLowerCase() === 'latest') {
      const latest = await this.store.latestVersionNumber(name);
      if (latest === undefined) throw MlflowError.notFound(`Latest version not found for model ${name}.`);
      return this.store.getModelVersion(name, latest);
    }
    return this.store.getModelVersionByAlias(name, alias);
  }

  // ---------------------------------------------------------------- models:/ URIs

  /** The registered model and version a models:/ URI names. */
  async resolveModelVersion(uri: ModelUri | string): Promise<{ name: string; version: number }> {
    const parsed = typeof uri === 'string' ? parseModelUri(uri) : uri;
    switch (parsed.kind) {
      case 'version':
        return { name: parsed.name, version: parsed.version };
      case 'alias': {
        const mv = await this.getModelVersionByAlias(parsed.name, parsed.alias);
        return { name: parsed.name, version: Number(mv.version) };
      }
      case 'latest':
      case 'stage': {
        const stage = parsed.kind === 'stage' ? canonicalStage(parsed.stage) : undefined;
        const latest = await this.store.latestVersionNumber(parsed.name, stage);
        if (latest === undefined) {
          throw MlflowError.notFound(
            `No versions of model with name '${parsed.name}'${parsed.kind === 'stage' ? ` and stage '${parsed.stage}'` : ''} found`,
          );
        }
        return { name: parsed.name, version: latest };
      }
      case 'logged-model':
        throw MlflowError.invalidParameter(
          `models:/${parsed.modelId} names a logged model, not a registered model version.`,
        );
    }
  }

  /**
   * Where the files a models:/ URI names are stored: a registered version's download URI, or a logged
   * model's artifact location.
   */
  async resolveModelUri(uri: string): Promise<string> {
    const parsed = parseModelUri(uri);
    if (parsed.kind === 'logged-model') {
      if (!this.options.loggedModel) {
        throw MlflowError.invalidParameter(
          `models:/${parsed.modelId} names a logged model; this server does not keep logged models yet.`,
        );
      }
      return (await this.options.loggedModel(parsed.modelId)).artifactLocation;
    }
    const { name, version } = await this.resolveModelVersion(parsed);
    return this.store.getModelVersionDownloadUri(name, version);
  }
}
