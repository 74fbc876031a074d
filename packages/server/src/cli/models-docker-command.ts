// `mlflow-ts models generate-dockerfile`, `build-docker` and `prepare-env`: MLflow's flags, plus
// --base-image and --network for machines without Docker Hub or with a local package index.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { MlflowError } from '../entities/errors.js';

interface ImageOptions {
  modelUri?: string;
  envManager?: string;
  installMlflow?: boolean;
  enableMlserver?: boolean;
  baseImage?: string;
}

const stderrLog = (line: string) => process.stderr.write(`${line}\n`);

function imageFlags(command: Command): Command {
  return command
    .option(
      '-m, --model-uri <uri>',
      'the model to copy into the image (same forms as `models serve`); without it, mount a model at /opt/ml/model when running the image',
    )
    .option(
      '--env-manager <manager>',
      "how the model's Python environment is made in the image: local (the model's requirements in a venv of the image's python3), virtualenv, uv, conda; unset: local with a model (none at all for onnx), virtualenv without",
    )
    .option('--install-mlflow', 'also install the mlflow Python package into the model environment')
    .option('--enable-mlserver', "serve with Seldon's MLServer (not supported by mlflow-ts)")
    .option(
      '--base-image <image>',
      'the image to build on, which must have Node 20+ and python3 with venv (default: node:20-bookworm-slim with python3 added by apt)',
    );
}

function refuseUnsupported(o: ImageOptions): void {
  if (o.enableMlserver) {
    throw new MlflowError(
      'NOT_IMPLEMENTED',
      '--enable-mlserver is not supported by mlflow-ts: its images serve with its own scoring server, which speaks the same protocol.',
    );
  }
}

async function writeContext(o: ImageOptions, outputDir: string): Promise<void> {
  refuseUnsupported(o);
  const { envChoice } = await import('../serving/serve-options.js');
  const { localModelDir } = await import('../serving/model-source.js');
  const { writeBuildContext } = await import('../serving/docker/build-context.js');
  // Checks the --env-manager value; the interpreter it also picks is the host's, of no use in an image.
  const manager = o.envManager === undefined ? undefined : envChoice({ envManager: o.envManager }).manager;
  const modelDir = o.modelUri ? await localModelDir(o.modelUri) : undefined;
  await writeBuildContext(outputDir, {
    modelDir,
    envManager: manager,
    installMlflow: o.installMlflow === true,
    baseImage: o.baseImage,
  });
}

export function generateDockerfileCommand(): Command {
  const cmd = new Command('generate-dockerfile').description(
    'Write a directory with a Dockerfile (and the model) for an image that serves the model on port 8080.',
  );
  imageFlags(cmd).option(
    '-d, --output-directory <dir>',
    'where to write the Dockerfile, model_dir/ and mlflow-ts/',
    'mlflow-dockerfile',
  );
  return cmd.action(async (o: ImageOptions & { outputDirectory: string }) => {
    stderrLog(o.modelUri ? `Generating Dockerfile for model ${o.modelUri}` : 'Generating Dockerfile');
    await writeContext(o, o.outputDirectory);
    stderrLog(`Generated Dockerfile in directory ${o.outputDirectory}`);
  });
}

export function buildDockerCommand(): Command {
  const cmd = new Command('build-docker').description(
    'Build an image that serves the model with `mlflow-ts models serve` on port 8080 (docker, else podman).',
  );
  imageFlags(cmd)
    .option('-n, --name <image>', 'the image name', 'mlflow-pyfunc-servable')
    .option('--network <mode>', 'the build network (`docker build --network`), e.g. host');
  return cmd.action(async (o: ImageOptions & { name: string; network?: string }) => {
    // A flag we refuse is said before the engine is looked for: it is wrong on every machine.
    refuseUnsupported(o);
    const { buildImage, containerEngine } = await import('../serving/docker/build-image.js');
    // The engine first: no point copying mlflow-ts and the model for a build that cannot run.
    const cli = await containerEngine();
    const context = mkdtempSync(path.join(tmpdir(), 'mlflow-ts-image-'));
    try {
      await writeContext(o, context);
      await buildImage({ cli, contextDir: context, tag: o.name, network: o.network, log: stderrLog });
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  });
}

export function prepareEnvCommand(): Command {
  return new Command('prepare-env')
    .description(
      "Build (or find in the cache) the model's Python environment, so serve and predict start fast.",
    )
    .requiredOption('-m, --model-uri <uri>', 'the model (same forms as `models serve`)')
    .option('--env-manager <manager>', 'local (default), virtualenv, uv, conda')
    .option('--install-mlflow', 'install mlflow into the environment mlflow-ts creates')
    .option('--python <path>', 'the Python interpreter for --env-manager local')
    .action(
      async (o: { modelUri: string; envManager?: string; installMlflow?: boolean; python?: string }) => {
        const { envChoice } = await import('../serving/serve-options.js');
        const { modelEnv } = await import('../serving/model-env.js');
        const { localModelDir } = await import('../serving/model-source.js');
        const env = envChoice(o);
        const modelDir = await localModelDir(o.modelUri);
        await modelEnv(modelDir, env.manager, env.python, stderrLog, { installMlflow: env.installMlflow });
      },
    );
}
