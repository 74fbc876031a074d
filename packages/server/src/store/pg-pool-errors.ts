// Keeps a PostgreSQL pool's lost connections from ending the process.
import type pg from 'pg';

/**
 * A pooled connection that PostgreSQL closes (a restart, an administrator's kill) is reported as an
 * 'error' event: on the pool when the connection was idle, on the client itself when it was checked
 * out between two queries. Without a listener either one ends the process. The pool drops such a
 * connection (at once when idle, when it is released otherwise) and opens a new one on demand, and
 * the request that was using it gets 503 (http/fault-errors.ts), so noting it is enough.
 */
export function watchLostConnections(pool: pg.Pool): void {
  let last = 0;
  const note = (error: Error) => {
    // At most one line every 10 s: a restart drops every connection at once.
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    console.error(`mlflow-ts: lost a PostgreSQL connection (${error.message}); reconnecting on demand`);
  };
  pool.on('error', note);
  pool.on('connect', (client) => client.on('error', note));
}
