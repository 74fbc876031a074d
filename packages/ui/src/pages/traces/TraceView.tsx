// One trace: its record (state, latency, tokens, tags, run), the span tree with its waterfall, the
// selected span's detail and the assessments. Shared by the trace page and the traces tab's drawer.

import type { Assessment, TraceInfoV3 } from '@mlflow-ts/client/wire';
import { useCallback, useMemo, useState } from 'react';
import { traceApi } from '../../api';
import { ErrorBox } from '../../components/ErrorBox';
import { Link } from '../../components/Link';
import { formatTime } from '../../lib/format';
import {
  durationMs,
  formatLatency,
  formatTokens,
  sumTokens,
  TOKEN_USAGE_ATTRIBUTE,
  timestampMs,
  tokenUsageOf,
  traceTokens,
} from '../../lib/trace-format';
import { ancestors, buildSpanTree, flattenSpanTree, fromTraceSpan, traceRange } from '../../lib/trace-spans';
import { useLoad } from '../../lib/use-load';
import { setParams } from '../../router';
import { AssessmentsPanel } from './AssessmentsPanel';
import { SpanDetails } from './SpanDetails';
import { SpanWaterfall } from './SpanWaterfall';
import '../../traces.css';

export const SOURCE_RUN = 'mlflow.sourceRun';

export function TraceState({ state }: { state: string }) {
  return (
    <span className={`trace-state state-${state.toLowerCase()}`}>
      {state === 'STATE_UNSPECIFIED' ? '—' : state}
    </span>
  );
}

function loadTrace(traceId: string) {
  return traceApi()
    .getTrace(traceId)
    .then((t) => {
      const spans = t.spans.map(fromTraceSpan);
      const roots = buildSpanTree(spans);
      return { info: t.info, spans, roots, byId: new Map(spans.map((s) => [s.id, s])) };
    });
}

export function TraceView({
  traceId,
  spanParam,
  onInfo,
}: {
  traceId: string;
  spanParam: string | null;
  /** Told the trace's record after it changed here (the drawer updates the table's row). */
  onInfo?(info: TraceInfoV3): void;
}) {
  const trace = useLoad(() => loadTrace(traceId), [traceId]);
  // After an assessment changes, the record is read again (not the spans, which may be many).
  const [fresh, setFresh] = useState<TraceInfoV3>();
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const data = trace.data;
  const info = fresh?.trace_id === traceId ? fresh : data?.info;

  const selectedId = spanParam && data?.byId.has(spanParam) ? spanParam : data?.roots[0]?.id;
  // A span named by the link is shown even inside closed parents.
  const openCollapsed = useMemo(() => {
    if (!spanParam || !data) return collapsed;
    const up = ancestors(data.byId, spanParam);
    if (!up.some((id) => collapsed.has(id))) return collapsed;
    const next = new Set(collapsed);
    for (const id of up) next.delete(id);
    return next;
  }, [collapsed, spanParam, data]);
  const rows = useMemo(() => (data ? flattenSpanTree(data.roots, openCollapsed) : []), [data, openCollapsed]);
  const range = useMemo(() => traceRange(data?.spans ?? []), [data]);
  const tokens = useMemo(() => {
    if (!info) return undefined;
    return (
      traceTokens(info) ??
      sumTokens((data?.spans ?? []).map((s) => tokenUsageOf(s.attributes[TOKEN_USAGE_ATTRIBUTE])))
    );
  }, [info, data]);

  const refresh = useCallback(async () => {
    const next = await traceApi().getTraceInfo(traceId);
    setFresh(next);
    onInfo?.(next);
  }, [traceId, onInfo]);
  const onSelect = useCallback((id: string) => setParams({ span: id }, { replace: true }), []);
  const onToggle = useCallback(
    (id: string, open: boolean) => {
      const next = new Set(openCollapsed);
      if (open) next.delete(id);
      else next.add(id);
      setCollapsed(next);
      // Closing a parent of the selected span selects the parent, which stays in view.
      if (!open && data && selectedId && ancestors(data.byId, selectedId).includes(id)) onSelect(id);
    },
    [openCollapsed, data, selectedId, onSelect],
  );

  if (trace.error) return <ErrorBox error={trace.error} />;
  if (!data || !info) return <p className="muted">Loading trace…</p>;
  const selected = selectedId ? data.byId.get(selectedId) : undefined;
  const run = info.trace_metadata?.[SOURCE_RUN];
  const tags = Object.entries(info.tags ?? {}).filter(([k]) => !k.startsWith('mlflow.'));
  const assessments: Assessment[] = info.assessments ?? [];
  return (
    <div className="trace-view">
      <dl className="trace-facts">
        <dt>Status</dt>
        <dd>
          <TraceState state={info.state} />
        </dd>
        <dt>Started</dt>
        <dd>{formatTime(timestampMs(info.request_time))}</dd>
        <dt>Latency</dt>
        <dd>{formatLatency(durationMs(info.execution_duration))}</dd>
        <dt>Spans</dt>
        <dd>{data.spans.length}</dd>
        <dt>Tokens</dt>
        <dd>{formatTokens(tokens)}</dd>
        {run ? (
          <>
            <dt>Run</dt>
            <dd>
              <Link href={`/runs/${encodeURIComponent(run)}`} className="mono">
                {run}
              </Link>
            </dd>
          </>
        ) : null}
        {tags.length ? (
          <>
            <dt>Tags</dt>
            <dd>
              {tags.map(([k, v]) => (
                <span key={k} className="chip">
                  {k}: {v}
                </span>
              ))}
            </dd>
          </>
        ) : null}
      </dl>
      {data.spans.length === 0 ? (
        <p className="muted">This trace has no spans stored.</p>
      ) : (
        <div className="trace-body">
          <SpanWaterfall
            rows={rows}
            range={range}
            selected={selectedId}
            collapsed={openCollapsed}
            onSelect={onSelect}
            onToggle={onToggle}
          />
          {selected ? <SpanDetails key={selected.id} span={selected} traceStartMs={range.startMs} /> : null}
        </div>
      )}
      <AssessmentsPanel
        traceId={traceId}
        assessments={assessments}
        spanId={selected?.id}
        spanName={selected?.name}
        onChanged={refresh}
      />
    </div>
  );
}
