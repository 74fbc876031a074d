import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { type HistoryBounds, type HistoryPosition, lastPointPosition } from './history-json.js';
import { startStoreThread } from './store-thread.js';

// Threads that read long metric histories from an SQLite file. One thread turns points into JSON at
// about a million a second on this kind of machine, which is all of a one-million-point history's
// time budget; two threads reading alternate slices of it, while the HTTP thread writes the finished
// bytes to the socket, take about half. The HTTP thread takes the slices in order, and each thread
// may run only a few batches ahead of it, so memory stays flat whatever the history's length.

export interface HistoryReaderThreadData {
  file: string;
  batchSize: number;
}

export type HistoryReaderMessage =
  | { type: 'read'; id: number; runId: string; key: string; slices: HistoryBounds[]; credit: number }
  | { type: 'more'; id: number }
  | { type: 'cancel'; id: number }
  | { type: 'close' };

export type HistoryReaderReply =
  | { id: number; bytes: Uint8Array; count: number; sliceDone: boolean }
  | { id: number; error: string };

type Batch = Extract<HistoryReaderReply, { bytes: Uint8Array }>;

/** One read through the threads (HistoryReaderPool.read). */
export interface HistoryRead {
  readonly batches: AsyncIterable<Uint8Array>;
  /** Once the batches are read: the points they held, and where the last one is in history order. */
  sent(): number;
  last(): HistoryPosition | undefined;
}

/** What a read has sent so far (HistoryReaderPool.read). */
interface ReadState {
  sent: number;
  lastBytes?: Uint8Array;
}

/** What every point but the first of a batch from the threads starts with. */
const POINT_START = Buffer.from(',{"key":');

/**
 * The first `n` points of a batch. A point's text starts with `,{"key":`, which cannot occur inside
 * one: the key is a JSON string (its quotes are escaped) and the value a number or "NaN".
 */
function firstPoints(batch: Uint8Array, n: number): Uint8Array {
  const bytes = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
  let at = 0;
  for (let i = 0; i < n; i++) {
    at = bytes.indexOf(POINT_START, at + 1);
    if (at < 0) return batch;
  }
  return batch.subarray(0, at);
}

/** Points per batch: about 170 KB of JSON. */
const BATCH_SIZE = 2_000;
/** Batches a thread may have sent for one read that the HTTP thread has not taken yet. */
const CREDIT = 3;

/** The replies of one read on one thread, in the order the thread sent them. */
class ThreadPart {
  private readonly replies: Batch[] = [];
  private waiter?: { resolve: (b: Batch) => void; reject: (e: Error) => void };
  private failure?: Error;

  constructor(
    readonly id: number,
    private readonly thread: ReaderThread,
  ) {}

  deliver(reply: HistoryReaderReply): void {
    if ('error' in reply) {
      this.fail(new Error(`reading the metric history failed: ${reply.error}`));
    } else if (this.waiter) {
      this.waiter.resolve(reply);
      this.waiter = undefined;
    } else {
      this.replies.push(reply);
    }
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.waiter?.reject(error);
    this.waiter = undefined;
  }

  /** The next batch; taking it lets the thread read one more. */
  async next(): Promise<Batch> {
    let batch = this.replies.shift();
    if (!batch) {
      if (this.failure) throw this.failure;
      batch = await new Promise<Batch>((resolve, reject) => {
        this.waiter = { resolve, reject };
      });
    }
    this.thread.post({ type: 'more', id: this.id });
    return batch;
  }

  /** Ends the read on the thread (a no-op there once it has sent everything). */
  cancel(): void {
    this.thread.post({ type: 'cancel', id: this.id });
    this.thread.forget(this.id);
  }
}

class ReaderThread {
  private readonly parts = new Map<number, ThreadPart>();
  private failure?: Error;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: HistoryReaderReply) => this.parts.get(reply.id)?.deliver(reply));
    const failAll = (error: Error) => {
      this.failure ??= error;
      for (const part of this.parts.values()) part.fail(error);
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`a history reader thread stopped (exit code ${code})`)));
    // An idle reader must not hold the process open; one with a read in progress must, or a script
    // awaiting the read would see its event loop run empty.
    worker.unref();
  }

  start(id: number, runId: string, key: string, slices: HistoryBounds[]): ThreadPart {
    const part = new ThreadPart(id, this);
    this.parts.set(id, part);
    if (this.parts.size === 1) this.worker.ref();
    if (this.failure) part.fail(this.failure);
    else this.post({ type: 'read', id, runId, key, slices, credit: CREDIT });
    return part;
  }

  post(message: HistoryReaderMessage): void {
    if (!this.failure) this.worker.postMessage(message);
  }

  forget(id: number): void {
    if (this.parts.delete(id) && this.parts.size === 0) this.worker.unref();
  }

  async close(): Promise<void> {
    this.post({ type: 'close' });
    await this.worker.terminate();
  }
}

/** A lazily started set of history reader threads over one SQLite file. */
export class HistoryReaderPool {
  private threads?: ReaderThread[];
  private nextId = 1;

  private constructor(
    private readonly file: string,
    readonly size: number,
  ) {}

  /** Readers for `file`, or undefined on a single core, where threads would only add work. */
  static forFile(file: string, size = Math.min(4, availableParallelism())): HistoryReaderPool | undefined {
    return size >= 2 ? new HistoryReaderPool(file, size) : undefined;
  }

  /**
   * The points of `slices` (consecutive ranges of one metric's history, in order), at most `limit`
   * of them, as JSON batches each beginning with a comma. Threads start reading when the batches are
   * first pulled; leaving the loop early cancels what they have not sent.
   */
  read(runId: string, key: string, slices: HistoryBounds[], limit = Number.POSITIVE_INFINITY): HistoryRead {
    const state: ReadState = { sent: 0 };
    return {
      batches: this.batches(runId, key, slices, limit, state),
      sent: () => state.sent,
      last: () =>
        state.lastBytes ? lastPointPosition(Buffer.from(state.lastBytes.slice(-200)).toString()) : undefined,
    };
  }

  private async *batches(
    runId: string,
    key: string,
    slices: HistoryBounds[],
    limit: number,
    state: ReadState,
  ): AsyncGenerator<Uint8Array> {
    const threads = this.started();
    const k = Math.min(threads.length, slices.length);
    // Slice i goes to thread i % k, so each thread's slices come back in the order they are sent on.
    const parts = threads.slice(0, k).map((thread, t) =>
      thread.start(
        this.nextId++,
        runId,
        key,
        slices.filter((_, i) => i % k === t),
      ),
    );
    try {
      for (let i = 0; i < slices.length; i++) {
        const part = parts[i % k];
        for (;;) {
          const batch = await part.next();
          if (batch.count > 0) {
            const keep = Math.min(batch.count, limit - state.sent);
            const bytes = keep < batch.count ? firstPoints(batch.bytes, keep) : batch.bytes;
            state.sent += keep;
            state.lastBytes = bytes;
            yield bytes;
            if (state.sent >= limit) return;
          }
          if (batch.sliceDone) break;
        }
      }
    } finally {
      for (const part of parts) part.cancel();
    }
  }

  private started(): ReaderThread[] {
    this.threads ??= Array.from(
      { length: this.size },
      () =>
        new ReaderThread(
          startStoreThread('history-reader-thread', import.meta.url, {
            file: this.file,
            batchSize: BATCH_SIZE,
          } satisfies HistoryReaderThreadData),
        ),
    );
    return this.threads;
  }

  async close(): Promise<void> {
    const threads = this.threads ?? [];
    this.threads = undefined;
    await Promise.all(threads.map((t) => t.close()));
  }
}
