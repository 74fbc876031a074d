// The scoring server's own measurements (requests, /invocations latency, errors, in-flight requests,
// model load state), kept in memory and rendered for GET /metrics.
import { type Labels, renderHistogram, renderSimple, type Sample } from './prometheus-text.js';

/** Seconds; from a few ms (a small model in Node) to a minute (a large one in a Python worker). */
export const LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

export type ModelLoadState = 'loading' | 'loaded' | 'failed';

const LOAD_STATES: readonly ModelLoadState[] = ['loading', 'loaded', 'failed'];

/** Counts keyed by a label set; the key is the labels' JSON so equal sets share one sample. */
class LabelledCounter {
  private readonly samples = new Map<string, Sample>();

  add(labels: Labels, by = 1): void {
    const key = JSON.stringify(labels);
    const sample = this.samples.get(key);
    if (sample) sample.value += by;
    else this.samples.set(key, { labels, value: by });
  }

  all(): Sample[] {
    return [...this.samples.values()];
  }
}

export class ScoringMetrics {
  private readonly requests = new LabelledCounter();
  private readonly errors = new LabelledCounter();
  private readonly latencyCounts: number[] = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  private latencySum = 0;
  private inFlight = 0;

  requestStarted(): void {
    this.inFlight += 1;
  }

  /** `endpoint` is the route pattern (not the raw URL), so unknown paths cannot grow the label set. */
  requestFinished(method: string, endpoint: string, status: number, seconds: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.requests.add({ method, endpoint, status: String(status) });
    if (endpoint === '/invocations') {
      let bucket = LATENCY_BUCKETS.findIndex((bound) => seconds <= bound);
      if (bucket < 0) bucket = LATENCY_BUCKETS.length;
      this.latencyCounts[bucket] = (this.latencyCounts[bucket] ?? 0) + 1;
      this.latencySum += seconds;
    }
  }

  /** An answered error, by the code its body carries (or the HTTP status for plain-text refusals). */
  errorAnswered(endpoint: string, code: string): void {
    this.errors.add({ endpoint, error_code: code });
  }

  render(loadState: ModelLoadState): string {
    return [
      renderSimple(
        'mlflow_scoring_requests_total',
        'counter',
        'Requests answered, by method, route and HTTP status.',
        this.requests.all(),
      ),
      renderHistogram('mlflow_scoring_invocation_duration_seconds', 'Time to answer POST /invocations.', [
        { labels: {}, bounds: LATENCY_BUCKETS, counts: this.latencyCounts, sum: this.latencySum },
      ]),
      renderSimple(
        'mlflow_scoring_errors_total',
        'counter',
        'Error answers, by route and error code.',
        this.errors.all(),
      ),
      renderSimple('mlflow_scoring_requests_in_flight', 'gauge', 'Requests being answered now.', [
        { labels: {}, value: this.inFlight },
      ]),
      renderSimple(
        'mlflow_scoring_model_load_state',
        'gauge',
        'The model load state: 1 for the current state, 0 for the others.',
        LOAD_STATES.map((state) => ({ labels: { state }, value: state === loadState ? 1 : 0 })),
      ),
    ].join('');
  }
}
