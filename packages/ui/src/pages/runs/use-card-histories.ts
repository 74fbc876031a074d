// The sampled histories the chart grid's line cards draw: a few metrics per request (our
// get-histories-bulk-interval extension; 100 runs per request, the server's limit), two requests at a
// time in card order so the first cards draw first, each metric fetched once per set of runs.
import { useEffect, useRef, useState } from 'react';
import { api, type MetricWithRunId } from '../../api';
import { pointsPerRun } from '../../lib/history-budget';

/**
 * Requests in flight at once. The server answers one at a time anyway (one process, one SQLite
 * reader), so more in flight only delays the first cards; two keep it busy while an answer travels.
 */
const PARALLEL = 2;
/** Metrics per request: few enough that the first cards draw early, enough to save round trips. */
export const KEYS_PER_REQUEST = 4;
/** A card is a few hundred pixels wide; more points per run would not show. */
const CARD_POINTS = 320;

export type CardHistory = { points: MetricWithRunId[] } | { error: Error };

/** The histories of `keys` for the runs, by key, as the point lists the charts draw from. */
async function loadMetrics(
  runIds: string[],
  keys: string[],
  signal: AbortSignal,
): Promise<Map<string, MetricWithRunId[]>> {
  const perRun = Math.min(CARD_POINTS, pointsPerRun(runIds.length));
  const pages = [];
  for (let i = 0; i < runIds.length; i += 100)
    pages.push(
      api.metricHistories(
        { run_ids: runIds.slice(i, i + 100), metric_keys: keys, max_results: perRun, sampling: 'MIN_MAX' },
        signal,
      ),
    );
  const byKey = new Map<string, MetricWithRunId[]>(keys.map((k) => [k, []]));
  for (const page of await Promise.all(pages))
    for (const s of page.series) {
      const list = byKey.get(s.metric_key);
      // The cards plot by step; the timestamp is not sent.
      for (let i = 0; i < s.steps.length; i++)
        list?.push({
          key: s.metric_key,
          run_id: s.run_id,
          step: s.steps[i],
          value: s.values[i],
          timestamp: 0,
        });
    }
  return byKey;
}

export function useCardHistories(runIds: string[], metrics: string[]): Map<string, CardHistory> {
  const [loaded, setLoaded] = useState(() => new Map<string, CardHistory>());
  const runsKey = runIds.join(',');
  // Which metrics are asked for (or done) for the current runs; reset when the runs change.
  const asked = useRef({ runsKey: '', keys: new Set<string>() });
  const controller = useRef<AbortController | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runsKey stands for runIds
  useEffect(() => {
    if (asked.current.runsKey !== runsKey) {
      controller.current?.abort();
      controller.current = new AbortController();
      asked.current = { runsKey, keys: new Set() };
      setLoaded(new Map());
    }
    const signal = controller.current?.signal ?? new AbortController().signal;
    const queue = metrics.filter((k) => !asked.current.keys.has(k));
    if (queue.length === 0 || runIds.length === 0) return;
    for (const k of queue) asked.current.keys.add(k);
    const worker = async () => {
      for (
        let keys = queue.splice(0, KEYS_PER_REQUEST);
        keys.length > 0;
        keys = queue.splice(0, KEYS_PER_REQUEST)
      ) {
        let results: [string, CardHistory][];
        try {
          const byKey = await loadMetrics(runIds, keys, signal);
          results = keys.map((k) => [k, { points: byKey.get(k) ?? [] }]);
        } catch (error) {
          results = keys.map((k) => [k, { error: error as Error }]);
        }
        if (signal.aborted) return;
        setLoaded((m) => {
          const next = new Map(m);
          for (const [k, r] of results) next.set(k, r);
          return next;
        });
      }
    };
    for (let i = 0; i < PARALLEL; i++) void worker();
  }, [runsKey, metrics.join('\u0000')]);

  useEffect(() => () => controller.current?.abort(), []);
  return loaded;
}
