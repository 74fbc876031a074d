import type { Page } from './entities.js';
import { LoggedModelMethods } from './logged-models.js';
import type { ModelVersion, RegisteredModel, RegistryTag } from './wire.js';

export interface SearchRegistryOptions {
  /** MLflow's registry search syntax, e.g. "name LIKE 'fraud%'" or "name = 'm' AND tags.team = 'a'". */
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}

export interface CreateModelVersionOptions {
  runId?: string;
  runLink?: string;
  description?: string;
  tags?: Record<string, string> | RegistryTag[];
  /** The MLflow 3 logged model this version was made from. */
  modelId?: string;
}

function registryTags(tags: Record<string, string> | RegistryTag[] | undefined): RegistryTag[] {
  if (!tags) return [];
  return Array.isArray(tags)
    ? tags
    : Object.entries(tags).map(([key, value]) => ({ key, value: String(value) }));
}

// The server leaves out empty lists; callers always get arrays.
export function normalizeModelVersion(v: ModelVersion): ModelVersion {
  return { ...v, tags: v.tags ?? [], aliases: v.aliases ?? [] };
}

export function normalizeRegisteredModel(m: RegisteredModel): RegisteredModel {
  return {
    ...m,
    latest_versions: (m.latest_versions ?? []).map(normalizeModelVersion),
    tags: m.tags ?? [],
    aliases: m.aliases ?? [],
  };
}

function searchBody(options: SearchRegistryOptions, defaultMax: number): Record<string, unknown> {
  return {
    filter: options.filter,
    order_by: options.orderBy,
    max_results: options.maxResults ?? defaultMax,
    page_token: options.pageToken,
  };
}

/**
 * The model registry's endpoints (registered models, versions, tags, aliases, stages), as methods
 * MlflowClient inherits. Every method throws MlflowError with the server's code and status.
 *
 * A class has one base, so the API groups form a chain: WebhookMethods <- LoggedModelMethods <-
 * RegistryMethods <- ScorerMethods <- TraceMethods <- MlflowClient, each file holding one group's methods.
 */
export abstract class RegistryMethods extends LoggedModelMethods {
  // --- registered models ---

  async createRegisteredModel(
    name: string,
    options: { tags?: Record<string, string> | RegistryTag[]; description?: string } = {},
  ): Promise<RegisteredModel> {
    const r = await this.transport.call<{ registered_model: RegisteredModel }>(
      'POST',
      'registered-models/create',
      { name, tags: registryTags(options.tags), description: options.description },
    );
    return normalizeRegisteredModel(r.registered_model);
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    const r = await this.transport.call<{ registered_model: RegisteredModel }>(
      'GET',
      'registered-models/get',
      { name },
    );
    return normalizeRegisteredModel(r.registered_model);
  }

  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    const r = await this.transport.call<{ registered_model: RegisteredModel }>(
      'POST',
      'registered-models/rename',
      { name, new_name: newName },
    );
    return normalizeRegisteredModel(r.registered_model);
  }

  /** Sets the description; an omitted one clears it, as in MLflow. */
  async updateRegisteredModel(name: string, description?: string): Promise<RegisteredModel> {
    const r = await this.transport.call<{ registered_model: RegisteredModel }>(
      'PATCH',
      'registered-models/update',
      { name, description },
    );
    return normalizeRegisteredModel(r.registered_model);
  }

  /** Deletes the model and all its versions. */
  async deleteRegisteredModel(name: string): Promise<void> {
    await this.transport.call('DELETE', 'registered-models/delete', { name });
  }

  /** One page of registered models (MLflow's default page size 100). */
  async searchRegisteredModels(options: SearchRegistryOptions = {}): Promise<Page<RegisteredModel>> {
    const r = await this.transport.call<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(
      'GET',
      'registered-models/search',
      searchBody(options, 100),
    );
    return {
      items: (r.registered_models ?? []).map(normalizeRegisteredModel),
      nextPageToken: r.next_page_token || undefined,
    };
  }

  /** Every matching registered model, following page tokens. */
  async searchAllRegisteredModels(
    options: Omit<SearchRegistryOptions, 'pageToken'> = {},
  ): Promise<RegisteredModel[]> {
    const all: RegisteredModel[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.searchRegisteredModels({ ...options, pageToken });
      all.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }

  /** The newest version in each of `stages` (every stage when omitted). */
  async getLatestVersions(name: string, stages: string[] = []): Promise<ModelVersion[]> {
    const r = await this.transport.call<{ model_versions?: ModelVersion[] }>(
      'POST',
      'registered-models/get-latest-versions',
      { name, stages },
    );
    return (r.model_versions ?? []).map(normalizeModelVersion);
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.transport.call('POST', 'registered-models/set-tag', { name, key, value });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.transport.call('DELETE', 'registered-models/delete-tag', { name, key });
  }

  /** Points `alias` at `version`, moving it if another version held it. */
  async setRegisteredModelAlias(name: string, alias: string, version: string | number): Promise<void> {
    await this.transport.call('POST', 'registered-models/alias', { name, alias, version: String(version) });
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    await this.transport.call('DELETE', 'registered-models/alias', { name, alias });
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const r = await this.transport.call<{ model_version: ModelVersion }>('GET', 'registered-models/alias', {
      name,
      alias,
    });
    return normalizeModelVersion(r.model_version);
  }

  // --- model versions ---

  /** Registers `source` (an artifact URI, e.g. a run's model directory) as the model's next version. */
  async createModelVersion(
    name: string,
    source: string,
    options: CreateModelVersionOptions = {},
  ): Promise<ModelVersion> {
    const r = await this.transport.call<{ model_version: ModelVersion }>('POST', 'model-versions/create', {
      name,
      source,
      run_id: options.runId,
      run_link: options.runLink,
      description: options.description,
      tags: registryTags(options.tags),
      model_id: options.modelId,
    });
    return normalizeModelVersion(r.model_version);
  }

  async getModelVersion(name: string, version: string | number): Promise<ModelVersion> {
    const r = await this.transport.call<{ model_version: ModelVersion }>('GET', 'model-versions/get', {
      name,
      version: String(version),
    });
    return normalizeModelVersion(r.model_version);
  }

  /** Sets the version's description; an omitted one clears it. */
  async updateModelVersion(
    name: string,
    version: string | number,
    description?: string,
  ): Promise<ModelVersion> {
    const r = await this.transport.call<{ model_version: ModelVersion }>('PATCH', 'model-versions/update', {
      name,
      version: String(version),
      description,
    });
    return normalizeModelVersion(r.model_version);
  }

  async deleteModelVersion(name: string, version: string | number): Promise<void> {
    await this.transport.call('DELETE', 'model-versions/delete', { name, version: String(version) });
  }

  /** One page of model versions (MLflow's default page size 10000). */
  async searchModelVersions(options: SearchRegistryOptions = {}): Promise<Page<ModelVersion>> {
    const r = await this.transport.call<{ model_versions?: ModelVersion[]; next_page_token?: string }>(
      'GET',
      'model-versions/search',
      searchBody(options, 10000),
    );
    return {
      items: (r.model_versions ?? []).map(normalizeModelVersion),
      nextPageToken: r.next_page_token || undefined,
    };
  }

  /**
   * Moves a version to `stage` (None, Staging, Production, Archived); with archiveExistingVersions the
   * other versions in that stage move to Archived.
   */
  async transitionModelVersionStage(
    name: string,
    version: string | number,
    stage: string,
    archiveExistingVersions = false,
  ): Promise<ModelVersion> {
    const r = await this.transport.call<{ model_version: ModelVersion }>(
      'POST',
      'model-versions/transition-stage',
      { name, version: String(version), stage, archive_existing_versions: archiveExistingVersions },
    );
    return normalizeModelVersion(r.model_version);
  }

  async setModelVersionTag(
    name: string,
    version: string | number,
    key: string,
    value: string,
  ): Promise<void> {
    await this.transport.call('POST', 'model-versions/set-tag', {
      name,
      version: String(version),
      key,
      value,
    });
  }

  async deleteModelVersionTag(name: string, version: string | number, key: string): Promise<void> {
    await this.transport.call('DELETE', 'model-versions/delete-tag', { name, version: String(version), key });
  }

  /** Where the version's files are stored (an artifact URI, e.g. mlflow-artifacts:/... or s3://...). */
  async getModelVersionDownloadUri(name: string, version: string | number): Promise<string> {
    const r = await this.transport.call<{ artifact_uri: string }>('GET', 'model-versions/get-download-uri', {
      name,
      version: String(version),
    });
    return r.artifact_uri;
  }
}
