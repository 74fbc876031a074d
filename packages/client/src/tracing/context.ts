// Which span is active: the parent of the next span started. In Node the node entry installs an
// AsyncLocalStorage-backed store, so each async call chain sees its own parent even when branches run
// concurrently; elsewhere a plain variable tracks it, which is right only within synchronous code.

import type { LiveSpan } from './span.js';

export interface SpanContextStore {
  active(): LiveSpan | undefined;
  /** Runs `fn` with `span` active (undefined: no active span), restoring the previous one after. */
  run<T>(span: LiveSpan | undefined, fn: () => T): T;
}

function synchronousStore(): SpanContextStore {
  let current: LiveSpan | undefined;
  return {
    active: () => current,
    run: (span, fn) => {
      const previous = current;
      current = span;
      try {
        return fn();
      } finally {
        current = previous;
      }
    },
  };
}

let store: SpanContextStore = synchronousStore();

/** Replaces the context store; the node entry calls this with an AsyncLocalStorage one. */
export function setSpanContextStore(next: SpanContextStore): void {
  store = next;
}

export function activeSpan(): LiveSpan | undefined {
  return store.active();
}

export function runWithSpan<T>(span: LiveSpan | undefined, fn: () => T): T {
  return store.run(span, fn);
}
