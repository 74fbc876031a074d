// Our tables as the importer writes them: columns in insert order, and which entity ids a row owns or
// refers to (for conflicts and for skipping what hangs off a skipped entity). Sources produce rows in
// these shapes; the bulk writer inserts them.

export type Row = unknown[];

/** The kinds of id an import can collide on or skip. */
export type IdKind =
  | 'experiment'
  | 'run'
  | 'dataset'
  | 'input'
  | 'loggedModel'
  | 'registeredModel'
  | 'webhook'
  | 'trace'
  | 'scorer'
  | 'evaluationDataset';

export interface TargetTable {
  readonly name: TargetTableName;
  readonly columns: readonly string[];
  /** The id this row is (for the tables of entities with ids). */
  owns?(row: Row): [IdKind, string];
  /** The ids this row hangs off. */
  refs?(row: Row): [IdKind, string][];
  /** The column holding an experiment id, if any (kept as a decimal string, see importer.ts). */
  experimentColumn?: number;
}

export type TargetTableName =
  | 'experiments'
  | 'experiment_tags'
  | 'runs'
  | 'params'
  | 'tags'
  | 'metrics'
  | 'datasets'
  | 'inputs'
  | 'input_tags'
  | 'logged_models'
  | 'logged_model_params'
  | 'logged_model_tags'
  | 'logged_model_metrics'
  | 'registered_models'
  | 'registered_model_tags'
  | 'model_versions'
  | 'model_version_tags'
  | 'registered_model_aliases'
  | 'webhooks'
  | 'webhook_events'
  | 'trace_info'
  | 'trace_tags'
  | 'trace_request_metadata'
  | 'spans'
  | 'assessments'
  | 'scorers'
  | 'scorer_versions'
  | 'evaluation_datasets'
  | 'evaluation_dataset_tags'
  | 'evaluation_dataset_records'
  | 'entity_associations';

const id = (v: unknown): string => String(v);

function table(
  name: TargetTableName,
  columns: string[],
  links: Pick<TargetTable, 'owns' | 'refs'> = {},
): TargetTable {
  const experimentColumn = columns.indexOf('experiment_id');
  return { name, columns, ...links, ...(experimentColumn >= 0 ? { experimentColumn } : {}) };
}

const byRun = { refs: (r: Row): [IdKind, string][] => [['run', id(r[0])]] };
const byExperiment = { refs: (r: Row): [IdKind, string][] => [['experiment', id(r[0])]] };
const byTrace = { refs: (r: Row): [IdKind, string][] => [['trace', id(r[0])]] };
const byLoggedModel = { refs: (r: Row): [IdKind, string][] => [['loggedModel', id(r[0])]] };
const byEvaluationDataset = { refs: (r: Row): [IdKind, string][] => [['evaluationDataset', id(r[0])]] };

/** The entity_associations links mlflow-ts keeps, by their ends: the ids each end names. */
const ASSOCIATION_ENDS: Record<string, [IdKind, IdKind]> = {
  'evaluation_dataset>experiment': ['evaluationDataset', 'experiment'],
  'trace>run': ['trace', 'run'],
};

export const METRIC_COLUMNS = ['run_uuid', 'key', 'timestamp', 'step', 'value', 'is_nan'];

/** Every table the importer fills, in an order where a row's parents come before it. */
export const TARGET_TABLES: readonly TargetTable[] = [
  table(
    'experiments',
    ['experiment_id', 'name', 'artifact_location', 'lifecycle_stage', 'creation_time', 'last_update_time'],
    {
      owns: (r) => ['experiment', id(r[0])],
    },
  ),
  table('experiment_tags', ['experiment_id', 'key', 'value'], byExperiment),
  table(
    'runs',
    [
      'run_uuid',
      'experiment_id',
      'name',
      'user_id',
      'status',
      'start_time',
      'end_time',
      'deleted_time',
      'lifecycle_stage',
      'artifact_uri',
    ],
    { owns: (r) => ['run', id(r[0])], refs: (r) => [['experiment', id(r[1])]] },
  ),
  table('params', ['run_uuid', 'key', 'value'], byRun),
  table('tags', ['run_uuid', 'key', 'value'], byRun),
  table('metrics', METRIC_COLUMNS, byRun),
  table(
    'datasets',
    [
      'dataset_uuid',
      'experiment_id',
      'name',
      'digest',
      'dataset_source_type',
      'dataset_source',
      'dataset_schema',
      'dataset_profile',
    ],
    { owns: (r) => ['dataset', id(r[0])], refs: (r) => [['experiment', id(r[1])]] },
  ),
  table('inputs', ['input_uuid', 'source_type', 'source_id', 'destination_type', 'destination_id', 'step'], {
    owns: (r) => ['input', id(r[0])],
    refs: (r) => {
      const refs: [IdKind, string][] = [];
      if (r[1] === 'DATASET') refs.push(['dataset', id(r[2])]);
      if (r[1] === 'RUN_OUTPUT') refs.push(['run', id(r[2])]);
      if (r[3] === 'RUN' || r[3] === 'RUN_INPUT') refs.push(['run', id(r[4])]);
      // A link to a logged model is not checked: the file store lists outputs with the runs, before its
      // models are read, and our inputs table has no foreign key to them.
      return refs;
    },
  }),
  table('input_tags', ['input_uuid', 'name', 'value'], { refs: (r) => [['input', id(r[0])]] }),
  table(
    'logged_models',
    [
      'model_id',
      'experiment_id',
      'name',
      'artifact_location',
      'creation_timestamp_ms',
      'last_updated_timestamp_ms',
      'status',
      'lifecycle_stage',
      'model_type',
      'source_run_id',
      'status_message',
    ],
    { owns: (r) => ['loggedModel', id(r[0])], refs: (r) => [['experiment', id(r[1])]] },
  ),
  table('logged_model_params', ['model_id', 'experiment_id', 'param_key', 'param_value'], byLoggedModel),
  table('logged_model_tags', ['model_id', 'experiment_id', 'tag_key', 'tag_value'], byLoggedModel),
  table(
    'logged_model_metrics',
    [
      'model_id',
      'metric_name',
      'metric_timestamp_ms',
      'metric_step',
      'metric_value',
      'experiment_id',
      'run_id',
      'dataset_uuid',
      'dataset_name',
      'dataset_digest',
    ],
    {
      refs: (r) => [
        ['loggedModel', id(r[0])],
        ['run', id(r[6])],
      ],
    },
  ),
  table('registered_models', ['name', 'creation_time', 'last_updated_time', 'description'], {
    owns: (r) => ['registeredModel', id(r[0])],
  }),
  table('registered_model_tags', ['name', 'key', 'value'], { refs: (r) => [['registeredModel', id(r[0])]] }),
  table(
    'model_versions',
    [
      'name',
      'version',
      'creation_time',
      'last_updated_time',
      'description',
      'user_id',
      'current_stage',
      'source',
      'storage_location',
      'run_id',
      'run_link',
      'status',
      'status_message',
    ],
    { refs: (r) => [['registeredModel', id(r[0])]] },
  ),
  table('model_version_tags', ['name', 'version', 'key', 'value'], {
    refs: (r) => [['registeredModel', id(r[0])]],
  }),
  table('registered_model_aliases', ['name', 'alias', 'version'], {
    refs: (r) => [['registeredModel', id(r[0])]],
  }),
  table(
    'webhooks',
    [
      'webhook_id',
      'name',
      'description',
      'url',
      'status',
      'secret',
      'creation_timestamp',
      'last_updated_timestamp',
      'deleted_timestamp',
    ],
    { owns: (r) => ['webhook', id(r[0])] },
  ),
  table('webhook_events', ['webhook_id', 'entity', 'action'], { refs: (r) => [['webhook', id(r[0])]] }),
  table(
    'trace_info',
    [
      'request_id',
      'experiment_id',
      'timestamp_ms',
      'execution_time_ms',
      'status',
      'client_request_id',
      'request_preview',
      'response_preview',
    ],
    { owns: (r) => ['trace', id(r[0])], refs: (r) => [['experiment', id(r[1])]] },
  ),
  table('trace_tags', ['request_id', 'key', 'value'], byTrace),
  table('trace_request_metadata', ['request_id', 'key', 'value'], byTrace),
  table(
    'spans',
    [
      'trace_id',
      'experiment_id',
      'span_id',
      'parent_span_id',
      'name',
      'type',
      'status',
      'start_time_unix_nano',
      'end_time_unix_nano',
      'content',
    ],
    byTrace,
  ),
  table(
    'assessments',
    [
      'trace_id',
      'assessment_id',
      'name',
      'assessment_type',
      'value',
      'error',
      'created_timestamp',
      'last_updated_timestamp',
      'source_type',
      'source_id',
      'run_id',
      'span_id',
      'rationale',
      'overrides',
      'valid',
      'assessment_metadata',
    ],
    byTrace,
  ),
  table('scorers', ['experiment_id', 'scorer_name', 'scorer_id'], {
    owns: (r) => ['scorer', id(r[2])],
    refs: (r) => [['experiment', id(r[0])]],
  }),
  table('scorer_versions', ['scorer_id', 'scorer_version', 'serialized_scorer', 'creation_time'], {
    refs: (r) => [['scorer', id(r[0])]],
  }),
  table(
    'evaluation_datasets',
    [
      'dataset_id',
      'name',
      'schema',
      'profile',
      'digest',
      'created_time',
      'last_update_time',
      'created_by',
      'last_updated_by',
    ],
    { owns: (r) => ['evaluationDataset', id(r[0])] },
  ),
  table('evaluation_dataset_tags', ['dataset_id', 'key', 'value'], byEvaluationDataset),
  table(
    'evaluation_dataset_records',
    [
      'dataset_id',
      'dataset_record_id',
      'inputs',
      'outputs',
      'expectations',
      'tags',
      'source',
      'source_id',
      'source_type',
      'created_time',
      'last_update_time',
      'created_by',
      'last_updated_by',
      'input_hash',
    ],
    byEvaluationDataset,
  ),
  // Links whose two ends are imported: a dataset to an experiment, a trace to a run (LinkTracesToRun).
  table(
    'entity_associations',
    ['source_type', 'source_id', 'destination_type', 'destination_id', 'association_id', 'created_time'],
    {
      refs: (r) => {
        const ends = ASSOCIATION_ENDS[`${r[0]}>${r[2]}`];
        return ends
          ? [
              [ends[0], id(r[1])],
              [ends[1], id(r[3])],
            ]
          : [];
      },
    },
  ),
];

/** The (source_type, destination_type) pairs of entity_associations that an import carries. */
export const KEPT_ASSOCIATIONS = Object.keys(ASSOCIATION_ENDS).map((k) => k.split('>') as [string, string]);

export const TARGET_TABLE = new Map(TARGET_TABLES.map((t) => [t.name, t]));

/** Where each kind of id lives in our schema (for conflict checks). */
export const ID_COLUMNS: Record<IdKind, { table: TargetTableName; column: string }> = {
  experiment: { table: 'experiments', column: 'experiment_id' },
  run: { table: 'runs', column: 'run_uuid' },
  dataset: { table: 'datasets', column: 'dataset_uuid' },
  input: { table: 'inputs', column: 'input_uuid' },
  loggedModel: { table: 'logged_models', column: 'model_id' },
  registeredModel: { table: 'registered_models', column: 'name' },
  webhook: { table: 'webhooks', column: 'webhook_id' },
  trace: { table: 'trace_info', column: 'request_id' },
  scorer: { table: 'scorers', column: 'scorer_id' },
  evaluationDataset: { table: 'evaluation_datasets', column: 'dataset_id' },
};

/** Rows for several tables, written in one transaction. */
export type RowsByTable = Partial<Record<TargetTableName, Row[]>>;
