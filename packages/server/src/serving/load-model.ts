// A local model directory to a running runtime: read MLmodel, pick the runtime by flavor (ONNX in Node
// before Python), load it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MlflowError } from '../entities/errors.js';
import { type MLmodel, MLmodelError, readMLmodel } from '../models/mlmodel.js';
import { type RuntimeOptions, RuntimeRegistry, RuntimeUnavailable } from './model-runtime.js';
import { onnxRuntime } from './onnx-runtime.js';
import { pythonFunctionRuntime } from './python-worker-pool.js';
import { ScoringPipeline } from './scoring-pipeline.js';

/** The runtimes mlflow-ts knows, in order of preference. */
export function defaultRuntimes(): RuntimeRegistry {
  return new RuntimeRegistry().register(onnxRuntime).register(pythonFunctionRuntime);
}

export async function readModel(modelDir: string): Promise<MLmodel> {
  const file = path.join(modelDir, 'MLmodel');
  if (!existsSync(file)) {
    throw new MlflowError(
      'RESOURCE_DOES_NOT_EXIST',
      `No MLmodel file in ${modelDir}: it is not an MLflow model directory.`,
    );
  }
  try {
    return await readMLmodel(file);
  } catch (error) {
    if (error instanceof MLmodelError) throw new MlflowError('INVALID_PARAMETER_VALUE', error.message);
    throw error;
  }
}

export async function loadPipeline(
  modelDir: string,
  options: RuntimeOptions,
  runtimes?: RuntimeRegistry,
): Promise<ScoringPipeline> {
  const model = await readModel(modelDir);
  const registry = runtimes ?? defaultRuntimes();
  const candidates = registry.candidates(model);
  if (candidates.length === 0) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `mlflow-ts cannot serve this model: it has the flavors ${Object.keys(model.flavors).join(', ') || '(none)'}, and serving needs one of ${registry.names.join(', ')}.`,
    );
  }
  let unavailable: RuntimeUnavailable | undefined;
  for (const factory of candidates) {
    try {
      return new ScoringPipeline(model, await factory.load(path.resolve(modelDir), model, options));
    } catch (error) {
      if (!(error instanceof RuntimeUnavailable)) throw error;
      options.log(`mlflow-ts serving: ${error.message}; trying the next runtime`);
      unavailable = error;
    }
  }
  throw new MlflowError(
    'INVALID_PARAMETER_VALUE',
    `mlflow-ts cannot serve this model here: ${unavailable?.message}`,
  );
}
