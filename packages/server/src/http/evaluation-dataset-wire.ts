// MLflow's JSON for evaluation datasets: the Dataset message (tags as a JSON string, fields without a
// value left out, as protobuf's JSON mapping does) and the records list, DatasetRecord.to_dict() of each record,
// written with each stored JSON payload spliced in verbatim.
import {
  type DatasetRecordRow,
  type EvaluationDatasetRecord,
  WRAPPED_OUTPUT_KEY,
} from '../entities/evaluation-dataset.js';

export function datasetJson(d: EvaluationDatasetRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { dataset_id: d.datasetId, name: d.name };
  // MLflow's entity always has a tags dict, so its proto always carries the JSON (`{}` when empty).
  out.tags = JSON.stringify(d.tags);
  if (d.schema !== null) out.schema = d.schema;
  if (d.profile !== null) out.profile = d.profile;
  if (d.digest !== null) out.digest = d.digest;
  out.created_time = d.createdTime;
  out.last_update_time = d.lastUpdateTime;
  if (d.createdBy !== null) out.created_by = d.createdBy;
  if (d.lastUpdatedBy !== null) out.last_updated_by = d.lastUpdatedBy;
  if (d.experimentIds.length > 0) out.experiment_ids = d.experimentIds;
  return out;
}

/** The stored outputs without MLflow's wrapper. */
function unwrappedOutputs(stored: string): string {
  try {
    const parsed: unknown = JSON.parse(stored);
    if (typeof parsed === 'object' && parsed !== null && WRAPPED_OUTPUT_KEY in parsed) {
      return JSON.stringify((parsed as Record<string, unknown>)[WRAPPED_OUTPUT_KEY]);
    }
  } catch {
    // Not ours to judge: text another writer left is passed on as it is below.
  }
  return stored;
}

/**
 * One record as MLflow's to_dict() gives it (protobuf's MessageToDict): fields in the proto's order,
 * absent ones left out, except `tags`, which MLflow's entity always fills (`{}`).
 */
function recordJson(r: DatasetRecordRow): string {
  const parts: string[] = [
    `"dataset_record_id": ${JSON.stringify(r.datasetRecordId)}`,
    `"dataset_id": ${JSON.stringify(r.datasetId)}`,
    `"inputs": ${r.inputs}`,
  ];
  const text = (key: string, value: string | null) => {
    if (value !== null) parts.push(`"${key}": ${JSON.stringify(value)}`);
  };
  if (r.expectations !== null) parts.push(`"expectations": ${r.expectations}`);
  parts.push(`"tags": ${r.tags ?? '{}'}`);
  if (r.source !== null) parts.push(`"source": ${r.source}`);
  text('source_id', r.sourceId);
  text('source_type', r.sourceType);
  parts.push(`"created_time": ${r.createdTime}`, `"last_update_time": ${r.lastUpdateTime}`);
  text('created_by', r.createdBy);
  text('last_updated_by', r.lastUpdatedBy);
  if (r.outputs !== null) parts.push(`"outputs": ${unwrappedOutputs(r.outputs)}`);
  return `{${parts.join(', ')}}`;
}

/** GetDatasetRecords' `records`: one JSON string holding the list. */
export function recordsJson(records: DatasetRecordRow[]): string {
  return `[${records.map(recordJson).join(', ')}]`;
}
