// One interface for every way a model is run (Python workers, ONNX in Node), and the registry that
// picks a runtime for a model by its flavors.
import type { MLmodel } from '../models/mlmodel.js';
import type { ScoringRequest } from './scoring-input.js';

/** The JSON text of the predictions (not yet wrapped in {"predictions": ...}). */
export type PredictionsJson = string;

export interface ModelRuntime {
  /** Which runtime serves the model, for logs and /health. */
  readonly name: string;
  predict(request: ScoringRequest): Promise<PredictionsJson>;
  /** Stops workers and frees the model; pending predictions are answered with an error. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Python worker processes (python_function models). */
  workers: number;
  /** A prediction running longer than this fails and its worker is replaced. */
  timeoutMs: number;
  /** The python interpreter of the model's environment. */
  python: string;
  /** When set, workers start through a shell inside the model's environment (see model-env.ts). */
  wrap?: (command: string) => string;
  /** Where worker stderr and lifecycle lines go. */
  log: (line: string) => void;
}

export interface RuntimeFactory {
  readonly name: string;
  /** True when this runtime can serve the model. */
  accepts(model: MLmodel): boolean;
  load(modelDir: string, model: MLmodel, options: RuntimeOptions): Promise<ModelRuntime>;
}

/** Thrown by a runtime that cannot run on this machine (a missing native library): the next one is tried. */
export class RuntimeUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeUnavailable';
  }
}

/** Runtimes in order of preference: the first that accepts a model serves it. */
export class RuntimeRegistry {
  private readonly factories: RuntimeFactory[] = [];

  register(factory: RuntimeFactory): this {
    this.factories.push(factory);
    return this;
  }

  /** Every runtime that accepts the model, most preferred first. */
  candidates(model: MLmodel): RuntimeFactory[] {
    return this.factories.filter((f) => f.accepts(model));
  }

  get names(): string[] {
    return this.factories.map((f) => f.name);
  }
}
