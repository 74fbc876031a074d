// python_function models run in a pool of Python worker processes, one request at a time each. A
// worker that crashes or overruns the timeout is killed and replaced, and its request is answered
// with an error instead of hanging.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MlflowError } from '../entities/errors.js';
import { flavorOf, type MLmodel } from '../models/mlmodel.js';
import { shellQuote } from '../projects/shell-quote.js';
import type { ModelRuntime, PredictionsJson, RuntimeFactory, RuntimeOptions } from './model-runtime.js';
import { modelFailure } from './scoring-errors.js';
import type { ScoringRequest } from './scoring-input.js';

/** The worker script shipped in the package (packages/server/python/). */
export const WORKER_SCRIPT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../python/mlflow_ts_scoring_worker.py',
);

/** What the worker needs to load the model without reading YAML (its environment may lack PyYAML). */
export interface WorkerConfig {
  model_dir: string;
  loader: 'sklearn' | 'loader_module' | 'onnx' | 'mlflow-only';
  loader_module?: string;
  pickled_model?: string;
  serialization_format?: string;
  predict_fn?: string;
  code?: string | null;
  data?: string | null;
  without_mlflow?: boolean;
  /** onnx: the execution providers the model was saved with (the CPU one when none is available). */
  providers?: string[];
}

export function workerConfig(modelDir: string, model: MLmodel, withoutMlflow = false): WorkerConfig {
  const pyfunc = flavorOf(model, 'python_function') ?? {};
  const sklearn = flavorOf(model, 'sklearn');
  const loaderModule = typeof pyfunc.loader_module === 'string' ? pyfunc.loader_module : undefined;
  const base = { model_dir: modelDir, without_mlflow: withoutMlflow };
  if (sklearn && (loaderModule === undefined || loaderModule === 'mlflow.sklearn')) {
    return {
      ...base,
      loader: 'sklearn',
      pickled_model: String(sklearn.pickled_model ?? pyfunc.model_path ?? 'model.pkl'),
      serialization_format: String(sklearn.serialization_format ?? 'cloudpickle'),
      predict_fn: typeof pyfunc.predict_fn === 'string' ? pyfunc.predict_fn : undefined,
    };
  }
  const onnx = flavorOf(model, 'onnx');
  if (onnx && (loaderModule === undefined || loaderModule === 'mlflow.onnx')) {
    return {
      ...base,
      loader: 'onnx',
      data: String(onnx.data ?? pyfunc.data ?? 'model.onnx'),
      providers: Array.isArray(onnx.providers) ? onnx.providers.map(String) : [],
    };
  }
  if (loaderModule && !loaderModule.startsWith('mlflow.')) {
    return {
      ...base,
      loader: 'loader_module',
      loader_module: loaderModule,
      code: typeof pyfunc.code === 'string' ? pyfunc.code : null,
      data: typeof pyfunc.data === 'string' ? pyfunc.data : null,
    };
  }
  return { ...base, loader: 'mlflow-only', loader_module: loaderModule };
}

interface Job {
  line: string;
  resolve: (json: PredictionsJson) => void;
  reject: (error: Error) => void;
}

interface WorkerReply {
  id?: number;
  ready?: boolean;
  ok?: boolean;
  predictions?: string;
  error_code?: string;
  message?: string;
  trace?: string;
  loader?: string;
}

/** The longest wait before replacing a worker when replacements keep failing to load the model. */
const MAX_RESPAWN_DELAY_MS = 30_000;

/** Codes of an MlflowException raised in the worker (by mlflow's own schema checks) that pass through. */
const PASSED_CODES = new Set(['BAD_REQUEST', 'INVALID_PARAMETER_VALUE']);

class Worker {
  readonly process: ChildProcess;
  readonly ready: Promise<string>;
  job: { id: number; job: Job; timer: NodeJS.Timeout } | undefined;
  exited = false;
  loaded = false;
  private nextId = 0;

  constructor(
    private readonly options: RuntimeOptions,
    config: WorkerConfig,
    private readonly onExit: (worker: Worker) => void,
    private readonly onIdle: (worker: Worker) => void,
  ) {
    const args = ['-u', WORKER_SCRIPT, JSON.stringify(config)];
    // `exec` so that the worker's pid is python's own: killing it on a timeout kills the model.
    this.process = options.wrap
      ? spawn('bash', ['-c', options.wrap(`exec ${[options.python, ...args].map(shellQuote).join(' ')}`)], {
          stdio: ['pipe', 'pipe', 'pipe'],
        })
      : spawn(options.python, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let readyReply: (loader: string) => void = () => {};
    let readyFail: (error: Error) => void = () => {};
    this.ready = new Promise((resolve, reject) => {
      readyReply = resolve;
      readyFail = reject;
    });
    this.ready.catch(() => {});
    let stderrTail = '';
    this.process.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-4000);
      for (const line of chunk.split('\n'))
        if (line.trim()) options.log(`[worker ${this.process.pid}] ${line}`);
    });
    this.process.stdin?.on('error', () => {}); // a dead worker's pipe; its exit is handled below
    const lines = createInterface({ input: this.process.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      let reply: WorkerReply;
      try {
        reply = JSON.parse(line) as WorkerReply;
      } catch {
        options.log(`[worker ${this.process.pid}] unreadable protocol line: ${line.slice(0, 200)}`);
        return;
      }
      if (reply.ready === true) {
        this.loaded = true;
        readyReply(reply.loader ?? 'unknown');
      } else if (reply.ready === false)
        readyFail(new Error(`The model could not be loaded: ${reply.message}`));
      else this.answer(reply);
    });
    this.process.on('error', (error) =>
      readyFail(new Error(`Could not start ${options.python}: ${error.message}`)),
    );
    this.process.on('exit', (code, signal) => {
      this.exited = true;
      readyFail(
        new Error(
          `The model's Python worker exited (${signal ?? `code ${code}`}) before loading the model${stderrTail ? `:\n${stderrTail.trim()}` : ''}`,
        ),
      );
      const current = this.job;
      this.job = undefined;
      if (current) {
        clearTimeout(current.timer);
        current.job.reject(
          new MlflowError(
            'TEMPORARILY_UNAVAILABLE',
            `The model's worker process stopped (${signal ?? `exit code ${code}`}) while predicting; it is being restarted. Send the request again.`,
          ),
        );
      }
      this.onExit(this);
    });
  }

  run(job: Job): void {
    const id = ++this.nextId;
    const timer = setTimeout(() => {
      if (this.job?.id !== id) return;
      this.job = undefined;
      job.reject(
        new MlflowError(
          'TEMPORARILY_UNAVAILABLE',
          `The prediction took longer than the ${this.options.timeoutMs / 1000} s timeout (--timeout); its worker is being restarted.`,
        ),
      );
      this.process.kill('SIGKILL');
    }, this.options.timeoutMs);
    this.job = { id, job, timer };
    this.process.stdin?.write(`{"id": ${id}, ${job.line}}\n`);
  }

  private answer(reply: WorkerReply): void {
    const current = this.job;
    if (!current || current.id !== reply.id) return; // a late answer to a request that timed out
    clearTimeout(current.timer);
    this.job = undefined;
    if (reply.ok) current.job.resolve(reply.predictions ?? 'null');
    else if (reply.error_code && reply.message && PASSED_CODES.has(reply.error_code)) {
      // MLflow's scoring server words an MlflowException from predict this way.
      const code = reply.error_code as 'BAD_REQUEST' | 'INVALID_PARAMETER_VALUE';
      current.job.reject(new MlflowError(code, `Failed to predict data. \nError: ${reply.message}`));
    } else current.job.reject(modelFailure(reply.trace ?? reply.message ?? ''));
    this.onIdle(this);
  }
}

/** A fixed number of workers sharing one queue; a lost worker is replaced. */
export class PythonWorkerPool implements ModelRuntime {
  readonly name = 'python_function';
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly workers = new Set<Worker>();
  private closing = false;
  /** Consecutive workers that exited before loading the model. */
  private loadFailures = 0;
  private readonly respawns = new Set<NodeJS.Timeout>();
  loader = 'unknown';

  constructor(
    private readonly config: WorkerConfig,
    private readonly options: RuntimeOptions,
  ) {}

  /** Starts every worker and waits until each has loaded the model. */
  async start(): Promise<void> {
    const started = Array.from({ length: Math.max(1, this.options.workers) }, () => this.spawnWorker());
    try {
      const loaders = await Promise.all(started.map((w) => w.ready));
      this.loader = loaders[0];
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Process ids of the live workers (tests kill one to see it replaced). */
  get pids(): number[] {
    return [...this.workers].map((w) => w.process.pid ?? 0);
  }

  private spawnWorker(): Worker {
    const worker = new Worker(
      this.options,
      this.config,
      (w) => this.lost(w),
      (w) => this.release(w),
    );
    this.workers.add(worker);
    worker.ready.then(
      () => this.release(worker),
      () => {},
    );
    return worker;
  }

  private lost(worker: Worker): void {
    this.workers.delete(worker);
    const at = this.idle.indexOf(worker);
    if (at !== -1) this.idle.splice(at, 1);
    if (this.closing) return;
    // A worker that could not even load the model will likely fail again (a broken environment, a
    // full disk): replacements back off, and requests are refused rather than queued while no worker
    // is up, instead of waiting on a restart loop.
    this.loadFailures = worker.loaded ? 0 : this.loadFailures + 1;
    if (!worker.loaded && ![...this.workers].some((w) => w.loaded)) {
      for (const job of this.queue.splice(0)) {
        job.reject(
          new MlflowError('TEMPORARILY_UNAVAILABLE', 'No model worker is running; one is being restarted.'),
        );
      }
    }
    const delay =
      this.loadFailures === 0 ? 0 : Math.min(MAX_RESPAWN_DELAY_MS, 500 * 2 ** (this.loadFailures - 1));
    this.options.log(
      `mlflow-ts serving: a Python worker (pid ${worker.process.pid}) stopped; starting another${delay ? ` in ${delay / 1000} s` : ''}`,
    );
    const timer = setTimeout(() => {
      this.respawns.delete(timer);
      if (this.closing) return;
      this.spawnWorker().ready.catch((error: Error) => {
        this.options.log(`mlflow-ts serving: the replacement worker failed: ${error.message}`);
      });
    }, delay);
    this.respawns.add(timer);
  }

  private release(worker: Worker): void {
    if (worker.exited || this.closing) return;
    const next = this.queue.shift();
    if (next) worker.run(next);
    else this.idle.push(worker);
  }

  predict(request: ScoringRequest): Promise<PredictionsJson> {
    if (this.closing)
      return Promise.reject(new MlflowError('TEMPORARILY_UNAVAILABLE', 'The model server is stopping.'));
    if (this.loadFailures > 0 && ![...this.workers].some((w) => w.loaded)) {
      return Promise.reject(
        new MlflowError('TEMPORARILY_UNAVAILABLE', 'No model worker is running; one is being restarted.'),
      );
    }
    const line = `"input": ${JSON.stringify(request.input)}, "params": ${JSON.stringify(request.params ?? null)}`;
    return new Promise((resolve, reject) => {
      const job = { line, resolve, reject };
      const worker = this.idle.shift();
      if (worker) worker.run(job);
      else this.queue.push(job);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.respawns) clearTimeout(timer);
    for (const job of this.queue.splice(0))
      job.reject(new MlflowError('TEMPORARILY_UNAVAILABLE', 'The model server is stopping.'));
    const exits = [...this.workers].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.exited) return resolve();
          w.process.once('exit', () => resolve());
          w.process.stdin?.end();
          setTimeout(() => w.process.kill('SIGKILL'), 2000).unref();
        }),
    );
    await Promise.all(exits);
  }
}

export const pythonFunctionRuntime: RuntimeFactory = {
  name: 'python_function',
  accepts: (model) => flavorOf(model, 'python_function') !== undefined,
  async load(modelDir, model, options) {
    const withoutMlflow = process.env.MLFLOW_TS_SERVING_WITHOUT_MLFLOW === 'true';
    const pool = new PythonWorkerPool(workerConfig(modelDir, model, withoutMlflow), options);
    await pool.start();
    options.log(`mlflow-ts serving: ${options.workers} Python worker(s) loaded the model (${pool.loader})`);
    return pool;
  },
};
