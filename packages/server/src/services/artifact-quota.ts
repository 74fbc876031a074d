// The artifact_bytes_per_run quota on proxied uploads: the bytes a run already stores (what its
// folder holds) plus the uploads to it in flight may not pass the limit.
import { Transform, type TransformCallback } from 'node:stream';
import type { ArtifactRepository } from '../artifacts/artifact-repository.js';
import { limitExceeded } from '../entities/resource-limits.js';

/** A proxy path's run folder: `<experiment_id>/<run_id>/...`, as MLflow's clients lay runs out. */
const RUN_FOLDER = /^([^/]+)\/([0-9a-f]{32})\/(.+)$/;

/** An upload the quota let through: the most it may write, and what to call when it ends. */
export interface Admission {
  /** Undefined when the path is not in a run's folder (nothing to count). */
  cap?: { runId: string; has: number; base: number; allowed: number };
  release(): void;
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

/**
 * Counts each run's stored bytes when an upload to it starts and reserves room for the upload while it
 * streams. Admissions to one run take turns (a promise chain per run), so two uploads cannot both see
 * the same free room; the bytes themselves stream concurrently, each within its reservation.
 */
export class ArtifactQuota {
  private readonly turns = new Map<string, Promise<unknown>>();
  private readonly reserved = new Map<string, number>();

  constructor(
    private readonly limit: number,
    private readonly repo: ArtifactRepository,
  ) {}

  /**
   * Admits an upload of `declared` bytes (undefined: unknown, e.g. a chunked body) to `path`, or
   * throws RESOURCE_LIMIT_EXCEEDED. An unknown size reserves all the room the run has left.
   */
  async admit(path: string, declared: number | undefined): Promise<Admission> {
    const m = RUN_FOLDER.exec(path);
    if (!m) return { release: () => {} };
    const folder = `${m[1]}/${m[2]}`;
    const runId = m[2];
    const previous = this.turns.get(folder) ?? Promise.resolve();
    const turn = previous.then(() => this.reserve(folder, runId, path, declared));
    const settled = turn.catch(() => undefined);
    this.turns.set(folder, settled);
    settled.then(() => {
      if (this.turns.get(folder) === settled) this.turns.delete(folder);
    });
    return turn;
  }

  private async reserve(
    folder: string,
    runId: string,
    path: string,
    declared: number | undefined,
  ): Promise<Admission> {
    const { total, replaced } = await storedBytes(this.repo, folder, path);
    const inFlight = this.reserved.get(folder) ?? 0;
    // A file replaced by the upload stops counting once the upload lands.
    const has = total + inFlight;
    const base = has - replaced;
    const room = Math.max(0, this.limit - base);
    if (declared !== undefined && declared > room) {
      throw limitExceeded('artifact_bytes_per_run', this.limit, `run ${runId}`, has, base + declared);
    }
    const allowed = declared ?? room;
    this.reserved.set(folder, inFlight + allowed);
    let released = false;
    return {
      cap: { runId, has, base, allowed },
      release: () => {
        if (released) return;
        released = true;
        const left = (this.reserved.get(folder) ?? 0) - allowed;
        if (left > 0) this.reserved.set(folder, left);
        else this.reserved.delete(folder);
      },
    };
  }

  /** A pass-through that fails the upload (so nothing of it is stored) once it passes its reservation. */
  guard(admission: Admission): Transform {
    const cap = admission.cap;
    let seen = 0;
    const limit = this.limit;
    return new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        seen += chunk.length;
        if (cap && seen > cap.allowed) {
          callback(
            limitExceeded('artifact_bytes_per_run', limit, `run ${cap.runId}`, cap.has, cap.base + seen),
          );
          return;
        }
        callback(null, chunk);
      },
    });
  }
}
