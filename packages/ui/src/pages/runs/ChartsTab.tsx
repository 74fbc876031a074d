// The experiment page's "Charts" tab: a grid of cards (a line chart per metric, and bar, scatter and
// parallel-coordinates cards the user adds) over the shown runs, with one legend for the whole grid.
// Cards are added, removed, resized and reordered (buttons, or drag and drop); the layout is saved per
// experiment and carried in the URL.
import { type FormEvent, memo, useMemo, useState } from 'react';
import type { Run } from '../../api';
import { BarChart } from '../../components/BarChart';
import { CardLineChart, type CardSeries } from '../../components/CardLineChart';
import { ErrorBox } from '../../components/ErrorBox';
import { Link } from '../../components/Link';
import { ParallelCoordinates } from '../../components/ParallelCoordinates';
import { ScatterPlot } from '../../components/ScatterPlot';
import {
  addCard,
  type CardSize,
  type ChartCard,
  cardKey,
  dropCard,
  moveCard,
  nextSize,
} from '../../lib/chart-cards';
import { defaultAxes, defaultScatter } from '../../lib/compare-defaults';
import { createHighlight, type Highlight, useHighlighted } from '../../lib/highlight';
import { runVersion } from '../../lib/live';
import { colorAt, runColor, setRunColor } from '../../lib/palette';
import { discoverKeys, runIndex, runValue } from '../../lib/run-columns';
import {
  aggregateHistories,
  type GroupBy,
  groupLabel,
  groupRuns,
  groupValue,
  type RunGroup,
  summarizeMetric,
} from '../../lib/run-groups';
import { toSeries } from '../MetricsPage';
import { type CardHistory, useCardHistories } from './use-card-histories';
import { useChartCards } from './use-chart-cards';

const HEIGHT: Record<CardSize, number> = { s: 150, m: 210, l: 300 };
const SIZE_NAME: Record<CardSize, string> = { s: 'small', m: 'medium', l: 'large' };

export interface ChartsTabProps {
  ids: string[];
  /** The runs charted: the selection, or the first runs of the table. */
  runs: Run[];
  /** Why these runs (shown above the grid). */
  note: string;
  urlCharts: string | null;
  /** When set, cards draw one aggregated line per group of runs instead of one line per run. */
  groupBy?: GroupBy;
}

interface ShownGroup {
  group: RunGroup;
  label: string;
  color: string;
}

interface Shown {
  order: string[];
  names: Map<string, string>;
  /** A run's colour: its own, or its group's when grouped. */
  colors: Map<string, string>;
  groups?: ShownGroup[];
}

export function ChartsTab({ ids, runs, note, urlCharts, groupBy }: ChartsTabProps) {
  const [colorTick, setColorTick] = useState(0);
  const highlight = useMemo(() => createHighlight(), []);
  const keys = useMemo(() => discoverKeys(runs), [runs]);
  const { cards, setCards, reset, isDefault } = useChartCards(ids, urlCharts, keys.metric);
  // Who is charted, in which colour and group: kept while only the runs' values change (a live poll),
  // so the line cards redraw only when their own histories change.
  const orderKey = runs.map((r) => r.info.run_id).join(',');
  const groupKey = groupBy ? runs.map((r) => groupValue(r, groupBy) ?? '\u0001').join('\u0000') : '';
  // biome-ignore lint/correctness/useExhaustiveDependencies: the keys stand for the runs; colorTick re-reads the user's colours
  const shown = useMemo((): Shown => {
    const order = runs.map((r) => r.info.run_id);
    const names = new Map(runs.map((r) => [r.info.run_id, r.info.run_name || r.info.run_id]));
    if (groupBy) {
      const groups = groupRuns(runs, groupBy).map((group, i) => ({
        group,
        label: groupLabel(groupBy, group),
        color: colorAt(i),
      }));
      const colors = new Map<string, string>();
      for (const g of groups) for (const r of g.group.runs) colors.set(r.info.run_id, g.color);
      return { order, names, colors, groups };
    }
    return { order, names, colors: new Map(order.map((id, i) => [id, runColor(id, i)])) };
  }, [orderKey, colorTick, groupBy, groupKey]);
  const versions = useMemo(() => new Map(runs.map((r) => [r.info.run_id, runVersion(r)])), [runs]);
  const lineMetrics = useMemo(() => cards.flatMap((c) => (c.kind === 'line' ? [c.metric] : [])), [cards]);
  const histories = useCardHistories(shown.order, lineMetrics, versions);
  const [dragged, setDragged] = useState<number | null>(null);
  const syncKey = `grid-${ids.join(',')}`;

  return (
    <section aria-label="Charts" className="charts-tab">
      <div className="toolbar">
        <span className="muted">{note}</span>
        <span className="spacer" />
        <AddChart runs={runs} keys={keys} onAdd={(c) => setCards(addCard(cards, c))} />
        {!isDefault ? (
          <button type="button" className="ghost" onClick={reset}>
            Reset layout
          </button>
        ) : null}
      </div>
      {shown.groups ? (
        <GroupLegend groups={shown.groups} highlight={highlight} />
      ) : (
        <RunLegend
          shown={shown}
          highlight={highlight}
          onColor={(id, color) => {
            setRunColor(id, color);
            setColorTick((t) => t + 1);
          }}
        />
      )}
      {cards.length === 0 ? (
        <p className="muted">
          No charts. Add one above{keys.metric.length ? '' : ' (these runs log no metrics)'}.
        </p>
      ) : null}
      <ol className="chart-grid" aria-label="Chart cards">
        {cards.map((card, i) => (
          <li
            key={cardKey(card)}
            className={`chart-card size-${card.size}${dragged === i ? ' dragging' : ''}`}
            draggable
            onDragStart={(e) => {
              setDragged(i);
              e.dataTransfer.effectAllowed = 'move';
            }}
            onDragEnd={() => setDragged(null)}
            onDragOver={(e) => dragged !== null && e.preventDefault()}
            onDrop={(e) => {
              e.preventDefault();
              if (dragged !== null) setCards(dropCard(cards, dragged, i));
              setDragged(null);
            }}
            data-card={cardKey(card)}
          >
            <div className="card-head">
              <h3 title={cardTitle(card)}>{cardTitle(card)}</h3>
              <span className="card-tools">
                <button
                  type="button"
                  className="ghost"
                  disabled={i === 0}
                  aria-label={`Move ${cardTitle(card)} earlier`}
                  onClick={() => setCards(moveCard(cards, i, -1))}
                >
                  ←
                </button>
                <button
                  type="button"
                  className="ghost"
                  disabled={i === cards.length - 1}
                  aria-label={`Move ${cardTitle(card)} later`}
                  onClick={() => setCards(moveCard(cards, i, 1))}
                >
                  →
                </button>
                <button
                  type="button"
                  className="ghost"
                  aria-label={`Resize ${cardTitle(card)} (now ${SIZE_NAME[card.size]})`}
                  title="Resize: small, medium, large"
                  onClick={() =>
                    setCards(cards.map((c, j) => (j === i ? { ...c, size: nextSize(c.size) } : c)))
                  }
                >
                  {card.size.toUpperCase()}
                </button>
                <button
                  type="button"
                  className="ghost"
                  aria-label={`Remove ${cardTitle(card)}`}
                  onClick={() => setCards(cards.filter((_, j) => j !== i))}
                >
                  ✕
                </button>
              </span>
            </div>
            <CardBody
              card={card}
              runs={runs}
              shown={shown}
              history={card.kind === 'line' ? histories.get(card.metric) : undefined}
              highlight={highlight}
              syncKey={syncKey}
            />
          </li>
        ))}
      </ol>
    </section>
  );
}

function cardTitle(c: ChartCard): string {
  switch (c.kind) {
    case 'line':
      return c.metric;
    case 'bar':
      return `${c.metric} (latest)`;
    case 'scatter':
      return `${label(c.y)} vs ${label(c.x)}`;
    case 'parallel':
      return `Parallel coordinates: ${c.axes.map(label).join(', ')}`;
  }
}

const label = (id: string) => id.slice(id.indexOf(':') + 1);

/** One card's chart. Memoized: a history arriving for one card redraws that card alone. */
const CardBody = memo(function CardBody({
  card,
  runs,
  shown,
  history,
  highlight,
  syncKey,
}: {
  card: ChartCard;
  /** The runs' latest values (bar, scatter and parallel cards). */
  runs: Run[];
  shown: Shown;
  history: CardHistory | undefined;
  highlight: Highlight;
  syncKey: string;
}) {
  const height = HEIGHT[card.size];
  const series = useMemo((): CardSeries[] | undefined => {
    if (card.kind !== 'line' || !history || !('points' in history)) return undefined;
    const perRun = toSeries(history.points, shown.order, shown.names, 'step', 0, false);
    if (shown.groups) return groupSeries(perRun, shown.groups);
    return perRun.map((s) => ({ ...s, color: shown.colors.get(s.id) ?? s.color }));
  }, [card.kind, history, shown]);
  switch (card.kind) {
    case 'line':
      if (history && 'error' in history) return <ErrorBox error={history.error} />;
      if (!series)
        return (
          <div className="card-loading muted" style={{ height }}>
            Loading…
          </div>
        );
      return (
        <CardLineChart
          series={series}
          height={height}
          label={
            shown.groups
              ? `${card.metric} of ${series.length / 3} groups (mean, min-max band)`
              : `${card.metric} of ${series.length} runs`
          }
          highlight={highlight}
          syncKey={syncKey}
        />
      );
    case 'bar':
      return (
        <BarChart
          height={height}
          label={`Latest ${card.metric} of each run`}
          onHover={highlight.set}
          bars={
            shown.groups
              ? shown.groups.flatMap((g) => {
                  const s = summarizeMetric(current(g.group, runs), card.metric);
                  return s ? [{ id: g.group.id, value: s.mean, label: g.label, color: g.color }] : [];
                })
              : runs.flatMap((r) => {
                  const value = runIndex(r).metrics.get(card.metric);
                  const id = r.info.run_id;
                  return value === undefined
                    ? []
                    : [{ id, value, label: shown.names.get(id) ?? id, color: shown.colors.get(id) ?? '' }];
                })
          }
        />
      );
    case 'scatter':
      return (
        <ScatterPlot
          xLabel={label(card.x)}
          yLabel={label(card.y)}
          points={runs.flatMap((r) => {
            const [xs, ys] = [runValue(r, card.x), runValue(r, card.y)];
            const [x, y] = [Number(xs), Number(ys)];
            const id = r.info.run_id;
            return xs !== undefined && ys !== undefined && Number.isFinite(x) && Number.isFinite(y)
              ? [{ x, y, label: shown.names.get(id) ?? id, color: shown.colors.get(id) ?? '' }]
              : [];
          })}
        />
      );
    case 'parallel':
      return (
        <ParallelCoordinates
          axes={card.axes.map((id) => ({ label: label(id), values: runs.map((r) => runValue(r, id)) }))}
          runs={runs.map((r) => ({
            label: shown.names.get(r.info.run_id) ?? '',
            color: shown.colors.get(r.info.run_id) ?? '',
          }))}
        />
      );
  }
});

/** A group with its runs' latest copies (a live poll replaces run objects; the grouping stays). */
function current(group: RunGroup, runs: Run[]): RunGroup {
  const ids = new Set(group.runs.map((r) => r.info.run_id));
  return { ...group, runs: runs.filter((r) => ids.has(r.info.run_id)) };
}

/** Per group: its mean line, then its max and min lines (the band between them is filled). */
function groupSeries(perRun: (CardSeries & { id: string })[], groups: ShownGroup[]): CardSeries[] {
  const byRun = new Map(perRun.map((s) => [s.id, s]));
  return groups.flatMap((g) => {
    const histories = g.group.runs.flatMap((r) => byRun.get(r.info.run_id) ?? []);
    if (histories.length === 0) return [];
    const a = aggregateHistories(histories);
    const n = `${histories.length} run${histories.length === 1 ? '' : 's'}`;
    const line = { id: g.group.id, color: g.color, x: a.x };
    return [
      { ...line, label: `${g.label} (mean of ${n})`, y: a.mean, width: 2 },
      { ...line, label: `${g.label} (max)`, y: a.max, band: 'max' as const },
      { ...line, label: `${g.label} (min)`, y: a.min, band: 'min' as const },
    ];
  });
}

/** The legend of a grouped grid: each group's colour, value and number of runs; hover highlights. */
function GroupLegend({ groups, highlight }: { groups: ShownGroup[]; highlight: Highlight }) {
  const active = useHighlighted(highlight);
  return (
    <ul className="run-legend group-legend" aria-label="Groups charted">
      {groups.map((g) => (
        <li
          key={g.group.id}
          className={active === g.group.id ? 'highlighted' : active ? 'faded' : undefined}
          onMouseEnter={() => highlight.set(g.group.id)}
          onMouseLeave={() => highlight.set(null)}
        >
          <span className="swatch" style={{ background: g.color }} aria-hidden="true" />
          <span>{g.label}</span>
          <span className="muted">
            {' '}
            ({g.group.runs.length} run{g.group.runs.length === 1 ? '' : 's'})
          </span>
        </li>
      ))}
    </ul>
  );
}

/** The grid's one legend: each run's colour (which the user may change), name and link; hover highlights. */
function RunLegend({
  shown,
  highlight,
  onColor,
}: {
  shown: Shown;
  highlight: Highlight;
  onColor(id: string, color: string): void;
}) {
  const active = useHighlighted(highlight);
  return (
    <ul className="run-legend" aria-label="Runs charted">
      {shown.order.map((id) => (
        <li
          key={id}
          className={active === id ? 'highlighted' : active ? 'faded' : undefined}
          onMouseEnter={() => highlight.set(id)}
          onMouseLeave={() => highlight.set(null)}
        >
          <input
            type="color"
            className="swatch-input"
            aria-label={`Colour of ${shown.names.get(id)}`}
            value={shown.colors.get(id)}
            onChange={(e) => onColor(id, e.target.value)}
          />
          <Link href={`/runs/${encodeURIComponent(id)}`}>{shown.names.get(id)}</Link>
        </li>
      ))}
    </ul>
  );
}

/** The "Add chart" form: a kind, then the metric (line, bar) or the two values (scatter) it plots. */
function AddChart({
  runs,
  keys,
  onAdd,
}: {
  runs: Run[];
  keys: { metric: string[]; param: string[] };
  onAdd(card: ChartCard): void;
}) {
  const [kind, setKind] = useState<ChartCard['kind']>('line');
  const [metric, setMetric] = useState('');
  const values = [...keys.param.map((k) => `param:${k}`), ...keys.metric.map((k) => `metric:${k}`)];
  const defaults = useMemo(() => {
    const compared = (prefix: string, list: string[]) =>
      list.map((k) => ({ id: `${prefix}:${k}`, values: runs.map((r) => runValue(r, `${prefix}:${k}`)) }));
    const params = compared('param', keys.param);
    const metrics = compared('metric', keys.metric);
    return { ...defaultScatter(params, metrics), axes: defaultAxes(params, metrics) };
  }, [runs, keys]);
  const [x, setX] = useState('');
  const [y, setY] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const m = metric || keys.metric[0];
    if (kind === 'line' || kind === 'bar') {
      if (m) onAdd({ kind, size: 'm', metric: m });
    } else if (kind === 'scatter') {
      const [cx, cy] = [x || defaults.x, y || defaults.y];
      if (cx && cy) onAdd({ kind, size: 'm', x: cx, y: cy });
    } else if (defaults.axes.length >= 2) onAdd({ kind, size: 'l', axes: defaults.axes });
  };
  const pick = (name: string, value: string, fallback: string, set: (v: string) => void) => (
    <select aria-label={name} value={value || fallback} onChange={(e) => set(e.target.value)}>
      {values.map((v) => (
        <option key={v} value={v}>
          {v.replace(':', ': ')}
        </option>
      ))}
    </select>
  );
  return (
    <form className="add-chart" aria-label="Add a chart" onSubmit={submit}>
      <select
        aria-label="Chart kind"
        value={kind}
        onChange={(e) => setKind(e.target.value as ChartCard['kind'])}
      >
        <option value="line">Line (history)</option>
        <option value="bar">Bar (latest value)</option>
        <option value="scatter">Scatter</option>
        <option value="parallel">Parallel coordinates</option>
      </select>
      {kind === 'line' || kind === 'bar' ? (
        <select
          aria-label="Chart metric"
          value={metric || keys.metric[0]}
          onChange={(e) => setMetric(e.target.value)}
        >
          {keys.metric.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      ) : kind === 'scatter' ? (
        <>
          {pick('Scatter X', x, defaults.x, setX)}
          {pick('Scatter Y', y, defaults.y, setY)}
        </>
      ) : null}
      <button type="submit">Add chart</button>
    </form>
  );
}
