// The tables of MLflow 3's evaluation datasets, with MLflow's table, column and constraint names
// (evaluation_datasets, evaluation_dataset_tags, evaluation_dataset_records); a dataset's experiment
// links are rows of entity_associations (0008_traces). One migration, touching only these tables.
import type { Kysely, Migration } from 'kysely';

export const evaluationDatasetTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('evaluation_datasets')
      .addColumn('dataset_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('schema', 'text')
      .addColumn('profile', 'text')
      .addColumn('digest', 'varchar(64)')
      .addColumn('created_time', 'bigint')
      .addColumn('last_update_time', 'bigint')
      .addColumn('created_by', 'varchar(255)')
      .addColumn('last_updated_by', 'varchar(255)')
      .addPrimaryKeyConstraint('evaluation_datasets_pk', ['dataset_id'])
      .execute();
    await db.schema
      .createIndex('index_evaluation_datasets_name')
      .on('evaluation_datasets')
      .column('name')
      .execute();
    await db.schema
      .createIndex('index_evaluation_datasets_created_time')
      .on('evaluation_datasets')
      .column('created_time')
      .execute();
    await db.schema
      .createTable('evaluation_dataset_tags')
      .addColumn('dataset_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(5000)')
      .addPrimaryKeyConstraint('evaluation_dataset_tags_pk', ['dataset_id', 'key'])
      .addForeignKeyConstraint(
        'fk_evaluation_dataset_tags_dataset_id',
        ['dataset_id'],
        'evaluation_datasets',
        ['dataset_id'],
        (fk) => fk.onDelete('cascade'),
      )
      .execute();
    await db.schema
      .createTable('evaluation_dataset_records')
      .addColumn('dataset_record_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('dataset_id', 'varchar(36)', (c) => c.notNull())
      // MLflow's columns are JSON; text keeps each payload exactly as written, on both databases.
      .addColumn('inputs', 'text', (c) => c.notNull())
      .addColumn('outputs', 'text')
      .addColumn('expectations', 'text')
      .addColumn('tags', 'text')
      .addColumn('source', 'text')
      .addColumn('source_id', 'varchar(36)')
      .addColumn('source_type', 'varchar(255)')
      .addColumn('created_time', 'bigint')
      .addColumn('last_update_time', 'bigint')
      .addColumn('created_by', 'varchar(255)')
      .addColumn('last_updated_by', 'varchar(255)')
      .addColumn('input_hash', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('evaluation_dataset_records_pk', ['dataset_record_id'])
      .addForeignKeyConstraint(
        'fk_evaluation_dataset_records_dataset_id',
        ['dataset_id'],
        'evaluation_datasets',
        ['dataset_id'],
        (fk) => fk.onDelete('cascade'),
      )
      // Upserts find a record by its inputs' hash; this unique index is also what they probe.
      .addUniqueConstraint('unique_dataset_input', ['dataset_id', 'input_hash'])
      .execute();
    // Record pages walk one dataset's records in creation order.
    await db.schema
      .createIndex('index_evaluation_dataset_records_dataset_id')
      .on('evaluation_dataset_records')
      .columns(['dataset_id', 'created_time', 'dataset_record_id'])
      .execute();
  },
};
