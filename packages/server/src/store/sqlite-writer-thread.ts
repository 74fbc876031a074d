import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteConnection, withStatementCache } from './sqlite-connection.js';
import type { ThreadReply, ThreadRequest } from './sqlite-thread-driver.js';

// The SQLite writer connection lives in this thread. better-sqlite3 is synchronous, so on the main
// thread every insert and every commit (with its fsync) would stall all other requests; here they run
// beside the event loop, which keeps parsing requests and serving reads meanwhile.

const port = parentPort;
if (!port) throw new Error('sqlite-writer-thread must run as a worker thread');
const db = withStatementCache(openSqliteConnection((workerData as { file: string }).file), 500, true);

port.on('message', (request: ThreadRequest) => {
  if (request.close) {
    db.close();
    port.postMessage({ id: request.id, rows: [] } satisfies ThreadReply);
    port.close();
    return;
  }
  let reply: ThreadReply;
  try {
    const stmt = db.prepare(request.sql);
    if (stmt.reader) {
      reply = { id: request.id, rows: stmt.all(request.parameters) as Record<string, unknown>[] };
    } else {
      const { changes, lastInsertRowid } = stmt.run(request.parameters);
      reply = { id: request.id, rows: [], changes, lastInsertRowid: Number(lastInsertRowid) };
    }
  } catch (error) {
    const e = error as Error & { code?: string };
    reply = { id: request.id, error: { message: e.message, code: e.code } };
  }
  port.postMessage(reply);
});
