import { parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import {
  type HistoryBounds,
  lastPointPosition,
  sqliteHistoryBatchParams,
  sqliteHistoryBatchSql,
} from './history-json.js';
import type { HistoryReaderMessage, HistoryReaderReply, HistoryReaderThreadData } from './history-readers.js';
import { openSqliteConnection } from './sqlite-connection.js';

// One of the history reader threads (history-readers.ts). SQLite writes the JSON of a long metric
// history at about one core's speed; these threads read the slices of one history side by side, and
// hand each batch back as UTF-8 bytes, so the HTTP thread only copies bytes to the socket.

interface Job {
  id: number;
  runId: string;
  key: string;
  slices: HistoryBounds[];
  /** The slice being read and, within it, the position the next batch starts after. */
  slice: number;
  after?: HistoryBounds['after'];
  /** Batches this thread may still send before the HTTP thread has taken earlier ones. */
  credit: number;
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('history-reader-thread must run as a worker thread');
  const { file, batchSize } = workerData as HistoryReaderThreadData;
  const conn = openSqliteConnection(file);
  const statements = new Map<string, BetterSqlite3.Statement>();
  const statement = (b: HistoryBounds) => {
    const shape = { after: b.after !== undefined, from: b.from !== undefined, to: b.to !== undefined };
    const sql = sqliteHistoryBatchSql(shape);
    let st = statements.get(sql);
    if (!st) {
      st = conn.prepare(sql);
      statements.set(sql, st);
    }
    return st;
  };
  const jobs = new Map<number, Job>();
  let scheduled = false;

  /** Reads one batch of `job` and sends it; false when the job is over. */
  function step(job: Job): boolean {
    const slice = job.slices[job.slice];
    const bounds: HistoryBounds = { ...slice, after: job.after ?? slice.after };
    const row = statement(bounds).get(...sqliteHistoryBatchParams(job.runId, job.key, bounds, batchSize)) as {
      json: Buffer | null;
      count: number;
    };
    const bytes = row.json ?? Buffer.alloc(0);
    const count = Number(row.count);
    const sliceDone = count < batchSize;
    if (!sliceDone) {
      job.after = lastPointPosition(bytes.subarray(-200).toString());
      // Not expected (the text is the database's own); ending the slice would lose points, so fail.
      if (!job.after) throw new Error('cannot read the position of the last point of a history batch');
    }
    const last = sliceDone && job.slice === job.slices.length - 1;
    const reply: HistoryReaderReply = { id: job.id, bytes, count, sliceDone };
    // The driver gives each blob its own memory, which can move to the other thread without a copy;
    // anything else (a slice of a shared pool) is copied.
    const own = bytes.length > 0 && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    port?.postMessage(reply, own ? [bytes.buffer as ArrayBuffer] : []);
    job.credit--;
    if (sliceDone) {
      job.slice++;
      job.after = undefined;
    }
    return !last;
  }

  /** One batch per runnable job in turn, yielding to the message queue between rounds. */
  function pump(): void {
    scheduled = false;
    let more = false;
    for (const job of jobs.values()) {
      if (job.credit <= 0) continue;
      try {
        if (!step(job)) {
          jobs.delete(job.id);
          continue;
        }
      } catch (error) {
        jobs.delete(job.id);
        port?.postMessage({ id: job.id, error: (error as Error).message } satisfies HistoryReaderReply);
        continue;
      }
      if (job.credit > 0) more = true;
    }
    if (more) schedule();
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(pump);
  }

  port.on('message', (message: HistoryReaderMessage) => {
    if (message.type === 'read') {
      jobs.set(message.id, {
        id: message.id,
        runId: message.runId,
        key: message.key,
        slices: message.slices,
        slice: 0,
        credit: message.credit,
      });
    } else if (message.type === 'more') {
      const job = jobs.get(message.id);
      if (job) job.credit++;
    } else if (message.type === 'cancel') {
      jobs.delete(message.id);
    } else {
      conn.close();
      port.close();
      return;
    }
    schedule();
  });
}

main();
