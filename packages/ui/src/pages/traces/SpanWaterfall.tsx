// The span tree beside its timeline: one windowed list (only the rows in view are in the page, so a
// trace of 10,000 spans scrolls like one of 10), each row a span's name, indented by depth, and its bar
// placed by start and end time. Up/Down move, Left/Right close and open, a click selects.
import { type CSSProperties, type KeyboardEvent, useEffect, useRef } from 'react';
import { niceTicks } from '../../lib/nice-ticks';
import { formatLatency } from '../../lib/trace-format';
import { type SpanRow, type TimeRange, waterfallBar } from '../../lib/trace-spans';
import { useScrollView } from '../../lib/use-scroll-view';

const ROW = 26;
const OVERSCAN = 10;
const INDENT = 14;

/**
 * Where a bar's duration is written: after the bar, or, when the bar reaches the right edge, before
 * it, or inside it when it also starts near the left.
 */
function durationLabel(left: number, width: number): { inside: boolean; style: CSSProperties } {
  const pct = (x: number) => `${x * 100}%`;
  if (left + width <= 0.85) return { inside: false, style: { left: `calc(${pct(left + width)} + 4px)` } };
  if (left >= 0.12) return { inside: false, style: { right: `calc(${pct(1 - left)} + 4px)` } };
  return { inside: true, style: { right: `calc(${pct(1 - left - width)} + 4px)` } };
}

export interface SpanWaterfallProps {
  rows: SpanRow[];
  range: TimeRange;
  selected: string | undefined;
  collapsed: ReadonlySet<string>;
  onSelect(id: string): void;
  onToggle(id: string, open: boolean): void;
}

export function SpanWaterfall({ rows, range, selected, collapsed, onSelect, onToggle }: SpanWaterfallProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const { view, onScroll } = useScrollView(scroller, 500);

  const index = rows.findIndex((r) => r.node.id === selected);
  // Keep the selected span in view when it changes from outside (a link, the keyboard).
  useEffect(() => {
    const el = scroller.current;
    if (!el || index < 0) return;
    const top = index * ROW;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW > el.scrollTop + el.clientHeight - ROW) el.scrollTop = top + 2 * ROW - el.clientHeight;
  }, [index]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (rows.length === 0) return;
    const row = rows[Math.max(0, index)];
    const open = row.node.children.length > 0 && !collapsed.has(row.node.id);
    switch (e.key) {
      case 'ArrowDown':
        onSelect(rows[Math.min(rows.length - 1, index + 1)].node.id);
        break;
      case 'ArrowUp':
        onSelect(rows[Math.max(0, index - 1)].node.id);
        break;
      case 'Home':
        onSelect(rows[0].node.id);
        break;
      case 'End':
        onSelect(rows[rows.length - 1].node.id);
        break;
      case 'ArrowRight':
        if (row.node.children.length > 0 && !open) onToggle(row.node.id, true);
        break;
      case 'ArrowLeft':
        if (open) onToggle(row.node.id, false);
        else if (row.node.parentId && rows.some((r) => r.node.id === row.node.parentId))
          onSelect(row.node.parentId);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const total = range.endMs - range.startMs;
  const ticks = niceTicks(0, Math.max(total, 0.001), 6).filter((t) => t <= total * 1.0001);
  const first = Math.max(0, Math.floor(view.top / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((view.top + view.height) / ROW) + OVERSCAN);
  const shown = rows.slice(first, last);

  return (
    <div className="waterfall">
      <div className="waterfall-head" aria-hidden="true">
        <div className="wf-name">Span</div>
        <div className="wf-time">
          {ticks.map((t) => (
            <span key={t} className="wf-tick" style={{ left: `${total > 0 ? (t / total) * 100 : 0}%` }}>
              {formatLatency(t)}
            </span>
          ))}
        </div>
      </div>
      <div
        ref={scroller}
        className="waterfall-body"
        role="tree"
        aria-label="Spans"
        aria-activedescendant={index >= first && index < last ? `span-row-${selected}` : undefined}
        tabIndex={0}
        onScroll={onScroll}
        onKeyDown={onKeyDown}
      >
        <div style={{ height: rows.length * ROW, position: 'relative' }}>
          {shown.map(({ node, depth }, i) => {
            const bar = waterfallBar(node, range);
            const hasKids = node.children.length > 0;
            const open = hasKids && !collapsed.has(node.id);
            const duration = node.endMs === undefined ? undefined : node.endMs - node.startMs;
            const label = durationLabel(bar.left, bar.width);
            return (
              <div
                key={node.id}
                role="treeitem"
                id={`span-row-${node.id}`}
                tabIndex={-1}
                aria-level={depth + 1}
                aria-expanded={hasKids ? open : undefined}
                aria-selected={node.id === selected}
                data-span-id={node.id}
                className={`wf-row${node.id === selected ? ' selected' : ''}${node.status === 'ERROR' ? ' span-error' : ''}`}
                style={{ transform: `translateY(${(first + i) * ROW}px)`, height: ROW }}
                onMouseDown={() => onSelect(node.id)}
              >
                <div className="wf-name" style={{ paddingLeft: 6 + depth * INDENT }}>
                  {hasKids ? (
                    <button
                      type="button"
                      className="wf-toggle"
                      tabIndex={-1}
                      aria-label={`${open ? 'Collapse' : 'Expand'} ${node.name}`}
                      onMouseDown={(e) => e.stopPropagation()}
                      onClick={() => onToggle(node.id, !open)}
                    >
                      {open ? '▾' : '▸'}
                    </button>
                  ) : (
                    <span className="wf-toggle" />
                  )}
                  {node.type ? (
                    <span className={`span-type type-${node.type.toLowerCase()}`}>{node.type}</span>
                  ) : null}
                  <span className="wf-label" title={node.name}>
                    {node.name}
                  </span>
                  {node.status === 'ERROR' ? (
                    <span className="status-error" title={node.statusMessage}>
                      error
                    </span>
                  ) : null}
                </div>
                <div className="wf-time">
                  <div
                    className={`wf-bar${node.status === 'ERROR' ? ' span-error' : ''}`}
                    style={{ left: `${bar.left * 100}%`, width: `${bar.width * 100}%` }}
                    title={`${node.name}: ${formatLatency(duration)}`}
                  />
                  <span className={`wf-duration${label.inside ? ' inside' : ''}`} style={label.style}>
                    {duration === undefined ? 'open' : formatLatency(duration)}
                  </span>
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
