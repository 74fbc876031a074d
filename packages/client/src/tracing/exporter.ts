// Sends finished spans and traces to the tracking server the way MLflow's Python client (3.6) does:
// ended spans in batches over OTLP/HTTP protobuf to POST /v1/traces (x-mlflow-experiment-id names the
// experiment), and when a root span ends, the trace's record through StartTraceV3. When the server does
// not keep spans (its answer lacks mlflow.trace.spansLocation=TRACKING_STORE, or /v1/traces is
// missing) the spans go as traces.json to the trace's artifact location, as MLflow's TypeScript SDK
// always does. Everything runs off the caller's path, one request after another; failures are
// logged, never thrown into user code.

import { RunArtifacts } from '../artifacts.js';
import { MlflowError } from '../errors.js';
import { platform } from '../platform.js';
import type { RestTransport } from '../rest.js';
import { encodeSpans } from './otlp-protobuf.js';
import type { LiveSpan } from './span.js';
import { type TraceState, traceDataDocument, traceInfoJson } from './trace-record.js';

export const OTLP_TRACES_PATH = '/v1/traces';
export const EXPERIMENT_ID_HEADER = 'x-mlflow-experiment-id';
const SCOPE = { name: 'mlflow-ts', version: '0.1.0' };

export interface ExporterOptions {
  /** How long an ended span may wait for others to share its request (ms). */
  batchDelayMs: number;
  /** A batch is sent at once when it holds this many spans. */
  maxBatchSpans: number;
}

interface Pending {
  span: LiveSpan;
  trace: TraceState;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class TraceExporter {
  private pending: Pending[] = [];
  private queue: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | undefined;
  // Servers found to lack the OTLP endpoint; their traces carry spans in traces.json instead.
  private readonly withoutOtlp = new WeakSet<RestTransport>();
  private exitHookSet = false;
  private sendQueued = false;

  constructor(readonly options: ExporterOptions) {}

  /** Called as each span ends; only queues work. */
  spanEnded(span: LiveSpan, trace: TraceState): void {
    this.pending.push({ span, trace });
    this.ensureExitHook();
    if (span.parentId === null) {
      this.enqueue(() => this.finishTrace(span, trace));
    } else if (this.pending.length >= this.options.maxBatchSpans) {
      if (!this.sendQueued) {
        this.sendQueued = true;
        this.enqueue(() => this.sendPending());
      }
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.enqueue(() => this.sendPending());
      }, this.options.batchDelayMs);
      // A waiting batch must not keep a Node process alive; the exit hook sends it.
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Sends everything ended so far and waits until every export started before has finished. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.enqueue(() => this.sendPending());
    return this.queue;
  }

  private enqueue(job: () => Promise<void>): void {
    this.queue = this.queue.then(job).catch((error) => {
      console.warn(`mlflow-ts: trace export failed: ${describe(error)}`);
    });
  }

  private ensureExitHook(): void {
    if (this.exitHookSet) return;
    const onExit = platform().onExit;
    if (!onExit) return;
    this.exitHookSet = true;
    onExit(async () => {
      this.exitHookSet = false;
      await this.flush();
    });
  }

  private async sendPending(): Promise<void> {
    this.sendQueued = false;
    const batch = this.pending;
    this.pending = [];
    const groups = new Map<RestTransport, Map<string, LiveSpan[]>>();
    for (const { span, trace } of batch) {
      const { transport } = trace;
      if (this.withoutOtlp.has(transport)) continue;
      let experimentId: string;
      try {
        experimentId = await trace.experimentId;
      } catch {
        continue; // reported once, when the trace itself is finished
      }
      const byExperiment = groups.get(transport) ?? new Map<string, LiveSpan[]>();
      groups.set(transport, byExperiment);
      byExperiment.set(experimentId, [...(byExperiment.get(experimentId) ?? []), span]);
    }
    for (const [transport, byExperiment] of groups) {
      for (const [experimentId, spans] of byExperiment) {
        for (let i = 0; i < spans.length; i += this.options.maxBatchSpans) {
          await this.sendSpans(transport, experimentId, spans.slice(i, i + this.options.maxBatchSpans));
        }
      }
    }
  }

  private async sendSpans(transport: RestTransport, experimentId: string, spans: LiveSpan[]): Promise<void> {
    if (this.withoutOtlp.has(transport)) return;
    try {
      const body = await encodeSpans(spans, SCOPE);
      const response = await transport.request(OTLP_TRACES_PATH, {
        method: 'POST',
        body: () => body as Uint8Array<ArrayBuffer>,
        headers: { 'Content-Type': 'application/x-protobuf', [EXPERIMENT_ID_HEADER]: experimentId },
      });
      await response.body?.cancel().catch(() => {});
    } catch (error) {
      if (error instanceof MlflowError && [404, 405, 501].includes(error.status)) {
        // MLflow's client does the same when a server cannot log spans: whole traces go as artifacts.
        this.withoutOtlp.add(transport);
        return;
      }
      console.warn(
        `mlflow-ts: could not send ${spans.length} span(s) to ${OTLP_TRACES_PATH}: ${describe(error)}`,
      );
    }
  }

  private async finishTrace(root: LiveSpan, trace: TraceState): Promise<void> {
    await this.sendPending();
    const { transport } = trace;
    try {
      const experimentId = await trace.experimentId;
      const v3 = transport.config.apiPrefix.replace(/\/2\.0\//, '/3.0/');
      const response = await transport.request(`${v3}/traces`, {
        method: 'POST',
        json: { trace: { trace_info: traceInfoJson(trace, root, experimentId) } },
      });
      const answer = (await response.json()) as {
        trace?: { trace_info?: { tags?: Record<string, string> } };
      };
      const tags = answer.trace?.trace_info?.tags ?? {};
      if (tags['mlflow.trace.spansLocation'] === 'TRACKING_STORE') return;
      const location = tags['mlflow.artifactLocation'];
      if (!location)
        throw new Error('the server gave the trace no mlflow.artifactLocation tag for its spans');
      await new RunArtifacts(transport, location).upload('traces.json', traceDataDocument(trace.spans));
    } catch (error) {
      console.warn(`mlflow-ts: could not export trace ${trace.traceId}: ${describe(error)}`);
    }
  }
}
