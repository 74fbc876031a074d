import { api, type Run } from '../api';

/** Fetches runs by id (a few at a time), in the order given; a missing run fails the whole load. */
export async function loadRuns(ids: string[]): Promise<Run[]> {
  const out: Run[] = [];
  for (let i = 0; i < ids.length; i += 8) {
    const batch = await Promise.all(ids.slice(i, i + 8).map((id) => api.getRun(id).then((r) => r.run)));
    out.push(...batch);
  }
  return out;
}
