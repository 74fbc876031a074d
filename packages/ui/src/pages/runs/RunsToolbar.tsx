// The runs page's toolbar: which runs (active, deleted, all), columns, and what to do with the selection.
import { api, type ViewType } from '../../api';
import { ColumnPicker } from '../../components/ColumnPicker';
import type { discoverKeys } from '../../lib/run-columns';
import { href, navigate, setParams } from '../../router';

export interface RunsToolbarProps {
  view: ViewType;
  keys: ReturnType<typeof discoverKeys>;
  chosen: string[];
  onColumns(next: string[]): void;
  selected: Set<string>;
  /** Runs `fn` on each selected run, then clears the selection and reloads. */
  act(fn: (id: string) => Promise<unknown>): void;
  /** The grouping (`param:lr`, `tag:team`) or ''. */
  groupBy: string;
}

export function RunsToolbar({ view, keys, chosen, onColumns, selected, act, groupBy }: RunsToolbarProps) {
  const selectedIds = [...selected];
  return (
    <div className="toolbar">
      <fieldset className="segmented" aria-label="Which runs">
        {(
          [
            ['ACTIVE_ONLY', 'Active'],
            ['DELETED_ONLY', 'Deleted'],
            ['ALL', 'All'],
          ] as const
        ).map(([v, label]) => (
          <label key={v}>
            <input
              type="radio"
              name="run-view"
              checked={view === v}
              onChange={() => setParams({ view: v === 'ACTIVE_ONLY' ? null : v })}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <ColumnPicker keys={keys} chosen={chosen} onChange={onColumns} />
      <label className="group-by">
        Group by{' '}
        <select
          aria-label="Group runs by"
          value={groupBy}
          onChange={(e) => setParams({ group: e.target.value || null, gclosed: null })}
        >
          <option value="">none</option>
          {/* A linked grouping by a key no loaded run has yet stays choosable. */}
          {groupBy &&
          !keys.param.some((k) => `param:${k}` === groupBy) &&
          !keys.tag.some((k) => `tag:${k}` === groupBy) ? (
            <option value={groupBy}>{groupBy.replace(':', ': ')}</option>
          ) : null}
          {keys.param.length ? (
            <optgroup label="Parameters">
              {keys.param.map((k) => (
                <option key={k} value={`param:${k}`}>
                  {k}
                </option>
              ))}
            </optgroup>
          ) : null}
          {keys.tag.length ? (
            <optgroup label="Tags">
              {keys.tag.map((k) => (
                <option key={k} value={`tag:${k}`}>
                  {k}
                </option>
              ))}
            </optgroup>
          ) : null}
        </select>
      </label>
      <span className="spacer" />
      <span className="muted">{selected.size ? `${selected.size} selected` : ''}</span>
      <button
        type="button"
        disabled={selected.size < 2}
        onClick={() => navigate(href('/compare', { runs: selectedIds.join(',') }))}
      >
        Compare
      </button>
      <button
        type="button"
        disabled={selected.size === 0}
        onClick={() => navigate(href('/metrics', { runs: selectedIds.join(',') }))}
      >
        Chart
      </button>
      {view !== 'ACTIVE_ONLY' ? (
        <button type="button" disabled={selected.size === 0} onClick={() => act(api.restoreRun)}>
          Restore
        </button>
      ) : null}
      {view !== 'DELETED_ONLY' ? (
        <button
          type="button"
          className="danger"
          disabled={selected.size === 0}
          onClick={() => {
            if (confirm(`Delete ${selected.size} run(s)? They can be restored later.`)) act(api.deleteRun);
          }}
        >
          Delete
        </button>
      ) : null}
    </div>
  );
}
