// A windowed table: only the rows in view (plus a few above and below) are in the DOM, so 10,000+
// rows scroll as smoothly as 50. Rows have one fixed height; the body is a tall spacer and the visible
// rows are placed inside it with a transform. Arrow keys, Page Up/Down, Home and End move the active
// row; Enter opens it, Space toggles its selection and Right/Left expand or collapse it (tree rows).
import { type KeyboardEvent, memo, type ReactNode, useEffect, useRef, useState } from 'react';
import { useScrollView } from '../lib/use-scroll-view';

export interface Column {
  id: string;
  label: ReactNode;
  width: number;
  /** Current sort direction of this column, if it is the sort column. */
  sort?: 'ASC' | 'DESC';
  onSort?: () => void;
  cell(row: number): ReactNode;
  className?: string;
  /**
   * The header group this column belongs to (e.g. "Metrics"); adjacent columns of one group share a
   * spanning cell in a row above the headers. '' or undefined: an unlabelled span.
   */
  group?: string;
}

export interface VirtualTableProps {
  columns: Column[];
  rowCount: number;
  rowHeight?: number;
  label: string;
  rowKey(row: number): string;
  rowClassName?(row: number): string | undefined;
  onOpen?(row: number): void;
  onToggle?(row: number): void;
  /**
   * Right (open) or Left (closed) on the active row. Returns true when the row was expanded or
   * collapsed, a row number to make active instead (a child's parent), or false to let the key scroll
   * the table sideways as usual.
   */
  onExpand?(row: number, open: boolean): boolean | number;
  /** Header content for the first column, e.g. a select-all box. */
  empty?: ReactNode;
  /** Told which rows are rendered (from first up to last, exclusive), e.g. to fetch the next page. */
  onRange?(first: number, last: number): void;
}

const OVERSCAN = 8;
const GROUP_ROW_HEIGHT = 24;

interface HeaderGroup {
  label: string;
  width: number;
  span: number;
  first: string;
}

/** Runs of adjacent columns with the same group, for the spanning header row. */
function headerGroups(columns: Column[]): HeaderGroup[] {
  const groups: HeaderGroup[] = [];
  for (const c of columns) {
    const label = c.group ?? '';
    const last = groups.at(-1);
    if (last && last.label === label) {
      last.width += c.width;
      last.span += 1;
    } else groups.push({ label, width: c.width, span: 1, first: c.id });
  }
  return groups;
}

interface RowProps {
  row: number;
  active: boolean;
  extra?: string;
  columns: Column[];
  height: number;
  width: number;
  /** Header rows above the body (1, or 2 with header groups), for aria-rowindex. */
  headerRows: number;
  onActivate(row: number): void;
}

/**
 * One row. Memoized: while the table scrolls only the rows that come into view render; the ones
 * already on screen keep their props (the columns only change when the data does) and are skipped.
 */
const Row = memo(function Row({
  row,
  active,
  extra,
  columns,
  height,
  width,
  headerRows,
  onActivate,
}: RowProps) {
  return (
    <div
      role="row"
      aria-rowindex={row + headerRows + 1}
      aria-selected={active}
      className={`vt-row${active ? ' active' : ''}${extra ? ` ${extra}` : ''}`}
      style={{ transform: `translateY(${row * height}px)`, height, width }}
      onMouseDown={() => onActivate(row)}
    >
      {columns.map((c) => (
        <div key={c.id} role="gridcell" className={`vt-cell ${c.className ?? ''}`} style={{ width: c.width }}>
          {c.cell(row)}
        </div>
      ))}
    </div>
  );
});

export function VirtualTable(props: VirtualTableProps) {
  const { columns, rowCount, label } = props;
  const rowHeight = props.rowHeight ?? 32;
  const scroller = useRef<HTMLDivElement>(null);
  const { view, onScroll } = useScrollView(scroller, 600);
  const [active, setActive] = useState(-1);

  const grouped = columns.some((c) => c.group);
  const headerHeight = rowHeight + 4 + (grouped ? GROUP_ROW_HEIGHT : 0);
  const first = Math.max(0, Math.floor((view.top - headerHeight) / rowHeight) - OVERSCAN);
  const last = Math.min(rowCount, Math.ceil((view.top + view.height) / rowHeight) + OVERSCAN);
  const width = columns.reduce((w, c) => w + c.width, 0);
  const { onRange } = props;
  useEffect(() => onRange?.(first, last), [onRange, first, last]);

  const moveTo = (row: number) => {
    const r = Math.max(0, Math.min(rowCount - 1, row));
    setActive(r);
    const el = scroller.current;
    if (!el) return;
    const top = headerHeight + r * rowHeight;
    if (top < el.scrollTop + headerHeight) el.scrollTop = top - headerHeight;
    else if (top + rowHeight > el.scrollTop + el.clientHeight)
      el.scrollTop = top + rowHeight - el.clientHeight;
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.target !== e.currentTarget) return;
    const page = Math.max(1, Math.floor(view.height / rowHeight) - 1);
    if (rowCount === 0) return;
    switch (e.key) {
      case 'ArrowDown':
        moveTo(active + 1);
        break;
      case 'ArrowUp':
        moveTo(active - 1);
        break;
      case 'PageDown':
        moveTo(active + page);
        break;
      case 'PageUp':
        moveTo(active - page);
        break;
      case 'Home':
        moveTo(0);
        break;
      case 'End':
        moveTo(rowCount - 1);
        break;
      case 'Enter':
        if (active >= 0) props.onOpen?.(active);
        break;
      case ' ':
        if (active >= 0) props.onToggle?.(active);
        break;
      case 'ArrowRight':
      case 'ArrowLeft': {
        const handled = active >= 0 ? props.onExpand?.(active, e.key === 'ArrowRight') : false;
        if (typeof handled === 'number') moveTo(handled);
        else if (!handled) return;
        break;
      }
      default:
        return;
    }
    e.preventDefault();
  };

  const rows: ReactNode[] = [];
  for (let r = first; r < last; r++) {
    rows.push(
      <Row
        key={props.rowKey(r)}
        row={r}
        active={r === active}
        extra={props.rowClassName?.(r)}
        columns={columns}
        height={rowHeight}
        width={width}
        headerRows={grouped ? 2 : 1}
        onActivate={setActive}
      />,
    );
  }

  return (
    <div
      ref={scroller}
      className="vt"
      role="grid"
      aria-label={label}
      aria-rowcount={rowCount + (grouped ? 2 : 1)}
      aria-activedescendant={undefined}
      tabIndex={0}
      onScroll={onScroll}
      onKeyDown={onKeyDown}
    >
      {grouped ? (
        <div
          className="vt-groups"
          role="row"
          aria-rowindex={1}
          style={{ width, height: GROUP_ROW_HEIGHT, top: 0 }}
        >
          {headerGroups(columns).map((g) => (
            <div
              key={g.first}
              role="columnheader"
              aria-colspan={g.span}
              className={`vt-group${g.label ? ` labelled group-${g.label.toLowerCase()}` : ''}`}
              style={{ width: g.width }}
            >
              {g.label}
            </div>
          ))}
        </div>
      ) : null}
      <div
        className="vt-head"
        role="row"
        aria-rowindex={grouped ? 2 : 1}
        style={{
          width,
          height: headerHeight - (grouped ? GROUP_ROW_HEIGHT : 0),
          top: grouped ? GROUP_ROW_HEIGHT : 0,
        }}
      >
        {columns.map((c) => (
          <div
            key={c.id}
            role="columnheader"
            aria-sort={c.sort === 'ASC' ? 'ascending' : c.sort === 'DESC' ? 'descending' : undefined}
            className={`vt-cell ${c.className ?? ''}${c.group ? ' in-group' : ''}`}
            style={{ width: c.width }}
          >
            {c.onSort ? (
              <button type="button" className="sort" onClick={c.onSort} title="Sort by this column">
                {c.label}
                <span aria-hidden="true">{c.sort === 'ASC' ? ' ▲' : c.sort === 'DESC' ? ' ▼' : ''}</span>
              </button>
            ) : (
              c.label
            )}
          </div>
        ))}
      </div>
      <div className="vt-body" style={{ height: rowCount * rowHeight, width }}>
        {rows}
      </div>
      {rowCount === 0 ? <div className="vt-empty">{props.empty}</div> : null}
    </div>
  );
}
