// MLflow 3's trace endpoints (StartTraceV3 ... LinkTracesToRun in MLflow's service.proto, most under
// /api/3.0/mlflow), the 2.x trace endpoints older clients call, the web UI's trace-data download and
// the OTLP span receiver (POST /v1/traces).
import { Readable } from 'node:stream';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MlflowError } from '../entities/errors.js';
import type { TraceRecord } from '../entities/tracing.js';
import type { StreamedTrace, TraceService } from '../services/trace-service.js';
import { assessmentChanges, assessmentFromRequest, assessmentJson } from '../tracing/assessment-wire.js';
import { decodeOtlpJson, decodeOtlpProtobuf, type OtelSpan } from '../tracing/otel-span.js';
import { traceFromV3, traceInfoV2, traceInfoV3, traceState } from '../tracing/trace-wire.js';
import type { Endpoint } from './endpoint.js';
import { missing, type RequestFields, wrongType } from './request-fields.js';
import { batchGetTracesJson, getTraceJson, traceDataJson } from './trace-stream.js';
import { JsonStream } from './wire-json.js';

const empty = {};

/** MLflow's exporter names the experiment of the spans it sends in this header. */
export const EXPERIMENT_ID_HEADER = 'x-mlflow-experiment-id';
export const OTLP_TRACES_PATH = '/v1/traces';

async function* withTraceInfo(traces: AsyncIterable<StreamedTrace>) {
  for await (const { info, pages } of traces) yield { traceInfo: traceInfoV3(info), pages };
}

function keyValueMap(f: RequestFields, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of f.tags(field)) out[key] = value;
  return out;
}

/** max_traces and max_timestamp_millis: absent and 0 differ (0 deletes nothing or everything). */
function optionalIntField(f: RequestFields, field: string): number | undefined {
  return f.has(field) ? f.requiredInt(field) : undefined;
}

function requiredList(f: RequestFields, field: string): string[] {
  if (!f.has(field)) throw missing(field);
  return f.stringList(field);
}

/** SearchTracesV3's `locations`: the experiment ids of its MLflow-experiment locations. */
function locationExperimentIds(f: RequestFields): string[] {
  if (!f.has('locations')) throw missing('locations');
  return f.objects('locations').flatMap((location, i) => {
    const experiment = location.mlflow_experiment;
    if (experiment === undefined || experiment === null) return [];
    if (typeof experiment !== 'object' || Array.isArray(experiment)) {
      throw wrongType(`locations[${i}].mlflow_experiment`, experiment);
    }
    const id = (experiment as Record<string, unknown>).experiment_id;
    if (typeof id === 'number') return [String(id)];
    if (typeof id !== 'string') throw wrongType(`locations[${i}].mlflow_experiment.experiment_id`, id);
    return [id];
  });
}

function deletion(f: RequestFields) {
  return {
    experimentId: f.requiredExperimentId(),
    maxTimestampMillis: optionalIntField(f, 'max_timestamp_millis'),
    maxTraces: optionalIntField(f, 'max_traces'),
    traceIds: f.has('request_ids') ? f.stringList('request_ids') : undefined,
  };
}

/** FieldMask: a string in protobuf's JSON (`"assessmentName,feedback"`), `{paths: [...]}` from some clients. */
function updateMask(f: RequestFields): unknown {
  if (!f.has('update_mask')) return undefined;
  try {
    return f.optionalString('update_mask');
  } catch {
    return f.optionalObject('update_mask');
  }
}

const v2 = (t: TraceRecord) => ({ trace_info: traceInfoV2(t) });

export function traceEndpoints(): Endpoint<TraceService>[] {
  return [
    // ------------------------------------------------------------ MLflow 3 (v3)
    {
      since: 3,
      method: 'POST',
      path: 'traces',
      handle: async (traces, f) => {
        const trace = f.optionalObject('trace');
        if (!trace) throw missing('trace');
        return { trace: { trace_info: traceInfoV3(await traces.startTrace(traceFromV3(trace))) } };
      },
    },
    {
      since: 3,
      method: 'GET',
      path: 'traces/get',
      handle: async (traces, f) => {
        const traceId = f.requiredString('trace_id');
        const { info, pages } = await traces.getTrace(traceId, f.optionalBool('allow_partial') ?? false);
        return new JsonStream(getTraceJson(traceInfoV3(info), pages));
      },
    },
    {
      since: 3,
      method: 'GET',
      path: 'traces/batchGet',
      handle: async (traces, f) => {
        const found = await traces.batchGetTraces(requiredList(f, 'trace_ids'));
        return new JsonStream(batchGetTracesJson(withTraceInfo(found)));
      },
    },
    {
      since: 3,
      method: 'GET',
      path: 'traces/:trace_id',
      handle: async (traces, _f, p) => ({
        trace: { trace_info: traceInfoV3(await traces.getTraceInfo(p.trace_id)) },
      }),
    },
    {
      since: 3,
      method: 'POST',
      path: 'traces/search',
      handle: async (traces, f) => {
        const page = await traces.searchTraces({
          experimentIds: locationExperimentIds(f),
          filter: f.optionalString('filter'),
          maxResults: f.optionalInt('max_results'),
          orderBy: f.stringList('order_by'),
          pageToken: f.optionalString('page_token'),
        });
        return { traces: page.traces.map(traceInfoV3), next_page_token: page.nextPageToken };
      },
    },
    {
      since: 3,
      method: 'POST',
      path: 'traces/delete-traces',
      handle: async (traces, f) => ({ traces_deleted: await traces.deleteTraces(deletion(f)) }),
    },
    {
      since: 3,
      method: 'PATCH',
      path: 'traces/:trace_id/tags',
      handle: async (traces, f, p) => {
        await traces.setTraceTag(p.trace_id, f.requiredString('key'), f.optionalString('value') ?? '');
        return empty;
      },
    },
    {
      since: 3,
      method: 'DELETE',
      path: 'traces/:trace_id/tags',
      handle: async (traces, f, p) => {
        await traces.deleteTraceTag(p.trace_id, f.requiredString('key'));
        return empty;
      },
    },
    {
      since: 3,
      method: 'POST',
      path: 'traces/:trace_id/assessments',
      handle: async (traces, f, p) => ({
        assessment: assessmentJson(
          await traces.createAssessment(assessmentFromRequest(f.optionalObject('assessment'), p.trace_id)),
        ),
      }),
    },
    {
      since: 3,
      method: 'GET',
      path: 'traces/:trace_id/assessments/:assessment_id',
      handle: async (traces, _f, p) => ({
        assessment: assessmentJson(await traces.getAssessment(p.trace_id, p.assessment_id)),
      }),
    },
    {
      since: 3,
      method: 'PATCH',
      path: 'traces/:trace_id/assessments/:assessment_id',
      handle: async (traces, f, p) => {
        const changes = assessmentChanges(f.optionalObject('assessment'), updateMask(f));
        return {
          assessment: assessmentJson(await traces.updateAssessment(p.trace_id, p.assessment_id, changes)),
        };
      },
    },
    {
      since: 3,
      method: 'DELETE',
      path: 'traces/:trace_id/assessments/:assessment_id',
      handle: async (traces, _f, p) => {
        await traces.deleteAssessment(p.trace_id, p.assessment_id);
        return empty;
      },
    },
    {
      // The proto gives LinkTracesToRun `since: 2`, so it lives under /api/2.0.
      method: 'POST',
      path: 'traces/link-to-run',
      handle: async (traces, f) => {
        await traces.linkTracesToRun(requiredList(f, 'trace_ids'), f.requiredString('run_id'));
        return empty;
      },
    },
    // ------------------------------------------------------------ MLflow 2.x (deprecated)
    {
      method: 'POST',
      path: 'traces',
      handle: async (traces, f) =>
        v2(
          await traces.startTraceV2({
            experimentId: f.requiredExperimentId(),
            timestampMs: f.optionalInt('timestamp_ms') ?? Date.now(),
            metadata: keyValueMap(f, 'request_metadata'),
            tags: keyValueMap(f, 'tags'),
          }),
        ),
    },
    {
      method: 'PATCH',
      path: 'traces/:request_id',
      handle: async (traces, f, p) =>
        v2(
          await traces.endTraceV2(p.request_id, {
            timestampMs: f.optionalInt('timestamp_ms') ?? Date.now(),
            state: traceState(f.optionalString('status'), 'status'),
            metadata: keyValueMap(f, 'request_metadata'),
            tags: keyValueMap(f, 'tags'),
          }),
        ),
    },
    {
      method: 'GET',
      path: 'traces/:request_id/info',
      handle: async (traces, _f, p) => v2(await traces.getTraceInfo(p.request_id)),
    },
    {
      method: 'GET',
      path: 'traces',
      handle: async (traces, f) => {
        const page = await traces.searchTraces({
          experimentIds: requiredList(f, 'experiment_ids'),
          filter: f.optionalString('filter'),
          maxResults: f.optionalInt('max_results'),
          orderBy: f.stringList('order_by'),
          pageToken: f.optionalString('page_token'),
        });
        return { traces: page.traces.map(traceInfoV2), next_page_token: page.nextPageToken };
      },
    },
    {
      method: 'POST',
      path: 'traces/delete-traces',
      handle: async (traces, f) => ({ traces_deleted: await traces.deleteTraces(deletion(f)) }),
    },
    {
      method: 'PATCH',
      path: 'traces/:request_id/tags',
      handle: async (traces, f, p) => {
        await traces.setTraceTag(p.request_id, f.requiredString('key'), f.optionalString('value') ?? '');
        return empty;
      },
    },
    {
      method: 'DELETE',
      path: 'traces/:request_id/tags',
      handle: async (traces, f, p) => {
        await traces.deleteTraceTag(p.request_id, f.requiredString('key'));
        return empty;
      },
    },
  ];
}

function decompress(body: Buffer, encoding: string | undefined): Buffer {
  const e = (encoding ?? '').toLowerCase();
  try {
    if (e === 'gzip') return gunzipSync(body);
    if (e === 'deflate') return inflateSync(body);
  } catch {
    throw MlflowError.invalidParameter(`Could not decompress the ${e} request body.`);
  }
  if (e === '' || e === 'identity') return body;
  throw MlflowError.invalidParameter(`Unsupported Content-Encoding: ${encoding}`);
}

/**
 * The web UI's trace data (GET /ajax-api/2.0/mlflow/get-trace-artifact?request_id=...): the stored
 * spans as MLflow's trace data file, and POST /v1/traces, OTLP/HTTP in protobuf or JSON.
 */
export function traceRoutes(
  app: FastifyInstance,
  traces: TraceService,
  fields: (r: FastifyRequest) => RequestFields,
): void {
  app.get('/ajax-api/2.0/mlflow/get-trace-artifact', async (request, reply) => {
    const traceId = fields(request).optionalString('request_id');
    if (!traceId)
      throw new MlflowError('BAD_REQUEST', 'Request must include the "request_id" query parameter.');
    const pages = await traces.getTraceData(traceId);
    return reply
      .type('application/octet-stream')
      .header('Content-Disposition', 'attachment; filename=traces.json')
      .send(Readable.from(traceDataJson(pages), { highWaterMark: 1 }));
  });

  app.register(async (scope) => {
    // OTLP bodies are bytes (or OTLP's own JSON), not MLflow's JSON: this scope reads them raw.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.post(OTLP_TRACES_PATH, async (request: FastifyRequest, reply: FastifyReply) => {
      const experimentId = request.headers[EXPERIMENT_ID_HEADER];
      if (typeof experimentId !== 'string' || experimentId === '') {
        throw MlflowError.invalidParameter(`Missing required header: ${EXPERIMENT_ID_HEADER}`);
      }
      const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const encoding = request.headers['content-encoding'];
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const body = decompress(raw, typeof encoding === 'string' ? encoding : undefined);
      let spans: OtelSpan[];
      if (type === 'application/x-protobuf') spans = await decodeOtlpProtobuf(body);
      else if (type === 'application/json') spans = decodeOtlpJson(body);
      else {
        throw MlflowError.invalidParameter(
          `Invalid Content-Type: ${type || 'none'}. Expected: application/x-protobuf or application/json`,
        );
      }
      if (spans.length === 0)
        throw MlflowError.invalidParameter('Invalid OpenTelemetry request - no spans found');
      await traces.logSpans(experimentId, spans);
      // An empty ExportTraceServiceResponse: no bytes in protobuf, `{}` in JSON.
      return type === 'application/json'
        ? reply.type('application/json').send('{}')
        : reply.type('application/x-protobuf').send(Buffer.alloc(0));
    });
  });
}
