// ONNX models (the `onnx` flavor) run in Node through onnxruntime-node's CPU binary, no Python at all.
// Inputs are fed by name (or the first input for an unnamed tensor); outputs come back as MLflow's
// onnx pyfunc returns them: a dict of output name to array, or records for a DataFrame input.
import path from 'node:path';
import { MlflowError } from '../entities/errors.js';
import { flavorOf } from '../models/mlmodel.js';
import { type ModelRuntime, type RuntimeFactory, RuntimeUnavailable } from './model-runtime.js';
import { encodePredictions, nest } from './prediction-json.js';
import type { ModelInput, ScoringRequest, Tensor } from './scoring-input.js';

type Ort = typeof import('onnxruntime-node');
type OrtTensor = import('onnxruntime-node').Tensor;
type Session = import('onnxruntime-node').InferenceSession;

/** onnxruntime's element type names to the typed arrays that hold them. */
const ARRAYS: Record<string, (values: unknown[]) => ArrayLike<number | bigint | boolean> | string[]> = {
  float32: (v) => Float32Array.from(v as number[], (x) => (x === null ? Number.NaN : x)),
  float64: (v) => Float64Array.from(v as number[], (x) => (x === null ? Number.NaN : x)),
  int32: (v) => Int32Array.from(v as number[]),
  int64: (v) => BigInt64Array.from(v as number[], (x) => BigInt(x)),
  int8: (v) => Int8Array.from(v as number[]),
  uint8: (v) => Uint8Array.from(v as number[]),
  bool: (v) => Uint8Array.from(v as boolean[], (x) => (x ? 1 : 0)),
  string: (v) => v.map(String),
};

/** ONNX's tensor(float) style names to onnxruntime-node's Tensor types. */
function ortType(onnxType: string): string {
  const inner = /tensor\((\w+)\)/.exec(onnxType)?.[1] ?? onnxType;
  return inner === 'float'
    ? 'float32'
    : inner === 'double'
      ? 'float64'
      : inner === 'boolean'
        ? 'bool'
        : inner;
}

class OnnxRuntime implements ModelRuntime {
  readonly name = 'onnx';

  constructor(
    private readonly ort: Ort,
    private readonly session: Session,
    private readonly inputTypes: Map<string, string>,
  ) {}

  private tensor(name: string, t: Tensor): OrtTensor {
    const type = this.inputTypes.get(name) ?? 'float32';
    const make = ARRAYS[type];
    if (!make)
      throw new MlflowError(
        'BAD_REQUEST',
        `The model's input '${name}' has type ${type}, which mlflow-ts cannot feed.`,
      );
    return new this.ort.Tensor(type as 'float32', make(t.data) as Float32Array, t.shape);
  }

  private feeds(input: ModelInput): Record<string, OrtTensor> {
    const names = this.session.inputNames;
    if (input.kind === 'tensor') return { [names[0]]: this.tensor(names[0], input.tensor) };
    if (input.kind === 'tensors') {
      const feeds: Record<string, OrtTensor> = {};
      for (const name of names) {
        const t = input.tensors[name];
        if (!t) throw new MlflowError('BAD_REQUEST', `The ONNX model needs an input named '${name}'.`);
        feeds[name] = this.tensor(name, t);
      }
      return feeds;
    }
    // A DataFrame: its columns by name when the model has several inputs, else all of it as one matrix.
    if (names.length > 1) {
      const feeds: Record<string, OrtTensor> = {};
      for (const name of names) {
        const column = input.columns.find((c) => c.name === name);
        if (!column)
          throw new MlflowError('BAD_REQUEST', `The ONNX model needs an input column named '${name}'.`);
        feeds[name] = this.tensor(name, {
          dtype: column.dtype,
          shape: [input.rowCount, 1],
          data: column.values,
        });
      }
      return feeds;
    }
    const data: unknown[] = [];
    for (let r = 0; r < input.rowCount; r++) for (const c of input.columns) data.push(c.values[r]);
    return {
      [names[0]]: this.tensor(names[0], {
        dtype: 'float32',
        shape: [input.rowCount, input.columns.length],
        data,
      }),
    };
  }

  async predict(request: ScoringRequest): Promise<string> {
    const results = await this.session.run(this.feeds(request.input));
    const outputs: Record<string, unknown> = {};
    for (const name of this.session.outputNames) {
      const t = results[name];
      const values =
        t.type === 'int64' ? Array.from(t.data as BigInt64Array, Number) : (t.data as ArrayLike<unknown>);
      outputs[name] = nest(values, t.dims);
    }
    if (request.input.kind !== 'frame') return encodePredictions(outputs);
    const rows = request.input.rowCount;
    return encodePredictions(
      Array.from({ length: rows }, (_, i) =>
        Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, Array.isArray(v) ? v[i] : v])),
      ),
    );
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

export const onnxRuntime: RuntimeFactory = {
  name: 'onnx',
  accepts: (model) => flavorOf(model, 'onnx') !== undefined,
  async load(modelDir, model, options) {
    let ort: Ort;
    try {
      ort = await import('onnxruntime-node');
    } catch (error) {
      throw new RuntimeUnavailable(
        `onnxruntime-node could not be loaded (${(error as Error).message}); ONNX models cannot be served natively.`,
      );
    }
    const flavor = flavorOf(model, 'onnx') ?? {};
    const file = path.join(modelDir, String(flavor.data ?? 'model.onnx'));
    const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
    const types = new Map<string, string>();
    session.inputMetadata.forEach((meta) => {
      types.set(meta.name, meta.isTensor ? ortType(String(meta.type)) : 'float32');
    });
    options.log(`mlflow-ts serving: ONNX model loaded in Node (inputs ${session.inputNames.join(', ')})`);
    return new OnnxRuntime(ort, session, types);
  },
};
