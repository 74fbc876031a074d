// Every run matching the view, loaded page by page, then kept live: running and new runs are asked for
// again every few seconds and merged in.
import { useEffect, useRef, useState } from 'react';
import { api, type Run, type ViewType } from '../../api';
import { andFilter, latestStart, mergePolled } from '../../lib/live';

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

/** Runs asked for by id in one request (the ids go into the filter). */
const BY_ID = 100;
/** With no run RUNNING only new runs can appear: asked for less often. */
const IDLE_POLL_MS = 6000;
/** The most running (or new) runs one poll brings back. */
const POLL_MAX = 1000;

/** Searches by run id, BY_ID at a time. */
async function runsById(ids: string[], experimentIds: string[], signal: AbortSignal): Promise<Run[]> {
  const out: Run[] = [];
  for (let i = 0; i < ids.length; i += BY_ID) {
    const page = await api.searchRuns(
      {
        experiment_ids: experimentIds,
        filter: `attributes.run_id IN (${ids
          .slice(i, i + BY_ID)
          .map((id) => `'${id}'`)
          .join(', ')})`,
        run_view_type: 'ALL',
        max_results: BY_ID,
      },
      signal,
    );
    out.push(...(page.runs ?? []));
  }
  return out;
}

/**
 * One poll: the runs of the view that are RUNNING (their metrics and status move), the ones that
 * were running at the last poll and are not any more (their final state), and runs started after
 * the latest one loaded (new runs). Each is a filtered search, so the server sends only those runs,
 * however many the experiment has; with nothing running and nothing new, two small empty answers.
 */
async function poll(
  ids: string[],
  filter: string,
  view: ViewType,
  loaded: Run[],
  signal: AbortSignal,
): Promise<Run[]> {
  const search = (clause: string) =>
    api
      .searchRuns(
        {
          experiment_ids: ids,
          filter: andFilter(filter, clause),
          run_view_type: view,
          max_results: POLL_MAX,
        },
        signal,
      )
      .then((p) => p.runs ?? []);
  const wasRunning = loaded.filter((r) => r.info.status === 'RUNNING').map((r) => r.info.run_id);
  const [running, fresh] = await Promise.all([
    search(`attributes.status = 'RUNNING'`),
    search(`attributes.start_time > ${latestStart(loaded)}`),
  ]);
  const still = new Set(running.map((r) => r.info.run_id));
  const ended = wasRunning.filter((id) => !still.has(id));
  const finished = ended.length ? await runsById(ended, ids, signal) : [];
  return [...running, ...fresh, ...finished];
}

/**
 * The runs, and the time the last poll ran (durations of running runs are counted to it). Once every
 * page is loaded, the view is polled (see poll) every few seconds while the tab is visible, unless
 * `live` is off; new and changed runs are merged into the list without reloading it.
 */
export function useLiveRuns(
  ids: string[],
  filter: string,
  orderBy: string,
  view: ViewType,
  reloadTick: number,
  live = true,
): { loading: LoadedRuns; now: number; polledAt: number | undefined } {
  const [loading, setLoading] = useAllRuns(ids, filter, orderBy, view, reloadTick);
  const [now, setNow] = useState(Date.now());
  const [polledAt, setPolledAt] = useState<number>();
  const runsRef = useRef(loading.runs);
  runsRef.current = loading.runs;
  const anyRunning = loading.runs.some((r) => r.info.status === 'RUNNING');
  const ready = live && loading.done && !loading.error && ids.length > 0;
  useEffect(() => {
    if (!ready) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      if (document.visibilityState === 'visible') {
        setNow(Date.now());
        try {
          const fresh = await poll(ids, filter, view, runsRef.current, controller.signal);
          if (controller.signal.aborted) return;
          setLoading((s) => {
            const runs = mergePolled(s.runs, fresh);
            return runs === s.runs ? s : { ...s, runs };
          });
          setPolledAt(Date.now());
        } catch {
          // A failed poll is retried on the next tick.
        }
      }
      if (!controller.signal.aborted) timer = setTimeout(tick, anyRunning ? POLL_MS : IDLE_POLL_MS);
    };
    timer = setTimeout(tick, anyRunning ? POLL_MS : IDLE_POLL_MS);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [ready, anyRunning, ids, filter, view, setLoading]);
  return { loading, now, polledAt };
}
