// Run names for lists that only carry run ids (model versions): each distinct run fetched once, a few
// at a time; a run that cannot be read (deleted for good, or no access) keeps showing its id.
import { useEffect, useState } from 'react';
import { api } from '../api';

/** How many distinct runs one list looks up at most; beyond that the ids are shown. */
const MAX_RUNS = 100;

export function useRunNames(runIds: (string | undefined)[]): Map<string, string> {
  const [names, setNames] = useState(() => new Map<string, string>());
  const ids = [...new Set(runIds.filter((id): id is string => Boolean(id)))].slice(0, MAX_RUNS);
  const key = ids.join(',');
  // biome-ignore lint/correctness/useExhaustiveDependencies: key stands for ids
  useEffect(() => {
    let live = true;
    const queue = [...ids];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const runId = id;
        const name = await api.getRun(runId).then(
          (r) => r.run.info.run_name,
          () => undefined,
        );
        if (live && name) setNames((m) => new Map(m).set(runId, name));
      }
    };
    for (let i = 0; i < 4; i++) void worker();
    return () => {
      live = false;
    };
  }, [key]);
  return names;
}
