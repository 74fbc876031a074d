// A trace on its own page (/experiments/<id>/traces/<trace id>?span=<span id>).
import { Link } from '../components/Link';
import { href, type Route } from '../router';
import { TraceView } from './traces/TraceView';

export function TracePage({
  experimentId,
  traceId,
  route,
}: {
  experimentId: string;
  traceId: string;
  route: Route;
}) {
  return (
    <main className="page page-wide">
      <div className="page-head">
        <h1>
          <span className="muted">Trace </span>
          <span className="mono">{traceId}</span>
        </h1>
        <Link href={href('/runs', { ids: experimentId, tab: 'traces' })}>← Traces of the experiment</Link>
      </div>
      <TraceView traceId={traceId} spanParam={route.params.get('span')} />
    </main>
  );
}
