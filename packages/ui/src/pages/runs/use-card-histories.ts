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
  /** How many runs the card draws (the budget per run depends on it), when more than runIds. */
  charted = runIds.length,
): Promise<Map<string, MetricWithRunId[]>> {
  const perRun = Math.min(CARD_POINTS, pointsPerRun(charted));
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

/**
 * The line cards' histories by metric key. `versions` (run id to data version, see lib/live.ts) tells
 * when a run logged more: the histories of the runs whose version moved are asked for again, those runs
 * only, and replace their points, so a live grid costs a request per few changed runs, not a reload.
 */
export function useCardHistories(
  runIds: string[],
  metrics: string[],
  versions?: ReadonlyMap<string, string>,
): Map<string, CardHistory> {
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

  // The version each run's histories were fetched at.
  const seen = useRef({ runsKey: '', versions: new Map<string, string>() });
  const versionsKey = runIds.map((id) => versions?.get(id) ?? '').join(',');
  // biome-ignore lint/correctness/useExhaustiveDependencies: versionsKey stands for versions
  useEffect(() => {
    if (!versions) return;
    if (seen.current.runsKey !== runsKey) {
      // New runs: the first load above fetches them at these versions.
      seen.current = { runsKey, versions: new Map(versions) };
      return;
    }
    const changed = runIds.filter((id) => versions.get(id) !== seen.current.versions.get(id));
    for (const id of changed) seen.current.versions.set(id, versions.get(id) ?? '');
    const keys = [...asked.current.keys];
    if (changed.length === 0 || keys.length === 0) return;
    const signal = controller.current?.signal ?? new AbortController().signal;
    void (async () => {
      for (let i = 0; i < keys.length; i += KEYS_PER_REQUEST) {
        const chunk = keys.slice(i, i + KEYS_PER_REQUEST);
        let byKey: Map<string, MetricWithRunId[]>;
        try {
          byKey = await loadMetrics(changed, chunk, signal, runIds.length);
        } catch {
          // The next change asks again.
          return;
        }
        if (signal.aborted) return;
        const gone = new Set(changed);
        setLoaded((m) => {
          const next = new Map(m);
          for (const k of chunk) {
            const had = m.get(k);
            const kept = had && 'points' in had ? had.points.filter((p) => !gone.has(p.run_id)) : [];
            next.set(k, { points: kept.concat(byKey.get(k) ?? []) });
          }
          return next;
        });
      }
    })();
  }, [runsKey, versionsKey]);

  useEffect(() => () => controller.current?.abort(), []);
  return loaded;
}
