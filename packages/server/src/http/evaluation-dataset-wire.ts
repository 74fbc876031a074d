// MLflow's JSON for evaluation datasets: the Dataset message (tags as a JSON string, empty fields left
// out, as protobuf's JSON mapping does) and the records list, DatasetRecord.to_dict() of each record,
// written with each stored JSON payload spliced in verbatim.
import {
  type DatasetRecordRow,
  type EvaluationDatasetRecord,
  WRAPPED_OUTPUT_KEY,
} from '../entities/evaluation-dataset.js';

export function datasetJson(d: EvaluationDatasetRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { dataset_id: d.datasetId, name: d.name };
  if (Object.keys(d.tags).length > 0) out.tags = JSON.stringify(d.tags);
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

/** The stored outputs without MLflow's wrapper; null when there are none. */
function unwrappedOutputs(stored: string | null): string {
  if (stored === null) return 'null';
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

function recordJson(r: DatasetRecordRow): string {
  const str = (v: string | null) => JSON.stringify(v);
  return (
    `{"dataset_record_id": ${str(r.datasetRecordId)}, "dataset_id": ${str(r.datasetId)}, ` +
    `"inputs": ${r.inputs}, "outputs": ${unwrappedOutputs(r.outputs)}, ` +
    `"expectations": ${r.expectations ?? '{}'}, "tags": ${r.tags ?? '{}'}, ` +
    `"source": ${r.source ?? 'null'}, "source_id": ${str(r.sourceId)}, "source_type": ${str(r.sourceType)}, ` +
    `"created_time": ${r.createdTime}, "last_update_time": ${r.lastUpdateTime}, ` +
    `"created_by": ${str(r.createdBy)}, "last_updated_by": ${str(r.lastUpdatedBy)}}`
  );
}

/** GetDatasetRecords' `records`: one JSON string holding the list. */
export function recordsJson(records: DatasetRecordRow[]): string {
  return `[${records.map(recordJson).join(', ')}]`;
}
