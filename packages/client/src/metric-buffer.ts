import { chunkBatch } from './batch-limits.js';
import type { MlflowClient } from './client.js';
import type { Metric, Param, RunTag } from './entities.js';
import { MlflowError, MlflowFlushError } from './errors.js';

export interface MetricBufferOptions {
  /** How long a value may wait before a background send starts (ms, default 1000). */
  flushIntervalMs?: number;
  /** Values queued per run that start a send at once (default 1000: one full log-batch request). */
  batchSize?: number;
  /** Queued values above which `add` makes the caller wait for sends to catch up (default 100000). */
  maxPending?: number;
}

interface Pending {
  metrics: Metric[];
  params: Param[];
  tags: RunTag[];
}

/**
 * Collects metrics (and params/tags) logged in a hot loop and sends them in background log-batch
 * calls. Sends run one at a time, in the order values were added, so every key's values reach the
 * server in order; a failed send is kept and reported by the next `flush()`.
 */
export class MetricBuffer {
  private pending = new Map<string, Pending>();
  private count = 0;
  private chain: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private errors: MlflowError[] = [];
  private readonly interval: number;
  private readonly batchSize: number;
  private readonly maxPending: number;

  constructor(
    private readonly client: MlflowClient,
    options: MetricBufferOptions = {},
  ) {
    this.interval = options.flushIntervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 1000;
    this.maxPending = options.maxPending ?? 100_000;
  }

  /** Values queued and not yet handed to a send. */
  get size(): number {
    return this.count;
  }

  /**
   * Queues values for a run. Resolves at once unless too much is queued, in which case it waits for the
   * background sends, so a fast loop cannot grow memory without bound.
   */
  add(runId: string, values: Partial<Pending>): Promise<void> {
    let p = this.pending.get(runId);
    if (!p) {
      p = { metrics: [], params: [], tags: [] };
      this.pending.set(runId, p);
    }
    if (values.metrics) for (const m of values.metrics) p.metrics.push(m);
    if (values.params) for (const x of values.params) p.params.push(x);
    if (values.tags) for (const x of values.tags) p.tags.push(x);
    const added = (values.metrics?.length ?? 0) + (values.params?.length ?? 0) + (values.tags?.length ?? 0);
    this.count += added;
    if (p.metrics.length + p.params.length + p.tags.length >= this.batchSize) this.send();
    else if (!this.timer && this.count > 0) {
      this.timer = setTimeout(() => this.send(), this.interval);
      // A pending timer alone must not keep a Node process alive; the exit hook flushes instead.
      (this.timer as { unref?: () => void }).unref?.();
    }
    if (this.count >= this.maxPending) {
      this.send();
      return this.chain;
    }
    return Promise.resolve();
  }

  /** Starts a background send of everything queued now. */
  private send(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.count === 0) return;
    const work = this.pending;
    this.pending = new Map();
    this.count = 0;
    this.chain = this.chain.then(async () => {
      for (const [runId, values] of work) {
        // Chunk by chunk, so one rejected request does not drop the chunks after it.
        for (const chunk of chunkBatch(values)) {
          try {
            await this.client.logBatch(runId, chunk);
          } catch (error) {
            this.errors.push(
              error instanceof MlflowError ? error : new MlflowError('INTERNAL_ERROR', String(error), 0),
            );
          }
        }
      }
    });
  }

  /**
   * Sends everything queued and waits for all sends to finish; throws MlflowFlushError listing the
   * failed sends since the last flush.
   */
  async flush(): Promise<void> {
    this.send();
    await this.chain;
    if (this.errors.length > 0) {
      const errors = this.errors.splice(0);
      throw errors.length === 1 ? errors[0] : new MlflowFlushError(errors);
    }
  }
}
