// The temporary folder a run's remote `path` parameters are downloaded into: made on the first
// download only, and removed once the run's command is over.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export class DownloadDir {
  private dir: string | undefined;

  /** `base`: --storage-dir / MLFLOW_TMP_DIR, else the system's temporary directory. */
  constructor(
    private readonly base: string | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /** The folder, made (with its base) on the first call. */
  path(): string {
    if (this.dir === undefined) {
      if (this.base) mkdirSync(this.base, { recursive: true });
      this.dir = mkdtempSync(path.join(this.base ?? tmpdir(), 'mlflow-ts-params-'));
      this.log(
        `=== Created directory ${this.dir} for downloading remote URIs passed to arguments of type 'path' ===`,
      );
    }
    return this.dir;
  }

  /** Deletes the folder and what was downloaded into it (never the base directory). */
  remove(): void {
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
