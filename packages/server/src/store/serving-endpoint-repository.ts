// Serving endpoint definitions: getting and listing them (reads); creating and deleting them (writes).
import type { Selectable } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import type { ServingEndpointDefinition } from '../entities/serving-endpoints.js';
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import type { ServingEndpointsTable } from './schema.js';

function definition(row: Selectable<ServingEndpointsTable>): ServingEndpointDefinition {
  return {
    name: row.name,
    model_uri: row.model_uri,
    registered_model_name: row.registered_model_name,
    workers: Number(row.workers),
    creation_timestamp: Number(row.creation_timestamp),
    last_updated_timestamp: Number(row.last_updated_timestamp),
  };
}

export function endpointNotFound(name: string): MlflowError {
  return MlflowError.notFound(`Serving endpoint '${name}' does not exist.`);
}

export class ServingEndpointReads {
  constructor(private readonly database: ReadOnlyDatabase) {}

  async getEndpoint(name: string): Promise<ServingEndpointDefinition> {
    const row = await this.database.reader
      .selectFrom('serving_endpoints')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw endpointNotFound(name);
    return definition(row);
  }

  /** Every endpoint by name, or those of one registered model. */
  async listEndpoints(registeredModelName?: string): Promise<ServingEndpointDefinition[]> {
    let query = this.database.reader.selectFrom('serving_endpoints').selectAll().orderBy('name');
    if (registeredModelName !== undefined) {
      query = query.where('registered_model_name', '=', registeredModelName);
    }
    return (await query.execute()).map(definition);
  }
}

export class ServingEndpointWrites {
  constructor(private readonly database: WriteOnlyDatabase) {}

  createEndpoint(input: Omit<ServingEndpointDefinition, 'creation_timestamp' | 'last_updated_timestamp'>) {
    const now = Date.now();
    const row = { ...input, creation_timestamp: now, last_updated_timestamp: now };
    return this.database.writer.run(async (trx) => {
      // ON CONFLICT rather than a look first, so two creates racing on PostgreSQL get one winner, not a 500.
      const result = await trx
        .insertInto('serving_endpoints')
        .values(row)
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) {
        throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Serving endpoint '${input.name}' already exists.`);
      }
      return row as ServingEndpointDefinition;
    });
  }

  deleteEndpoint(name: string): Promise<void> {
    return this.database.writer.run(async (trx) => {
      const result = await trx.deleteFrom('serving_endpoints').where('name', '=', name).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw endpointNotFound(name);
    });
  }
}
