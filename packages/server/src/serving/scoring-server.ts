// The scoring server's lifecycle: listen at once (health says 503 while the model loads), load the
// model, and on shutdown drain HTTP first, then stop the model's workers.
import type { FastifyInstance } from 'fastify';
import { installDrain } from '../http/drain.js';
import { VERSION } from '../version.js';
import { loadPipeline } from './load-model.js';
import type { RuntimeOptions, RuntimeRegistry } from './model-runtime.js';
import { buildScoringApp, type ModelSlot } from './scoring-app.js';

export interface ScoringServerConfig extends RuntimeOptions {
  modelDir: string;
  host: string;
  port: number;
  bodyLimit: number;
  requestTimeoutMs: number;
  /** Per-request log lines (JSON); stdout by default. */
  logLine?: (line: string) => void;
  /** The runtimes to choose from (default: onnx in Node, then the Python workers). */
  runtimes?: RuntimeRegistry;
}

export interface RunningScoringServer {
  app: FastifyInstance;
  url: string;
  /** Settles when the model is loaded (rejects when it cannot be). */
  loaded: Promise<void>;
  slot: ModelSlot;
  close(): Promise<void>;
  shutdown(graceMs: number): Promise<'clean' | 'timed-out'>;
}

export async function startScoringServer(config: ScoringServerConfig): Promise<RunningScoringServer> {
  const slot: ModelSlot = { pipeline: undefined };
  const app = buildScoringApp(slot, {
    bodyLimit: config.bodyLimit,
    requestTimeoutMs: config.requestTimeoutMs,
    version: VERSION,
    logLine: config.logLine ?? ((line) => process.stdout.write(`${line}\n`)),
  });
  const drain = installDrain(app);
  const address = await app.listen({ host: config.host, port: config.port });
  const loaded = loadPipeline(config.modelDir, config, config.runtimes).then((pipeline) => {
    slot.pipeline = pipeline;
  });
  loaded.catch(() => {
    slot.loadFailed = true;
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      drain.begin();
      await app.close();
      await loaded.catch(() => {});
      await slot.pipeline?.runtime.close();
    })();
    return closing;
  };
  return {
    app,
    url: address.replace('[::1]', '127.0.0.1'),
    loaded,
    slot,
    close,
    async shutdown(graceMs) {
      const closed = close();
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        closed.then(
          () => true,
          () => true,
        ),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (inTime) return 'clean';
      drain.cutAll();
      await slot.pipeline?.runtime.close();
      return 'timed-out';
    },
  };
}
