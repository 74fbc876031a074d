// A tiny history-API router: the whole view state lives in the path and query string, so any view
// can be shared by link and the back button undoes a change.
import { useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();
let snapshot = location.pathname + location.search;

function notify(): void {
  snapshot = location.pathname + location.search;
  for (const l of listeners) l();
}
addEventListener('popstate', notify);

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export interface Route {
  path: string;
  params: URLSearchParams;
}

/** The current route; re-renders the caller when it changes. */
export function useRoute(): Route {
  const current = useSyncExternalStore(subscribe, () => snapshot);
  const [path, query = ''] = current.split('?');
  return { path, params: new URLSearchParams(query) };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
  if (!options.replace) scrollTo(0, 0);
}

/**
 * Changes some query parameters of the current route (null or '' removes one). Typing-speed changes
 * (a filter box, a slider) pass replace so they do not flood the history.
 */
export function setParams(
  updates: Record<string, string | number | null | undefined>,
  options: { replace?: boolean } = {},
): void {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(updates)) {
    if (v === null || v === undefined || v === '') params.delete(k);
    else params.set(k, String(v));
  }
  const q = params.toString();
  navigate(location.pathname + (q ? `?${q}` : ''), options);
}

/** Builds a link target from a path and query parameters, dropping empty ones. */
export function href(path: string, params: Record<string, string | number | null | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
