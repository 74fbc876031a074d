// The experiment page's Traces tab: the traces of the experiments in a windowed table (request and
// response previews, status, latency, tokens, tags, assessments, run), MLflow's trace filter, sorting
// on the server, pages fetched as the table scrolls, and a drawer with the chosen trace.

import type { TraceInfoV3 } from '@mlflow-ts/client/wire';
import { useCallback, useEffect } from 'react';
import { MlflowError } from '../../api';
import { ErrorBox } from '../../components/ErrorBox';
import { Link } from '../../components/Link';
import { type Column, VirtualTable } from '../../components/VirtualTable';
import { formatTime } from '../../lib/format';
import {
  assessmentSummary,
  durationMs,
  formatLatency,
  formatTokens,
  oneLine,
  timestampMs,
  traceTokens,
} from '../../lib/trace-format';
import { href, type Route, setParams } from '../../router';
import { FilterBox } from '../runs/FilterBox';
import { SOURCE_RUN, TraceState, TraceView } from './TraceView';
import { useTracePages } from './use-trace-pages';

/** Rows from the end of the loaded ones at which the next page is asked for. */
const PREFETCH = 40;
const DEFAULT_ORDER = 'timestamp_ms DESC';

export function traceHref(experimentId: string, traceId: string): string {
  return `/experiments/${encodeURIComponent(experimentId)}/traces/${encodeURIComponent(traceId)}`;
}

const experimentOf = (t: TraceInfoV3) => t.trace_location.mlflow_experiment?.experiment_id ?? '';

function traceColumns(traces: TraceInfoV3[], order: string): Column[] {
  const [sortKey, sortDir] = order.split(' ') as [string, 'ASC' | 'DESC' | undefined];
  const sortable = (key: string) => ({
    sort: sortKey === key ? (sortDir ?? 'ASC') : undefined,
    onSort: () => setParams({ torder: `${key} ${sortKey === key && sortDir !== 'ASC' ? 'ASC' : 'DESC'}` }),
  });
  const text = (s: string, className?: string) => (
    <span className={`cell-text${className ? ` ${className}` : ''}`} title={s}>
      {s}
    </span>
  );
  return [
    {
      id: 'trace',
      label: 'Trace',
      width: 130,
      cell: (i) => (
        <button
          type="button"
          className="link-button mono"
          aria-label={`Open ${traces[i].trace_id}`}
          title={`Open ${traces[i].trace_id}`}
          onClick={() => setParams({ trace: traces[i].trace_id, span: null })}
        >
          {traces[i].trace_id}
        </button>
      ),
    },
    {
      id: 'request',
      label: 'Request',
      width: 220,
      cell: (i) => text(oneLine(traces[i].request_preview, 200), 'mono'),
    },
    {
      id: 'response',
      label: 'Response',
      width: 220,
      cell: (i) => text(oneLine(traces[i].response_preview, 200), 'mono'),
    },
    { id: 'state', label: 'Status', width: 85, cell: (i) => <TraceState state={traces[i].state} /> },
    {
      id: 'time',
      label: 'Request time',
      width: 165,
      ...sortable('timestamp_ms'),
      cell: (i) => formatTime(timestampMs(traces[i].request_time)),
    },
    {
      id: 'latency',
      label: 'Latency',
      width: 95,
      className: 'num',
      ...sortable('execution_time_ms'),
      cell: (i) => formatLatency(durationMs(traces[i].execution_duration)),
    },
    {
      id: 'tokens',
      label: 'Tokens',
      width: 80,
      className: 'num',
      // The total; the split into input and output is in the tooltip (and on the trace page).
      cell: (i) => {
        const usage = traceTokens(traces[i]);
        return <span title={formatTokens(usage)}>{usage?.total ?? '—'}</span>;
      },
    },
    {
      id: 'tags',
      label: 'Tags',
      width: 140,
      cell: (i) =>
        text(
          Object.entries(traces[i].tags ?? {})
            .filter(([k]) => !k.startsWith('mlflow.'))
            .map(([k, v]) => `${k}: ${v}`)
            .join(', '),
        ),
    },
    {
      id: 'assessments',
      label: 'Assessments',
      width: 165,
      cell: (i) => text(assessmentSummary(traces[i].assessments).join(', ')),
    },
    {
      id: 'run',
      label: 'Run',
      width: 80,
      cell: (i) => {
        const run = traces[i].trace_metadata?.[SOURCE_RUN];
        return run ? (
          <Link href={`/runs/${encodeURIComponent(run)}`} className="mono" title={run}>
            {run.slice(0, 8)}
          </Link>
        ) : null;
      },
    },
  ];
}

export function TracesTab({ ids, route }: { ids: string[]; route: Route }) {
  const filter = route.params.get('tfilter') ?? '';
  const order = route.params.get('torder') || DEFAULT_ORDER;
  const open = route.params.get('trace');
  const pages = useTracePages(ids, filter, order);
  const { traces, more } = pages;
  const onRange = useCallback(
    (_first: number, last: number) => {
      if (last >= traces.length - PREFETCH) more();
    },
    [traces.length, more],
  );
  const columns = traceColumns(traces, order);
  const syntax = pages.error instanceof MlflowError && pages.error.errorCode === 'INVALID_PARAMETER_VALUE';
  const count = `${traces.length}${pages.done ? '' : '+'} trace${traces.length === 1 && pages.done ? '' : 's'}`;
  return (
    <div className="traces-tab">
      <FilterBox
        filter={filter}
        error={pages.error}
        param="tfilter"
        label="Filter traces (MLflow trace search syntax)"
        placeholder="trace.status = 'ERROR' AND trace.execution_time_ms > 500 AND tags.team = 'a'   (press / to focus)"
      />
      <p className="muted trace-count" aria-live="polite">
        {pages.error ? '' : pages.loading && traces.length === 0 ? 'Loading…' : count}
      </p>
      {syntax ? null : <ErrorBox error={pages.error} />}
      <VirtualTable
        // A new search starts at the top (a scroll position past its first page would fetch the next at once).
        key={`${filter}|${order}`}
        label="Traces"
        columns={columns}
        rowCount={traces.length}
        rowKey={(i) => traces[i].trace_id}
        onOpen={(i) => setParams({ trace: traces[i].trace_id, span: null })}
        onRange={onRange}
        empty={
          pages.error ? 'No traces: see the message above.' : pages.loading ? 'Loading…' : 'No traces match.'
        }
      />
      {open ? (
        <TraceDrawer
          traceId={open}
          experimentId={ids[0] ?? ''}
          traces={traces}
          span={route.params.get('span')}
          onInfo={pages.replace}
        />
      ) : null}
    </div>
  );
}

function TraceDrawer({
  traceId,
  experimentId,
  traces,
  span,
  onInfo,
}: {
  onInfo(info: TraceInfoV3): void;
  traceId: string;
  experimentId: string;
  traces: TraceInfoV3[];
  span: string | null;
}) {
  const close = useCallback(() => setParams({ trace: null, span: null }), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') close();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [close]);
  const known = traces.find((t) => t.trace_id === traceId);
  const exp = known ? experimentOf(known) : experimentId;
  return (
    <aside className="trace-drawer" role="dialog" aria-label={`Trace ${traceId}`}>
      <div className="drawer-head">
        <h2 className="mono">{traceId}</h2>
        <span className="spacer" />
        <Link href={href(traceHref(exp, traceId), { span })}>Open as a page</Link>
        <button type="button" className="ghost" aria-label="Close trace" onClick={close}>
          ✕
        </button>
      </div>
      <TraceView traceId={traceId} spanParam={span} onInfo={onInfo} />
    </aside>
  );
}
