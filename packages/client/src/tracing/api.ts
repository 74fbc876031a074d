// The tracing API, in the spirit of MLflow's `mlflow.trace` / `start_span` and its TypeScript SDK:
// trace() wraps functions, withSpan() runs a block inside a span, startSpan() hands back a span to end
// by hand. A span started while another is active becomes its child; traces go to the fluent API's
// tracking server and experiment unless configureTracing() says otherwise.

import { MlflowClient } from '../client.js';
import { activeRun, getClient, resolveExperimentId } from '../fluent.js';
import { currentUserName } from '../user-name.js';
import { activeSpan, runWithSpan } from './context.js';
import { type ExporterOptions, TraceExporter } from './exporter.js';
import { randomId } from './ids.js';
import { LiveSpan, SpanType } from './span.js';
import { TRACE_SCHEMA_VERSION, type TraceState } from './trace-record.js';

export interface SpanOptions {
  /** Default: 'span' (trace() uses the function's name). */
  name?: string;
  /** One of SpanType or any string; default UNKNOWN. */
  spanType?: string;
  attributes?: Record<string, unknown>;
  inputs?: unknown;
  /** The parent span; default the active span; `null` starts a new trace. */
  parent?: LiveSpan | null;
  startTimeNs?: bigint;
  /** For a new trace: the experiment to log it to (default: the fluent API's experiment). */
  experimentId?: string;
  /** For a new trace: its tags and metadata. */
  tags?: Record<string, string>;
  metadata?: Record<string, string>;
}

export interface TracingOptions extends Partial<ExporterOptions> {
  /** Where traces go: a client, or a tracking URI for one; default the fluent API's client. */
  client?: MlflowClient | string;
  /** The experiment of new traces; default the fluent API's active experiment. */
  experimentId?: string;
}

const settings: { client?: MlflowClient; experimentId?: string } = {};
let exporter = new TraceExporter({ batchDelayMs: 500, maxBatchSpans: 200 });
// Exports still running in exporters that configureTracing replaced; flushTraces waits for them too.
let retired: Promise<void> = Promise.resolve();
const liveTraces = new Map<string, TraceState>();
let lastTraceId: string | undefined;

/**
 * Points tracing at a server and experiment and tunes batching; only traces started later follow.
 * Options left out keep their value; `client: undefined` or `experimentId: undefined` go back to the
 * fluent API's.
 */
export function configureTracing(options: TracingOptions): void {
  if ('client' in options) {
    settings.client = typeof options.client === 'string' ? new MlflowClient(options.client) : options.client;
  }
  if ('experimentId' in options) settings.experimentId = options.experimentId;
  if (options.batchDelayMs !== undefined || options.maxBatchSpans !== undefined) {
    const previous = exporter;
    exporter = new TraceExporter({ ...previous.options, ...options });
    // Spans already handed to the old exporter still go out.
    retired = Promise.all([retired, previous.flush()]).then(() => {});
  }
}

/**
 * The record of a new trace; `live` ones (started by a root span) are found again by their spans.
 * A span whose parent's trace has already ended gets an unregistered one: its spans still go out over
 * OTLP into that trace, but nothing waits for a root that has come and gone.
 */
function newTrace(options: SpanOptions, otelTraceId: string, live: boolean): TraceState {
  const traceId = `tr-${otelTraceId}`;
  const metadata: Record<string, string> = { 'mlflow.trace_schema.version': TRACE_SCHEMA_VERSION };
  const user = currentUserName();
  if (user) metadata['mlflow.user'] = user;
  const run = activeRun();
  if (run) metadata['mlflow.sourceRun'] = run.runId;
  const experimentId = resolveExperimentId(options.experimentId ?? settings.experimentId);
  // A failure here is reported when the trace is exported; keep it from being an unhandled rejection.
  experimentId.catch(() => {});
  const trace: TraceState = {
    traceId,
    transport: (settings.client ?? getClient()).transport,
    experimentId,
    metadata: { ...metadata, ...options.metadata },
    tags: { ...options.tags },
    spans: [],
  };
  if (live) liveTraces.set(traceId, trace);
  return trace;
}

/** Starts a span (not made active: see withSpan for that). End it with span.end(). */
export function startSpan(options: SpanOptions = {}): LiveSpan {
  const parent = options.parent === undefined ? activeSpan() : (options.parent ?? undefined);
  const parentTrace = parent && liveTraces.get(parent.traceId);
  const otelTraceId = parent ? parent.otelTraceId : randomId(16);
  const trace = parentTrace ?? newTrace(options, otelTraceId, !parent);
  const target = exporter;
  const span = new LiveSpan(
    {
      traceId: trace.traceId,
      otelTraceId,
      spanId: randomId(8),
      parentId: parent ? parent.spanId : null,
      name: options.name ?? 'span',
      spanType: options.spanType ?? SpanType.UNKNOWN,
      startTimeNs: options.startTimeNs,
    },
    (ended) => {
      trace.spans.push(ended);
      if (ended.parentId === null) {
        liveTraces.delete(trace.traceId);
        lastTraceId = trace.traceId;
      }
      target.spanEnded(ended, trace);
    },
  );
  if (options.attributes) span.setAttributes(options.attributes);
  if (options.inputs !== undefined) span.setInputs(options.inputs);
  return span;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Ends `span` once `result` is known (at once, or when a returned promise settles), taking the result
 * as its outputs unless outputs were set already.
 */
function endWith<T>(span: LiveSpan, result: T): T {
  const finish = (value: unknown) => span.end(span.outputs === undefined ? { outputs: value } : {});
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (value) => {
        finish(value);
        return value;
      },
      (error: unknown) => {
        span.recordException(error);
        span.end();
        throw error;
      },
    ) as T;
  }
  finish(result);
  return result;
}

/**
 * Runs `fn` inside a new span that is active for everything `fn` starts (async work included in
 * Node). The span ends when `fn` returns or its promise settles, with the result as its outputs
 * unless `fn` set them; an error is recorded (status ERROR) and rethrown. Takes MLflow's TypeScript
 * order, `withSpan(fn, options)`, or `withSpan(options, fn)`; options may be just a name.
 */
export function withSpan<T>(fn: (span: LiveSpan) => T, options?: SpanOptions | string): T;
export function withSpan<T>(options: SpanOptions | string, fn: (span: LiveSpan) => T): T;
export function withSpan<T>(
  first: SpanOptions | string | ((span: LiveSpan) => T),
  second?: SpanOptions | string | ((span: LiveSpan) => T),
): T {
  const [fn, given] =
    typeof first === 'function'
      ? [first, second as SpanOptions | string | undefined]
      : [second as (span: LiveSpan) => T, first];
  const span = startSpan(typeof given === 'string' ? { name: given } : (given ?? {}));
  let result: T;
  try {
    result = runWithSpan(span, () => fn(span));
  } catch (error) {
    span.recordException(error);
    span.end();
    throw error;
  }
  return endWith(span, result);
}

export type TraceOptions = Omit<SpanOptions, 'inputs' | 'parent' | 'startTimeNs'>;

/** The names of a function's plain parameters, or undefined when any is destructured or spread. */
function parameterNames(fn: (...args: never[]) => unknown): string[] | undefined {
  const source = Function.prototype.toString.call(fn);
  const m =
    /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(source) ??
    // Functions, and class methods as a decorator sees them: `*gen(a)`, `async *gen(a)`, `#hidden(a)`.
    /^(?:async\s*)?(?:function\s*)?\*?\s*(?:#?[\w$]+\s*)?\(([^)]*)\)/.exec(source);
  if (!m) return undefined;
  const names = m[1]
    .split(',')
    .map((p) =>
      p
        .replace(/\/\*.*?\*\//g, '')
        .split('=')[0]
        .trim(),
    )
    .filter((p) => p !== '');
  return names.every((n) => /^[A-Za-z_$][\w$]*$/.test(n)) ? names : undefined;
}

/** The span inputs for a call: arguments by parameter name, as MLflow records them. */
function inputsOf(names: string[] | undefined, args: unknown[]): Record<string, unknown> {
  if (!names || names.length < args.length) return { args };
  const inputs: Record<string, unknown> = {};
  args.forEach((value, i) => {
    inputs[names[i]] = value;
  });
  return inputs;
}

function isIterator(value: unknown): value is Iterator<unknown> & Iterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { next?: unknown }).next === 'function' &&
    (Symbol.iterator in value || Symbol.asyncIterator in value)
  );
}

/**
 * A generator's values passed through with `span` active while it runs; the span ends when the
 * generator finishes (every value yielded as the outputs), fails, or is closed early.
 */
function tracedGenerator(span: LiveSpan, source: Iterator<unknown> & object): unknown {
  const yielded: unknown[] = [];
  const step = (r: IteratorResult<unknown>) => {
    if (r.done) span.end({ outputs: yielded });
    else yielded.push(r.value);
    return r;
  };
  const fail = (error: unknown): never => {
    span.recordException(error);
    span.end();
    throw error;
  };
  const close = (value: unknown) => {
    span.end({ outputs: yielded });
    return { done: true as const, value };
  };
  if (Symbol.asyncIterator in source) {
    const it = source as unknown as AsyncIterator<unknown>;
    const wrapped: AsyncIterableIterator<unknown> = {
      next: (...args: [] | [unknown]) => runWithSpan(span, () => it.next(...args)).then(step, fail),
      return: async (value?: unknown) => {
        close(value);
        return it.return ? it.return(value) : { done: true as const, value };
      },
      [Symbol.asyncIterator]() {
        return wrapped;
      },
    };
    return wrapped;
  }
  const it = source as Iterator<unknown>;
  const wrapped: IterableIterator<unknown> = {
    next: (...args: [] | [unknown]) => {
      try {
        return step(runWithSpan(span, () => it.next(...args)));
      } catch (error) {
        return fail(error);
      }
    },
    return: (value?: unknown) => {
      close(value);
      return it.return ? it.return(value) : { done: true as const, value };
    },
    [Symbol.iterator]() {
      return wrapped;
    },
  };
  return wrapped;
}

/** A class method as a standard (TypeScript 5) decorator receives it. */
type Method<This, A extends unknown[], R> = (this: This, ...args: A) => R;
/** What `@trace(options)` is: a standard decorator of class methods. */
export type TraceMethodDecorator = <This, A extends unknown[], R>(
  method: Method<This, A, R>,
  context: ClassMethodDecoratorContext<This, Method<This, A, R>>,
) => Method<This, A, R>;

function isMethodContext(value: unknown): value is ClassMethodDecoratorContext {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'method' &&
    typeof (value as { addInitializer?: unknown }).addInitializer === 'function'
  );
}

function methodName(context: ClassMethodDecoratorContext): string {
  return typeof context.name === 'symbol' ? (context.name.description ?? 'span') : context.name;
}

/**
 * Wraps `fn` so that each call is recorded as a span: its arguments as inputs, its result (awaited,
 * for a promise; every value yielded, for a generator) as outputs, a thrown error as an ERROR status.
 *
 * Also a decorator of class methods (TypeScript 5's standard decorators, as in MLflow's TypeScript
 * package): `@trace` or `@trace({ spanType: SpanType.LLM })` before a method records each call the
 * same way, named after the method unless `name` is given, with `this` the instance as usual.
 */
export function trace<A extends unknown[], R>(
  fn: (...args: A) => R,
  options?: TraceOptions,
): (...args: A) => R;
export function trace<This, A extends unknown[], R>(
  method: Method<This, A, R>,
  context: ClassMethodDecoratorContext<This, Method<This, A, R>>,
): Method<This, A, R>;
export function trace(options?: TraceOptions): TraceMethodDecorator;
export function trace(
  fnOrOptions?: ((...args: never[]) => unknown) | TraceOptions,
  optionsOrContext?: TraceOptions | ClassMethodDecoratorContext,
): unknown {
  if (typeof fnOrOptions === 'function') {
    // `@trace` without parentheses: the method and its decorator context.
    if (isMethodContext(optionsOrContext))
      return traceFunction(fnOrOptions, { name: methodName(optionsOrContext) });
    return traceFunction(fnOrOptions, (optionsOrContext ?? {}) as TraceOptions);
  }
  const options = fnOrOptions ?? {};
  return (method: (...args: never[]) => unknown, context: unknown) => {
    if (!isMethodContext(context)) {
      throw new TypeError(
        'trace(options) returns a decorator for class methods (@trace(options) before a method); to wrap a function call trace(fn, options)',
      );
    }
    return traceFunction(method, { ...options, name: options.name ?? methodName(context) });
  };
}

function traceFunction<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: TraceOptions,
): (...args: A) => R {
  const names = parameterNames(fn as (...args: never[]) => unknown);
  const name = options.name ?? (fn.name || 'span');
  const traced = function (this: unknown, ...args: A): R {
    const span = startSpan({ ...options, name, inputs: inputsOf(names, args) });
    let result: R;
    try {
      result = runWithSpan(span, () => fn.apply(this, args));
    } catch (error) {
      span.recordException(error);
      span.end();
      throw error;
    }
    if (isIterator(result)) return tracedGenerator(span, result) as R;
    return endWith(span, result);
  };
  // The wrapper answers to the wrapped function's name and arity, as MLflow's does.
  Object.defineProperty(traced, 'name', { value: fn.name });
  Object.defineProperty(traced, 'length', { value: fn.length });
  return traced;
}

/** The active span, or null outside any (MLflow's getCurrentActiveSpan). */
export function getCurrentActiveSpan(): LiveSpan | null {
  return activeSpan() ?? null;
}

/** The id of the active span's trace, if any. */
export function getActiveTraceId(): string | undefined {
  return activeSpan()?.traceId;
}

/** The id of the trace whose root span ended last (MLflow's get_last_active_trace_id). */
export function getLastActiveTraceId(): string | undefined {
  return lastTraceId;
}

/**
 * Sets tags, metadata or the request/response previews of the active span's trace before it is
 * exported (MLflow's update_current_trace). Does nothing outside a trace.
 */
export function updateCurrentTrace(update: {
  tags?: Record<string, string>;
  metadata?: Record<string, string>;
  clientRequestId?: string;
  requestPreview?: string;
  responsePreview?: string;
}): void {
  const span = activeSpan();
  const trace = span && liveTraces.get(span.traceId);
  if (!trace) return;
  Object.assign(trace.tags, update.tags);
  Object.assign(trace.metadata, update.metadata);
  if (update.clientRequestId !== undefined) trace.clientRequestId = update.clientRequestId;
  if (update.requestPreview !== undefined) trace.requestPreview = update.requestPreview;
  if (update.responsePreview !== undefined) trace.responsePreview = update.responsePreview;
}

/** Sends every span and trace ended so far; resolves when the server has them (failures are logged). */
export async function flushTraces(): Promise<void> {
  await Promise.all([retired, exporter.flush()]);
}
