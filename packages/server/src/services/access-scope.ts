// The caller's read access for the request being handled, set by the auth hook at the HTTP edge and
// read by the services' searches, which hand it down to their store queries.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ReadAccess } from '../entities/access.js';

const scope = new AsyncLocalStorage<ReadAccess>();

/** Runs `fn` (and everything it starts) as a caller with `access`. */
export function runWithReadAccess<T>(access: ReadAccess, fn: () => T): T {
  return scope.run(access, fn);
}

/** The current caller's access; undefined outside a request or without access control (all readable). */
export function currentReadAccess(): ReadAccess | undefined {
  return scope.getStore();
}
