// The tables of MLflow 3's tracing (traces, their tags and metadata, spans, assessments, and the trace
// links to runs), with MLflow's own table and column names; one migration, touching only these tables.
import type { Kysely, Migration } from 'kysely';

export const traceTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('trace_info')
      .addColumn('request_id', 'varchar(50)', (c) => c.primaryKey())
      .addColumn('experiment_id', 'bigint', (c) => c.notNull().references('experiments.experiment_id'))
      .addColumn('timestamp_ms', 'bigint', (c) => c.notNull())
      .addColumn('execution_time_ms', 'bigint')
      .addColumn('status', 'varchar(50)', (c) => c.notNull())
      .addColumn('client_request_id', 'varchar(50)')
      .addColumn('request_preview', 'varchar(1000)')
      .addColumn('response_preview', 'varchar(1000)')
      .execute();
    // Searches walk one experiment's traces newest first; time-based deletion walks them oldest first.
    await db.schema
      .createIndex('trace_info_experiment_time_idx')
      .on('trace_info')
      .columns(['experiment_id', 'timestamp_ms', 'request_id'])
      .execute();
    for (const table of ['trace_tags', 'trace_request_metadata'] as const) {
      await db.schema
        .createTable(table)
        .addColumn('key', 'varchar(250)', (c) => c.notNull())
        .addColumn('value', 'text')
        .addColumn('request_id', 'varchar(50)', (c) =>
          c.notNull().references('trace_info.request_id').onDelete('cascade'),
        )
        .addPrimaryKeyConstraint(`${table}_pk`, ['request_id', 'key'])
        .execute();
      // Filters on a tag or metadata key probe by key and value.
      await db.schema
        .createIndex(`${table}_key_value_idx`)
        .on(table)
        .columns(['key', 'request_id'])
        .execute();
    }
    await db.schema
      .createTable('spans')
      .addColumn('trace_id', 'varchar(50)', (c) =>
        c.notNull().references('trace_info.request_id').onDelete('cascade'),
      )
      .addColumn('experiment_id', 'bigint', (c) => c.notNull())
      .addColumn('span_id', 'varchar(50)', (c) => c.notNull())
      .addColumn('parent_span_id', 'varchar(50)')
      .addColumn('name', 'text')
      .addColumn('type', 'varchar(500)')
      .addColumn('status', 'varchar(50)', (c) => c.notNull())
      .addColumn('start_time_unix_nano', 'bigint', (c) => c.notNull())
      .addColumn('end_time_unix_nano', 'bigint')
      .addColumn('content', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('spans_pk', ['trace_id', 'span_id'])
      .execute();
    for (const [index, columns] of [
      ['spans_trace_start_idx', ['trace_id', 'start_time_unix_nano', 'span_id']],
      ['spans_trace_parent_idx', ['trace_id', 'parent_span_id']],
      ['spans_experiment_name_idx', ['experiment_id', 'name']],
      ['spans_experiment_type_status_idx', ['experiment_id', 'type', 'status']],
      ['spans_experiment_start_idx', ['experiment_id', 'start_time_unix_nano']],
    ] as const) {
      await db.schema
        .createIndex(index)
        .on('spans')
        .columns([...columns])
        .execute();
    }
    await db.schema
      .createTable('assessments')
      .addColumn('assessment_id', 'varchar(50)', (c) => c.primaryKey())
      .addColumn('trace_id', 'varchar(50)', (c) =>
        c.notNull().references('trace_info.request_id').onDelete('cascade'),
      )
      .addColumn('name', 'varchar(250)', (c) => c.notNull())
      .addColumn('assessment_type', 'varchar(20)', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('created_timestamp', 'bigint', (c) => c.notNull())
      .addColumn('last_updated_timestamp', 'bigint', (c) => c.notNull())
      .addColumn('source_type', 'varchar(50)', (c) => c.notNull())
      .addColumn('source_id', 'varchar(250)')
      .addColumn('run_id', 'varchar(32)')
      .addColumn('span_id', 'varchar(50)')
      .addColumn('rationale', 'text')
      .addColumn('overrides', 'varchar(50)')
      .addColumn('valid', 'boolean', (c) => c.notNull())
      .addColumn('assessment_metadata', 'text')
      .execute();
    await db.schema
      .createIndex('assessments_trace_created_idx')
      .on('assessments')
      .columns(['trace_id', 'created_timestamp'])
      .execute();
    // LinkTracesToRun: (trace, run) pairs, found from either side.
    await db.schema
      .createTable('entity_associations')
      .addColumn('association_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('source_type', 'varchar(36)', (c) => c.notNull())
      .addColumn('source_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('destination_type', 'varchar(36)', (c) => c.notNull())
      .addColumn('destination_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('created_time', 'bigint')
      .addPrimaryKeyConstraint('entity_associations_pk', [
        'source_type',
        'source_id',
        'destination_type',
        'destination_id',
      ])
      .execute();
    await db.schema
      .createIndex('entity_associations_reverse_idx')
      .on('entity_associations')
      .columns(['destination_type', 'destination_id', 'source_type', 'source_id'])
      .execute();
  },
};
