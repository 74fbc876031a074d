// A JSON value as a collapsible tree: objects and arrays open to a depth (small ones deeper), the rest on a click; closed
// branches render nothing, and long arrays show their first items, so a huge span output stays cheap.
import { useState } from 'react';

const SHOWN = 100;
const SMALL = 8;
const SMALL_DEPTH = 6;

function Leaf({ value }: { value: unknown }) {
  if (typeof value === 'string') return <span className="json-string">{JSON.stringify(value)}</span>;
  if (typeof value === 'number') return <span className="json-number">{String(value)}</span>;
  if (typeof value === 'boolean') return <span className="json-bool">{String(value)}</span>;
  return <span className="json-null">null</span>;
}

function Branch({
  name,
  value,
  depth,
  open: openAt,
}: {
  name?: string;
  value: unknown;
  depth: number;
  open: number;
}) {
  const isObject = value !== null && typeof value === 'object';
  // Small branches (a chat message, a usage count) open further down, so they read at a glance.
  const small = isObject && Object.keys(value).length <= SMALL && depth < SMALL_DEPTH;
  const [open, setOpen] = useState(depth < openAt || small);
  const [limit, setLimit] = useState(SHOWN);
  const label = name === undefined ? null : <span className="json-key">{name}: </span>;
  if (!isObject) {
    return (
      <div className="json-row">
        {label}
        <Leaf value={value} />
      </div>
    );
  }
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value as Record<string, unknown>);
  const [lb, rb] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  const size = `${entries.length} ${Array.isArray(value) ? 'item' : 'key'}${entries.length === 1 ? '' : 's'}`;
  return (
    <div className="json-row">
      <button
        type="button"
        className="json-toggle"
        aria-expanded={open}
        aria-label={`${open ? 'Collapse' : 'Expand'} ${name ?? 'value'}`}
        onClick={() => setOpen(!open)}
      >
        {open ? '▾' : '▸'}
      </button>
      {label}
      {open ? (
        <>
          {lb}
          <div className="json-children">
            {entries.slice(0, limit).map(([k, v]) => (
              <Branch key={k} name={k} value={v} depth={depth + 1} open={openAt} />
            ))}
            {entries.length > limit ? (
              <button type="button" className="ghost small" onClick={() => setLimit(limit + SHOWN * 10)}>
                Show more ({entries.length - limit} left)
              </button>
            ) : null}
          </div>
          {rb}
        </>
      ) : (
        <span className="muted">
          {lb} {size} {rb}
        </span>
      )}
    </div>
  );
}

/** `value` as a tree, opened `open` levels deep (2 unless told). */
export function JsonView({ value, open = 2, label }: { value: unknown; open?: number; label?: string }) {
  return (
    <div className="json-view mono" data-label={label}>
      <Branch value={value} depth={0} open={open} />
    </div>
  );
}
