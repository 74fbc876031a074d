// Every run matching the view, loaded page by page, with the running ones asked for again every few seconds.
import { useEffect, useState } from 'react';
import { api, type Run, type ViewType } from '../../api';

const FIRST_PAGE = 100;
const PAGE = 1000;
const POLL_MS = 3000;

export interface LoadedRuns {
  runs: Run[];
  done: boolean;
  error?: Error;
}

/** Loads every matching run: a small first page for a fast first paint, then large pages. */
function useAllRuns(ids: string[], filter: string, orderBy: string, view: ViewType, reloadTick: number) {
  const [state, setState] = useState<LoadedRuns>({ runs: [], done: false });
  // biome-ignore lint/correctness/useExhaustiveDependencies: reloadTick is a reload trigger, not an input
  useEffect(() => {
    const controller = new AbortController();
    // No experiment, no search (the server would refuse an empty list).
    if (ids.length === 0) {
      setState({ runs: [], done: true });
      return;
    }
    setState({ runs: [], done: false });
    (async () => {
      let token: string | undefined;
      let runs: Run[] = [];
      let size = FIRST_PAGE;
      do {
        const page = await api.searchRuns(
          {
            experiment_ids: ids,
            filter: filter || undefined,
            order_by: orderBy ? [orderBy] : undefined,
            run_view_type: view,
            max_results: size,
            page_token: token,
          },
          controller.signal,
        );
        if (controller.signal.aborted) return;
        runs = runs.concat(page.runs ?? []);
        token = page.next_page_token;
        size = PAGE;
        setState({ runs, done: !token });
      } while (token);
    })().catch((error: Error) => {
      if (!controller.signal.aborted) setState((s) => ({ ...s, done: true, error }));
    });
    return () => controller.abort();
    // reloadTick is not read: changing it (after a delete or restore) reloads the list.
  }, [ids, filter, orderBy, view, reloadTick]);
  return [state, setState] as const;
}

/**
 * The runs, and the time the last poll ran (durations of running runs are counted to it). While any
 * loaded run is RUNNING, those runs (up to 100) are searched for again every few seconds.
 */
export function useLiveRuns(
  ids: string[],
  filter: string,
  orderBy: string,
  view: ViewType,
  reloadTick: number,
): { loading: LoadedRuns; now: number } {
  const [loading, setLoading] = useAllRuns(ids, filter, orderBy, view, reloadTick);
  const [now, setNow] = useState(Date.now());
  const runningKey = loading.runs
    .filter((r) => r.info.status === 'RUNNING')
    .map((r) => r.info.run_id)
    .slice(0, 100)
    .join(',');
  useEffect(() => {
    if (!runningKey) return;
    const running = runningKey.split(',');
    const timer = setInterval(async () => {
      setNow(Date.now());
      try {
        const page = await api.searchRuns({
          experiment_ids: ids,
          filter: `attributes.run_id IN (${running.map((id) => `'${id}'`).join(', ')})`,
          run_view_type: 'ALL',
          max_results: 100,
        });
        const fresh = new Map((page.runs ?? []).map((r) => [r.info.run_id, r]));
        setLoading((s) => ({ ...s, runs: s.runs.map((r) => fresh.get(r.info.run_id) ?? r) }));
      } catch {
        // A failed poll is retried on the next tick.
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [runningKey, ids, setLoading]);
  return { loading, now };
}
