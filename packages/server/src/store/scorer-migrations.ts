// The tables of MLflow 3's registered scorers, with MLflow's own table, column and index names: a
// scorer (an experiment's name for it, with a uuid) and its numbered versions (the serialized scorer).
import type { Kysely, Migration } from 'kysely';

export const scorerTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('scorers')
      .addColumn('experiment_id', 'bigint', (c) =>
        c.notNull().references('experiments.experiment_id').onDelete('cascade'),
      )
      .addColumn('scorer_name', 'varchar(256)', (c) => c.notNull())
      .addColumn('scorer_id', 'varchar(36)', (c) => c.notNull())
      .addPrimaryKeyConstraint('scorer_pk', ['scorer_id'])
      .execute();
    // One scorer of a name per experiment; the index also serves every lookup by (experiment, name).
    await db.schema
      .createIndex('index_scorers_experiment_id_scorer_name')
      .on('scorers')
      .columns(['experiment_id', 'scorer_name'])
      .unique()
      .execute();
    // The primary key leads with scorer_id, so MLflow's separate scorer_id index would add nothing.
    await db.schema
      .createTable('scorer_versions')
      .addColumn('scorer_id', 'varchar(36)', (c) =>
        c.notNull().references('scorers.scorer_id').onDelete('cascade'),
      )
      .addColumn('scorer_version', 'integer', (c) => c.notNull())
      .addColumn('serialized_scorer', 'text', (c) => c.notNull())
      .addColumn('creation_time', 'bigint')
      .addPrimaryKeyConstraint('scorer_version_pk', ['scorer_id', 'scorer_version'])
      .execute();
  },
};
