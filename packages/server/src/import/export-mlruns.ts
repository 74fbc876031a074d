// `db export` into a mlruns/ directory: our store written in MLflow's file store layout (experiments and
// .trash, runs with meta.yaml, params, tags, metric files, dataset inputs and model outputs, logged
// models, the registry under models/, and traces), streamed table by table with one write per file per batch.
import { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Scalar, stringify } from 'yaml';
import { MlflowError } from '../entities/errors.js';
import { assessmentJson } from '../tracing/assessment-wire.js';
import type { ExportCounts, ExportProgress } from './export-sql.js';
import type { SqlConnection } from './sql-connection.js';
import { type Row, TARGET_TABLE, type TargetTableName } from './target-tables.js';
import { readTable } from './verify.js';

/** MLflow's RunStatus numbers, which the file store writes instead of names. */
const RUN_STATUS: Record<string, number> = { RUNNING: 1, SCHEDULED: 2, FINISHED: 3, FAILED: 4, KILLED: 5 };
/** SourceType.LOCAL, what MLflow's file store records for a run created through the API. */
const LOCAL_SOURCE = 4;

/** Python's float repr, as the file store writes metric values ('nan', 'inf', 1.0, 1e-07). */
export function pythonFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Number.POSITIVE_INFINITY) return 'inf';
  if (v === Number.NEGATIVE_INFINITY) return '-inf';
  if (Number.isInteger(v))
    return Math.abs(v) < 1e16 ? `${v.toFixed(0)}.0` : twoDigitExponent(v.toExponential());
  return twoDigitExponent(String(v));
}

/** Python pads a one-digit exponent to two (1e-07 where JavaScript writes 1e-7). */
function twoDigitExponent(s: string): string {
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

const yaml = (value: Record<string, unknown>): string => stringify(value, { sortMapEntries: true });

/**
 * YAML as PyYAML (YAML 1.1) reads it back: strings it would take for something else ('yes', 'on',
 * '1e3', ISO times) are quoted. For documents holding user values of any shape (assessments).
 */
const yaml11 = (value: Record<string, unknown>): string =>
  stringify(value, { sortMapEntries: true, version: '1.1' });

/** Drops the keys whose value is undefined (protobuf's JSON leaves unset fields out). */
function defined(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) ? defined(v as Record<string, unknown>) : v;
  }
  return out;
}

/** A string YAML writes in quotes: PyYAML would read an unquoted ISO time as a datetime, not text. */
function quoted(value: string): Scalar<string> {
  const scalar = new Scalar(value);
  scalar.type = 'QUOTE_SINGLE';
  return scalar;
}

/** Writes a file whose name is a key: keys may hold '/', which the file store keeps as folders. */
function writeKey(dir: string, key: string, content: string): void {
  const file = path.join(dir, ...key.split('/'));
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

/** Lines to append, gathered per file so a batch touches each file once. */
class Appender {
  private readonly lines = new Map<string, string[]>();
  add(file: string, line: string): void {
    const list = this.lines.get(file);
    if (list) list.push(line);
    else this.lines.set(file, [line]);
  }
  flush(): void {
    for (const [file, lines] of this.lines) {
      mkdirSync(path.dirname(file), { recursive: true });
      appendFileSync(file, `${lines.join('\n')}\n`);
    }
    this.lines.clear();
  }
}

export async function exportToMlruns(
  source: SqlConnection,
  to: string,
  batchSize: number,
  progress?: ExportProgress,
): Promise<ExportCounts> {
  const root = path.resolve(to.startsWith('file:') ? fileURLToPath(to) : to);
  if (existsSync(root) && readdirSync(root).length > 0) {
    throw MlflowError.invalidParameter(
      `Cannot export into '${root}': the directory is not empty. Export into a new or empty directory.`,
    );
  }
  mkdirSync(path.join(root, '.trash'), { recursive: true });
  return new MlrunsWriter(source, root, batchSize, progress).run();
}

/**
 * One of our assessments rows ([trace_id, assessment_id, name, assessment_type, value, error,
 * created_timestamp, last_updated_timestamp, source_type, source_id, run_id, span_id, rationale,
 * overrides, valid, assessment_metadata]) as MLflow's Assessment.to_dictionary writes it. `run_id`
 * is not a field of MLflow's message (its reader ignores it); it is kept for our importer.
 */
function assessmentDocument(r: Row): Record<string, unknown> {
  const [traceId, id, name, kind, value, error, created, updated, sourceType, sourceId, runId, spanId] = r;
  const [rationale, overrides, valid, metadata] = r.slice(12);
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return defined(
    assessmentJson({
      traceId: String(traceId),
      assessmentId: String(id),
      name: String(name),
      kind: kind === 'expectation' ? 'expectation' : 'feedback',
      value: String(value ?? 'null'),
      error: text(error),
      createdMs: Number(created),
      updatedMs: Number(updated),
      sourceType: String(sourceType),
      sourceId: text(sourceId),
      runId: text(runId),
      spanId: text(spanId),
      rationale: text(rationale),
      overrides: text(overrides),
      valid: valid === true || Number(valid) === 1,
      metadata: text(metadata),
    }),
  );
}

class MlrunsWriter {
  /** Experiment folders by id (live ones under the root, deleted ones under .trash). */
  private readonly experimentDirs = new Map<string, string>();
  /** Run folders by run id: one short path per run, the one index the layout needs held in memory. */
  private readonly runDirs = new Map<string, string>();
  private readonly counts: ExportCounts['tables'] = [];

  constructor(
    private readonly conn: SqlConnection,
    private readonly root: string,
    private readonly size: number,
    private readonly progress?: ExportProgress,
  ) {}

  async run(): Promise<ExportCounts> {
    await this.each('experiments', (r) => {
      const [id, name, location, stage, created, updated] = r;
      const dir = path.join(this.root, ...(stage === 'deleted' ? ['.trash'] : []), String(id));
      this.experimentDirs.set(String(id), dir);
      mkdirSync(path.join(dir, 'tags'), { recursive: true });
      writeFileSync(
        path.join(dir, 'meta.yaml'),
        yaml({
          artifact_location: location,
          creation_time: created,
          experiment_id: String(id),
          last_update_time: updated,
          lifecycle_stage: stage,
          name,
        }),
      );
    });
    await this.each('experiment_tags', (r) =>
      this.inExperiment(r[0], (dir) => writeKey(path.join(dir, 'tags'), String(r[1]), String(r[2]))),
    );
    await this.each('runs', (r) => {
      const [runId, experimentId, name, user, status, start, end, deleted, stage, artifactUri] = r;
      this.inExperiment(experimentId, (expDir) => {
        const dir = path.join(expDir, String(runId));
        this.runDirs.set(String(runId), dir);
        // No artifacts/ folder: the exported artifact_uri still points where the files are.
        for (const sub of ['params', 'tags', 'metrics']) mkdirSync(path.join(dir, sub), { recursive: true });
        writeFileSync(
          path.join(dir, 'meta.yaml'),
          yaml({
            artifact_uri: artifactUri,
            ...(deleted === null ? {} : { deleted_time: deleted }),
            end_time: end,
            entry_point_name: '',
            experiment_id: String(experimentId),
            lifecycle_stage: stage,
            run_id: runId,
            run_name: name,
            source_name: '',
            source_type: LOCAL_SOURCE,
            source_version: '',
            start_time: start,
            status: RUN_STATUS[String(status)] ?? RUN_STATUS.SCHEDULED,
            tags: [],
            user_id: user,
          }),
        );
      });
    });
    await this.each('params', (r) =>
      this.inRun(r[0], (dir) => writeKey(path.join(dir, 'params'), String(r[1]), String(r[2]))),
    );
    await this.each('tags', (r) =>
      this.inRun(r[0], (dir) => writeKey(path.join(dir, 'tags'), String(r[1]), String(r[2]))),
    );
    const points = new Appender();
    await this.each(
      'metrics',
      (r) => {
        const [runId, key, timestamp, step, value, isNan] = r;
        this.inRun(runId, (dir) =>
          points.add(
            path.join(dir, 'metrics', ...String(key).split('/')),
            `${timestamp} ${Number(isNan) === 1 ? 'nan' : pythonFloat(Number(value))} ${step}`,
          ),
        );
      },
      () => points.flush(),
    );
    await this.each('datasets', (r) => {
      const [id, experimentId, name, digest, sourceType, source, schema, profile] = r;
      this.inExperiment(experimentId, (dir) => {
        const file = path.join(dir, 'datasets', String(id), 'meta.yaml');
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, yaml({ digest, name, profile, schema, source, source_type: sourceType }));
      });
    });
    await this.inputs();
    await this.loggedModels();
    await this.registry();
    await this.traces();
    return { tables: this.counts, leftBehind: await this.leftBehind() };
  }

  /**
   * What MLflow's file store has no place for. Its LinkTracesToRun answers that linking is not
   * supported in FileStore; webhooks, registered scorers and evaluation datasets live only in its SQL
   * stores.
   */
  private async leftBehind(): Promise<{ what: string; count: number; why: string }[]> {
    const out: { what: string; count: number; why: string }[] = [];
    const count = async (sql: string) => Number((await this.conn.all(sql))[0]?.n ?? 0);
    const fileStoreHasNone = "MLflow's file store has no place for them";
    const items: [string, string, string][] = [
      [
        'trace-to-run links',
        "select count(*) as n from entity_associations where upper(source_type) = 'TRACE' and upper(destination_type) = 'RUN'",
        "MLflow's file store does not support linking traces to runs",
      ],
      [
        'other entity associations',
        "select count(*) as n from entity_associations where not (upper(source_type) = 'TRACE' and upper(destination_type) = 'RUN')",
        fileStoreHasNone,
      ],
      ['webhooks', 'select count(*) as n from webhooks', fileStoreHasNone],
      ['registered scorers', 'select count(*) as n from scorers', fileStoreHasNone],
      ['evaluation datasets', 'select count(*) as n from evaluation_datasets', fileStoreHasNone],
    ];
    for (const [what, sql, why] of items) {
      const n = await count(sql);
      if (n > 0) out.push({ what, count: n, why });
    }
    return out;
  }

  /**
   * Traces as the file store keeps them: `<experiment>/traces/<id>/` with trace_info.yaml, tags/ and
   * request_metadata/ as one file per key, the spans in artifacts/traces.json, and each assessment in
   * assessments/<assessment id>.yaml (the Assessment message as protobuf's JSON names it, which is
   * what MLflow's FileStore writes and reads back with Assessment.from_dictionary).
   */
  private async traces(): Promise<void> {
    const traceDirs = new Map<string, string>();
    await this.each('trace_info', (r) => {
      const [id, experimentId, timestamp, duration, state, clientRequestId, requestPreview, responsePreview] =
        r;
      this.inExperiment(experimentId, (expDir) => {
        const dir = path.join(expDir, 'traces', String(id));
        traceDirs.set(String(id), dir);
        for (const sub of ['tags', 'request_metadata', 'artifacts'])
          mkdirSync(path.join(dir, sub), { recursive: true });
        writeFileSync(
          path.join(dir, 'trace_info.yaml'),
          yaml({
            ...(clientRequestId === null ? {} : { client_request_id: clientRequestId }),
            ...(duration === null ? {} : { execution_duration_ms: Number(duration) }),
            request_preview: requestPreview,
            request_time: quoted(new Date(Number(timestamp)).toISOString()),
            response_preview: responsePreview,
            state,
            trace_id: String(id),
            trace_location: {
              mlflow_experiment: { experiment_id: String(experimentId) },
              type: 'MLFLOW_EXPERIMENT',
            },
          }),
        );
      });
    });
    const inTrace = (id: unknown, fn: (dir: string) => void) => {
      const dir = traceDirs.get(String(id));
      if (dir) fn(dir);
    };
    for (const [table, folder] of [
      ['trace_tags', 'tags'],
      ['trace_request_metadata', 'request_metadata'],
    ] as const) {
      await this.each(table, (r) =>
        inTrace(r[0], (dir) => writeKey(path.join(dir, folder), String(r[1]), String(r[2] ?? ''))),
      );
    }
    // Spans come in trace order; each trace's file is written once its last span has been read. The
    // stored documents are kept as text so nanosecond times beyond 2^53 are not rounded.
    let current: { id: string; spans: string[] } | undefined;
    const writeSpans = () => {
      if (!current) return;
      const { id, spans } = current;
      inTrace(id, (dir) =>
        writeFileSync(path.join(dir, 'artifacts', 'traces.json'), `{"spans": [${spans.join(', ')}]}`),
      );
    };
    await this.each('spans', (r) => {
      const traceId = String(r[0]);
      if (current?.id !== traceId) {
        writeSpans();
        current = { id: traceId, spans: [] };
      }
      current.spans.push(String(r[9]));
    });
    writeSpans();
    await this.each('assessments', (r) =>
      inTrace(r[0], (dir) => {
        const file = path.join(dir, 'assessments', `${r[1]}.yaml`);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, yaml11(assessmentDocument(r)));
      }),
    );
  }

  /** Calls `write` for each of our rows of `table`, in batches; `done` after each batch. */
  private async each(
    table: TargetTableName,
    write: (row: Row) => void,
    done?: () => void | Promise<void>,
  ): Promise<void> {
    const spec = TARGET_TABLE.get(table);
    if (!spec) return;
    let rows = 0;
    let batch = 0;
    for await (const row of readTable(this.conn, spec, undefined, this.size)) {
      write(row);
      rows++;
      if (++batch >= this.size) {
        await done?.();
        this.progress?.batch(table, batch);
        batch = 0;
      }
    }
    await done?.();
    if (batch) this.progress?.batch(table, batch);
    this.progress?.stageDone(table);
    this.counts.push({ table, rows });
  }

  private inExperiment(id: unknown, fn: (dir: string) => void): void {
    const dir = this.experimentDirs.get(String(id));
    if (dir) fn(dir);
  }

  private inRun(id: unknown, fn: (dir: string) => void): void {
    const dir = this.runDirs.get(String(id));
    if (dir) fn(dir);
  }

  /**
   * A run's dataset inputs go under its inputs/ (by input id), its model outputs under its outputs/ (by
   * model id); other links (a model's own inputs) have no place in the file store and are left out.
   */
  private async inputs(): Promise<void> {
    const pending: Row[] = [];
    const flush = async () => {
      const tags = await this.inputTags(pending.map((r) => String(r[0])));
      for (const [inputId, sourceType, sourceId, destinationType, destinationId, step] of pending) {
        const own = tags.get(String(inputId)) ?? {};
        if (destinationType === 'RUN') {
          this.inRun(destinationId, (dir) => {
            const file = path.join(dir, 'inputs', String(inputId), 'meta.yaml');
            mkdirSync(path.dirname(file), { recursive: true });
            writeFileSync(
              file,
              yaml({
                // The file store repeats the dataset's id here (the folder says which run it is).
                destination_id: sourceId,
                destination_type: destinationType,
                source_id: sourceId,
                source_type: sourceType,
                tags: own,
              }),
            );
          });
        } else if (sourceType === 'RUN_OUTPUT') {
          this.inRun(sourceId, (dir) => {
            const file = path.join(dir, 'outputs', String(destinationId), 'meta.yaml');
            mkdirSync(path.dirname(file), { recursive: true });
            writeFileSync(
              file,
              yaml({
                destination_id: destinationId,
                destination_type: destinationType,
                source_id: destinationId,
                source_type: sourceType,
                step,
                tags: own,
              }),
            );
          });
        }
      }
      pending.length = 0;
    };
    await this.each(
      'inputs',
      (r) => {
        pending.push(r);
      },
      flush,
    );
  }

  /** The aliases of the registered models `names`, as alias -> version text, by model. */
  private async aliases(names: string[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    for (let i = 0; i < names.length; i += 500) {
      const part = names.slice(i, i + 500);
      const rows = await this.conn.all(
        `select name, alias, version from registered_model_aliases where name in (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const r of rows) {
        const own = out.get(String(r.name)) ?? {};
        own[String(r.alias)] = String(r.version);
        out.set(String(r.name), own);
      }
    }
    return out;
  }

  private async inputTags(ids: string[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    if (ids.length === 0) return out;
    const rows = await this.conn.all(
      `select input_uuid, name, value from input_tags where input_uuid in (${ids.map(() => '?').join(', ')})`,
      ids,
    );
    for (const r of rows) {
      const tags = out.get(String(r.input_uuid)) ?? {};
      tags[String(r.name)] = String(r.value);
      out.set(String(r.input_uuid), tags);
    }
    return out;
  }

  private async loggedModels(): Promise<void> {
    const modelDirs = new Map<string, string>();
    await this.each('logged_models', (r) => {
      const [id, experimentId, name, location, created, updated, status, stage, type, runId, message] = r;
      this.inExperiment(experimentId, (expDir) => {
        const dir = path.join(expDir, 'models', String(id));
        modelDirs.set(String(id), dir);
        for (const sub of ['params', 'tags', 'metrics']) mkdirSync(path.join(dir, sub), { recursive: true });
        writeFileSync(
          path.join(dir, 'meta.yaml'),
          yaml({
            artifact_location: location,
            creation_timestamp: created,
            experiment_id: String(experimentId),
            last_updated_timestamp: updated,
            ...(stage === 'deleted' ? { lifecycle_stage: stage } : {}),
            model_id: id,
            model_type: type,
            name,
            source_run_id: runId,
            status,
            status_message: message,
          }),
        );
      });
    });
    const inModel = (id: unknown, fn: (dir: string) => void) => {
      const dir = modelDirs.get(String(id));
      if (dir) fn(dir);
    };
    await this.each('logged_model_params', (r) =>
      inModel(r[0], (dir) => writeKey(path.join(dir, 'params'), String(r[2]), String(r[3]))),
    );
    await this.each('logged_model_tags', (r) =>
      inModel(r[0], (dir) => writeKey(path.join(dir, 'tags'), String(r[2]), String(r[3]))),
    );
    const points = new Appender();
    await this.each(
      'logged_model_metrics',
      (r) => {
        const [id, name, timestamp, step, value, , runId, , datasetName, datasetDigest] = r;
        const dataset =
          datasetName === null || datasetName === undefined ? '' : ` ${datasetName} ${datasetDigest ?? ''}`;
        inModel(id, (dir) =>
          points.add(
            path.join(dir, 'metrics', ...String(name).split('/')),
            `${timestamp} ${value === null ? 'nan' : pythonFloat(Number(value))} ${step} ${runId}${dataset}`,
          ),
        );
      },
      () => points.flush(),
    );
  }

  private async registry(): Promise<void> {
    const base = path.join(this.root, 'models');
    const modelDir = (name: unknown) => path.join(base, String(name));
    const models: Row[] = [];
    const writeModels = async () => {
      const aliases = await this.aliases(models.map((r) => String(r[0])));
      for (const [name, created, updated, description] of models) {
        mkdirSync(path.join(modelDir(name), 'tags'), { recursive: true });
        writeFileSync(
          path.join(modelDir(name), 'meta.yaml'),
          // MLflow's file store keeps the aliases both here and as files under aliases/ (below).
          yaml({
            aliases: aliases.get(String(name)) ?? {},
            creation_timestamp: created,
            deployment_job_id: null,
            deployment_job_state: null,
            description,
            last_updated_timestamp: updated,
            name,
          }),
        );
      }
      models.length = 0;
    };
    await this.each('registered_models', (r) => void models.push(r), writeModels);
    await this.each('registered_model_tags', (r) =>
      writeKey(path.join(modelDir(r[0]), 'tags'), String(r[1]), String(r[2] ?? '')),
    );
    await this.each('model_versions', (r) => {
      const [
        name,
        version,
        created,
        updated,
        description,
        user,
        stage,
        source,
        storage,
        runId,
        runLink,
        status,
        message,
      ] = r;
      const dir = path.join(modelDir(name), `version-${version}`);
      mkdirSync(path.join(dir, 'tags'), { recursive: true });
      writeFileSync(
        path.join(dir, 'meta.yaml'),
        yaml({
          creation_timestamp: created,
          current_stage: stage,
          deployment_job_state: null,
          description,
          last_updated_timestamp: updated,
          model_id: null,
          name,
          run_id: runId,
          run_link: runLink,
          source,
          status,
          status_message: message,
          storage_location: storage,
          user_id: user,
          version,
        }),
      );
    });
    await this.each('model_version_tags', (r) =>
      writeKey(path.join(modelDir(r[0]), `version-${r[1]}`, 'tags'), String(r[2]), String(r[3] ?? '')),
    );
    await this.each('registered_model_aliases', (r) =>
      writeKey(path.join(modelDir(r[0]), 'aliases'), String(r[1]), String(r[2])),
    );
  }
}
