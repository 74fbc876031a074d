// MLflow 3's evaluation datasets as the store keeps them: a dataset's record (with its tags and linked
// experiments) and the records inside it, each JSON payload held as the JSON text it was stored as.

/** The source types of MLflow's DatasetRecordSource.SourceType. */
export const RECORD_SOURCE_TYPES = ['TRACE', 'HUMAN', 'DOCUMENT', 'CODE'] as const;
export type RecordSourceType = (typeof RECORD_SOURCE_TYPES)[number];

/** The tag whose value names the user behind a change (created_by / last_updated_by). */
export const USER_TAG = 'mlflow.user';

/** MLflow's limits on a dataset's tags (the evaluation_dataset_tags columns). */
export const DATASET_TAG_LIMITS = { key: 255, value: 5000 } as const;

export interface EvaluationDatasetRecord {
  datasetId: string;
  name: string;
  tags: Record<string, string>;
  /** JSON text, or null before any record was added. */
  schema: string | null;
  profile: string | null;
  digest: string | null;
  createdTime: number;
  lastUpdateTime: number;
  createdBy: string | null;
  lastUpdatedBy: string | null;
  experimentIds: string[];
}

/** One record of a dataset; `inputs` ... `source` are JSON text (null when absent). */
export interface DatasetRecordRow {
  datasetRecordId: string;
  datasetId: string;
  inputs: string;
  /** MLflow's stored form: the outputs wrapped as {"mlflow_wrapped": <outputs>}. */
  outputs: string | null;
  expectations: string | null;
  tags: string | null;
  source: string | null;
  sourceId: string | null;
  sourceType: string | null;
  createdTime: number;
  lastUpdateTime: number;
  createdBy: string | null;
  lastUpdatedBy: string | null;
}

/**
 * A record of an upsert after validation: its parsed parts, and its dedup key (the SHA-256 of the
 * inputs as Python's json.dumps(sort_keys=True) writes them, as MLflow computes it).
 */
export interface RecordUpsert {
  inputHash: string;
  inputs: Record<string, unknown>;
  /** Absent: leave a stored record's outputs as they are; null clears them. */
  outputs?: unknown;
  expectations?: Record<string, unknown>;
  tags?: Record<string, unknown>;
  source?: { source_type: RecordSourceType; source_data: Record<string, unknown> };
  sourceId?: string;
}

/** MLflow's key for outputs stored in SQL (a non-object output needs a wrapper). */
export const WRAPPED_OUTPUT_KEY = 'mlflow_wrapped';
