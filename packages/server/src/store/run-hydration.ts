// Turns run rows into whole runs for the reading side: params, tags and latest metrics as JSON the
// database wrote (encoded-rows.ts), kept in the run data cache by data_version, plus dataset inputs
// and MLflow 3's model links, a few queries per page of runs.
import type { Kysely, Selectable } from 'kysely';
import type { EncodedRun } from '../entities/tracking.js';
import type { Dialect } from './database.js';
import { encodedKeyValues, encodedLatestMetrics, keyValueList, metricList } from './encoded-rows.js';
import { datasetInputsOfRuns } from './input-repository.js';
import { modelLinksOfRuns } from './logged-model-repository.js';
import { RunDataCache, type RunDataJson } from './run-data-cache.js';
import type { Database, RunsTable } from './schema.js';
import { chunks, runInfoFromRow } from './tracking-rows.js';

export class RunHydrator {
  /** Params, tags and latest metrics of runs read before, as JSON (see run-data-cache.ts). */
  private readonly cache = new RunDataCache();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Loads params, tags, latest metrics and dataset inputs for a page of runs, a few queries in all. The
   * lists of runs unchanged since they were last read come from the cache instead.
   */
  async runsWithData(rows: Selectable<RunsTable>[]): Promise<EncodedRun[]> {
    const out: EncodedRun[] = [];
    for (const part of chunks(rows)) {
      const ids = part.map((r) => r.run_uuid);
      const [data, inputs, modelLinks] = await Promise.all([
        this.runDataJson(part),
        datasetInputsOfRuns(this.db, ids),
        modelLinksOfRuns(this.db, ids),
      ]);
      for (const row of part) {
        const lists = data.get(row.run_uuid);
        const run: EncodedRun = {
          info: runInfoFromRow(row),
          data: {
            metrics: metricList(lists?.metrics),
            params: keyValueList(lists?.params),
            tags: keyValueList(lists?.tags),
          },
          inputs: { dataset_inputs: inputs.get(row.run_uuid) ?? [] },
        };
        // MLflow 3's model inputs and outputs, only on runs that have them.
        const links = modelLinks.get(row.run_uuid);
        if (links?.inputs.length) run.inputs.model_inputs = links.inputs;
        if (links?.outputs.length) run.outputs = { model_outputs: links.outputs };
        out.push(run);
      }
    }
    return out;
  }

  /** The JSON of each run's params, tags and latest metrics, from the cache or (for the rest) the database. */
  private async runDataJson(rows: Selectable<RunsTable>[]): Promise<Map<string, RunDataJson>> {
    const out = new Map<string, RunDataJson>();
    const missing: Selectable<RunsTable>[] = [];
    for (const row of rows) {
      const cached = this.cache.get(row.run_uuid, Number(row.data_version));
      if (cached) out.set(row.run_uuid, cached);
      else missing.push(row);
    }
    if (missing.length === 0) return out;
    const ids = missing.map((r) => r.run_uuid);
    const [params, tags, metrics] = await Promise.all([
      encodedKeyValues(this.db, this.dialect, 'params', ids),
      encodedKeyValues(this.db, this.dialect, 'tags', ids),
      encodedLatestMetrics(this.db, this.dialect, ids),
    ]);
    for (const row of missing) {
      const id = row.run_uuid;
      const lists = {
        params: params.get(id) ?? '',
        tags: tags.get(id) ?? '',
        metrics: metrics.get(id) ?? '',
      };
      // The lists were read after the row, so they are at least as new as its version. Only committed
      // state is kept, which the reader (never a write transaction) is all this class sees.
      this.cache.set(id, Number(row.data_version), lists);
      out.set(id, lists);
    }
    return out;
  }
}
