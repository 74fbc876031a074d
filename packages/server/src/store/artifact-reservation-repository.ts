// The artifact_bytes_per_run quota's shared ledger: uploads in flight reserve room for their bytes in
// the store, so every server process over it (--workers, several servers) sees the others' uploads.
import { sql } from 'kysely';
import { limitExceeded } from '../entities/resource-limits.js';
import type { ReadOnlyDatabase, WriteOnlyDatabase } from './database.js';
import type { WriteTransaction } from './group-commit.js';

/** An arbitrary constant naming the advisory locks (one per run) that serialize reservations. */
const RESERVATION_LOCK = 7_710_302;

/** What an upload asks for, counted by its process just before (see ArtifactReservationLedger.reserve). */
export interface ReservationRequest {
  runId: string;
  reservationId: string;
  /** The bytes the run's folder held when listed. */
  listed: number;
  /** The bytes of the file the upload replaces, among `listed`. */
  replaced: number;
  /** The run's landed counter read before the folder was listed. */
  landedBefore: number;
  /** The upload's size; undefined (unknown) reserves all the room left. */
  declared: number | undefined;
  limit: number;
  expiresAt: number;
  /**
   * When bytes landed during the listing, reserve nothing and answer undefined (the caller lists
   * again) rather than count them: the listing may have seen them already, and counting them twice
   * could refuse an upload that fits.
   */
  relistIfLanded: boolean;
}

/** The room an upload was given: `has` and `base` (without the replaced file) as counted, `allowed` its most. */
export interface Reservation {
  has: number;
  base: number;
  allowed: number;
}

/**
 * Where reservations live. A run's count is its listed folder, plus the unexpired reservations, plus
 * the bytes that landed since the listing began: a stored upload drops its reservation and raises the
 * run's landed counter in one transaction, so a listing that began before the file landed still
 * finds its bytes, in the counter if not in the folder.
 */
export interface ArtifactReservationLedger {
  landedArtifactBytes(runId: string): Promise<number>;
  /**
   * Reserves room, or throws RESOURCE_LIMIT_EXCEEDED; reservations of one run are serialized.
   * Undefined: bytes landed during the listing and the request asked to list again.
   */
  reserveArtifactBytes(request: ReservationRequest): Promise<Reservation | undefined>;
  /** Keeps a reservation alive while its upload streams. */
  renewArtifactReservation(reservationId: string, expiresAt: number): Promise<void>;
  /** Drops a reservation; `landed` bytes (the upload was stored) are added to the run's counter. */
  releaseArtifactReservation(runId: string, reservationId: string, landed: number | undefined): Promise<void>;
}

/** The rule, shared with the in-memory ledger: refuse a known size that does not fit, whole. */
export function decide(request: ReservationRequest, others: number): Reservation {
  const has = request.listed + others;
  const base = has - request.replaced;
  const room = Math.max(0, request.limit - base);
  const { declared } = request;
  if (declared !== undefined && declared > room) {
    throw limitExceeded(
      'artifact_bytes_per_run',
      request.limit,
      `run ${request.runId}`,
      has,
      base + declared,
    );
  }
  return { has, base, allowed: declared ?? room };
}

async function lockRun(trx: WriteTransaction, dialect: WriteOnlyDatabase['dialect'], runId: string) {
  // SQLite: one writing connection per process, and BEGIN IMMEDIATE across processes, serialize already.
  if (dialect === 'postgres')
    await sql`select pg_advisory_xact_lock(${RESERVATION_LOCK}, hashtext(${runId}))`.execute(trx);
}

export class ArtifactReservationReads {
  constructor(private readonly database: ReadOnlyDatabase) {}

  async landedArtifactBytes(runId: string): Promise<number> {
    const row = await this.database.reader
      .selectFrom('artifact_landed_bytes')
      .select('bytes')
      .where('run_uuid', '=', runId)
      .executeTakeFirst();
    return Number(row?.bytes ?? 0);
  }
}

export class ArtifactReservationWrites {
  constructor(private readonly database: WriteOnlyDatabase) {}

  reserveArtifactBytes(request: ReservationRequest): Promise<Reservation | undefined> {
    return this.database.writer.run(async (trx) => {
      await lockRun(trx, this.database.dialect, request.runId);
      const now = Date.now();
      await trx
        .deleteFrom('artifact_reservations')
        .where('run_uuid', '=', request.runId)
        .where('expires_at', '<=', now)
        .execute();
      const pending = await trx
        .selectFrom('artifact_reservations')
        .select((eb) => eb.fn.sum<number | string | null>('bytes').as('n'))
        .where('run_uuid', '=', request.runId)
        .executeTakeFirst();
      const landed = await trx
        .selectFrom('artifact_landed_bytes')
        .select('bytes')
        .where('run_uuid', '=', request.runId)
        .executeTakeFirst();
      const landedSince = Math.max(0, Number(landed?.bytes ?? 0) - request.landedBefore);
      if (landedSince > 0 && request.relistIfLanded) return undefined;
      const granted = decide(request, Number(pending?.n ?? 0) + landedSince);
      await trx
        .insertInto('artifact_reservations')
        .values({
          reservation_id: request.reservationId,
          run_uuid: request.runId,
          bytes: granted.allowed,
          expires_at: request.expiresAt,
        })
        .execute();
      return granted;
    }, request.runId);
  }

  renewArtifactReservation(reservationId: string, expiresAt: number): Promise<void> {
    return this.database.writer.run(async (trx) => {
      await trx
        .updateTable('artifact_reservations')
        .set({ expires_at: expiresAt })
        .where('reservation_id', '=', reservationId)
        .execute();
    });
  }

  releaseArtifactReservation(
    runId: string,
    reservationId: string,
    landed: number | undefined,
  ): Promise<void> {
    return this.database.writer.run(async (trx) => {
      await lockRun(trx, this.database.dialect, runId);
      await trx.deleteFrom('artifact_reservations').where('reservation_id', '=', reservationId).execute();
      if (landed === undefined) return;
      await trx
        .insertInto('artifact_landed_bytes')
        .values({ run_uuid: runId, bytes: landed })
        .onConflict((oc) =>
          oc.column('run_uuid').doUpdateSet({ bytes: sql`artifact_landed_bytes.bytes + ${landed}` }),
        )
        .execute();
    }, runId);
  }
}
