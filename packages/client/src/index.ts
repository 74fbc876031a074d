/**
 * @mlflow-ts/client: a dependency-light client for MLflow-compatible tracking servers, for browsers
 * and Node. This entry imports nothing from Node; in Node the package resolves to ./node.js, which adds
 * local file access (logArtifact of paths, downloads to disk), the flush on process exit and the
 * async context that lets concurrent traced calls keep their own parent spans.
 */

export type { ArtifactData } from './artifacts.js';
export { RunArtifacts } from './artifacts.js';
export {
  chunkBatch,
  MAX_ENTITIES_PER_BATCH,
  MAX_METRICS_PER_BATCH,
  MAX_PARAMS_PER_BATCH,
  MAX_TAGS_PER_BATCH,
} from './batch-limits.js';
export type {
  CreateRunOptions,
  LogMetricOptions,
  SearchExperimentsOptions,
  SearchRunsOptions,
} from './client.js';
export { MlflowClient } from './client.js';
export type { ClientConfig, ClientOptions } from './config.js';
export {
  authorizationHeader,
  DEFAULT_TRACKING_URI,
  isLocalTrackingUri,
  LOCAL_ORIGIN,
  resolveConfig,
  resolveTrackingUri,
} from './config.js';
// The wire types (wire.ts) come through entities.js.
export type * from './entities.js';
export { normalizeExperiment, normalizeMetric, normalizeRun } from './entities.js';
export { MlflowError, MlflowFlushError, MlflowRestError } from './errors.js';
export type { SearchDatasetsOptions } from './evaluation-datasets.js';
export { datasetTags, EvaluationDatasetMethods, normalizeDataset } from './evaluation-datasets.js';
export * from './fluent.js';
export type {
  CreateLoggedModelOptions,
  LoggedModelOrderBy,
  SearchLoggedModelsOptions,
} from './logged-models.js';
export { LoggedModelMethods, MODEL_VERSIONS_TAG } from './logged-models.js';
export type { MetricBufferOptions } from './metric-buffer.js';
export { MetricBuffer } from './metric-buffer.js';
export type { ModelReference } from './model-uri.js';
export { downloadModel, parseModelUri, resolveModelUri } from './model-uri.js';
export type {
  CreateModelVersionOptions,
  SearchRegistryOptions,
} from './registry.js';
export { normalizeModelVersion, normalizeRegisteredModel, RegistryMethods } from './registry.js';
export type { HttpMethod, RequestOptions } from './rest.js';
export { RETRY_STATUSES, RestTransport } from './rest.js';
export type { Cell, RunTable } from './run-table.js';
export { runsToTable, tableToCsv, tableToJsonLines } from './run-table.js';
export { ScorerMethods } from './scorers.js';
export type {
  CreateServingEndpointOptions,
  Invocation,
  InvokeOptions,
} from './serving-endpoints.js';
export { MODEL_VERSION_HEADER, ServingEndpointMethods } from './serving-endpoints.js';
export type { AssessmentOptions, SearchTracesOptions, Trace, TraceSpan } from './traces.js';
export { normalizeTraceInfo, parseSpan, TraceMethods } from './traces.js';
export type { SpanOptions, TraceMethodDecorator, TraceOptions, TracingOptions } from './tracing/api.js';
export {
  configureTracing,
  flushTraces,
  getActiveTraceId,
  getCurrentActiveSpan,
  getLastActiveTraceId,
  startSpan,
  trace,
  updateCurrentTrace,
  withSpan,
} from './tracing/api.js';
export type { SpanContextStore } from './tracing/context.js';
export type { SpanEvent, SpanStatusCode } from './tracing/span.js';
export { LiveSpan, SpanAttributeKey, SpanType } from './tracing/span.js';
export { currentUserName } from './user-name.js';
export type {
  CreateWebhookOptions,
  UpdateWebhookOptions,
  WebhookEventInput,
} from './webhooks.js';
export { WebhookMethods, webhookEvent } from './webhooks.js';
