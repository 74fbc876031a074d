// The sampled histories the chart grid's line cards draw: one bulk request per metric (100 runs per
// request, the server's limit), a few at a time in card order so the first cards draw first, each
// metric fetched once per set of runs.
import { useEffect, useRef, useState } from 'react';
import { api, type MetricWithRunId } from '../../api';
import { pointsPerRun } from '../../lib/history-budget';

/** Requests in flight at once: the browser's connection limit is 6, and the table may need one. */
const PARALLEL = 4;
/** A card is a few hundred pixels wide; more points per run would not show. */
const CARD_POINTS = 320;

export type CardHistory = { points: MetricWithRunId[] } | { error: Error };

async function loadMetric(runIds: string[], key: string, signal: AbortSignal): Promise<MetricWithRunId[]> {
  const perRun = Math.min(CARD_POINTS, pointsPerRun(runIds.length));
  const pages = [];
  for (let i = 0; i < runIds.length; i += 100)
    pages.push(
      api.metricHistoryInterval(
        { run_ids: runIds.slice(i, i + 100), metric_key: key, max_results: perRun, sampling: 'MIN_MAX' },
        signal,
      ),
    );
  return (await Promise.all(pages)).flatMap((p) => p.metrics ?? []);
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
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        let result: CardHistory;
        try {
          result = { points: await loadMetric(runIds, key, signal) };
        } catch (error) {
          result = { error: error as Error };
        }
        if (signal.aborted) return;
        const k = key;
        setLoaded((m) => new Map(m).set(k, result));
      }
    };
    for (let i = 0; i < PARALLEL; i++) void worker();
  }, [runsKey, metrics.join('\u0000')]);

  useEffect(() => () => controller.current?.abort(), []);
  return loaded;
}
