// Keeps a PostgreSQL pool's lost idle connections from ending the process.
import type pg from 'pg';

/**
 * An idle pooled connection that PostgreSQL closes (a restart, an administrator's kill) is reported as
 * an 'error' event, which without a listener ends the process. The pool has already dropped it and
 * opens a new one on the next query, so noting it is enough; requests in the gap get 503
 * (http/fault-errors.ts).
 */
export function watchIdleConnections(pool: pg.Pool): void {
  let last = 0;
  pool.on('error', (error) => {
    // At most one line every 10 s: a restart drops every idle connection at once.
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    console.error(`mlflow-ts: lost an idle PostgreSQL connection (${error.message}); reconnecting on demand`);
  });
}
