// Writes a model image's build context, as `mlflow models generate-dockerfile` does: a Dockerfile,
// the model in model_dir/, and (mlflow-ts's own part) the mlflow-ts bundle in mlflow-ts/.
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MlflowError } from '../../entities/errors.js';
import { flavorOf } from '../../models/mlmodel.js';
import { readModel } from '../load-model.js';
import type { ModelEnvManager } from '../model-env.js';
import { writeAppBundle } from './app-bundle.js';
import { dockerfile, type ImagePythonEnv } from './dockerfile.js';

export interface BuildContextOptions {
  /** The model as a local directory; undefined for a generic image (the model mounted at run time). */
  modelDir?: string;
  /** --env-manager; undefined lets the model decide, as MLflow's generate-dockerfile does. */
  envManager?: ModelEnvManager;
  installMlflow: boolean;
  baseImage?: string;
}

/**
 * The image's Python environment. Unset, it follows MLflow's choice (the model's own requirements in
 * the image's Python when there is a model, virtualenv otherwise), except that an onnx model needs no
 * Python at all: mlflow-ts serves it in Node.
 */
export async function imagePythonEnv(o: BuildContextOptions): Promise<ImagePythonEnv> {
  if (o.envManager && o.envManager !== 'local') return o.envManager;
  if (!o.modelDir) return o.envManager === 'local' ? 'venv' : 'virtualenv';
  const model = await readModel(o.modelDir);
  if (flavorOf(model, 'onnx') !== undefined && !o.installMlflow) return 'none';
  if (flavorOf(model, 'python_function') === undefined && flavorOf(model, 'onnx') === undefined) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `mlflow-ts cannot serve this model, so it builds no image for it: it has the flavors ${Object.keys(model.flavors).join(', ') || '(none)'}, and serving needs onnx or python_function.`,
    );
  }
  return 'venv';
}

/** Writes the context into `outputDir` (created when missing; its model_dir/ and mlflow-ts/ replaced). */
export async function writeBuildContext(outputDir: string, o: BuildContextOptions): Promise<void> {
  const pythonEnv = await imagePythonEnv(o);
  mkdirSync(outputDir, { recursive: true });
  const modelCopy = path.join(outputDir, 'model_dir');
  const bundleDir = path.join(outputDir, 'mlflow-ts');
  rmSync(modelCopy, { recursive: true, force: true });
  rmSync(bundleDir, { recursive: true, force: true });
  if (o.modelDir) cpSync(o.modelDir, modelCopy, { recursive: true });
  const bundle = writeAppBundle(bundleDir);
  writeFileSync(
    path.join(outputDir, 'Dockerfile'),
    dockerfile({
      baseImage: o.baseImage,
      hasModel: o.modelDir !== undefined,
      pythonEnv,
      hasRequirements: o.modelDir !== undefined && existsSync(path.join(o.modelDir, 'requirements.txt')),
      installMlflow: o.installMlflow,
      // MLFLOW_HOME is a path on this machine, which the build cannot see: the image installs from pip.
      mlflowPip: ['mlflow'],
      bundleBin: bundle.bin,
    }),
  );
  // Large or private files the engine does not need to send around.
  writeFileSync(path.join(outputDir, '.dockerignore'), '**/.git\n');
}
