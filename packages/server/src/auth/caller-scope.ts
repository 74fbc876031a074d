// The signed-in caller of the request being handled, set by the auth hook at the HTTP edge and read by
// the auth endpoints (whose tokens a request without a username means, who the audit log names).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Caller } from './auth-service.js';

const scope = new AsyncLocalStorage<Caller>();

/** Runs `fn` (and everything it starts) on behalf of `caller`. */
export function runAsCaller<T>(caller: Caller, fn: () => T): T {
  return scope.run(caller, fn);
}

/** The current caller; undefined outside a request or without access control. */
export function currentCaller(): Caller | undefined {
  return scope.getStore();
}
