// One /invocations request from body text to predictions JSON: content type, parse, enforce the
// signature and params, predict, wrap. The HTTP server and `models predict` both call it.
import type { MLmodel } from '../models/mlmodel.js';
import { requestFormat } from './content-type.js';
import { parseCsvBody } from './csv-request.js';
import { enforceParams } from './enforce-params.js';
import { enforceInput } from './enforce-schema.js';
import { type InputSchema, inputSchemaOf, type ParamSchemaEntry, paramSchemaOf } from './input-schema.js';
import { parseJsonBody } from './json-request.js';
import type { ModelRuntime } from './model-runtime.js';
import { predictionsBody } from './prediction-json.js';
import type { ScoringRequest } from './scoring-input.js';

export class ScoringPipeline {
  readonly inputSchema: InputSchema | undefined;
  readonly paramSchema: ParamSchemaEntry[] | undefined;

  constructor(
    model: MLmodel,
    readonly runtime: ModelRuntime,
  ) {
    this.inputSchema = inputSchemaOf(model.signature);
    this.paramSchema = paramSchemaOf(model.signature);
  }

  /** The request the runtime gets, or MLflow's error for the body. */
  prepare(contentType: string | undefined, body: string): ScoringRequest {
    if (requestFormat(contentType) === 'csv') {
      // MLflow passes no params with CSV input.
      return { input: enforceInput(parseCsvBody(body, this.inputSchema), this.inputSchema) };
    }
    const parsed = parseJsonBody(body);
    return {
      input: enforceInput(parsed.input, this.inputSchema),
      params: enforceParams(parsed.params, this.paramSchema),
    };
  }

  /** The full response body: {"predictions": ...}. */
  async score(contentType: string | undefined, body: string): Promise<string> {
    return predictionsBody(await this.runtime.predict(this.prepare(contentType, body)));
  }
}
