// The traces of a search, fetched a page at a time as the table scrolls toward the end of what is
// loaded: at 100,000 traces only the pages looked at are ever asked for.
import type { TraceInfoV3 } from '@mlflow-ts/client/wire';
import { useCallback, useEffect, useRef, useState } from 'react';
import { traceApi } from '../../api';

export const PAGE_SIZE = 100;

export interface TracePages {
  traces: TraceInfoV3[];
  /** No more pages. */
  done: boolean;
  loading: boolean;
  error?: Error;
  /** Asks for the next page unless one is on its way or there is none. */
  more(): void;
  /** Puts a fresher record of a loaded trace in its place. */
  replace(info: TraceInfoV3): void;
}

export function useTracePages(ids: string[], filter: string, orderBy: string): TracePages {
  const [state, setState] = useState<{
    traces: TraceInfoV3[];
    token?: string;
    done: boolean;
    loading: boolean;
    error?: Error;
  }>({
    traces: [],
    done: false,
    loading: true,
  });
  const controller = useRef<AbortController>(undefined);
  const busy = useRef(false);

  const fetchPage = useCallback(
    async (token: string | undefined, signal: AbortSignal) => {
      busy.current = true;
      setState((s) => ({ ...s, loading: true }));
      try {
        // The SDK's search takes no signal: an answer to a stale search is dropped below.
        const page = await traceApi().searchTraces(ids, {
          filter: filter || undefined,
          orderBy: orderBy ? [orderBy] : undefined,
          maxResults: PAGE_SIZE,
          pageToken: token,
        });
        if (signal.aborted) return;
        setState((s) => ({
          traces: token ? s.traces.concat(page.items) : page.items,
          token: page.nextPageToken,
          done: !page.nextPageToken,
          loading: false,
        }));
      } catch (error) {
        if (!signal.aborted) setState((s) => ({ ...s, done: true, loading: false, error: error as Error }));
      } finally {
        if (!signal.aborted) busy.current = false;
      }
    },
    [ids, filter, orderBy],
  );

  useEffect(() => {
    const c = new AbortController();
    controller.current = c;
    busy.current = false;
    setState({ traces: [], done: false, loading: true });
    void fetchPage(undefined, c.signal);
    return () => c.abort();
  }, [fetchPage]);

  const tokenRef = useRef<string | undefined>(undefined);
  tokenRef.current = state.token;
  const more = useCallback(() => {
    const c = controller.current;
    if (!c || busy.current || !tokenRef.current) return;
    void fetchPage(tokenRef.current, c.signal);
  }, [fetchPage]);

  const replace = useCallback((info: TraceInfoV3) => {
    setState((s) => ({ ...s, traces: s.traces.map((t) => (t.trace_id === info.trace_id ? info : t)) }));
  }, []);

  return {
    traces: state.traces,
    done: state.done,
    loading: state.loading,
    error: state.error,
    more,
    replace,
  };
}
