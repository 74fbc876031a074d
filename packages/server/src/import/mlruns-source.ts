// MLflow's file store (a mlruns/ directory) as an import source: experiments (and .trash), runs with
// their params, tags, metric histories and dataset inputs, logged models, and the model registry under
// models/. Entries are visited in sorted order so a cursor (the last entry written) resumes an import.
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { MlflowError } from '../entities/errors.js';
import type { ImportSource, ImportStage, SkippedEntity, StageBatch } from './import-source.js';
import type { Row, RowsByTable } from './target-tables.js';

type Meta = Record<string, unknown>;

/** MLflow's RunStatus numbers, as the file store writes them. */
const RUN_STATUS: Record<number, string> = {
  1: 'RUNNING',
  2: 'SCHEDULED',
  3: 'FINISHED',
  4: 'FAILED',
  5: 'KILLED',
};

const text = (v: unknown, fallback = ''): string => (v === null || v === undefined ? fallback : String(v));
const num = (v: unknown, fallback = 0): number =>
  v === null || v === undefined || v === '' ? fallback : Number(v);
const numOrNull = (v: unknown): number | null =>
  v === null || v === undefined || v === '' ? null : Number(v);
const orNull = (v: unknown): unknown => (v === undefined ? null : v);

/** Python's float repr as the file store writes it ('nan', 'inf', '-inf' included). */
function pythonFloat(s: string): number {
  const lower = s.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === 'inf' || lower === 'infinity') return Number.POSITIVE_INFINITY;
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
  return Number(s);
}

function readMeta(file: string): Meta | undefined {
  if (!existsSync(file)) return undefined;
  const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
  return parsed && typeof parsed === 'object' ? (parsed as Meta) : undefined;
}

function dirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** The files under `dir` as (key, path): keys may hold '/', which the file store keeps as folders. */
function keyFiles(dir: string, prefix = ''): [string, string][] {
  if (!existsSync(dir)) return [];
  const out: [string, string][] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...keyFiles(full, `${prefix}${entry.name}/`));
    else out.push([`${prefix}${entry.name}`, full]);
  }
  return out;
}

const keyValues = (dir: string): [string, string][] =>
  keyFiles(dir).map(([k, f]) => [k, readFileSync(f, 'utf8')]);

export async function openMlrunsSource(uri: string): Promise<ImportSource> {
  const root = path.resolve(uri.startsWith('file:') ? fileURLToPath(uri) : uri);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw MlflowError.invalidParameter(
      `Cannot import '${uri}': not an MLflow database URI (sqlite:///, postgresql://) nor a mlruns/ directory.`,
    );
  }
  const looksLikeStore =
    existsSync(path.join(root, '0', 'meta.yaml')) ||
    dirs(root).some((d) => existsSync(path.join(root, d, 'meta.yaml')));
  if (!looksLikeStore) {
    throw MlflowError.invalidParameter(
      `'${root}' is not an MLflow file store: no experiment folder with a meta.yaml.`,
    );
  }
  return new MlrunsSource(root);
}

/** An experiment folder: `<root>/<id>` or `<root>/.trash/<id>`. */
interface ExperimentDir {
  id: string;
  dir: string;
}

class MlrunsSource implements ImportSource {
  readonly stages: ImportStage[];
  readonly description = 'MLflow file store (mlruns/)';

  constructor(readonly key: string) {
    this.stages = [
      this.stage('experiments', (cursor) => this.experimentBatches(cursor), true),
      this.stage('runs', (cursor, size, owners) => this.runBatches(cursor, size, owners), true),
      this.stage(
        'logged models',
        (cursor, size, owners) => this.loggedModelBatches(cursor, size, owners),
        true,
      ),
      this.stage('registered models', (cursor) => this.registryBatches(cursor), true),
      this.stage('traces', (cursor, _size, owners) => this.traceBatches(cursor, owners), true),
    ];
  }

  private stage(
    name: string,
    read: (cursor: string | undefined, size: number, ownersOnly: boolean) => AsyncIterable<StageBatch>,
    owners: boolean,
  ): ImportStage {
    return {
      name,
      batches: (cursor, size) => read(cursor, size, false),
      owners: owners ? (cursor, size) => read(cursor, size, true) : undefined,
    };
  }

  private get root(): string {
    return this.key;
  }

  /** Live and deleted (.trash) experiments, by id. */
  private experiments(): ExperimentDir[] {
    const found: ExperimentDir[] = [];
    for (const base of [this.root, path.join(this.root, '.trash')]) {
      for (const id of dirs(base)) {
        if (existsSync(path.join(base, id, 'meta.yaml'))) found.push({ id, dir: path.join(base, id) });
      }
    }
    return found.sort((a, b) => compareIds(a.id, b.id));
  }

  private async *experimentBatches(cursor: string | undefined): AsyncIterable<StageBatch> {
    for (const exp of this.experiments()) {
      if (cursor !== undefined && compareIds(exp.id, cursor) <= 0) continue;
      const meta = readMeta(path.join(exp.dir, 'meta.yaml')) ?? {};
      const rows: RowsByTable = {
        experiments: [
          [
            exp.id,
            text(meta.name),
            orNull(meta.artifact_location),
            text(meta.lifecycle_stage, 'active'),
            num(meta.creation_time),
            num(meta.last_update_time ?? meta.creation_time),
          ],
        ],
        experiment_tags: keyValues(path.join(exp.dir, 'tags')).map(([k, v]) => [exp.id, k, v]),
        datasets: dirs(path.join(exp.dir, 'datasets')).map((id) => {
          const d = readMeta(path.join(exp.dir, 'datasets', id, 'meta.yaml')) ?? {};
          return [
            id,
            exp.id,
            text(d.name),
            text(d.digest),
            text(d.source_type),
            text(d.source),
            orNull(d.schema),
            orNull(d.profile),
          ];
        }),
      };
      yield { rows, cursor: exp.id, read: 1 };
    }
  }

  private runDirs(exp: ExperimentDir): string[] {
    return dirs(exp.dir).filter(
      (d) =>
        !['tags', 'datasets', 'models', 'traces'].includes(d) &&
        existsSync(path.join(exp.dir, d, 'meta.yaml')),
    );
  }

  private async *runBatches(
    cursor: string | undefined,
    size: number,
    ownersOnly: boolean,
  ): AsyncIterable<StageBatch> {
    let rows: RowsByTable = {};
    let count = 0;
    // The last run whose rows are all in `rows`: a batch cut inside a run resumes after that one (the
    // cut run's rows are written again, which changes nothing).
    let complete: string | null = null;
    const flush = (): StageBatch => {
      const batch = { rows, cursor: complete, read: count };
      rows = {};
      count = 0;
      complete = null;
      return batch;
    };
    for (const exp of this.experiments()) {
      for (const runId of this.runDirs(exp)) {
        const position = `${exp.id}/${runId}`;
        if (cursor !== undefined && comparePositions(position, cursor) <= 0) continue;
        const dir = path.join(exp.dir, runId);
        const meta = readMeta(path.join(dir, 'meta.yaml')) ?? {};
        const tags = keyValues(path.join(dir, 'tags'));
        const name = meta.run_name ?? tags.find(([k]) => k === 'mlflow.runName')?.[1] ?? '';
        push(rows, 'runs', [
          text(meta.run_id ?? meta.run_uuid, runId),
          exp.id,
          text(name),
          text(meta.user_id),
          RUN_STATUS[num(meta.status)] ?? text(meta.status, 'SCHEDULED'),
          num(meta.start_time),
          numOrNull(meta.end_time),
          numOrNull(meta.deleted_time),
          text(meta.lifecycle_stage, 'active'),
          text(meta.artifact_uri),
        ]);
        count++;
        if (!ownersOnly) {
          for (const [k, v] of keyValues(path.join(dir, 'params'))) push(rows, 'params', [runId, k, v]);
          for (const [k, v] of tags) push(rows, 'tags', [runId, k, v]);
          for (const link of [...this.links(dir, 'inputs'), ...this.links(dir, 'outputs')]) {
            push(rows, 'inputs', link.input);
            for (const t of link.tags) push(rows, 'input_tags', t);
          }
          for (const [key, file] of keyFiles(path.join(dir, 'metrics'))) {
            // The file store appends a point logged twice twice; the SQL stores (and ours) keep it once.
            const seen = new Set<string>();
            for await (const line of lines(file)) {
              if (seen.size < 1_000_000) {
                if (seen.has(line)) continue;
                seen.add(line);
              }
              const [timestamp, value, step] = line.split(' ');
              const v = pythonFloat(value);
              const nan = Number.isNaN(v);
              push(rows, 'metrics', [runId, key, num(timestamp), num(step), nan ? 0 : v, nan ? 1 : 0]);
              if (++count >= size) yield flush();
            }
          }
        }
        complete = position;
        if (count >= size) yield flush();
      }
    }
    if (count > 0 || complete !== null) yield flush();
  }

  /** A run's dataset inputs (inputs/) or model outputs (outputs/) as inputs rows and their tags. */
  private links(runDir: string, folder: 'inputs' | 'outputs'): { input: Row; tags: Row[] }[] {
    return dirs(path.join(runDir, folder)).map((id) => {
      const m = readMeta(path.join(runDir, folder, id, 'meta.yaml')) ?? {};
      const tags = m.tags && typeof m.tags === 'object' ? Object.entries(m.tags as Meta) : [];
      // The file store names an output folder by its model; its input_uuid must still be unique.
      const inputId = folder === 'inputs' ? id : `${path.basename(runDir)}-${id}`.slice(0, 36);
      return {
        input: [
          inputId,
          text(m.source_type),
          // The folder is the run's, and the file store does not write the run's id into the link (it
          // repeats the dataset's or model's); the SQL store's rows name the run, so these do too.
          folder === 'outputs' ? path.basename(runDir) : text(m.source_id),
          text(m.destination_type),
          folder === 'inputs' ? path.basename(runDir) : text(m.destination_id),
          num(m.step),
        ],
        tags: tags.map(([k, v]) => [inputId, k, text(v)]),
      };
    });
  }

  private async *loggedModelBatches(
    cursor: string | undefined,
    size: number,
    ownersOnly: boolean,
  ): AsyncIterable<StageBatch> {
    for (const exp of this.experiments()) {
      for (const modelId of dirs(path.join(exp.dir, 'models'))) {
        const position = `${exp.id}/${modelId}`;
        if (cursor !== undefined && comparePositions(position, cursor) <= 0) continue;
        const dir = path.join(exp.dir, 'models', modelId);
        const m = readMeta(path.join(dir, 'meta.yaml'));
        if (!m) continue;
        const rows: RowsByTable = {
          logged_models: [
            [
              text(m.model_id, modelId),
              exp.id,
              text(m.name),
              text(m.artifact_location),
              num(m.creation_timestamp),
              num(m.last_updated_timestamp ?? m.creation_timestamp),
              num(m.status, 2),
              text(m.lifecycle_stage, 'active'),
              orNull(m.model_type),
              orNull(m.source_run_id),
              orNull(m.status_message),
            ],
          ],
        };
        let count = 1;
        if (!ownersOnly) {
          rows.logged_model_params = keyValues(path.join(dir, 'params')).map(([k, v]) => [
            modelId,
            exp.id,
            k,
            v,
          ]);
          rows.logged_model_tags = keyValues(path.join(dir, 'tags')).map(([k, v]) => [modelId, exp.id, k, v]);
          const metrics: Row[] = [];
          for (const [key, file] of keyFiles(path.join(dir, 'metrics'))) {
            for await (const line of lines(file)) {
              // timestamp value step run_id [dataset_name dataset_digest]
              const [timestamp, value, step, runId, datasetName, datasetDigest] = line.split(' ');
              const v = pythonFloat(value);
              metrics.push([
                modelId,
                key,
                num(timestamp),
                num(step),
                Number.isNaN(v) ? null : v,
                exp.id,
                text(runId),
                null,
                orNull(datasetName),
                orNull(datasetDigest),
              ]);
            }
          }
          rows.logged_model_metrics = metrics;
          count += metrics.length;
        }
        yield { rows, cursor: position, read: count };
        void size;
      }
    }
  }

  private async *registryBatches(cursor: string | undefined): AsyncIterable<StageBatch> {
    const base = path.join(this.root, 'models');
    for (const folder of dirs(base)) {
      const dir = path.join(base, folder);
      const m = readMeta(path.join(dir, 'meta.yaml'));
      if (!m) continue;
      const name = text(m.name, folder);
      if (cursor !== undefined && name <= cursor) continue;
      const rows: RowsByTable = {
        registered_models: [
          [name, numOrNull(m.creation_timestamp), numOrNull(m.last_updated_timestamp), orNull(m.description)],
        ],
        registered_model_tags: keyValues(path.join(dir, 'tags')).map(([k, v]) => [name, k, v]),
        model_versions: [],
        model_version_tags: [],
        registered_model_aliases: [],
      };
      for (const versionDir of dirs(dir).filter((d) => /^version-\d+$/.test(d))) {
        const v = readMeta(path.join(dir, versionDir, 'meta.yaml'));
        if (!v) continue;
        const version = num(v.version, Number(versionDir.slice('version-'.length)));
        rows.model_versions?.push([
          name,
          version,
          numOrNull(v.creation_timestamp),
          numOrNull(v.last_updated_timestamp),
          orNull(v.description),
          orNull(v.user_id),
          orNull(v.current_stage),
          orNull(v.source),
          orNull(v.storage_location),
          orNull(v.run_id),
          orNull(v.run_link),
          orNull(v.status),
          orNull(v.status_message),
        ]);
        for (const [k, value] of keyValues(path.join(dir, versionDir, 'tags')))
          rows.model_version_tags?.push([name, version, k, value]);
      }
      for (const [alias, value] of keyValues(path.join(dir, 'aliases'))) {
        rows.registered_model_aliases?.push([name, alias, Number(value.trim())]);
      }
      yield { rows, cursor: name, read: 1 };
    }
  }

  /**
   * Traces under `<experiment>/traces/<id>`: trace_info.yaml (MLflow 3's fields, or 2.x's request_id,
   * timestamp_ms, status), tags/ and request_metadata/ as files, the spans in artifacts/traces.json,
   * and assessments/<assessment id>.yaml.
   */
  private async *traceBatches(cursor: string | undefined, ownersOnly: boolean): AsyncIterable<StageBatch> {
    for (const exp of this.experiments()) {
      for (const traceId of dirs(path.join(exp.dir, 'traces'))) {
        const position = `${exp.id}/${traceId}`;
        if (cursor !== undefined && comparePositions(position, cursor) <= 0) continue;
        const dir = path.join(exp.dir, 'traces', traceId);
        const info = readMeta(path.join(dir, 'trace_info.yaml'));
        if (!info) continue;
        const id = text(info.trace_id ?? info.request_id, traceId);
        const requestTime =
          info.request_time === undefined ? undefined : Date.parse(String(info.request_time));
        const rows: RowsByTable = {
          trace_info: [
            [
              id,
              exp.id,
              requestTime ?? num(info.timestamp_ms),
              numOrNull(info.execution_duration_ms ?? info.execution_time_ms),
              text(info.state ?? info.status, 'STATE_UNSPECIFIED'),
              orNull(info.client_request_id),
              orNull(info.request_preview),
              orNull(info.response_preview),
            ],
          ],
        };
        if (!ownersOnly) {
          rows.trace_tags = keyValues(path.join(dir, 'tags')).map(([k, v]) => [id, k, v]);
          rows.trace_request_metadata = keyValues(path.join(dir, 'request_metadata')).map(([k, v]) => [
            id,
            k,
            v,
          ]);
          rows.spans = traceSpans(path.join(dir, 'artifacts', 'traces.json')).map((span) =>
            spanRow(id, exp.id, span),
          );
          rows.assessments = traceAssessments(path.join(dir, 'assessments'), id);
        }
        yield { rows, cursor: position, read: 1 };
      }
    }
  }

  async skipped(): Promise<SkippedEntity[]> {
    return [];
  }

  async close(): Promise<void> {}
}

/** Milliseconds of a protobuf JSON timestamp ('2025-01-02T03:04:05.678Z'), or of a number. */
function millis(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v instanceof Date) return v.getTime();
  if (typeof v !== 'string' || v === '') return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * A trace's assessments as MLflow's FileStore writes them: one YAML file per assessment, the
 * Assessment message in protobuf's JSON names (assessment_name, create_time as an RFC 3339 time,
 * feedback or expectation). Earlier MLflow 3 releases wrote `name` and `create_time_ms`; both are read.
 * Rows as our assessments table holds them (values, errors and metadata as JSON text).
 */
function traceAssessments(dir: string, traceId: string): Row[] {
  if (!existsSync(dir)) return [];
  const rows: Row[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const a = readMeta(path.join(dir, file));
    if (!a) continue;
    const feedback = a.feedback as Meta | null | undefined;
    const expectation = a.expectation as Meta | null | undefined;
    let kind: 'feedback' | 'expectation';
    let value: string;
    let error: string | null = null;
    if (feedback) {
      kind = 'feedback';
      value = JSON.stringify(feedback.value ?? null);
      error = feedback.error ? JSON.stringify(feedback.error) : a.error ? JSON.stringify(a.error) : null;
    } else if (expectation) {
      kind = 'expectation';
      const serialized = expectation.serialized_value as Meta | undefined;
      value =
        serialized && typeof serialized.value === 'string'
          ? JSON.stringify(JSON.parse(serialized.value))
          : JSON.stringify(expectation.value ?? null);
    } else {
      continue;
    }
    const source = (a.source ?? {}) as Meta;
    const metadata = a.metadata && typeof a.metadata === 'object' ? (a.metadata as Meta) : undefined;
    const created = millis(a.create_time) ?? millis(a.create_time_ms) ?? 0;
    const updated = millis(a.last_update_time) ?? millis(a.last_update_time_ms) ?? created;
    // MLflow's file only has it when we wrote it (its message has no run_id; MLflow's own fs2db
    // migration reads the key the same way).
    const runId = a.run_id;
    rows.push([
      traceId,
      text(a.assessment_id, file.slice(0, -'.yaml'.length)),
      text(a.assessment_name ?? a.name),
      kind,
      value,
      error,
      created,
      updated,
      text(source.source_type, 'SOURCE_TYPE_UNSPECIFIED'),
      orNull(source.source_id),
      orNull(runId),
      orNull(a.span_id),
      orNull(a.rationale),
      orNull(a.overrides),
      a.valid === false ? 0 : 1,
      metadata && Object.keys(metadata).length > 0 ? JSON.stringify(metadata) : null,
    ]);
  }
  return rows;
}

function push(rows: RowsByTable, table: keyof RowsByTable, row: Row): void {
  const list = rows[table];
  if (list) list.push(row);
  else rows[table] = [row];
}

async function* lines(file: string): AsyncIterable<string> {
  const reader = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of reader) if (line.trim()) yield line.trim();
}

type SpanDocument = Record<string, unknown> & { start_time_unix_nano?: unknown };

/** The span documents of a trace's traces.json (MLflow's Span.to_dict() each), or none. */
function traceSpans(file: string): { doc: SpanDocument; raw: string }[] {
  if (!existsSync(file)) return [];
  const content = readFileSync(file, 'utf8');
  // Nanosecond times exceed 2^53: they are quoted before parsing, so no JavaScript number rounds them.
  const quoted = content.replace(/"((?:start_|end_)?time_unix_nano)": *(\d+)/g, '"$1": "$2"');
  const parsed = JSON.parse(quoted) as { spans?: SpanDocument[] };
  return (parsed.spans ?? []).map((doc) => ({ doc, raw: JSON.stringify(doc) }));
}

const hexOfBase64 = (v: unknown): string | null =>
  typeof v === 'string' && v !== '' ? Buffer.from(v, 'base64').toString('hex') : null;

/** MLflow's span status column from the document's OpenTelemetry status code. */
const SPAN_STATUS: Record<string, string> = {
  STATUS_CODE_OK: 'OK',
  STATUS_CODE_ERROR: 'ERROR',
  STATUS_CODE_UNSET: 'UNSET',
};

function spanRow(traceId: string, experimentId: string, span: { doc: SpanDocument; raw: string }): Row {
  const d = span.doc;
  const attributes = (d.attributes ?? {}) as Record<string, unknown>;
  let type: unknown = null;
  try {
    type =
      typeof attributes['mlflow.spanType'] === 'string' ? JSON.parse(attributes['mlflow.spanType']) : null;
  } catch {
    type = null;
  }
  const status = (d.status ?? {}) as { code?: unknown };
  // The stored document keeps the big times as JSON numbers, exactly as written.
  const content = span.raw.replace(
    /"(start_time_unix_nano|end_time_unix_nano|time_unix_nano)":"(\d+)"/g,
    '"$1":$2',
  );
  return [
    traceId,
    experimentId,
    hexOfBase64(d.span_id) ?? '',
    hexOfBase64(d.parent_span_id),
    orNull(d.name),
    typeof type === 'string' ? type : null,
    SPAN_STATUS[text(status.code)] ?? 'UNSET',
    text(d.start_time_unix_nano, '0'),
    d.end_time_unix_nano === null || d.end_time_unix_nano === undefined ? null : text(d.end_time_unix_nano),
    content,
  ];
}

/** Experiment ids are numbers of any length; shorter sorts first, so the order is numeric. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Positions are "<experiment id>/<entry>". */
function comparePositions(a: string, b: string): number {
  const [ea, ra] = a.split('/');
  const [eb, rb] = b.split('/');
  return compareIds(ea, eb) || (ra < rb ? -1 : ra > rb ? 1 : 0);
}
