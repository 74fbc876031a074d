// Registered scorers: an experiment's scorers at their newest versions, one scorer's versions, one
// version (reads); registering a new version and deleting versions (writes). Every call first checks
// that the experiment exists and is active, as MLflow's store does.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { MlflowError } from '../entities/errors.js';
import { experimentIdOrNone } from '../entities/experiment-id.js';
import type { ScorerVersion } from '../entities/scorer.js';
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import type { Database } from './schema.js';
import { type Reader, requireActiveExperiment } from './tracking-rows.js';

interface VersionRow {
  experiment_id: number | string;
  scorer_name: string;
  scorer_id: string;
  scorer_version: number;
  serialized_scorer: string;
  creation_time: number | null;
}

function scorerVersion(r: VersionRow): ScorerVersion {
  return {
    experimentId: String(r.experiment_id),
    scorerName: r.scorer_name,
    scorerVersion: Number(r.scorer_version),
    serializedScorer: r.serialized_scorer,
    creationTime: Number(r.creation_time ?? 0),
    scorerId: r.scorer_id,
  };
}

export function scorerNotFound(experimentId: string, name: string, version?: number): MlflowError {
  return MlflowError.notFound(
    version === undefined
      ? `Scorer with name '${name}' not found for experiment ${experimentId}.`
      : `Scorer with name '${name}' and version ${version} not found for experiment ${experimentId}.`,
  );
}

/** The versions of an experiment's scorers joined with their scorer, to be narrowed by the caller. */
function versionsOf(db: Reader, experimentId: string) {
  return db
    .selectFrom('scorer_versions as v')
    .innerJoin('scorers as s', 's.scorer_id', 'v.scorer_id')
    .select([
      's.experiment_id',
      's.scorer_name',
      's.scorer_id',
      'v.scorer_version',
      'v.serialized_scorer',
      'v.creation_time',
    ])
    .where('s.experiment_id', '=', experimentIdOrNone(experimentId));
}

async function scorerIdOf(db: Reader, experimentId: string, name: string): Promise<string> {
  const row = await db
    .selectFrom('scorers')
    .select('scorer_id')
    .where('experiment_id', '=', experimentIdOrNone(experimentId))
    .where('scorer_name', '=', name)
    .executeTakeFirst();
  if (!row) throw scorerNotFound(experimentId, name);
  return row.scorer_id;
}

export class ScorerReads {
  private readonly db: Kysely<Database>;

  constructor(database: ReadOnlyDatabase) {
    this.db = database.reader;
  }

  /** The newest version of each of the experiment's scorers, by name. */
  async listScorers(experimentId: string): Promise<ScorerVersion[]> {
    await requireActiveExperiment(this.db, experimentId);
    const rows = await versionsOf(this.db, experimentId)
      .where(({ eb, selectFrom }) =>
        eb(
          'v.scorer_version',
          '=',
          selectFrom('scorer_versions as n')
            .select(({ fn }) => fn.max('n.scorer_version').as('newest'))
            .whereRef('n.scorer_id', '=', 'v.scorer_id'),
        ),
      )
      .orderBy('s.scorer_name')
      .execute();
    return rows.map(scorerVersion);
  }

  /** Every version of one scorer, oldest first. */
  async listScorerVersions(experimentId: string, name: string): Promise<ScorerVersion[]> {
    await requireActiveExperiment(this.db, experimentId);
    await scorerIdOf(this.db, experimentId, name);
    const rows = await versionsOf(this.db, experimentId)
      .where('s.scorer_name', '=', name)
      .orderBy('v.scorer_version')
      .execute();
    if (rows.length === 0) throw scorerNotFound(experimentId, name);
    return rows.map(scorerVersion);
  }

  /** One version of a scorer, or its newest without `version`. */
  async getScorer(experimentId: string, name: string, version?: number): Promise<ScorerVersion> {
    await requireActiveExperiment(this.db, experimentId);
    await scorerIdOf(this.db, experimentId, name);
    let query = versionsOf(this.db, experimentId).where('s.scorer_name', '=', name);
    query =
      version === undefined
        ? query.orderBy('v.scorer_version', 'desc').limit(1)
        : query.where('v.scorer_version', '=', version);
    const row = await query.executeTakeFirst();
    if (!row) throw scorerNotFound(experimentId, name, version);
    return scorerVersion(row);
  }
}

export class ScorerWrites {
  constructor(private readonly database: WriteOnlyDatabase) {}

  /** A new version of the scorer `name` (version 1 of a new scorer), stamped `creationTime`. */
  registerScorer(
    experimentId: string,
    name: string,
    serializedScorer: string,
    creationTime: number,
  ): Promise<ScorerVersion> {
    return this.database.writer.run(async (trx) => {
      const experiment = await requireActiveExperiment(trx, experimentId);
      await trx
        .insertInto('scorers')
        .values({ experiment_id: experiment.experiment_id, scorer_name: name, scorer_id: randomUUID() })
        .onConflict((oc) => oc.columns(['experiment_id', 'scorer_name']).doNothing())
        .execute();
      // On PostgreSQL the scorer's row is locked, so two registrations of one name number in turn.
      let query = trx
        .selectFrom('scorers')
        .select('scorer_id')
        .where('experiment_id', '=', experiment.experiment_id)
        .where('scorer_name', '=', name);
      if (this.database.dialect === 'postgres') query = query.forUpdate();
      const { scorer_id } = await query.executeTakeFirstOrThrow();
      const newest = await trx
        .selectFrom('scorer_versions')
        .select(({ fn }) => fn.max('scorer_version').as('newest'))
        .where('scorer_id', '=', scorer_id)
        .executeTakeFirst();
      const version = Number(newest?.newest ?? 0) + 1;
      await trx
        .insertInto('scorer_versions')
        .values({
          scorer_id,
          scorer_version: version,
          serialized_scorer: serializedScorer,
          creation_time: creationTime,
        })
        .execute();
      return {
        experimentId: String(experiment.experiment_id),
        scorerName: name,
        scorerVersion: version,
        serializedScorer,
        creationTime,
        scorerId: scorer_id,
      };
    });
  }

  /** Deletes one version of a scorer, or (without `version`) every version and the scorer itself. */
  deleteScorer(experimentId: string, name: string, version?: number): Promise<void> {
    return this.database.writer.run(async (trx) => {
      await requireActiveExperiment(trx, experimentId);
      const scorerId = await scorerIdOf(trx, experimentId, name);
      let del = trx.deleteFrom('scorer_versions').where('scorer_id', '=', scorerId);
      if (version !== undefined) del = del.where('scorer_version', '=', version);
      const { numDeletedRows } = await del.executeTakeFirst();
      if (numDeletedRows === 0n) throw scorerNotFound(experimentId, name, version);
      // MLflow keeps the scorer's row when its versions are deleted one by one; so do we.
      if (version === undefined) await trx.deleteFrom('scorers').where('scorer_id', '=', scorerId).execute();
    });
  }
}
