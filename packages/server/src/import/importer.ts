// `mlflow-ts db import`: copies an MLflow store into ours stage by stage (parents first), ids kept.
// Before writing anything it checks the rows still to come for ids our store already has: an error
// listing them, or (--on-conflict skip) those entities and everything hanging off them left out.
import { MlflowError } from '../entities/errors.js';
import { canonicalExperimentId, MAX_EXPERIMENT_ID } from '../entities/experiment-id.js';
import { ArtifactCopier, type ArtifactCopyCounts } from './artifact-copy.js';
import { BulkTarget } from './bulk-target.js';
import type { ImportSource, ImportStage, SkippedEntity } from './import-source.js';
import { openMlrunsSource } from './mlruns-source.js';
import { openSqlSource } from './sql-source.js';
import {
  type IdKind,
  type Row,
  type RowsByTable,
  TARGET_TABLE,
  TARGET_TABLES,
  type TargetTableName,
} from './target-tables.js';

export type OnConflict = 'error' | 'skip';

export interface ImportOptions {
  from: string;
  to: string;
  onConflict?: OnConflict;
  /** Source rows per batch (one transaction each). */
  batchSize?: number;
  progress?: ImportProgress;
  /** Copy runs' and logged models' artifacts into `dest` and point them there (artifact-copy.ts). */
  copyArtifacts?: { dest: string; sourceArtifacts?: string };
}

/** Told about each batch as it commits (the CLI prints rows per second). */
export interface ImportProgress {
  batch(stage: string, rowsRead: number): void;
  stageDone(stage: string): void;
  /** With copyArtifacts: the copy's running totals, after every file and chunk copied. */
  artifacts?(counts: Readonly<ArtifactCopyCounts>): void;
}

export interface StageSummary {
  stage: string;
  read: number;
  written: number;
  /** Rows left out: their entity conflicted, or they hang off one that did or that does not exist. */
  skipped: number;
}

export interface ImportSummary {
  source: string;
  stages: StageSummary[];
  leftBehind: SkippedEntity[];
  conflicts: number;
  /** With copyArtifacts: locations copied and kept, files and bytes copied, model versions rewritten. */
  artifacts?: ArtifactCopyCounts;
  seconds: number;
}

/** The most conflicting ids an error message lists. */
const LISTED_CONFLICTS = 20;

/** Opens the source at `uri`: an MLflow SQL database, or a mlruns/ directory (a path or file: URI). */
export function openImportSource(uri: string): Promise<ImportSource> {
  if (/^(sqlite|postgres|postgresql|mysql)(\+\w+)?:/i.test(uri)) return openSqlSource(uri);
  return openMlrunsSource(uri);
}

export async function importStore(options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const source = await openImportSource(options.from);
  try {
    const target = await BulkTarget.open(options.to);
    try {
      return await new Importer(source, target, options).run(started);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

class Importer {
  private readonly size: number;
  private readonly skipped = new Map<IdKind, Set<string>>();
  /** Ids known to exist in our store, so each batch asks only about new parents. */
  private readonly present = new Map<IdKind, Set<string>>();
  private replaceDefault = false;
  /** Source experiment ids an earlier import renumbered, and the ids they got here. */
  private experimentIds = new Map<string, string>();
  private checkpoints = new Map<string, string | undefined>();
  private readonly copier: ArtifactCopier | undefined;

  constructor(
    private readonly source: ImportSource,
    private readonly target: BulkTarget,
    private readonly options: ImportOptions,
  ) {
    this.size = options.batchSize ?? 5000;
    const copy = options.copyArtifacts;
    this.copier = copy
      ? new ArtifactCopier(
          copy.dest,
          copy.sourceArtifacts,
          (kind, ids) => target.artifactLocations(kind, ids),
          options.progress?.artifacts?.bind(options.progress),
        )
      : undefined;
  }

  async run(started: number): Promise<ImportSummary> {
    this.checkpoints = await this.target.checkpoints(this.source.key);
    for (const [kind, ids] of await this.target.skippedIds(this.source.key)) this.skipped.set(kind, ids);
    this.experimentIds = await this.target.experimentIds(this.source.key);
    const conflicts = await this.findConflicts();
    if (conflicts.length && (this.options.onConflict ?? 'error') === 'error') {
      const listed = conflicts.slice(0, LISTED_CONFLICTS).map(([kind, id]) => `${kind} ${id}`);
      throw new MlflowError(
        'RESOURCE_ALREADY_EXISTS',
        `${conflicts.length} entit${conflicts.length === 1 ? 'y' : 'ies'} of the source already exist in the target ` +
          `store with the same id or name: ${listed.join(', ')}${conflicts.length > listed.length ? ', ...' : ''}. ` +
          'Nothing was imported. Import into an empty store, or pass --on-conflict skip to leave these ' +
          '(and what belongs to them) out.',
      );
    }
    for (const [kind, id] of conflicts) this.skip(kind, id);
    const pendingSkips = conflicts;
    const stages: StageSummary[] = [];
    let first = true;
    for (const stage of this.source.stages) {
      const summary: StageSummary = { stage: stage.name, read: 0, written: 0, skipped: 0 };
      if (stage.sqliteCopy && this.target.conn.dialect === 'sqlite') {
        if (first) {
          // The in-SQL copy reads the skips recorded in the target, so the conflicts found above
          // (otherwise recorded with the first batch) are recorded before it.
          await this.target.write({
            source: this.source.key,
            stage: stage.name,
            cursor: null,
            rows: {},
            skipped: pendingSkips,
            replaceDefault: this.replaceDefault,
          });
          first = false;
        }
        await this.target.copyFromSqlite(
          stage.sqliteCopy,
          {
            source: this.source.key,
            stage: stage.name,
            cursor: this.checkpoints.get(stage.name),
            size: this.size,
          },
          (read, written, skipped) => {
            summary.read += read;
            summary.written += written;
            summary.skipped += skipped;
            this.options.progress?.batch(stage.name, read);
          },
        );
        this.options.progress?.stageDone(stage.name);
        stages.push(summary);
        continue;
      }
      for await (const batch of stage.batches(this.checkpoints.get(stage.name), this.size)) {
        const newSkips: [IdKind, string][] = first ? pendingSkips : [];
        first = false;
        this.keepExperimentIds(batch.rows);
        const rows = await this.filter(batch.rows, newSkips, summary);
        // Copied before the batch commits: a resumed import copies an uncommitted batch's files again.
        await this.copier?.apply(rows);
        summary.read += batch.read;
        summary.written += await this.target.write({
          source: this.source.key,
          stage: stage.name,
          cursor: batch.cursor,
          rows,
          skipped: newSkips,
          replaceDefault: this.replaceDefault,
        });
        this.options.progress?.batch(stage.name, batch.read);
      }
      this.options.progress?.stageDone(stage.name);
      stages.push(summary);
    }
    await this.target.finish();
    return {
      source: this.source.description,
      stages,
      leftBehind: await this.source.skipped(),
      conflicts: conflicts.length,
      ...(this.copier ? { artifacts: this.copier.counts } : {}),
      seconds: (performance.now() - started) / 1000,
    };
  }

  /** Entities still to import whose id (or experiment name) our store already has. */
  private async findConflicts(): Promise<[IdKind, string][]> {
    const conflicts: [IdKind, string][] = [];
    for (const stage of this.source.stages) {
      if (!stage.owners) continue;
      for await (const batch of stage.owners(this.checkpoints.get(stage.name), this.size)) {
        for (const [name, rows] of Object.entries(batch.rows) as [TargetTableName, Row[]][]) {
          const owns = TARGET_TABLE.get(name)?.owns;
          if (!owns) continue;
          const byKind = new Map<IdKind, string[]>();
          for (const row of rows) {
            const [kind, id] = owns(row);
            if (this.skipped.get(kind)?.has(id)) continue;
            // An id an earlier import gave a new one to (see keepExperimentIds) cannot collide.
            if (kind === 'experiment' && this.experimentIds.has(id)) continue;
            byKind.set(kind, [...(byKind.get(kind) ?? []), id]);
          }
          for (const [kind, ids] of byKind) {
            const found = await this.target.existing(kind, ids);
            if (kind === 'experiment' && found.has('0') && (await this.target.defaultExperimentUnused())) {
              // Every store starts with experiment 0; the source's own takes its place.
              found.delete('0');
              this.replaceDefault = true;
            }
            for (const id of found) conflicts.push([kind, id]);
          }
          if (name === 'experiments') conflicts.push(...(await this.nameConflicts(rows)));
        }
      }
    }
    return conflicts;
  }

  /** Experiments whose name is taken in our store by another id (names are unique). */
  private async nameConflicts(rows: Row[]): Promise<[IdKind, string][]> {
    const taken = await this.target.experimentsNamed(rows.map((r) => String(r[1])));
    const out: [IdKind, string][] = [];
    for (const row of rows) {
      const owner = taken.get(String(row[1]));
      if (owner === undefined || owner === String(row[0])) continue;
      if (owner === '0' && this.replaceDefault) continue;
      out.push(['experiment', String(row[0])]);
    }
    return out;
  }

  /**
   * Experiment ids are kept as they are, 18-digit ones from MLflow's file store included, as exact
   * decimal strings (a number would round them). Imports by earlier versions of mlflow-ts gave such
   * experiments new ids and recorded them; a resumed or repeated import of that source keeps using
   * the recorded ids, so the experiment's children follow it. An id past 64 bits fits no column.
   */
  private keepExperimentIds(rows: RowsByTable): void {
    for (const table of TARGET_TABLES) {
      const column = table.experimentColumn;
      const list = rows[table.name];
      if (column === undefined || !list) continue;
      for (const row of list) {
        const id = String(row[column]);
        const ours = this.experimentIds.get(id) ?? canonicalExperimentId(id);
        if (ours === undefined) {
          throw MlflowError.invalidParameter(
            `The source's experiment id '${id}' is not an integer from 0 to ${MAX_EXPERIMENT_ID}; mlflow-ts cannot keep it.`,
          );
        }
        row[column] = ours;
      }
    }
  }

  private skip(kind: IdKind, id: string): void {
    if (!this.skipped.has(kind)) this.skipped.set(kind, new Set());
    this.skipped.get(kind)?.add(id);
  }

  /**
   * The batch without rows of skipped entities, rows hanging off them, and rows whose parent exists
   * in neither store (MLflow's SQLite databases do not enforce their foreign keys). A skipped parent's
   * own children are recorded as skipped too, so a resumed import leaves them out as well.
   */
  private async filter(
    rows: RowsByTable,
    newSkips: [IdKind, string][],
    summary: StageSummary,
  ): Promise<RowsByTable> {
    const out: RowsByTable = {};
    // Parents first, so a run written in this batch counts as present for its params in it.
    for (const table of TARGET_TABLES) {
      const name = table.name;
      const list = rows[name];
      if (!list) continue;
      await this.learnParents(list.flatMap((r) => table.refs?.(r) ?? []));
      const kept: Row[] = [];
      for (const row of list) {
        const refs = table.refs?.(row) ?? [];
        const own = table.owns?.(row);
        const dropped =
          (own && this.skipped.get(own[0])?.has(own[1])) ||
          refs.some(([kind, id]) => this.skipped.get(kind)?.has(id) || !this.present.get(kind)?.has(id));
        if (!dropped) {
          kept.push(row);
          if (own) this.mark(this.present, own[0], own[1]);
          continue;
        }
        summary.skipped++;
        if (own && !this.skipped.get(own[0])?.has(own[1])) {
          this.skip(own[0], own[1]);
          newSkips.push(own);
        }
      }
      out[name] = kept;
    }
    return out;
  }

  /** Looks up the parents of a batch not yet known to be in our store. */
  private async learnParents(refs: [IdKind, string][]): Promise<void> {
    const unknown = new Map<IdKind, Set<string>>();
    for (const [kind, id] of refs) {
      if (this.present.get(kind)?.has(id) || this.skipped.get(kind)?.has(id)) continue;
      this.mark(unknown, kind, id);
    }
    for (const [kind, ids] of unknown) {
      const present = this.present.get(kind);
      // Bounded memory: a store of millions of runs forgets and asks again.
      if (present && present.size > 200_000) present.clear();
      for (const id of await this.target.existing(kind, [...ids])) this.mark(this.present, kind, id);
    }
  }

  private mark(map: Map<IdKind, Set<string>>, kind: IdKind, id: string): void {
    if (!map.has(kind)) map.set(kind, new Set());
    map.get(kind)?.add(id);
  }
}

export type { ImportStage };
