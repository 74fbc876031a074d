// With .js extensions: the unit tests also type-check this file under Node's module resolution.
import { api, MlflowError, type Run } from '../api.js';

export interface FoundRuns {
  runs: Run[];
  /** The ids the server has no run for, in the order given. */
  missing: string[];
}

/**
 * Fetches runs by id (a few at a time), in the order given. An id the server does not know is set
 * aside rather than failing the whole load, so a page can show the others and name the missing ones;
 * any other error (the server down, say) still fails the load.
 */
export async function loadFoundRuns(
  ids: string[],
  getRun: (id: string) => Promise<{ run: Run }> = api.getRun,
): Promise<FoundRuns> {
  const runs: Run[] = [];
  const missing: string[] = [];
  for (let i = 0; i < ids.length; i += 8) {
    const batch = await Promise.all(
      ids.slice(i, i + 8).map((id) =>
        getRun(id).then(
          (r) => ({ id, run: r.run }),
          (error: unknown) => {
            if (error instanceof MlflowError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return { id };
            throw error;
          },
        ),
      ),
    );
    for (const b of batch) {
      if ('run' in b && b.run) runs.push(b.run);
      else missing.push(b.id);
    }
  }
  return { runs, missing };
}
