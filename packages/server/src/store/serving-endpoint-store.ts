// The serving endpoint store the services see: one facade over its repository (reads and writes split).
import type { ServingEndpointDefinition } from '../entities/serving-endpoints.js';
import type { StoreDatabase } from './database.js';
import { type Repository, readView, writeView } from './repository.js';
import { ServingEndpointReads, ServingEndpointWrites } from './serving-endpoint-repository.js';

export type NewServingEndpoint = Omit<
  ServingEndpointDefinition,
  'creation_timestamp' | 'last_updated_timestamp'
>;

export interface ServingEndpointStore {
  /** RESOURCE_ALREADY_EXISTS when the name is taken. */
  createEndpoint(input: NewServingEndpoint): Promise<ServingEndpointDefinition>;
  getEndpoint(name: string): Promise<ServingEndpointDefinition>;
  listEndpoints(registeredModelName?: string): Promise<ServingEndpointDefinition[]>;
  deleteEndpoint(name: string): Promise<void>;
}

export type ServingEndpointRepositories = {
  endpoints: Repository<ServingEndpointReads, ServingEndpointWrites>;
};

export function servingEndpointRepositories(database: StoreDatabase): ServingEndpointRepositories {
  return {
    endpoints: {
      reads: new ServingEndpointReads(readView(database)),
      writes: new ServingEndpointWrites(writeView(database)),
    },
  };
}

export class SqlServingEndpointStore implements ServingEndpointStore {
  private readonly reads: ServingEndpointReads;
  private readonly writes: ServingEndpointWrites;

  constructor(
    database: StoreDatabase,
    repositories: ServingEndpointRepositories = servingEndpointRepositories(database),
  ) {
    this.reads = repositories.endpoints.reads;
    this.writes = repositories.endpoints.writes;
  }

  createEndpoint(input: NewServingEndpoint): Promise<ServingEndpointDefinition> {
    return this.writes.createEndpoint(input);
  }
  getEndpoint(name: string): Promise<ServingEndpointDefinition> {
    return this.reads.getEndpoint(name);
  }
  listEndpoints(registeredModelName?: string): Promise<ServingEndpointDefinition[]> {
    return this.reads.listEndpoints(registeredModelName);
  }
  deleteEndpoint(name: string): Promise<void> {
    return this.writes.deleteEndpoint(name);
  }
}
