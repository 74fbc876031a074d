// Quotas: the limits a server may be configured with (all off by default) and the error a write that
// would go past one gets.
import { MlflowError } from './errors.js';

/** Each limit by its name in a --limits file (and, upper-cased, in MLFLOW_TS_LIMIT_<NAME>). */
export interface ResourceLimits {
  experiments?: number;
  runs_per_experiment?: number;
  params_per_run?: number;
  tags_per_run?: number;
  /** Metric values (points: one key at one step and timestamp) logged to a run, all keys together. */
  metric_values_per_run?: number;
  /** Bytes stored in a run's artifact folder, checked on uploads through the artifact proxy. */
  artifact_bytes_per_run?: number;
}

export type LimitName = keyof ResourceLimits;

export const LIMIT_NAMES: readonly LimitName[] = [
  'experiments',
  'runs_per_experiment',
  'params_per_run',
  'tags_per_run',
  'metric_values_per_run',
  'artifact_bytes_per_run',
];

/** What each limit counts, and in what. */
const COUNTED: Record<LimitName, { what: string; per?: string }> = {
  experiments: { what: 'experiments' },
  runs_per_experiment: { what: 'runs', per: 'experiment' },
  params_per_run: { what: 'params', per: 'run' },
  tags_per_run: { what: 'tags', per: 'run' },
  metric_values_per_run: { what: 'metric values', per: 'run' },
  artifact_bytes_per_run: { what: 'artifact bytes', per: 'run' },
};

/**
 * The refusal of a write that would take `owner` (e.g. "run 5f3a...") from `current` to `wouldBe`
 * items, past `limit`.
 */
export function limitExceeded(
  name: LimitName,
  limit: number,
  owner: string,
  current: number,
  wouldBe: number,
): MlflowError {
  const { what, per } = COUNTED[name];
  const scope = per ? ` per ${per}` : '';
  return new MlflowError(
    'RESOURCE_LIMIT_EXCEEDED',
    `The limit of ${limit} ${what}${scope} (${name}) would be exceeded: ${owner} has ${current} ${what} and this request would make it ${wouldBe}. Nothing was written.`,
  );
}
