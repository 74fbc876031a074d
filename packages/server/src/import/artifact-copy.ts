// `db import --copy-artifacts <dest>`: copies the artifacts of the runs and logged models being imported
// into the server's artifact destination (a local directory, s3://bucket/prefix or wasbs://...), laid
// out as MLflow's proxied store lays them out (<experiment>/<run>/artifacts,
// <experiment>/models/<model>/artifacts), and rewrites their locations to the mlflow-artifacts:/ URIs
// that serve them. Both sides are artifact repositories (artifacts/), so any location one can open is
// readable: local paths and file: URIs, s3://, wasbs://, and the source's mlflow-artifacts:/ URIs given
// the MLflow server's destination. Files are streamed one by one, a few at a time; a file the
// destination already holds with the same size is skipped, so a resumed import does not copy it again.
import path from 'node:path';
import { Transform } from 'node:stream';
import type { ArtifactRepository } from '../artifacts/artifact-repository.js';
import { isLocalArtifactUri, proxiedArtifactPath, uriScheme } from '../artifacts/artifact-uri.js';
import { localArtifactDir } from '../artifacts/local-artifact-repository.js';
import { openArtifactRepository } from '../artifacts/open-artifact-repository.js';
import { MlflowError } from '../entities/errors.js';
import type { Row, RowsByTable } from './target-tables.js';

export interface ArtifactCopyCounts {
  /** Run and logged model locations copied and rewritten. */
  copied: number;
  /** Locations the copy cannot read (other schemes, or mlflow-artifacts:/ without the source's destination), kept. */
  kept: number;
  /** Readable locations with nothing there (nothing logged, or moved away), kept as they were. */
  missing: number;
  /** Files copied, and their bytes. */
  files: number;
  bytes: number;
  /** Files the destination already held with the same size (copied by an earlier, interrupted session). */
  filesSkipped: number;
  /** Model version sources and storage locations pointed at a moved run's or model's new location. */
  versions: number;
}

/** Where the importer looks up the locations runs and logged models have in our store now. */
export type LocationLookup = (kind: 'run' | 'loggedModel', ids: string[]) => Promise<Map<string, string>>;

/** Files copied at once: object stores answer each request slowly, so one at a time would crawl. */
const PARALLEL_FILES = 4;

/** MLflow's layout of a run's and a logged model's artifacts below their experiment's location. */
const LOGGED_MODEL_SEGMENT = /\/models\/(m-[0-9a-f]+)\/artifacts(?=\/|$)/;

export class ArtifactCopier {
  readonly counts: ArtifactCopyCounts = {
    copied: 0,
    kept: 0,
    missing: 0,
    files: 0,
    bytes: 0,
    filesSkipped: 0,
    versions: 0,
  };
  private readonly dest: ArtifactRepository;
  private readonly pool = new TaskPool(PARALLEL_FILES);

  /**
   * @param dest the server's artifact destination (what `mlflow-artifacts:/` resolves to): a path,
   *   file:, s3:// or wasbs:// URI
   * @param sourceArtifacts the MLflow server's artifact destination, for the source's mlflow-artifacts:/ URIs
   * @param lookup the locations our store holds, for model versions of runs moved by an earlier session
   * @param progress told of every file and chunk copied
   */
  constructor(
    dest: string,
    private readonly sourceArtifacts: string | undefined,
    private readonly lookup: LocationLookup,
    private readonly progress?: (counts: Readonly<ArtifactCopyCounts>) => void,
  ) {
    const repo = openArtifactRepository(dest);
    if (!repo) {
      throw MlflowError.invalidParameter(
        `--copy-artifacts: '${dest}' is not an artifact destination mlflow-ts can write (a directory, file:, s3:// or wasbs:// URI).`,
      );
    }
    this.dest = repo;
    if (sourceArtifacts !== undefined && !openArtifactRepository(sourceArtifacts)) {
      throw MlflowError.invalidParameter(
        `--source-artifacts: '${sourceArtifacts}' is not a location mlflow-ts can read (a directory, file:, s3:// or wasbs:// URI).`,
      );
    }
  }

  /**
   * Copies what the batch's runs and logged models (rows already renumbered) point at and rewrites their
   * locations; resolves once every file is in place, so the batch can then commit.
   */
  async apply(rows: RowsByTable): Promise<void> {
    // New runs of an experiment go under the server's destination too.
    for (const r of rows.experiments ?? []) {
      if (this.readable(r[2]) !== undefined) r[2] = `mlflow-artifacts:/${r[0]}`;
    }
    try {
      // runs: [run_uuid, experiment_id, ..., artifact_uri (9)]
      for (const r of rows.runs ?? []) await this.move(r, 9, `${r[1]}/${r[0]}/artifacts`);
      // logged_models: [model_id, experiment_id, name, artifact_location (3), ...]
      for (const r of rows.logged_models ?? []) await this.move(r, 3, `${r[1]}/models/${r[0]}/artifacts`);
    } finally {
      await this.pool.drain();
    }
    if (rows.model_versions?.length) await this.followMoves(rows.model_versions);
  }

  private async move(row: Row, column: number, relative: string): Promise<void> {
    const from = this.readable(row[column]);
    if (from === undefined) {
      this.counts.kept++;
      return;
    }
    // Nothing there: pointing the run elsewhere would only lose where its files were meant to be.
    if (!(await this.copyTree(from, relative))) {
      this.counts.missing++;
      return;
    }
    this.counts.copied++;
    row[column] = `mlflow-artifacts:/${relative}`;
  }

  /**
   * Queues a copy of every file below `from` to `to` (relative to the destination) that the destination
   * does not already hold with the same size; false when `from` holds nothing.
   */
  private async copyTree(from: ArtifactRepository, to: string): Promise<boolean> {
    let found = false;
    const dirs = [''];
    while (dirs.length > 0) {
      const dir = dirs.pop() as string;
      const [entries, present] = await Promise.all([
        from.list(dir),
        this.dest.list(dir ? `${to}/${dir}` : to),
      ]);
      const sizes = new Map(
        present.filter((f) => !f.is_dir).map((f) => [path.posix.basename(f.path), f.file_size]),
      );
      for (const entry of entries) {
        found = true;
        if (entry.is_dir) {
          dirs.push(entry.path);
        } else if (
          entry.file_size !== undefined &&
          sizes.get(path.posix.basename(entry.path)) === entry.file_size
        ) {
          this.counts.filesSkipped++;
          this.progress?.(this.counts);
        } else {
          await this.pool.run(() => this.copyFile(from, entry.path, `${to}/${entry.path}`));
        }
      }
    }
    return found;
  }

  private async copyFile(from: ArtifactRepository, source: string, target: string): Promise<void> {
    const read = await from.openRead(source);
    const counts = this.counts;
    const progress = this.progress;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        counts.bytes += chunk.length;
        try {
          progress?.(counts);
        } catch (error) {
          // Thrown here it would escape the source stream's event handler.
          done(error as Error);
          return;
        }
        done(null, chunk);
      },
    });
    read.stream.on('error', (error) => meter.destroy(error));
    read.stream.pipe(meter);
    try {
      await this.dest.write(target, meter);
    } catch (error) {
      throw new Error(
        `Copying artifact '${source}' of ${from.root} to ${this.dest.root}/${target} failed: ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      read.stream.destroy();
    }
    counts.files++;
    progress?.(counts);
  }

  /**
   * Points model version sources and storage locations that lie inside a moved run's or logged model's
   * artifacts (model_versions: source (7), storage_location (8), run_id (9)) at their new location. The
   * run may have been moved by this session or an earlier, interrupted one, so the new location is read
   * from our store; the old one is recognised by MLflow's layout (`<...>/<run id>/artifacts/...`,
   * `<...>/models/<model id>/artifacts/...`), and the value is rewritten only when the old location is
   * one a copy reads and the destination holds what the value names.
   */
  private async followMoves(versions: Row[]): Promise<void> {
    const candidates: {
      row: Row;
      column: number;
      kind: 'run' | 'loggedModel';
      id: string;
      at: number;
      end: number;
    }[] = [];
    for (const row of versions) {
      for (const column of [7, 8]) {
        const value = row[column];
        if (typeof value !== 'string' || value.startsWith('mlflow-artifacts:')) continue;
        const runId = typeof row[9] === 'string' ? row[9] : '';
        const runMarker = runId ? `/${runId}/artifacts` : '';
        const at = runMarker ? value.indexOf(runMarker) : -1;
        if (at > 0 && (value.length === at + runMarker.length || value[at + runMarker.length] === '/')) {
          candidates.push({ row, column, kind: 'run', id: runId, at, end: at + runMarker.length });
          continue;
        }
        const model = LOGGED_MODEL_SEGMENT.exec(value);
        if (model) {
          candidates.push({
            row,
            column,
            kind: 'loggedModel',
            id: model[1],
            at: model.index,
            end: model.index + model[0].length,
          });
        }
      }
    }
    if (candidates.length === 0) return;
    const found = {
      run: await this.lookup('run', [
        ...new Set(candidates.filter((c) => c.kind === 'run').map((c) => c.id)),
      ]),
      loggedModel: await this.lookup('loggedModel', [
        ...new Set(candidates.filter((c) => c.kind === 'loggedModel').map((c) => c.id)),
      ]),
    };
    for (const c of candidates) {
      const now = found[c.kind].get(c.id);
      const value = c.row[c.column] as string;
      const old = value.slice(0, c.end);
      if (!now?.startsWith('mlflow-artifacts:/') || now === old) continue;
      const layout = c.kind === 'run' ? `/${c.id}/artifacts` : `/models/${c.id}/artifacts`;
      if (!now.endsWith(layout) || this.readable(old) === undefined) continue;
      const rest = value.slice(c.end);
      const relative = `${proxiedArtifactPath(now)}${rest}`;
      if (!(await this.destHolds(relative))) continue;
      c.row[c.column] = now + rest;
      this.counts.versions++;
    }
  }

  /** Whether the destination holds a file or folder at `relative`. */
  private async destHolds(relative: string): Promise<boolean> {
    const parent = path.posix.dirname(relative);
    const listing = await this.dest.list(parent === '.' ? '' : parent);
    return listing.some((f) => f.path === relative);
  }

  /** The repository of what a location holds, or undefined when the copy cannot read it. */
  private readable(location: unknown): ArtifactRepository | undefined {
    if (typeof location !== 'string' || location === '') return undefined;
    const scheme = uriScheme(location);
    let uri: string | undefined;
    if (scheme === 'mlflow-artifacts') {
      const rest = proxiedArtifactPath(location);
      if (!this.sourceArtifacts || rest === undefined || rest.split('/').includes('..')) return undefined;
      uri = isLocalArtifactUri(this.sourceArtifacts)
        ? path.join(localArtifactDir(this.sourceArtifacts), ...rest.split('/'))
        : `${this.sourceArtifacts.replace(/\/+$/, '')}${rest ? `/${rest}` : ''}`;
    } else if (scheme === undefined) {
      // A relative path means nothing here (MLflow made locations absolute when it wrote them).
      uri = path.isAbsolute(location) ? location : undefined;
    } else {
      uri = location;
    }
    if (uri === undefined) return undefined;
    try {
      return openArtifactRepository(uri);
    } catch {
      // A malformed s3:// or wasbs:// location: nothing a copy can read.
      return undefined;
    }
  }
}

/** Runs at most `limit` tasks at once; the first failure is thrown by the next run() or by drain(). */
class TaskPool {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.throwFailure();
    const done: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.running.delete(done));
    this.running.add(done);
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.throwFailure();
  }

  private throwFailure(): void {
    const failure = this.failure;
    if (!failure) return;
    this.failure = undefined;
    throw failure.error;
  }
}
