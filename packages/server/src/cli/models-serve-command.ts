// `mlflow-ts models serve` and `models predict`: MLflow's flags; the serving code is loaded only when
// one of them runs, so the other `models` commands start fast.
import { readFile, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { MlflowError } from '../entities/errors.js';

interface ServeOptions {
  modelUri: string;
  port: string;
  host: string;
  workers?: string;
  timeout?: string;
  envManager?: string;
  conda?: boolean;
  installMlflow?: boolean;
  enableMlserver?: boolean;
  python?: string;
  maxBodySize: string;
  gracefulTimeout: string;
}

interface PredictOptions {
  modelUri: string;
  inputPath?: string;
  outputPath?: string;
  contentType: string;
  envManager?: string;
  conda?: boolean;
  installMlflow?: boolean;
  python?: string;
}

function envFlags(command: Command): Command {
  return command
    .option(
      '--env-manager <manager>',
      "how the model's Python environment is made: local (default), virtualenv, uv, conda",
    )
    .option('--no-conda', "MLflow's older spelling of --env-manager local")
    .option('--install-mlflow', 'install mlflow into the environment mlflow-ts creates')
    .option(
      '--python <path>',
      'the Python interpreter for --env-manager local (default: $MLFLOW_TS_PYTHON or python3)',
    );
}

const stderrLog = (line: string) => process.stderr.write(`${line}\n`);

export function serveCommand(): Command {
  const cmd = new Command('serve')
    .description(
      "Serve a model over MLflow's scoring protocol (POST /invocations, GET /ping, /health, /version).",
    )
    // -h is MLflow's --host here, as in `mlflow models serve`.
    .helpOption('--help', 'show this help')
    .requiredOption(
      '-m, --model-uri <uri>',
      'runs:/<run_id>/<path>, models:/<name>/<version|stage>, models:/<name>@<alias>, mlflow-artifacts:/..., s3://..., or a local path',
    )
    .option('-p, --port <port>', 'port to listen on', '5000')
    .option('-h, --host <host>', 'address to listen on', '127.0.0.1')
    .option('-w, --workers <n>', 'Python worker processes (default: $MLFLOW_MODELS_WORKERS or 1)')
    .option(
      '-t, --timeout <seconds>',
      'longest a prediction may run (default: $MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT or 60)',
    )
    .option('--enable-mlserver', "use Seldon's MLServer (not supported by mlflow-ts)")
    .option('--max-body-size <bytes>', 'largest request body accepted', String(100 * 1024 * 1024))
    .option(
      '--graceful-timeout <seconds>',
      'on SIGTERM/SIGINT, how long in-flight requests may finish',
      '30',
    );
  envFlags(cmd);
  return cmd.action(async (o: ServeOptions) => {
    if (o.enableMlserver) {
      throw new MlflowError(
        'NOT_IMPLEMENTED',
        '--enable-mlserver is not supported by mlflow-ts: it serves models with its own scoring server, which speaks the same protocol.',
      );
    }
    const { envChoice, port, positiveInt } = await import('../serving/serve-options.js');
    const { modelEnv } = await import('../serving/model-env.js');
    const { localModelDir } = await import('../serving/model-source.js');
    const { startScoringServer } = await import('../serving/scoring-server.js');
    const { handleStopSignals } = await import('./server-shutdown.js');
    const env = envChoice(o);
    const workers = positiveInt('--workers', o.workers ?? process.env.MLFLOW_MODELS_WORKERS ?? '1');
    const timeout = positiveInt(
      '--timeout',
      o.timeout ?? process.env.MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT ?? '60',
    );
    const graceMs = positiveInt('--graceful-timeout', o.gracefulTimeout) * 1000;
    const stop = handleStopSignals(graceMs);
    const modelDir = await localModelDir(o.modelUri);
    const { python, wrap } = await modelEnv(modelDir, env.manager, env.python, stderrLog, {
      installMlflow: env.installMlflow,
    });
    const server = await startScoringServer({
      modelDir,
      host: o.host,
      port: port(o.port),
      workers,
      timeoutMs: timeout * 1000,
      python,
      wrap,
      bodyLimit: positiveInt('--max-body-size', o.maxBodySize),
      requestTimeoutMs: (timeout + 30) * 1000,
      log: stderrLog,
    });
    stderrLog(`mlflow-ts models serve: listening on ${server.url} (loading the model in ${modelDir})`);
    // handleStopSignals only needs shutdown(); the scoring server has the same one as the tracking server.
    stop.serverStarted(server as unknown as Parameters<typeof stop.serverStarted>[0]);
    try {
      await server.loaded;
      stderrLog('mlflow-ts models serve: model loaded, /ping answers 200');
    } catch (error) {
      stderrLog(`Error: ${(error as Error).message}`);
      await server.close();
      process.exit(1);
    }
  });
}

export function predictCommand(): Command {
  const cmd = new Command('predict')
    .description('Score one batch offline: read the input file, write {"predictions": ...}.')
    .requiredOption('-m, --model-uri <uri>', 'the model (same forms as `models serve`)')
    .option('-i, --input-path <file>', 'the input (standard input when omitted)')
    .option('-o, --output-path <file>', 'where to write the predictions (standard output when omitted)')
    .option('-t, --content-type <type>', 'json or csv', 'json');
  envFlags(cmd);
  return cmd.action(async (o: PredictOptions) => {
    if (o.contentType !== 'json' && o.contentType !== 'csv') {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `Unknown content type '${o.contentType}': pass json or csv.`,
      );
    }
    const { envChoice } = await import('../serving/serve-options.js');
    const { modelEnv } = await import('../serving/model-env.js');
    const { localModelDir } = await import('../serving/model-source.js');
    const { loadPipeline } = await import('../serving/load-model.js');
    const env = envChoice(o);
    const input = o.inputPath ? await readFile(o.inputPath, 'utf8') : await readStdin();
    const modelDir = await localModelDir(o.modelUri);
    const { python, wrap } = await modelEnv(modelDir, env.manager, env.python, stderrLog, {
      installMlflow: env.installMlflow,
    });
    const pipeline = await loadPipeline(modelDir, {
      workers: 1,
      timeoutMs: 24 * 3600 * 1000,
      python,
      wrap,
      log: stderrLog,
    });
    try {
      const body = await pipeline.score(o.contentType === 'csv' ? 'text/csv' : 'application/json', input);
      if (o.outputPath) await writeFile(o.outputPath, body);
      else process.stdout.write(`${body}\n`);
    } finally {
      await pipeline.runtime.close();
    }
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
