import { rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactRepository } from '../artifacts/artifact-repository.js';
import { isLocalArtifactUri, proxiedArtifactPath, uriScheme } from '../artifacts/artifact-uri.js';
import { parseWasbsUri } from '../artifacts/azure-blob-artifact-repository.js';
import { LocalArtifactRepository, localArtifactDir } from '../artifacts/local-artifact-repository.js';
import { openArtifactRepository, SUPPORTED_ARTIFACT_SCHEMES } from '../artifacts/open-artifact-repository.js';
import { parseS3Uri } from '../artifacts/s3-artifact-repository.js';
import { safeArtifactPath } from '../artifacts/safe-path.js';
import { MlflowError } from '../entities/errors.js';
import type { SqlTrackingStore } from '../store/sql-tracking-store.js';

// Permanent deletion of deleted runs and experiments (MLflow's `mlflow gc`): artifacts first, then the
// rows, one transaction per run and per experiment.

export interface GcOptions {
  /** MLflow's --older-than text (e.g. `1d2h3m4s`); absent means no age limit. */
  olderThan?: string;
  /** Only these runs (MLflow's comma-separated --run-ids, already split). */
  runIds?: string[];
  /** Only these experiments and their deleted runs (--experiment-ids, already split). */
  experimentIds?: string[];
}

export interface GcReport {
  runs: string[];
  experiments: string[];
}

export interface GcOutput {
  /** Progress lines (stdout). */
  info(line: string): void;
  /** Artifacts that could not be removed but did not stop the run's deletion (stderr). */
  warn(line: string): void;
}

const DURATION = /^(?:([\d.]+?)d)?(?:([\d.]+?)h)?(?:([\d.]+?)m)?(?:([\d.]+?)s)?$/;
const UNIT_MS = [86_400_000, 3_600_000, 60_000, 1_000];

/** MLflow's --older-than format, `#d#h#m#s` with any part optional and decimals allowed, in milliseconds. */
export function parseOlderThan(text: string): number {
  const match = DURATION.exec(text);
  const parts = match?.slice(1).map((p) => (p === undefined ? 0 : Number(p)));
  if (!parts || parts.some((n) => !Number.isFinite(n))) {
    throw MlflowError.invalidParameter(
      `Could not parse any time information from '${text}'. Examples of valid strings: '8h', '2d8h5m20s', '2m4s'`,
    );
  }
  return Math.trunc(parts.reduce((sum, n, i) => sum + n * UNIT_MS[i], 0));
}

/** Splits a comma-separated id list, dropping empty entries and duplicates. */
export function idList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/**
 * An object-store artifact URI split into the URI of its parent folder and its last segment
 * (`s3://b/p/1/r/artifacts` -> `s3://b/p/1/r` and `artifacts`); undefined when the URI names no folder
 * below its bucket or container (deleting that would empty the whole bucket).
 */
export function splitArtifactUri(uri: string): { parent: string; name: string } | undefined {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]+)(\/[^?#]*)?$/i.exec(uri);
  if (!m) return undefined;
  const segments = (m[2] ?? '').split('/').filter(Boolean);
  const name = segments.pop();
  if (name === undefined) return undefined;
  return { parent: segments.length ? `${m[1]}/${segments.join('/')}` : m[1], name };
}

/** S3's and Azure's answers for a bucket or container that does not exist. */
function isMissingBucket(error: unknown): boolean {
  const e = error as { name?: string; code?: string; Code?: string };
  return [e.name, e.code, e.Code].some((c) => c === 'NoSuchBucket' || c === 'ContainerNotFound');
}

/**
 * Removes the artifacts under a run's artifact URI. Local paths, mlflow-artifacts: URIs (below the
 * artifacts destination) and every scheme openArtifactRepository supports (s3://, wasbs://, with the
 * same environment variables as the server) are deleted; artifacts that are already gone are fine. URIs
 * this tool cannot resolve are reported through `warn` and skipped, as MLflow does for an invalid URL.
 * Other failures (credentials, permissions, an unreachable store) throw.
 */
export async function deleteRunArtifacts(
  runId: string,
  artifactUri: string,
  destination: ArtifactRepository,
  output: GcOutput,
): Promise<void> {
  const skip = (reason: string) =>
    output.warn(
      `Warning: could not delete the artifacts of run ${runId} at '${artifactUri}': ${reason}. The run is deleted anyway; remove its artifacts by hand if they exist.`,
    );
  if (isLocalArtifactUri(artifactUri)) {
    let dir: string;
    try {
      dir = localArtifactDir(artifactUri);
    } catch {
      return skip('not a valid local path');
    }
    const parent = path.dirname(dir);
    if (parent === dir) return skip('it is a filesystem root');
    await new LocalArtifactRepository(parent).delete(path.basename(dir));
    return;
  }
  const scheme = uriScheme(artifactUri);
  if (scheme === 'mlflow-artifacts') {
    const proxied = proxiedArtifactPath(artifactUri);
    if (proxied === undefined) return skip('not a valid mlflow-artifacts: URI');
    let relative: string;
    try {
      relative = safeArtifactPath(proxied);
    } catch {
      return skip('the path is not a safe path below the artifacts destination');
    }
    await destination.delete(relative);
    return;
  }
  if (!(SUPPORTED_ARTIFACT_SCHEMES as readonly (string | undefined)[]).includes(scheme)) {
    return skip(
      `the '${scheme}' scheme is not supported (only local paths, mlflow-artifacts:, ${SUPPORTED_ARTIFACT_SCHEMES.filter(
        (s) => s !== 'file',
      )
        .map((s) => `${s}://`)
        .join(', ')} URIs)`,
    );
  }
  // The run's folder is deleted from a repository rooted at its parent: a repository never deletes its
  // own root.
  const split = splitArtifactUri(artifactUri);
  if (!split) return skip('it names a whole bucket or container, not a folder in one');
  let name: string;
  try {
    name = safeArtifactPath(split.name);
  } catch {
    return skip('its last path segment is not a safe name');
  }
  try {
    if (scheme === 's3') parseS3Uri(split.parent);
    if (scheme === 'wasbs') parseWasbsUri(split.parent);
  } catch (error) {
    return skip((error as Error).message);
  }
  // Missing credentials throw here: the run is kept so gc can be run again once they are set.
  const repo = openArtifactRepository(split.parent);
  if (!repo) return skip(`the '${scheme}' scheme is not supported`);
  try {
    await repo.delete(name);
  } catch (error) {
    // No bucket or container means no artifacts either.
    if (isMissingBucket(error)) return;
    throw error;
  }
}

/**
 * The folder on this machine an artifact URI stands for: a local path, or an mlflow-artifacts: URI
 * below a local artifacts destination; undefined for object stores and URIs that resolve to no safe path.
 */
export function localFolderOf(uri: string, destination: ArtifactRepository): string | undefined {
  try {
    if (isLocalArtifactUri(uri)) return localArtifactDir(uri);
    if (uriScheme(uri) !== 'mlflow-artifacts' || !(destination instanceof LocalArtifactRepository)) {
      return undefined;
    }
    const proxied = proxiedArtifactPath(uri);
    if (!proxied) return undefined;
    return path.join(destination.root, safeArtifactPath(proxied));
  } catch {
    return undefined;
  }
}

/**
 * Removes a folder when it is empty (rmdir refuses any other), so gc leaves no empty run or
 * experiment folders behind; anything still inside, or the folder being gone, leaves it as it is.
 */
async function removeIfEmpty(dir: string | undefined, keep: string[]): Promise<void> {
  if (dir === undefined || path.dirname(dir) === dir || keep.includes(dir)) return;
  try {
    await rmdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
}

/** The run's own folder (`<experiment>/<run id>`) above its `artifacts` folder, when the layout is MLflow's. */
function runFolderOf(runId: string, artifactsDir: string | undefined): string | undefined {
  if (artifactsDir === undefined) return undefined;
  const parent = path.dirname(artifactsDir);
  return path.basename(parent) === runId ? parent : undefined;
}

/**
 * MLflow's gc: without ids, every deleted run (deleted at least --older-than ago) and every deleted
 * experiment (last updated before then) with its deleted runs. With --run-ids and/or --experiment-ids,
 * only the runs named and the experiments named (with their deleted runs). Every id is checked before
 * anything is deleted; a failure stops the command, and what was deleted up to then stays deleted.
 */
export async function garbageCollect(
  store: SqlTrackingStore,
  destination: ArtifactRepository,
  options: GcOptions,
  output: GcOutput,
): Promise<GcReport> {
  const ageLimit = options.olderThan !== undefined;
  const olderThanMs = ageLimit ? parseOlderThan(options.olderThan as string) : 0;
  const threshold = Date.now() - olderThanMs;
  const oldEnough = new Set(await store.deletedRunIds(olderThanMs));
  const byIds = options.runIds !== undefined || options.experimentIds !== undefined;

  let experimentIds: string[];
  if (options.experimentIds) {
    experimentIds = options.experimentIds;
    const experiments = await Promise.all(
      experimentIds.map(async (id) => {
        const experiment = await store.getExperiment(id);
        if (!experiment) throw MlflowError.notFound(`No Experiment with id=${id} exists`);
        return experiment;
      }),
    );
    const active = experiments.filter((e) => e.lifecycle_stage !== 'deleted').map((e) => e.experiment_id);
    if (active.length) {
      throw MlflowError.invalidParameter(
        `Experiments ${active.join(', ')} are not in the deleted lifecycle stage. Only experiments in the deleted lifecycle stage can be hard-deleted; delete them first.`,
      );
    }
    const recent = experiments.filter((e) => e.last_update_time >= threshold).map((e) => e.experiment_id);
    if (ageLimit && recent.length) {
      throw MlflowError.invalidParameter(
        `Experiments ${recent.join(', ')} are not older than the required age. Only experiments older than ${options.olderThan} can be deleted.`,
      );
    }
  } else {
    experimentIds = byIds ? [] : await store.deletedExperimentIds(ageLimit ? threshold : undefined);
  }

  const runIds = new Set(options.runIds ?? (byIds ? [] : oldEnough));
  for (const id of experimentIds) {
    for (const runId of await store.deletedRunIdsOfExperiment(id)) runIds.add(runId);
  }

  const runs = [];
  for (const runId of runIds) {
    const run = await store.getRun(runId);
    if (!run) throw MlflowError.notFound(`Run with id=${runId} not found`);
    if (run.info.lifecycle_stage !== 'deleted') {
      throw MlflowError.invalidParameter(
        `Run ${runId} is not in \`deleted\` lifecycle stage. Only runs in \`deleted\` lifecycle stage can be deleted; delete the run first.`,
      );
    }
    if (ageLimit && !oldEnough.has(runId)) {
      throw MlflowError.invalidParameter(
        `Run ${runId} is not older than the required age. Only runs older than ${options.olderThan} can be deleted.`,
      );
    }
    runs.push(run.info);
  }

  const report: GcReport = { runs: [], experiments: [] };
  for (const run of runs) {
    try {
      await deleteRunArtifacts(run.run_id, run.artifact_uri, destination, output);
    } catch (error) {
      throw new Error(
        `could not delete the artifacts of run ${run.run_id} at '${run.artifact_uri}': ${(error as Error).message}. The run was kept; fix the cause (permissions, path) and run gc again.`,
      );
    }
    const keep = destination instanceof LocalArtifactRepository ? [destination.root] : [];
    await removeIfEmpty(runFolderOf(run.run_id, localFolderOf(run.artifact_uri, destination)), keep);
    await store.hardDeleteRun(run.run_id);
    report.runs.push(run.run_id);
    output.info(`Run with ID ${run.run_id} has been permanently deleted.`);
  }
  for (const id of experimentIds) {
    const location = (await store.getExperiment(id))?.artifact_location;
    const keep = destination instanceof LocalArtifactRepository ? [destination.root] : [];
    await store.hardDeleteExperiment(id);
    // Its runs' folders are gone by now; an experiment folder with other files in it stays.
    if (location) await removeIfEmpty(localFolderOf(location, destination), keep);
    report.experiments.push(id);
    output.info(`Experiment with ID ${id} has been permanently deleted.`);
  }
  return report;
}
