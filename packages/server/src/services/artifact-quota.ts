// The artifact_bytes_per_run quota on proxied uploads: the bytes a run already stores (what its
// folder holds) plus the uploads to it in flight, in any server process over the store, may not pass
// the limit.
import { randomUUID } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { ArtifactRepository } from '../artifacts/artifact-repository.js';
import { limitExceeded } from '../entities/resource-limits.js';
import {
  type ArtifactReservationLedger,
  decide,
  type Reservation,
  type ReservationRequest,
} from '../store/artifact-reservation-repository.js';

/** A proxy path's run folder: `<experiment_id>/<run_id>/...`, as MLflow's clients lay runs out. */
const RUN_FOLDER = /^([^/]+)\/([0-9a-f]{32})\/(.+)$/;

/** An upload the quota let through: the most it may write, and what to call when it ends. */
export interface Admission {
  /** Undefined when the path is not in a run's folder (nothing to count). */
  cap?: { runId: string; has: number; base: number; allowed: number };
  /** Ends the reservation; `landed`: the bytes the upload stored (undefined when it stored nothing). */
  release(landed?: number): Promise<void>;
}

/** The sum of the file sizes under `folder`, and the size of the file at `target` when there is one. */
async function storedBytes(
  repo: ArtifactRepository,
  folder: string,
  target: string,
): Promise<{ total: number; replaced: number }> {
  let total = 0;
  let replaced = 0;
  const pending = [folder];
  while (pending.length) {
    const dir = pending.pop() as string;
    for (const f of await repo.list(dir)) {
      if (f.is_dir) pending.push(f.path);
      else {
        const size = f.file_size ?? 0;
        total += size;
        if (f.path === target) replaced = size;
      }
    }
  }
  return { total, replaced };
}

/** Reservations kept in this process, for a server without a store (--artifacts-only). */
export class MemoryReservationLedger implements ArtifactReservationLedger {
  private readonly reservations = new Map<string, { runId: string; bytes: number; expiresAt: number }>();
  private readonly landed = new Map<string, number>();

  async landedArtifactBytes(runId: string): Promise<number> {
    return this.landed.get(runId) ?? 0;
  }

  async reserveArtifactBytes(request: ReservationRequest): Promise<Reservation | undefined> {
    // Nothing awaits between the sum and the insert, so reservations in this process cannot interleave.
    const now = Date.now();
    let pending = 0;
    for (const [id, r] of this.reservations) {
      if (r.expiresAt <= now) this.reservations.delete(id);
      else if (r.runId === request.runId) pending += r.bytes;
    }
    const landedSince = (this.landed.get(request.runId) ?? 0) - request.landedBefore;
    if (landedSince > 0 && request.relistIfLanded) return undefined;
    const granted = decide(request, pending + landedSince);
    this.reservations.set(request.reservationId, {
      runId: request.runId,
      bytes: granted.allowed,
      expiresAt: request.expiresAt,
    });
    return granted;
  }

  async renewArtifactReservation(reservationId: string, expiresAt: number): Promise<void> {
    const r = this.reservations.get(reservationId);
    if (r) r.expiresAt = expiresAt;
  }

  async releaseArtifactReservation(
    runId: string,
    reservationId: string,
    landed: number | undefined,
  ): Promise<void> {
    this.reservations.delete(reservationId);
    if (landed !== undefined) this.landed.set(runId, (this.landed.get(runId) ?? 0) + landed);
  }
}

/**
 * How many times an upload lists its run again when others landed meanwhile, before it counts their
 * bytes on top of the listing (never too few, maybe twice): a busy run refuses nothing that fits
 * unless uploads keep landing through every listing.
 */
const RELISTS = 4;

/** How long a reservation outlives its last renewal: what a crashed process holds up a run for. */
export function reservationTtlMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.MLFLOW_TS_ARTIFACT_RESERVATION_SECONDS ?? 60);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 60_000;
}

/**
 * Counts a run's stored bytes when an upload to it starts and reserves room for the upload in a
 * ledger (the store's, so every process over it sees the reservation) while it streams. The bytes
 * stream concurrently, each upload within its reservation, renewed until it ends.
 */
export class ArtifactQuota {
  constructor(
    private readonly limit: number,
    private readonly repo: ArtifactRepository,
    private readonly ledger: ArtifactReservationLedger = new MemoryReservationLedger(),
    private readonly ttlMs = reservationTtlMs(),
  ) {}

  /** Whether uploads to `path` count against the limit (it lies in a run's artifact folder). */
  covers(path: string): boolean {
    return RUN_FOLDER.test(path);
  }

  /**
   * Admits an upload of `declared` bytes (undefined: unknown, e.g. a chunked body) to `path`, or
   * throws RESOURCE_LIMIT_EXCEEDED. An unknown size reserves all the room the run has left.
   */
  async admit(path: string, declared: number | undefined): Promise<Admission> {
    const m = RUN_FOLDER.exec(path);
    if (!m) return { release: async () => {} };
    const runId = m[2];
    const reservationId = randomUUID();
    let granted: Reservation | undefined;
    for (let attempt = 1; !granted; attempt++) {
      // Read before listing: whatever lands after this read is counted through the counter instead.
      const landedBefore = await this.ledger.landedArtifactBytes(runId);
      const { total, replaced } = await storedBytes(this.repo, `${m[1]}/${m[2]}`, path);
      granted = await this.ledger.reserveArtifactBytes({
        runId,
        reservationId,
        listed: total,
        replaced,
        landedBefore,
        declared,
        limit: this.limit,
        expiresAt: Date.now() + this.ttlMs,
        relistIfLanded: attempt < RELISTS,
      });
    }
    const renewal = setInterval(() => {
      this.ledger.renewArtifactReservation(reservationId, Date.now() + this.ttlMs).catch(() => undefined);
    }, this.ttlMs / 3);
    renewal.unref();
    let released = false;
    return {
      cap: { runId, ...granted },
      release: async (landed) => {
        if (released) return;
        released = true;
        clearInterval(renewal);
        // A release that fails leaves the reservation to expire: the run is held up, never overshot.
        await this.ledger.releaseArtifactReservation(runId, reservationId, landed).catch(() => undefined);
      },
    };
  }

  /** A pass-through that fails the upload (so nothing of it is stored) once it passes its reservation. */
  guard(admission: Admission): UploadGuard {
    return new UploadGuard(this.limit, admission);
  }
}

/** Counts an upload's bytes as they pass, and fails it once they pass its reservation. */
export class UploadGuard extends Transform {
  /** The bytes passed so far: once the upload is stored, what it landed. */
  bytes = 0;

  constructor(
    private readonly limit: number,
    private readonly admission: Admission,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const cap = this.admission.cap;
    if (cap && this.bytes > cap.allowed) {
      const wouldBe = cap.base + this.bytes;
      callback(limitExceeded('artifact_bytes_per_run', this.limit, `run ${cap.runId}`, cap.has, wouldBe));
      return;
    }
    callback(null, chunk);
  }
}
