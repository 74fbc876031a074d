// `db import --copy-artifacts <dest>`: copies the artifacts of the runs and logged models being imported
// into the server's artifact destination, laid out as MLflow's proxied store lays them out
// (<experiment>/<run>/artifacts, <experiment>/models/<model>/artifacts), and rewrites their locations
// to the mlflow-artifacts:/ URIs that serve them. Locations it cannot read (object stores, or
// mlflow-artifacts:/ without --source-artifacts) are kept and counted.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row, RowsByTable } from './target-tables.js';

export interface ArtifactCopyCounts {
  copied: number;
  /** Locations that were not on a readable file system, kept as they were. */
  kept: number;
  /** Local locations with nothing there (nothing logged, or moved away), kept as they were. */
  missing: number;
}

export class ArtifactCopier {
  readonly counts: ArtifactCopyCounts = { copied: 0, kept: 0, missing: 0 };
  /** Old run and model locations and their new ones, for model versions whose source names them. */
  private readonly moved = new Map<string, string>();

  /**
   * @param dest the server's artifact destination (what `mlflow-artifacts:/` resolves to)
   * @param sourceArtifacts the MLflow server's artifact destination, for the source's mlflow-artifacts:/ URIs
   */
  constructor(
    private readonly dest: string,
    private readonly sourceArtifacts?: string,
  ) {
    mkdirSync(dest, { recursive: true });
  }

  /** Rewrites the batch's locations (rows already renumbered) and copies what they point at. */
  apply(rows: RowsByTable): void {
    // New runs of an experiment go under the server's destination too.
    for (const r of rows.experiments ?? []) {
      if (this.local(r[2]) !== undefined) r[2] = `mlflow-artifacts:/${r[0]}`;
    }
    // runs: [run_uuid, experiment_id, ..., artifact_uri (9)]
    for (const r of rows.runs ?? []) this.move(r, 9, `${r[1]}/${r[0]}/artifacts`);
    // logged_models: [model_id, experiment_id, name, artifact_location (3), ...]
    for (const r of rows.logged_models ?? []) this.move(r, 3, `${r[1]}/models/${r[0]}/artifacts`);
    // model_versions: source (7) and storage_location (8) inside a moved run's or model's artifacts.
    for (const r of rows.model_versions ?? []) {
      for (const column of [7, 8]) r[column] = this.rewrite(r[column]);
    }
  }

  private move(row: Row, column: number, relative: string): void {
    const old = row[column];
    const from = this.local(old);
    if (from === undefined) {
      this.counts.kept++;
      return;
    }
    // Nothing there: pointing the run elsewhere would only lose where its files were meant to be.
    if (!existsSync(from)) {
      this.counts.missing++;
      return;
    }
    cpSync(from, path.join(this.dest, ...relative.split('/')), { recursive: true, force: true });
    this.counts.copied++;
    const now = `mlflow-artifacts:/${relative}`;
    this.moved.set(String(old), now);
    row[column] = now;
  }

  private rewrite(value: unknown): unknown {
    if (typeof value !== 'string') return value;
    for (const [old, now] of this.moved) {
      if (value === old || value.startsWith(`${old}/`)) return now + value.slice(old.length);
    }
    return value;
  }

  /** The local path a location names, or undefined when it is not on a file system we can read. */
  private local(location: unknown): string | undefined {
    if (typeof location !== 'string' || location === '') return undefined;
    if (location.startsWith('file:')) return fileURLToPath(location);
    if (location.startsWith('mlflow-artifacts:')) {
      if (!this.sourceArtifacts) return undefined;
      const rest = location.replace(/^mlflow-artifacts:(\/\/[^/]*)?\/?/, '');
      return path.join(this.sourceArtifacts, ...rest.split('/'));
    }
    if (path.isAbsolute(location)) return location;
    return undefined;
  }
}
