// The run under the pointer, shared by a page's legend and charts without re-rendering them: charts
// subscribe and fade the other runs' lines themselves (uPlot's focus), the legend marks the entry.
import { useSyncExternalStore } from 'react';

export interface Highlight {
  get(): string | null;
  set(runId: string | null): void;
  subscribe(listener: () => void): () => void;
}

export function createHighlight(): Highlight {
  let current: string | null = null;
  const listeners = new Set<() => void>();
  return {
    get: () => current,
    set(runId) {
      if (runId === current) return;
      current = runId;
      for (const l of listeners) l();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The highlighted run; re-renders the caller when it changes. */
export function useHighlighted(h: Highlight): string | null {
  return useSyncExternalStore(h.subscribe, h.get);
}
