import { useEffect, useRef, useState } from 'react';
import { ATTRIBUTES, type ColumnKind, columnIdString } from '../lib/run-columns';

/** A popover of checkboxes for the runs table's columns, grouped by kind, with a search box. */
export function ColumnPicker({
  keys,
  chosen,
  onChange,
}: {
  keys: { metric: string[]; param: string[]; tag: string[] };
  chosen: string[];
  onChange(next: string[]): void;
}) {
  const [open, setOpen] = useState(false);
  const [q, setQ] = useState('');
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);
  const set = new Set(chosen);
  const toggle = (id: string) => onChange(set.has(id) ? chosen.filter((c) => c !== id) : [...chosen, id]);
  const groups: { kind: ColumnKind; title: string; items: { key: string; label: string }[] }[] = [
    { kind: 'attr', title: 'Attributes', items: ATTRIBUTES.map((a) => ({ key: a.key, label: a.label })) },
    { kind: 'metric', title: 'Metrics', items: keys.metric.map((k) => ({ key: k, label: k })) },
    { kind: 'param', title: 'Parameters', items: keys.param.map((k) => ({ key: k, label: k })) },
    { kind: 'tag', title: 'Tags', items: keys.tag.map((k) => ({ key: k, label: k })) },
  ];
  const needle = q.toLowerCase();
  return (
    <div className="popover-anchor" ref={box}>
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        Columns ({chosen.length})
      </button>
      {open ? (
        <div
          className="popover"
          role="dialog"
          aria-label="Choose columns"
          onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}
        >
          <input
            type="search"
            placeholder="Find a column"
            aria-label="Find a column"
            value={q}
            // biome-ignore lint/a11y/noAutofocus: the popover was opened to search it
            autoFocus
            onChange={(e) => setQ(e.target.value)}
          />
          {groups.map((g) => {
            const items = g.items.filter((i) => i.label.toLowerCase().includes(needle));
            if (items.length === 0) return null;
            return (
              <fieldset key={g.kind}>
                <legend>{g.title}</legend>
                {items.map((i) => {
                  const id = columnIdString({ kind: g.kind, key: i.key });
                  return (
                    <label key={id} className="check">
                      <input type="checkbox" checked={set.has(id)} onChange={() => toggle(id)} />
                      {i.label}
                    </label>
                  );
                })}
              </fieldset>
            );
          })}
        </div>
      ) : null}
    </div>
  );
}
